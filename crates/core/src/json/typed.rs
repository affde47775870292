//! Typed values inside JSON text: dlt's `typed-jsonl` markers.
//!
//! JSON has no dates, decimals or bytes, but the items of a Python resource do. dlt writes such
//! a value as a string that starts with a character of Unicode's private use area naming its
//! type (`dlt/common/json/__init__.py`), and its normalizer turns the string back into the
//! value. dltrs uses the same markers and payloads, so a binding writes `datetime`, `date`,
//! `time`, `Decimal`, `UUID` and `bytes` into the extracted package as text and the
//! normalizer still sees a timestamp, a date, a time, a decimal and binary. The parser decodes
//! every string value that starts with a marker, as dlt's normalizer does; a payload that does
//! not decode stays the string it was.

use std::borrow::Cow;

use base64::Engine;

use super::Item;
use crate::types::datetime::{coerce_date, coerce_time, parse_timestamp};
use crate::types::{decode_hex, parse_decimal};

/// `Decimal`: its `str()`.
pub const DECIMAL: char = '\u{F026}';
/// `datetime`: its `isoformat()` (no offset: UTC).
pub const DATETIME: char = '\u{F027}';
/// `date`: its `isoformat()`.
pub const DATE: char = '\u{F028}';
/// `UUID`: its text (dlt loads UUIDs as text).
pub const UUID: char = '\u{F029}';
/// `bytes` as hexadecimal digits.
pub const HEX_BYTES: char = '\u{F02A}';
/// `bytes` as base64.
pub const B64_BYTES: char = '\u{F02B}';
/// A big integer (`Wei`): its digits.
pub const WEI: char = '\u{F02C}';
/// `time`: its `isoformat()`.
pub const TIME: char = '\u{F02D}';

/// The first two bytes of every marker's UTF-8 form (U+F026..U+F02D is `EF 80 A6..AD`).
const LEAD: [u8; 2] = [0xEF, 0x80];

/// Whether `s` starts with a marker: the one check a plain string pays.
#[inline]
pub fn is_typed(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3 && b[..2] == LEAD && (0xA6..=0xAD).contains(&b[2])
}

/// The value a marked string stands for; `None` when `s` is not marked or its payload does not
/// decode (the caller keeps the string).
pub fn decode(s: &str) -> Option<Item<'static>> {
    if !is_typed(s) {
        return None;
    }
    let marker = s.chars().next()?;
    let payload = &s[marker.len_utf8()..];
    match marker {
        DECIMAL => decimal(payload),
        DATETIME => parse_timestamp(payload).map(Item::Timestamp),
        DATE => coerce_date(payload)
            .filter(|_| payload.len() == 10)
            .map(Item::Date),
        TIME => coerce_time(payload).map(Item::Time),
        UUID => Some(Item::Str(Cow::Owned(payload.to_owned()))),
        WEI => wei(payload),
        HEX_BYTES => decode_hex(payload.strip_prefix("0x").unwrap_or(payload))
            .map(|b| Item::Binary(Cow::Owned(b))),
        B64_BYTES => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()
            .map(|b| Item::Binary(Cow::Owned(b))),
        _ => None,
    }
}

/// A decimal's text (`1.50`, `-3E+2`) at the scale it was written with.
fn decimal(text: &str) -> Option<Item<'static>> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let fraction = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i32);
    let scale = i8::try_from((fraction - exponent).clamp(0, 38)).ok()?;
    parse_decimal(text, scale).map(|value| Item::Decimal(value, scale))
}

/// An integer's digits, as the parser keeps integers.
fn wei(digits: &str) -> Option<Item<'static>> {
    let body = digits.strip_prefix('-').unwrap_or(digits);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match digits.parse::<i64>() {
        Ok(i) => Item::Int(i),
        Err(_) => Item::BigInt(Cow::Owned(digits.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(marker: char, payload: &str) -> String {
        format!("{marker}{payload}")
    }

    #[test]
    fn markers_decode_to_typed_values() {
        assert_eq!(
            decode(&marked(DATETIME, "2024-01-02T03:04:05.000006+01:00")),
            Some(Item::Timestamp(1_704_161_045_000_006))
        );
        assert_eq!(
            decode(&marked(DATETIME, "2024-01-02T03:04:05")),
            Some(Item::Timestamp(1_704_164_645_000_000))
        );
        assert_eq!(decode(&marked(DATE, "1970-01-11")), Some(Item::Date(10)));
        assert_eq!(
            decode(&marked(TIME, "00:00:01.5")),
            Some(Item::Time(1_500_000))
        );
        assert_eq!(
            decode(&marked(DECIMAL, "-12.50")),
            Some(Item::Decimal(-1250, 2))
        );
        assert_eq!(
            decode(&marked(DECIMAL, "3E+2")),
            Some(Item::Decimal(300, 0))
        );
        assert_eq!(
            decode(&marked(B64_BYTES, "AAH/")),
            Some(Item::Binary(Cow::Owned(vec![0, 1, 255])))
        );
        assert_eq!(
            decode(&marked(HEX_BYTES, "00ff")),
            Some(Item::Binary(Cow::Owned(vec![0, 255])))
        );
        assert_eq!(
            decode(&marked(WEI, "123456789012345678901234567890")),
            Some(Item::BigInt(Cow::Owned(
                "123456789012345678901234567890".into()
            )))
        );
        assert_eq!(
            decode(&marked(UUID, "6f1c")),
            Some(Item::Str(Cow::Owned("6f1c".into())))
        );
    }

    #[test]
    fn plain_strings_and_bad_payloads_stay_strings() {
        assert!(!is_typed("2024-01-01T00:00:00"));
        assert!(!is_typed("\u{F025}x"));
        assert!(!is_typed("\u{F02E}x"));
        assert_eq!(decode("plain"), None);
        assert_eq!(decode(&marked(DATETIME, "not a time")), None);
        assert_eq!(decode(&marked(DECIMAL, "NaN")), None);
        assert_eq!(decode(&marked(DATE, "2024-01-01T00:00:00")), None);
        assert_eq!(decode(&marked(HEX_BYTES, "0")), None);
        assert_eq!(decode(&marked(B64_BYTES, "!!")), None);
    }
}
