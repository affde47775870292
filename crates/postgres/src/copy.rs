//! Arrow batches as PostgreSQL's binary `COPY` format: what `COPY t (cols) FROM STDIN WITH
//! (FORMAT binary)` reads. Values go over the wire as the server stores them, with no text
//! to parse and nothing spliced into SQL.
//!
//! ```text
//! "PGCOPY\n\xff\r\n\0" flags:i32 extension:i32      header
//! fields:i16 (len:i32 bytes | -1)*                   one tuple per row
//! -1:i16                                             trailer
//! ```

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int64Type, Time64MicrosecondType,
    TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use dltrs_core::normalize::DLT_TYPE_METADATA;

/// The header of a binary COPY stream.
pub(crate) const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The trailer of a binary COPY stream.
pub(crate) const TRAILER: &[u8] = &[0xff, 0xff];

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Days from the Unix epoch to PostgreSQL's.
const PG_EPOCH_DAYS: i32 = 10_957;

/// One column of a batch, downcast once.
enum Field<'a> {
    Text(&'a arrow_array::StringArray),
    Json(&'a arrow_array::StringArray),
    Int(&'a arrow_array::Int64Array),
    Double(&'a arrow_array::Float64Array),
    Bool(&'a arrow_array::BooleanArray),
    Timestamp(&'a arrow_array::TimestampMicrosecondArray),
    Date(&'a arrow_array::Date32Array),
    Time(&'a arrow_array::Time64MicrosecondArray),
    Decimal(&'a arrow_array::Decimal128Array, i8),
    Binary(&'a arrow_array::BinaryArray),
}

/// A column whose Arrow type has no binary COPY encoding here.
#[derive(Debug, thiserror::Error)]
#[error("column `{column}` has Arrow type {data_type}, which the PostgreSQL loader cannot write")]
pub(crate) struct UnsupportedColumn {
    column: String,
    data_type: DataType,
}

/// Appends the tuples of `batch` to `out` (no header, no trailer).
pub(crate) fn encode_batch(
    batch: &RecordBatch,
    out: &mut Vec<u8>,
) -> Result<(), UnsupportedColumn> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        let json = field
            .metadata()
            .get(DLT_TYPE_METADATA)
            .is_some_and(|t| t == "json");
        let unsupported = || UnsupportedColumn {
            column: field.name().clone(),
            data_type: field.data_type().clone(),
        };
        fields.push(match field.data_type() {
            DataType::Utf8 if json => Field::Json(array.as_string::<i32>()),
            DataType::Utf8 => Field::Text(array.as_string::<i32>()),
            DataType::Int64 => Field::Int(array.as_primitive::<Int64Type>()),
            DataType::Float64 => Field::Double(array.as_primitive::<Float64Type>()),
            DataType::Boolean => Field::Bool(array.as_boolean()),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Field::Timestamp(array.as_primitive::<TimestampMicrosecondType>())
            }
            DataType::Date32 => Field::Date(array.as_primitive::<Date32Type>()),
            DataType::Time64(TimeUnit::Microsecond) => {
                Field::Time(array.as_primitive::<Time64MicrosecondType>())
            }
            DataType::Decimal128(_, scale) if *scale >= 0 => {
                Field::Decimal(array.as_primitive::<Decimal128Type>(), *scale)
            }
            DataType::Binary => Field::Binary(array.as_binary::<i32>()),
            _ => return Err(unsupported()),
        });
    }
    let count = i16::try_from(fields.len()).map_err(|_| UnsupportedColumn {
        column: format!("({} columns)", fields.len()),
        data_type: DataType::Null,
    })?;
    for row in 0..batch.num_rows() {
        out.extend_from_slice(&count.to_be_bytes());
        for field in &fields {
            write_value(field, row, out);
        }
    }
    Ok(())
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

fn bytes(out: &mut Vec<u8>, value: &[u8]) {
    // a single value over 1 GB cannot be stored by PostgreSQL either; the server rejects it
    out.extend_from_slice(&(value.len() as i32).to_be_bytes());
    out.extend_from_slice(value);
}

fn write_value(field: &Field<'_>, row: usize, out: &mut Vec<u8>) {
    macro_rules! fixed {
        ($array:expr, |$v:ident| $encode:expr) => {{
            if $array.is_null(row) {
                null(out)
            } else {
                let $v = $array.value(row);
                let encoded = $encode;
                out.extend_from_slice(&(encoded.len() as i32).to_be_bytes());
                out.extend_from_slice(&encoded);
            }
        }};
    }
    match field {
        Field::Text(a) => match a.is_null(row) {
            true => null(out),
            false => bytes(out, a.value(row).as_bytes()),
        },
        Field::Json(a) => match a.is_null(row) {
            true => null(out),
            false => {
                // jsonb's binary form: a version byte, then the text
                let text = a.value(row).as_bytes();
                out.extend_from_slice(&(text.len() as i32 + 1).to_be_bytes());
                out.push(1);
                out.extend_from_slice(text);
            }
        },
        Field::Binary(a) => match a.is_null(row) {
            true => null(out),
            false => bytes(out, a.value(row)),
        },
        Field::Int(a) => fixed!(a, |v| v.to_be_bytes()),
        Field::Double(a) => fixed!(a, |v| v.to_be_bytes()),
        Field::Bool(a) => fixed!(a, |v| [u8::from(v)]),
        Field::Timestamp(a) => fixed!(a, |v| v.saturating_sub(PG_EPOCH_MICROS).to_be_bytes()),
        Field::Date(a) => fixed!(a, |v| v.saturating_sub(PG_EPOCH_DAYS).to_be_bytes()),
        Field::Time(a) => fixed!(a, |v| v.to_be_bytes()),
        Field::Decimal(a, scale) => match a.is_null(row) {
            true => null(out),
            false => numeric(a.value(row), *scale as u32, out),
        },
    }
}

/// `numeric`'s binary form: digit count, weight, sign, display scale (all i16), then base-10000
/// digits, most significant first; the value is `sum(digit[i] * 10000^(weight - i))`. Written
/// without allocating: decimals can be every value of a column.
fn numeric(value: i128, scale: u32, out: &mut Vec<u8>) {
    let mut text = itoa::Buffer::new();
    let decimal = text.format(value.unsigned_abs()).as_bytes();
    let scale = scale as usize;
    let int_len = decimal.len().saturating_sub(scale);
    // the fraction's digits that `format` left out as leading zeros
    let frac_zeros = scale - (decimal.len() - int_len);
    let int_groups = int_len.div_ceil(4);
    let frac_groups = scale.div_ceil(4);
    // the digit at position `v` of the integer part left-padded and the fraction right-padded
    // to groups of four
    let digit = |v: usize| -> i16 {
        let int_padded = int_groups * 4;
        let byte = if v < int_padded {
            (v + int_len).checked_sub(int_padded).map(|k| decimal[k])
        } else {
            let f = v - int_padded;
            (f < scale && f >= frac_zeros).then(|| decimal[int_len + f - frac_zeros])
        };
        byte.map_or(0, |b| i16::from(b.wrapping_sub(b'0')))
    };
    // 38 digits and their padding fit 24 groups
    let mut digits = [0i16; 24];
    let count = (int_groups + frac_groups).min(digits.len());
    for (g, slot) in digits.iter_mut().take(count).enumerate() {
        *slot = (0..4).fold(0, |acc, i| acc * 10 + digit(g * 4 + i));
    }
    let mut first = 0;
    while first < count && digits[first] == 0 {
        first += 1;
    }
    let mut last = count;
    while last > first && digits[last - 1] == 0 {
        last -= 1;
    }
    let used = &digits[first..last];
    let weight = if used.is_empty() {
        0
    } else {
        int_groups as i16 - 1 - first as i16
    };
    let sign: u16 = if value < 0 && !used.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&((8 + 2 * used.len()) as i32).to_be_bytes());
    out.extend_from_slice(&(used.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as i16).to_be_bytes());
    for digit in used {
        out.extend_from_slice(&digit.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn encoded(value: i128, scale: u32) -> (i16, i16, u16, i16, Vec<i16>) {
        let mut out = Vec::new();
        numeric(value, scale, &mut out);
        let i16_at = |i: usize| i16::from_be_bytes([out[i], out[i + 1]]);
        let len = i32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize;
        assert_eq!(len, out.len() - 4);
        let n = i16_at(4);
        let digits = (0..n as usize).map(|k| i16_at(12 + 2 * k)).collect();
        (n, i16_at(6), i16_at(8) as u16, i16_at(10), digits)
    }

    #[test]
    fn numerics_are_base_10000_digits() {
        // 12345.678
        assert_eq!(encoded(12_345_678, 3), (3, 1, 0, 3, vec![1, 2345, 6780]));
        // 0.05
        assert_eq!(encoded(5, 2), (1, -1, 0, 2, vec![500]));
        // -1.000000001 at scale 9
        assert_eq!(
            encoded(-1_000_000_001, 9),
            (4, 0, 0x4000, 9, vec![1, 0, 0, 1000])
        );
        // 0 and 10000
        assert_eq!(encoded(0, 9), (0, 0, 0, 9, vec![]));
        assert_eq!(encoded(10_000, 0), (1, 1, 0, 0, vec![1]));
        // 38 nines
        let max = 10i128.pow(38) - 1;
        let (n, weight, _, _, digits) = encoded(max, 0);
        assert_eq!((n, weight), (10, 9));
        assert_eq!(digits[0], 99);
    }
}
