//! Type inference and coercion, following dlt's `_COERCE_DISPATCH`
//! (`dlt/common/data_types/type_helpers.py`) for the values JSON can carry.

use std::borrow::Cow;

use base64::Engine as _;

use super::datetime::{
    coerce_date, coerce_time, coerce_timestamp, format_date, format_time, format_timestamp,
    parse_timestamp,
};
use super::decimal::{format_decimal, parse_decimal};
use super::{DataType, WEI_DECIMAL};
use crate::json::{Item, item_to_string, parse_str, python_float_repr};
use crate::naming::py_strip;

/// A value coerced to a column's type, ready for a column buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// `text`
    Text(Cow<'a, str>),
    /// `bigint`
    Bigint(i64),
    /// `double`
    Double(f64),
    /// `bool`
    Bool(bool),
    /// `timestamp`: microseconds since the epoch, UTC.
    Timestamp(i64),
    /// `date`: days since the epoch.
    Date(i32),
    /// `time`: microseconds since midnight.
    Time(i64),
    /// `decimal` and `wei`: an integer scaled by the column's scale.
    Decimal(i128),
    /// `binary`
    Binary(Vec<u8>),
    /// `json`: compact JSON text.
    Json(String),
}

/// The type a JSON value has on its own (dlt's `py_type_to_sc_type`); `None` for `null`.
///
/// Integers beyond 64 bits, which dlt cannot load at all, are `wei` while they fit 38 digits
/// (DECIMAL(38,0)) and `text` beyond, so their digits are never lost.
pub fn value_type(item: &Item<'_>) -> Option<DataType> {
    Some(match item {
        Item::Null => return None,
        Item::Bool(_) => DataType::Bool,
        Item::Int(_) => DataType::Bigint,
        Item::BigInt(digits) => {
            if parse_decimal(digits, 0).is_some() {
                DataType::Wei
            } else {
                DataType::Text
            }
        }
        Item::Float(_) => DataType::Double,
        Item::Str(_) => DataType::Text,
        Item::Array(_) | Item::Object(_) => DataType::Json,
        Item::Timestamp(_) => DataType::Timestamp,
        Item::Date(_) => DataType::Date,
        Item::Time(_) => DataType::Time,
        Item::Decimal(..) => DataType::Decimal,
        Item::Binary(_) => DataType::Binary,
    })
}

/// The text of a typed value: ISO 8601 for dates and times, the digits of a decimal, base64
/// of bytes; `None` for untyped items.
pub fn typed_text(item: &Item<'_>) -> Option<String> {
    Some(match item {
        Item::Timestamp(micros) => format_timestamp(*micros),
        Item::Date(days) => format_date(*days),
        Item::Time(micros) => format_time(*micros),
        Item::Decimal(value, scale) => format_decimal(*value, *scale),
        Item::Binary(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
        _ => return None,
    })
}

/// The type a new column gets from its first value: ISO timestamps in strings are detected
/// (dlt's default `iso_timestamp` detection), everything else keeps its own type.
pub fn infer_type(item: &Item<'_>) -> Option<DataType> {
    if let Item::Str(s) = item
        && parse_timestamp(s).is_some()
    {
        return Some(DataType::Timestamp);
    }
    value_type(item)
}

/// Coerces `item` into a column of type `to` (with `scale` for decimals), or `None` when dlt's
/// rules have no way to do it, in which case the value belongs in a variant column.
pub fn coerce<'a>(to: DataType, scale: i8, item: &'a Item<'a>) -> Option<Scalar<'a>> {
    match to {
        DataType::Text => Some(Scalar::Text(to_text(item)?)),
        DataType::Bigint => to_bigint(item).map(Scalar::Bigint),
        DataType::Double => to_double(item).map(Scalar::Double),
        DataType::Bool => to_bool(item).map(Scalar::Bool),
        DataType::Decimal => to_decimal(item, scale).map(Scalar::Decimal),
        DataType::Wei => to_decimal(item, WEI_DECIMAL.1).map(Scalar::Decimal),
        DataType::Json => to_json(item).map(Scalar::Json),
        DataType::Timestamp => to_timestamp(item).map(Scalar::Timestamp),
        DataType::Date => match item {
            Item::Date(days) => Some(Scalar::Date(*days)),
            Item::Timestamp(micros) => i32::try_from(micros.div_euclid(86_400_000_000))
                .ok()
                .map(Scalar::Date),
            Item::Str(s) => coerce_date(s).map(Scalar::Date),
            Item::Int(_) | Item::Float(_) => {
                let micros = to_timestamp(item)?;
                i32::try_from(micros.div_euclid(86_400_000_000))
                    .ok()
                    .map(Scalar::Date)
            }
            _ => None,
        },
        DataType::Time => match item {
            Item::Time(micros) => Some(Scalar::Time(*micros)),
            Item::Str(s) => coerce_time(s).map(Scalar::Time),
            _ => None,
        },
        DataType::Binary => to_binary(item).map(Scalar::Binary),
    }
}

fn to_text<'a>(item: &'a Item<'a>) -> Option<Cow<'a, str>> {
    Some(match item {
        Item::Null => return None,
        Item::Str(s) => Cow::Borrowed(s.as_ref()),
        Item::Int(i) => Cow::Owned(itoa::Buffer::new().format(*i).to_string()),
        Item::BigInt(digits) => Cow::Borrowed(digits.as_ref()),
        Item::Float(f) => Cow::Owned(python_float_repr(*f)),
        Item::Bool(true) => Cow::Borrowed("True"),
        Item::Bool(false) => Cow::Borrowed("False"),
        Item::Array(_) | Item::Object(_) => Cow::Owned(item_to_string(item)),
        typed => Cow::Owned(typed_text(typed)?),
    })
}

fn to_bigint(item: &Item<'_>) -> Option<i64> {
    match item {
        Item::Int(i) => Some(*i),
        Item::Decimal(value, scale) => {
            let factor = 10i128.checked_pow(u32::try_from(*scale).ok()?)?;
            (value % factor == 0)
                .then(|| i64::try_from(value / factor).ok())
                .flatten()
        }
        Item::Str(s) => text_to_bigint(s),
        // integral floats become integers; 2^63 itself is out of range
        Item::Float(f)
            if f.fract() == 0.0
                && *f >= -9.223_372_036_854_776e18
                && *f < 9.223_372_036_854_776e18 =>
        {
            Some(*f as i64)
        }
        _ => None,
    }
}

/// Python's `int(text)` after `strip()`, with dlt's `0x` hex prefix.
fn text_to_bigint(text: &str) -> Option<i64> {
    let text = py_strip(text);
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(&without_digit_underscores(hex)?, 16).ok();
    }
    let cleaned = without_digit_underscores(text)?;
    cleaned.parse::<i64>().ok()
}

