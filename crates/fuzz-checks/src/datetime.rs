//! The ISO 8601 timestamp, date and time parsers (`dltrs_core::types::datetime`).

use dltrs_core::types::datetime::{
    coerce_date, coerce_time, coerce_timestamp, format_date, format_time, format_timestamp,
    parse_timestamp,
};

/// Microseconds in one day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The parsers never panic; what they parse formats back to text that parses to the same
/// value; a detected timestamp is also what coercion reads, and its date is the coerced date.
pub fn datetime(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(ts) = parse_timestamp(s) {
        let text = format_timestamp(ts);
        assert_eq!(
            parse_timestamp(&text),
            Some(ts),
            "{s:?} is {ts}, formatted {text:?}"
        );
        assert_eq!(coerce_timestamp(s), Some(ts), "coercing {s:?}");
        let days = i32::try_from(ts.div_euclid(MICROS_PER_DAY)).ok();
        assert_eq!(coerce_date(s), days, "the date of {s:?}");
    }
    if let Some(ts) = coerce_timestamp(s) {
        let text = format_timestamp(ts);
        assert_eq!(
            coerce_timestamp(&text),
            Some(ts),
            "{s:?} coerced to {ts}, formatted {text:?}"
        );
    }
    if let Some(days) = coerce_date(s) {
        let text = format_date(days);
        assert_eq!(
            coerce_date(&text),
            Some(days),
            "{s:?} is day {days}, formatted {text:?}"
        );
    }
    if let Some(micros) = coerce_time(s) {
        assert!(
            (0..MICROS_PER_DAY).contains(&micros),
            "{s:?} is {micros} µs after midnight"
        );
        let text = format_time(micros);
        assert_eq!(
            coerce_time(&text),
            Some(micros),
            "{s:?} is {micros} µs, formatted {text:?}"
        );
    }
}
