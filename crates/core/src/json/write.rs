//! Compact JSON output, byte for byte as dlt's JSON library (orjson) writes it.
//!
//! Hashes (`_dlt_id` of merged rows, schema version hashes) and `json` column values must be
//! byte-identical to dlt's, so separators, string escapes and float formatting follow orjson:
//! no spaces, non-ASCII kept raw, floats in shortest round-trip form (`1.0`, `1e308`).

use super::Item;

/// Writes `item` as compact JSON, keys in input order.
pub fn write_item(out: &mut String, item: &Item<'_>) {
    write_item_impl(out, item, false);
}

/// Writes `item` as compact JSON with object keys sorted at every level (orjson `OPT_SORT_KEYS`).
pub fn write_item_sorted(out: &mut String, item: &Item<'_>) {
    write_item_impl(out, item, true);
}

/// `item` as a compact JSON string.
pub fn item_to_string(item: &Item<'_>) -> String {
    let mut out = String::new();
    write_item(&mut out, item);
    out
}

fn write_item_impl(out: &mut String, item: &Item<'_>, sorted: bool) {
    match item {
        Item::Null => out.push_str("null"),
        Item::Bool(true) => out.push_str("true"),
        Item::Bool(false) => out.push_str("false"),
        Item::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Item::BigInt(digits) => out.push_str(digits),
        Item::Float(f) => write_float(out, *f),
        Item::Str(s) => write_str(out, s),
        Item::Timestamp(_)
        | Item::Date(_)
        | Item::Time(_)
        | Item::Decimal(..)
        | Item::Binary(_) => {
            // typed values are strings in JSON, as dlt's encoder writes them
            write_str(out, &crate::types::typed_text(item).unwrap_or_default())
        }
        Item::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_item_impl(out, item, sorted);
            }
            out.push(']');
        }
        Item::Object(fields) => {
            out.push('{');
            if sorted {
                let mut order: Vec<usize> = (0..fields.len()).collect();
                order.sort_by(|&a, &b| fields[a].0.cmp(&fields[b].0));
                for (n, &i) in order.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_str(out, &fields[i].0);
                    out.push(':');
                    write_item_impl(out, &fields[i].1, sorted);
                }
            } else {
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, key);
                    out.push(':');
                    write_item_impl(out, value, sorted);
                }
            }
            out.push('}');
        }
    }
}

/// Writes a `serde_json::Value` compactly with keys sorted at every level.
pub fn write_value_sorted(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(itoa::Buffer::new().format(i));
            } else if let Some(u) = n.as_u64() {
                out.push_str(itoa::Buffer::new().format(u));
            } else {
                write_float(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value_sorted(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_value_sorted(out, v);
                }
            }
            out.push('}');
        }
    }
}

/// A float as orjson writes it: shortest round trip, `1.0` for integral values, `1e308`.
pub fn write_float(out: &mut String, f: f64) {
    if f.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(f));
    } else {
        // orjson writes non-finite floats as null
        out.push_str("null");
    }
}

/// A JSON string literal with orjson's escapes.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0xf));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn hex_digit(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('0')
}

/// A float as Python's `str(float)` writes it (`1e+308`, `1e-05`, `100.0`): the text dlt stores
/// when a float lands in a text column.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // shortest round-trip digits and decimal exponent, from ryu's scientific form
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let mant = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn compact_output_matches_orjson() {
        let item = parse(br#"{"b": [1, 2.0, 1e308, "\u0001\u00e9"], "a": {"c": null}}"#).unwrap();
        assert_eq!(
            item_to_string(&item),
            r#"{"b":[1,2.0,1e308,"\u0001é"],"a":{"c":null}}"#
        );
        let mut sorted = String::new();
        write_item_sorted(&mut sorted, &item);
        assert_eq!(sorted, r#"{"a":{"c":null},"b":[1,2.0,1e308,"\u0001é"]}"#);
    }

    #[test]
    fn python_float_repr_matches_python() {
        let cases = [
            (1.5, "1.5"),
            (1e308, "1e+308"),
            (5e-324, "5e-324"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (100.0, "100.0"),
            (1e16, "1e+16"),
            (123456789012345.6, "123456789012345.6"),
            (-0.25, "-0.25"),
            (17.52, "17.52"),
            (0.0, "0.0"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_repr(f), want, "{f}");
        }
    }
}