/// Removes `_` between digits as Python's numeric parsers allow (`1_000`); `None` if an
/// underscore is anywhere else.
fn without_digit_underscores(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('_') {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let before = i.checked_sub(1).map(|j| bytes[j].is_ascii_alphanumeric());
            let after = bytes.get(i + 1).map(u8::is_ascii_alphanumeric);
            if before != Some(true) || after != Some(true) {
                return None;
            }
        } else {
            out.push(b as char);
        }
    }
    Some(Cow::Owned(out))
}

fn to_double(item: &Item<'_>) -> Option<f64> {
    match item {
        Item::Float(f) => Some(*f),
        Item::Decimal(value, scale) => format_decimal(*value, *scale).parse().ok(),
        Item::Int(i) => Some(*i as f64),
        Item::BigInt(digits) => digits.parse().ok(),
        Item::Str(s) => {
            let text = py_strip(s);
            if let Some(hex) = text.strip_prefix("0x") {
                return i128::from_str_radix(&without_digit_underscores(hex)?, 16)
                    .ok()
                    .map(|v| v as f64);
            }
            let cleaned = without_digit_underscores(text)?;
            // Rust also reads "infinity"/"nan" in any case, as Python does
            cleaned.parse::<f64>().ok()
        }
        _ => None,
    }
}

