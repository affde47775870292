//! ISO 8601 timestamps, dates and times as dlt detects and coerces them.
//!
//! dlt's `iso_timestamp` detector (pendulum's ISO parser with a fallback for `YYYY/MM/DD`) turns a
//! string into a `timestamp` column only when it is a full date *and* time; dates alone stay text.
//! The accepted shapes are checked against dlt in `testdata/dlt/iso_timestamps.json`.

/// Microseconds in one day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A parsed calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    year: i32,
    month: u32,
    day: u32,
}

/// A parsed wall-clock time with an optional UTC offset in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Time {
    micros: i64,
    offset_seconds: Option<i32>,
}

/// Parses an ISO 8601 date *and* time into microseconds since the Unix epoch, UTC. Offsets are
/// applied; a value without an offset is taken as UTC. Returns `None` for anything else,
/// including dates without a time.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let (date, rest, basic) = parse_date_part(s)?;
    let sep = rest.as_bytes().first()?;
    if *sep != b'T' && *sep != b' ' {
        return None;
    }
    let time = parse_time_part(&rest[1..], basic)?;
    Some(to_epoch_micros(date, time)).filter(|micros| PYTHON_MICROS.contains(micros))
}

/// The instants Python's `datetime` holds (years 1 to 9999, UTC): an offset may carry a
/// timestamp written in range out of it, and [`format_timestamp`] could then write a year
/// that no parser (this one included) reads back.
const PYTHON_MICROS: std::ops::Range<i64> = -62_135_596_800_000_000..253_402_300_800_000_000;

/// Parses what dlt accepts when it coerces text into an existing timestamp column: a full
/// timestamp, or a date alone (midnight UTC).
pub fn coerce_timestamp(s: &str) -> Option<i64> {
    if let Some(ts) = parse_timestamp(s) {
        return Some(ts);
    }
    let (date, rest, _) = parse_date_part(s)?;
    rest.is_empty()
        .then(|| days_from_civil(date) * MICROS_PER_DAY)
}

/// Parses `YYYY-MM-DD` (or a timestamp, taking its UTC date) into days since the Unix epoch.
pub fn coerce_date(s: &str) -> Option<i32> {
    let micros = match parse_date_part(s) {
        Some((date, "", _)) => days_from_civil(date) * MICROS_PER_DAY,
        _ => parse_timestamp(s)?,
    };
    i32::try_from(micros.div_euclid(MICROS_PER_DAY)).ok()
}

/// Parses `HH:MM[:SS[.ffffff]]` into microseconds since midnight.
pub fn coerce_time(s: &str) -> Option<i64> {
    let time = parse_time_part(s, false)?;
    match time.offset_seconds {
        None => Some(time.micros),
        Some(offset) => {
            Some((time.micros - i64::from(offset) * 1_000_000).rem_euclid(MICROS_PER_DAY))
        }
    }
}

/// Now, as [`format_timestamp`] writes it (the times of traces, locks and failures).
pub fn now_timestamp() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    format_timestamp(micros)
}

/// Formats microseconds since the epoch the way Python's `datetime.isoformat()` does for a UTC
/// value: `2009-06-14T23:48:00+00:00`, with `.ffffff` only when there are microseconds.
pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{}", format_time(rem));
    out.push_str("+00:00");
    out
}

/// Formats microseconds since midnight as `HH:MM:SS[.ffffff]`.
pub fn format_time(micros: i64) -> String {
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let mut out = format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac != 0 {
        out.push_str(&format!(".{frac:06}"));
    }
    out
}

/// Formats days since the epoch as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}-{m:02}-{d:02}")
}

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// Parses the date at the start of `s`; returns the date, the rest, and whether the basic
/// (separator-less) format was used. A week date outside years 1 to 9999 (`0001-W01-1` is in
/// year 0) is refused, like every other date there.
fn parse_date_part(s: &str) -> Option<(Date, &str, bool)> {
    parse_any_date_part(s).filter(|(date, ..)| (1..=9999).contains(&date.year))
}

