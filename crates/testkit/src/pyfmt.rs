//! Text forms that match what `dump_dataset.py` gets from Python: `str(Decimal)` after the
//! dump's normalisation, `isoformat()` of dates and times, `str(timedelta)`, and the
//! `json.dumps(value, sort_keys=True)` text the dump sorts documents by.

use std::cmp::Ordering;

use serde_json::Value;

/// Digits Python's default decimal context keeps (`getcontext().prec`); `normalize()` rounds to it.
const PYTHON_DECIMAL_PRECISION: usize = 28;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// The dump's text for the decimal `unscaled * 10^-scale`, where `unscaled` is an integer in
/// decimal text with an optional leading `-`: Python's `str(v.normalize())` when the value is
/// integral, else `str(v)` (which keeps all `scale` fraction digits).
pub(crate) fn decimal_text(unscaled: &str, scale: i64) -> String {
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, unscaled),
    };
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        // Zero is integral and normalises to "0" whatever its exponent.
        return "0".to_owned();
    }
    let exponent = -scale;
    let integral = exponent >= 0 || {
        let fraction = usize::try_from(scale).unwrap_or(usize::MAX);
        fraction < digits.len() && digits[digits.len() - fraction..].bytes().all(|b| b == b'0')
    };
    if integral {
        let (digits, exponent) = normalize(digits, exponent);
        scientific_string(negative, &digits, exponent)
    } else {
        scientific_string(negative, digits, exponent)
    }
}

/// Python's `Decimal.normalize()` under the default context: round the coefficient to 28 digits
/// (half-even), then strip trailing zeros. `digits` has no leading zeros and is not empty.
fn normalize(digits: &str, exponent: i64) -> (String, i64) {
    let mut kept = digits.to_owned();
    let mut exponent = exponent;
    if kept.len() > PYTHON_DECIMAL_PRECISION {
        let rest = kept.split_off(PYTHON_DECIMAL_PRECISION);
        exponent += rest.len() as i64;
        let first = rest.as_bytes()[0];
        let tail_nonzero = rest.bytes().skip(1).any(|b| b != b'0');
        let last_odd = kept.bytes().last().is_some_and(|b| (b - b'0') % 2 == 1);
        let round_up = first > b'5' || (first == b'5' && (tail_nonzero || last_odd));
        if round_up {
            kept = increment(&kept);
            if kept.len() > PYTHON_DECIMAL_PRECISION {
                // 999…9 + 1 = 1000…0: one digit too many, all zeros after the 1.
                kept.truncate(PYTHON_DECIMAL_PRECISION);
                exponent += 1;
            }
        }
    }
    let stripped = kept.trim_end_matches('0');
    exponent += (kept.len() - stripped.len()) as i64;
    (stripped.to_owned(), exponent)
}

/// Adds one to a non-negative integer written in decimal digits.
fn increment(digits: &str) -> String {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    format!("1{}", String::from_utf8_lossy(&bytes))
}

/// Python's `Decimal.__str__` (the "to-scientific-string" rule) for `±digits * 10^exponent`:
/// plain notation when the exponent is not positive and the adjusted exponent is at least -6,
/// else one digit before the point and an `E±n` suffix.
fn scientific_string(negative: bool, digits: &str, exponent: i64) -> String {
    let len = digits.len() as i64;
    let left_digits = exponent + len;
    let dot = if exponent <= 0 && left_digits > -6 {
        left_digits
    } else {
        1
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if dot <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-dot) as usize));
        out.push_str(digits);
    } else if dot >= len {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (dot - len) as usize));
    } else {
        out.push_str(&digits[..dot as usize]);
        out.push('.');
        out.push_str(&digits[dot as usize..]);
    }
    if left_digits != dot {
        out.push_str(&format!("E{:+}", left_digits - dot));
    }
    out
}

/// `(year, month, day)` of a count of days since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Python `date.isoformat()` of a count of days since 1970-01-01: `2024-01-02`.
pub(crate) fn date_text(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Python `time.isoformat()` of microseconds since midnight: `03:04:05`, with `.ffffff` only
/// when the microseconds are not zero.
pub(crate) fn time_text(micros_of_day: i64) -> String {
    let micros = micros_of_day.rem_euclid(MICROS_PER_DAY);
    let seconds = micros / MICROS_PER_SECOND;
    let fraction = micros % MICROS_PER_SECOND;
    let mut out = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if fraction != 0 {
        out.push_str(&format!(".{fraction:06}"));
    }
    out
}

/// Python `datetime.isoformat()` of microseconds since the Unix epoch: `2009-06-14T23:48:00`,
/// followed by `+00:00` when `utc` (an aware datetime in UTC).
pub(crate) fn timestamp_text(micros: i64, utc: bool) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let mut out = format!(
        "{}T{}",
        date_text(days),
        time_text(micros.rem_euclid(MICROS_PER_DAY))
    );
    if utc {
        out.push_str("+00:00");
    }
    out
}

