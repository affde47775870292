//! Fixed-point decimals as scaled `i128`, the form Arrow's `Decimal128` and DuckDB store.

/// The largest magnitude a 38-digit decimal can hold, plus one.
const TEN_POW_38: i128 = 100_000_000_000_000_000_000_000_000_000_000_000_000;

/// Parses a decimal literal (`-12.5`, `1e3`, `+0.001`) into an integer scaled by `10^scale`,
/// rounding half away from zero beyond the scale. `None` if malformed or beyond 38 digits.
pub fn parse_decimal(text: &str, scale: i8) -> Option<i128> {
    let text = text.trim();
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // all digits, with the decimal point moved by the exponent and the scale
    let digits = int_part.bytes().chain(frac_part.bytes());
    let shift = i32::from(scale) + exponent - frac_part.len() as i32;
    let mut value: i128 = 0;
    let total = int_part.len() + frac_part.len();
    let keep = (total as i32 + shift.min(0)).max(0) as usize;
    let mut round_up = false;
    for (i, d) in digits.enumerate() {
        let d = i128::from(d - b'0');
        if i < keep {
            value = value.checked_mul(10)?.checked_add(d)?;
        } else if i == keep {
            round_up = d >= 5;
        }
    }
    if shift > 0 {
        for _ in 0..shift {
            value = value.checked_mul(10)?;
        }
    }
    if round_up {
        value += 1;
    }
    if value >= TEN_POW_38 {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// Formats a scaled integer as decimal text with exactly `scale` fraction digits.
pub fn format_decimal(value: i128, scale: i8) -> String {
    let digits = value.unsigned_abs().to_string();
    let sign = if value < 0 { "-" } else { "" };
    if scale <= 0 {
        return format!("{sign}{digits}{}", "0".repeat((-scale) as usize));
    }
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
    } else {
        digits
    };
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac_part}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_scales() {
        assert_eq!(parse_decimal("1.23", 9), Some(1_230_000_000));
        assert_eq!(parse_decimal("-12", 2), Some(-1200));
        assert_eq!(parse_decimal("1e3", 0), Some(1000));
        assert_eq!(parse_decimal("2.5", 0), Some(3));
        assert_eq!(parse_decimal("0.0000000015", 9), Some(2));
        assert_eq!(
            parse_decimal("1180591620717411303424", 0),
            Some(1_180_591_620_717_411_303_424)
        );
        assert_eq!(parse_decimal("1".repeat(39).as_str(), 0), None);
        assert_eq!(parse_decimal("abc", 0), None);
        assert_eq!(parse_decimal(".", 0), None);
    }

    #[test]
    fn formats_with_scale() {
        assert_eq!(format_decimal(1_230_000_000, 9), "1.230000000");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(42, 0), "42");
    }
}