fn parse_any_date_part(s: &str) -> Option<(Date, &str, bool)> {
    let (year, rest) = digits(s, 4)?;
    if year == 0 {
        return None;
    }
    let year = year as i32;
    let bytes = rest.as_bytes();
    match bytes.first() {
        Some(b'-') | Some(b'/') => {
            let sep = bytes[0];
            let rest = &rest[1..];
            if sep == b'-' && rest.starts_with('W') {
                let (week, rest) = digits(&rest[1..], 2)?;
                let rest = rest.strip_prefix('-')?;
                let (weekday, rest) = digits(rest, 1)?;
                return Some((iso_week_date(year, week, weekday)?, rest, false));
            }
            let (first, after_first) = digits(rest, 2)?;
            if sep == b'-'
                && let Some((ordinal, after)) = digits(rest, 3)
                && !after.starts_with(|c: char| c.is_ascii_digit())
                && !after_first.starts_with('-')
            {
                return Some((ordinal_date(year, ordinal)?, after, false));
            }
            let after_first = after_first.strip_prefix(sep as char)?;
            let (day, rest) = digits(after_first, 2)?;
            Some((valid_date(year, first, day)?, rest, false))
        }
        Some(b'W') => {
            let (week, rest) = digits(&rest[1..], 2)?;
            let (weekday, rest) = digits(rest, 1)?;
            Some((iso_week_date(year, week, weekday)?, rest, true))
        }
        Some(b'0'..=b'9') => {
            if let Some((month, after)) = digits(rest, 2)
                && let Some((day, after)) = digits(after, 2)
            {
                return Some((valid_date(year, month, day)?, after, true));
            }
            let (ordinal, after) = digits(rest, 3)?;
            Some((ordinal_date(year, ordinal)?, after, true))
        }
        _ => None,
    }
}

fn parse_time_part(s: &str, basic: bool) -> Option<Time> {
    let (hour, mut rest) = digits(s, 2)?;
    let mut minute = 0;
    let mut second = 0;
    let mut frac_micros = 0i64;
    if basic {
        if let Some((m, r)) = digits(rest, 2) {
            minute = m;
            rest = r;
            if let Some((sec, r)) = digits(rest, 2) {
                second = sec;
                rest = r;
            }
        }
    } else if let Some(r) = rest.strip_prefix(':') {
        let (m, r) = digits(r, 2)?;
        minute = m;
        rest = r;
        if let Some(r) = rest.strip_prefix(':') {
            let (sec, r) = digits(r, 2)?;
            second = sec;
            rest = r;
        }
    }
    if let Some(r) = rest.strip_prefix(['.', ',']) {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let mut micros = 0i64;
        for (i, b) in r.bytes().take(6).take_while(u8::is_ascii_digit).enumerate() {
            micros += i64::from(b - b'0') * 10i64.pow(5 - i as u32);
        }
        frac_micros = micros;
        rest = &r[n..];
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset_seconds = parse_offset(rest)?;
    Some(Time {
        micros: (i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)) * 1_000_000
            + frac_micros,
        offset_seconds,
    })
}