/// Python `str(timedelta(microseconds=micros))`: `1 day, 2:03:04.000005`, `-1 day, 23:59:59`.
pub(crate) fn timedelta_text(micros: i128) -> String {
    let day = i128::from(MICROS_PER_DAY);
    let days = micros.div_euclid(day);
    let rest = micros.rem_euclid(day);
    let seconds = rest / i128::from(MICROS_PER_SECOND);
    let fraction = rest % i128::from(MICROS_PER_SECOND);
    let mut out = String::new();
    if days != 0 {
        let plural = if days.abs() == 1 { "" } else { "s" };
        out.push_str(&format!("{days} day{plural}, "));
    }
    out.push_str(&format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    ));
    if fraction != 0 {
        out.push_str(&format!(".{fraction:06}"));
    }
    out
}

/// Lowercase hex of bytes, like Python's `bytes.hex()`.
pub(crate) fn hex_text(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Python's `repr(float)`: the shortest text that reads back as the same double, in plain
/// notation for decimal exponents -4..16 (always with a fraction, `3.0`) and else in
/// scientific notation with a signed two-digit-minimum exponent (`1e+308`, `1e-05`).
pub(crate) fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    // serde_json prints floats with ryu: the shortest digits that read back as the same double
    // and, among those, the closest to it, as Python's repr picks them (`{:e}` does not always).
    let text = serde_json::Number::from_f64(value).map_or_else(String::new, |n| n.to_string());
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let (int_part, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = format!("{int_part}{fraction}");
    let digits = all_digits.trim_start_matches('0');
    // The value is 0.<digits> * 10^point; Python's decimal exponent is point - 1.
    let point = int_part.len() as i64 + exponent - (all_digits.len() - digits.len()) as i64;
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return format!("{value:?}");
    }
    let exponent = point - 1;
    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{point}{rest}e{exp_sign}{:02}", exponent.abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exponent as usize + 1;
    if digits.len() <= int_len {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.0")
    } else {
        let (int_part, fraction) = digits.split_at(int_len);
        format!("{sign}{int_part}.{fraction}")
    }
}

/// Python's `json.dumps(value, sort_keys=True)`: keys sorted, `", "` and `": "` separators,
/// non-ASCII escaped, floats as `repr(float)`. The dump sorts documents by this text.
pub(crate) fn json_text(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => out.push_str(&float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_string(key, out);
                out.push_str(": ");
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Orders two values the way Python's `sorted` would order the dump's scalars: numbers by
/// value, nulls first, anything else by its JSON text.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
        },
        _ => json_text(a).cmp(&json_text(b)),
    }
}