/// dlt's `str2bool` for text; numbers are true when non-zero.
fn to_bool(item: &Item<'_>) -> Option<bool> {
    match item {
        Item::Bool(b) => Some(*b),
        Item::Int(i) => Some(*i != 0),
        Item::Float(f) => Some(*f != 0.0),
        Item::BigInt(_) => Some(true),
        Item::Str(s) => match s.to_lowercase().as_str() {
            "yes" | "true" | "t" | "y" | "1" => Some(true),
            "no" | "false" | "f" | "n" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn to_decimal(item: &Item<'_>, scale: i8) -> Option<i128> {
    match item {
        Item::Decimal(value, from) => parse_decimal(&format_decimal(*value, *from), scale),
        Item::Int(i) => parse_decimal(itoa::Buffer::new().format(*i), scale),
        Item::BigInt(digits) => parse_decimal(digits, scale),
        Item::Float(f) => parse_decimal(&python_float_repr(*f), scale),
        Item::Str(s) => {
            let text = py_strip(s);
            if let Some(hex) = text.strip_prefix("0x") {
                let v = i128::from_str_radix(hex, 16).ok()?;
                return parse_decimal(&v.to_string(), scale);
            }
            parse_decimal(text, scale)
        }
        _ => None,
    }
}

fn to_json(item: &Item<'_>) -> Option<String> {
    match item {
        Item::Array(_) | Item::Object(_) => Some(item_to_string(item)),
        // dlt `json.loads` the text: a JSON document in a string is stored as that document
        Item::Str(s) => parse_str(s).ok().map(|doc| item_to_string(&doc)),
        _ => None,
    }
}

/// Unix seconds (dlt's `pendulum.from_timestamp`) or ISO text into microseconds, UTC.
fn to_timestamp(item: &Item<'_>) -> Option<i64> {
    // Python datetimes span years 1..=9999
    const MIN: i64 = -62_135_596_800_000_000;
    const MAX: i64 = 253_402_300_799_999_999;
    let micros = match item {
        Item::Timestamp(micros) => *micros,
        Item::Date(days) => i64::from(*days).checked_mul(86_400_000_000)?,
        Item::Str(s) => return coerce_timestamp(s),
        Item::Int(i) => i.checked_mul(1_000_000)?,
        Item::Float(f) => {
            let micros = (f * 1e6).round();
            if !(MIN as f64..=MAX as f64).contains(&micros) {
                return None;
            }
            micros as i64
        }
        _ => return None,
    };
    (MIN..=MAX).contains(&micros).then_some(micros)
}

fn to_binary(item: &Item<'_>) -> Option<Vec<u8>> {
    match item {
        Item::Binary(bytes) => Some(bytes.to_vec()),
        Item::Str(s) => {
            if let Some(hex) = s.strip_prefix("0x") {
                return decode_hex(hex);
            }
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .ok()
        }
        Item::Int(i) if *i >= 0 => {
            // Python `int.to_bytes((bit_length + 7) // 8, "little")`
            let bytes = i.to_le_bytes();
            let len = (64 - i.leading_zeros() as usize).div_ceil(8);
            Some(bytes[..len].to_vec())
        }
        _ => None,
    }
}

/// Bytes from hexadecimal digits (two per byte, no prefix); `None` for anything else.
pub fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn item(text: &str) -> Item<'static> {
        parse(text.as_bytes()).unwrap().into_owned()
    }

    #[test]
    fn coercions_follow_dlt() {
        // (target, json input, expected)
        let ok: &[(DataType, &str, Scalar<'_>)] = &[
            (DataType::Bigint, r#""2""#, Scalar::Bigint(2)),
            (DataType::Bigint, "3.0", Scalar::Bigint(3)),
            (DataType::Bigint, r#"" 0x1f ""#, Scalar::Bigint(31)),
            (DataType::Bigint, r#""1_000""#, Scalar::Bigint(1000)),
            (DataType::Double, "2", Scalar::Double(2.0)),
            (DataType::Double, r#""1.5""#, Scalar::Double(1.5)),
            (DataType::Text, "1", Scalar::Text("1".into())),
            (DataType::Text, "1.5", Scalar::Text("1.5".into())),
            (DataType::Text, "true", Scalar::Text("True".into())),
            (
                DataType::Text,
                r#"{"a": [1, 2]}"#,
                Scalar::Text(r#"{"a":[1,2]}"#.into()),
            ),
            (DataType::Bool, r#""yes""#, Scalar::Bool(true)),
            (DataType::Bool, "0", Scalar::Bool(false)),
            (
                DataType::Timestamp,
                "1700000000",
                Scalar::Timestamp(1_700_000_000_000_000),
            ),
            (
                DataType::Json,
                r#""{\"y\": 2}""#,
                Scalar::Json(r#"{"y":2}"#.into()),
            ),
            (DataType::Wei, "5", Scalar::Decimal(5)),
            (DataType::Decimal, "1.25", Scalar::Decimal(1_250_000_000)),
        ];
        for (to, input, want) in ok {
            let it = item(input);
            assert_eq!(coerce(*to, 9, &it).as_ref(), Some(want), "{to} <- {input}");
        }
        let fail: &[(DataType, &str)] = &[
            (DataType::Bigint, r#""x""#),
            (DataType::Bigint, "2.5"),
            (DataType::Bigint, "true"),
            (DataType::Bigint, "1e19"),
            (DataType::Bool, r#""maybe""#),
            (DataType::Timestamp, r#""not a date""#),
            (DataType::Json, r#""str""#),
            (DataType::Double, "true"),
        ];
        for (to, input) in fail {
            let it = item(input);
            assert_eq!(coerce(*to, 9, &it), None, "{to} <- {input}");
        }
    }

    #[test]
    fn big_integers_are_wei_then_text() {
        assert_eq!(
            value_type(&item("1180591620717411303424")),
            Some(DataType::Wei)
        );
        assert_eq!(value_type(&item(&"9".repeat(39))), Some(DataType::Text));
    }
}