/// `""` (no offset), `Z`, `+HH`, `+HHMM`, `+HH:MM`. The outer `Option` is parse success.
fn parse_offset(s: &str) -> Option<Option<i32>> {
    if s.is_empty() {
        return Some(None);
    }
    if s == "Z" {
        return Some(Some(0));
    }
    let sign = match s.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, rest) = digits(&s[1..], 2)?;
    let minutes = match rest {
        "" => 0,
        r => {
            let r = r.strip_prefix(':').unwrap_or(r);
            let (m, r) = digits(r, 2)?;
            if !r.is_empty() {
                return None;
            }
            m
        }
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(Some(sign * (hours as i32 * 3600 + minutes as i32 * 60)))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn valid_date(year: i32, month: u32, day: u32) -> Option<Date> {
    (day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
}

fn ordinal_date(year: i32, ordinal: u32) -> Option<Date> {
    let days_in_year = if is_leap(year) { 366 } else { 365 };
    if ordinal == 0 || ordinal > days_in_year {
        return None;
    }
    let days = days_from_civil(Date {
        year,
        month: 1,
        day: 1,
    }) + i64::from(ordinal)
        - 1;
    let (y, m, d) = civil_from_days(days);
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

fn iso_week_date(year: i32, week: u32, weekday: u32) -> Option<Date> {
    if !(1..=53).contains(&week) || !(1..=7).contains(&weekday) {
        return None;
    }
    // ISO week 1 holds January 4th; 1970-01-01 was a Thursday (ISO weekday 4)
    let jan4 = days_from_civil(Date {
        year,
        month: 1,
        day: 4,
    });
    let jan4_weekday = (jan4 + 3).rem_euclid(7) + 1;
    let week1_monday = jan4 - (jan4_weekday - 1);
    let days = week1_monday + i64::from(week - 1) * 7 + i64::from(weekday - 1);
    let (y, m, d) = civil_from_days(days);
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

fn to_epoch_micros(date: Date, time: Time) -> i64 {
    days_from_civil(date) * MICROS_PER_DAY + time.micros
        - i64::from(time.offset_seconds.unwrap_or(0)) * 1_000_000
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(date: Date) -> i64 {
    let y = i64::from(date.year) - i64::from(date.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(date.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(date.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Table {
        cases: Vec<Case>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        input: String,
        detected: bool,
        utc: Option<String>,
    }

    #[test]
    fn timestamp_detection_matches_dlt() {
        let table: Table =
            serde_json::from_str(include_str!("../../../../testdata/dlt/iso_timestamps.json"))
                .unwrap();
        let mut failures = Vec::new();
        for case in table.cases {
            let got = parse_timestamp(&case.input).map(format_timestamp);
            if got.is_some() != case.detected || (case.detected && got != case.utc) {
                failures.push(format!("{:?}: got {got:?}, dlt {:?}", case.input, case.utc));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn timestamps_and_dates_outside_years_1_to_9999_are_refused() {
        // in range as written, out of it in UTC or as a calendar date: formatted back they
        // would read `10000-01-01T04:59:59+00:00` or `0000-12-31`, which nothing parses
        for s in [
            "9999-12-31T23:59:59-05:00",
            "0001-01-01T00:00:00+01:00",
            "9999-W52-6",
            "9999-W53-1T00:00:00",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
            assert_eq!(coerce_timestamp(s), None, "{s}");
            assert_eq!(coerce_date(s), None, "{s}");
        }
        let last = parse_timestamp("9999-12-31T23:59:59.999999Z").unwrap();
        assert_eq!(format_timestamp(last), "9999-12-31T23:59:59.999999+00:00");
        let first = parse_timestamp("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(format_timestamp(first), "0001-01-01T00:00:00+00:00");
        assert_eq!(coerce_date("9999-W52-5"), Some(2_932_896));
        assert_eq!(coerce_date("0001-W01-1"), Some(-719_162));
    }

    #[test]
    fn civil_round_trip() {
        for days in [-719_162, -1, 0, 1, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(
                days_from_civil(Date {
                    year: y,
                    month: m,
                    day: d
                }),
                days
            );
        }
    }

    #[test]
    fn dates_and_times_coerce() {
        assert_eq!(
            coerce_date("2024-01-31").map(format_date).as_deref(),
            Some("2024-01-31")
        );
        assert_eq!(
            coerce_time("03:04:05.5").map(format_time).as_deref(),
            Some("03:04:05.500000")
        );
        assert_eq!(
            coerce_timestamp("2024-01-31")
                .map(format_timestamp)
                .as_deref(),
            Some("2024-01-31T00:00:00+00:00")
        );
    }
}