/// A copy of `value` with the keys of every object in sorted order, as Python prints the dump.
pub(crate) fn sort_keys(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Every expected string below was produced by python3 with the expressions noted.

    #[test]
    fn decimals_match_python() {
        // str(v.normalize()) if v == v.to_integral_value() else str(v), v = Decimal(text)
        let cases: &[(&str, i64, &str)] = &[
            ("5000000000", 9, "5"),                // 5.000000000
            ("-5000000000", 9, "-5"),              // -5.000000000
            ("100", 0, "1E+2"),                    // 100
            ("-100", 0, "-1E+2"),                  // -100
            ("10", 0, "1E+1"),                     // 10
            ("120", 0, "1.2E+2"),                  // 120
            ("7", 0, "7"),                         // 7
            ("100000000000000000000", 0, "1E+20"), // 10**20
            ("0", 0, "0"),
            ("0", 9, "0"),                    // 0.000000000
            ("1230000000", 9, "1.230000000"), // 1.230000000
            ("-1230000000", 9, "-1.230000000"),
            ("100", 9, "1.00E-7"),      // 0.000000100
            ("1000", 9, "0.000001000"), // 0.000001000
            ("1", 9, "1E-9"),           // 0.000000001
            ("-1", 9, "-1E-9"),
            ("500000000", 9, "0.500000000"), // 0.500000000
            ("123456789123456789", 9, "123456789.123456789"),
            (
                "99999999999999999999999999999999999999",
                9,
                "99999999999999999999999999999.999999999",
            ),
            // normalize() rounds to the context's 28 digits (half-even) before stripping zeros.
            (
                "12345678901234567890123456789012345678",
                0,
                "1.234567890123456789012345679E+37",
            ),
            ("99999999999999999999999999999", 0, "1E+29"), // 29 nines
            (
                "12345678901234567890123456785",
                0,
                "1.234567890123456789012345678E+28",
            ),
            (
                "12345678901234567890123456775",
                0,
                "1.234567890123456789012345678E+28",
            ),
            (
                "123456789012345678901234567850001",
                0,
                "1.234567890123456789012345679E+32",
            ),
            ("99999999999999999999999999999000000000", 9, "1E+29"),
        ];
        for (unscaled, scale, expected) in cases {
            assert_eq!(
                decimal_text(unscaled, *scale),
                *expected,
                "{unscaled} scale {scale}"
            );
        }
    }

    #[test]
    fn dates_and_times_match_python() {
        // datetime.datetime(2009, 6, 14, 23, 48, tzinfo=timezone.utc).isoformat()
        assert_eq!(
            timestamp_text(1_245_023_280_000_000, true),
            "2009-06-14T23:48:00+00:00"
        );
        // datetime.datetime(2009, 6, 14, 23, 48, 0, 5).isoformat()
        assert_eq!(
            timestamp_text(1_245_023_280_000_005, false),
            "2009-06-14T23:48:00.000005"
        );
        // datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc).isoformat()
        assert_eq!(timestamp_text(-1, true), "1969-12-31T23:59:59.999999+00:00");
        // datetime.datetime(2024, 2, 29, 12, 0, tzinfo=timezone.utc).isoformat()
        assert_eq!(
            timestamp_text(1_709_208_000_000_000, true),
            "2024-02-29T12:00:00+00:00"
        );
        // datetime.date(2024, 1, 2), date(1, 1, 1), date(9999, 12, 31)
        assert_eq!(date_text(19_724), "2024-01-02");
        assert_eq!(date_text(-719_162), "0001-01-01");
        assert_eq!(date_text(2_932_896), "9999-12-31");
        assert_eq!(date_text(0), "1970-01-01");
        // datetime.time(3, 4, 5).isoformat(), time(3, 4, 5, 120).isoformat()
        assert_eq!(time_text(11_045_000_000), "03:04:05");
        assert_eq!(time_text(11_045_000_120), "03:04:05.000120");
        assert_eq!(time_text(0), "00:00:00");
        // str(timedelta(days=-1, seconds=5)), str(timedelta(days=2, microseconds=5)),
        // str(timedelta(seconds=3661)), str(timedelta(days=1))
        assert_eq!(timedelta_text(-86_395_000_000), "-1 day, 0:00:05");
        assert_eq!(timedelta_text(172_800_000_005), "2 days, 0:00:00.000005");
        assert_eq!(timedelta_text(3_661_000_000), "1:01:01");
        assert_eq!(timedelta_text(86_400_000_000), "1 day, 0:00:00");
    }

    #[test]
    fn json_text_matches_python_json_dumps() {
        // json.dumps({'b': [1e308, 5e-324, 3.0, 1e16, 1e15, 0.0001, 0.00001, -0.0,
        //   123456789012345678.0, 1.5e-7, 12, -3], 'a': 'é\x7f\n"😀\x01', 'c': None},
        //   sort_keys=True)
        let value = json!({
            "b": [1e308, 5e-324, 3.0, 1e16, 1e15, 0.0001, 0.00001, -0.0,
                  123_456_789_012_345_678.0, 1.5e-7, 12, -3],
            "a": "é\u{7f}\n\"😀\u{01}",
            "c": null,
        });
        assert_eq!(
            json_text(&value),
            r#"{"a": "\u00e9\u007f\n\"\ud83d\ude00\u0001", "b": [1e+308, 5e-324, 3.0, 1e+16, 1000000000000000.0, 0.0001, 1e-05, -0.0, 1.2345678901234568e+17, 1.5e-07, 12, -3], "c": null}"#
        );
        // repr(40.742963), repr(-73.98), repr(0.1 + 0.2), repr(100.0), repr(2.5e-05)
        assert_eq!(float_repr(40.742963), "40.742963");
        assert_eq!(float_repr(-73.98), "-73.98");
        assert_eq!(float_repr(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_repr(100.0), "100.0");
        assert_eq!(float_repr(2.5e-05), "2.5e-05");
        assert_eq!(float_repr(f64::MAX), "1.7976931348623157e+308");
        // Two shortest candidates round-trip here; Python (like ryu) takes the closer one,
        // Rust's `{:e}` the other (…8.3): repr(struct.unpack('d', struct.pack('Q', 14059638996607283553))[0])
        assert_eq!(
            float_repr(f64::from_bits(14_059_638_996_607_283_553)),
            "-2102039802834008.2"
        );
    }

    #[test]
    fn hex_is_lowercase() {
        // b'\x00\xab\xff'.hex()
        assert_eq!(hex_text(&[0x00, 0xab, 0xff]), "00abff");
    }
}
