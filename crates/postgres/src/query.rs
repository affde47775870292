//! [`query`]: the rows of one statement as Arrow batches, for `Destination::query`.
//!
//! Rows come in PostgreSQL's text format (simple query protocol: any statement, any type) and
//! are typed by the statement's column types (from a `prepare`): booleans, integers, floats,
//! timestamps (the session in UTC), dates, times, numerics as decimals at the largest scale
//! the column holds, bytea as binary; everything else (json, jsonb, uuid, text) as text.

use std::sync::Arc;

use arrow_array::builder::Decimal128Builder;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch,
    StringArray, Time64MicrosecondArray, TimestampMicrosecondArray,
};
use arrow_schema::{Field, Schema};
use dltrs_core::types::datetime::{coerce_date, coerce_time, coerce_timestamp};
use dltrs_core::types::{decode_hex, parse_decimal};
use postgres::types::Type;
use postgres::{Client, SimpleQueryMessage};

/// Why a query failed.
pub(crate) type QueryError = Box<dyn std::error::Error + Send + Sync>;

/// Runs `sql` with `dataset` first on the search path; its rows as one batch.
pub(crate) fn query(
    client: &mut Client,
    dataset: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, QueryError> {
    // the dataset's name is an identifier, quoted; the statement is the caller's own SQL
    client.batch_execute(&format!(
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET search_path TO {}, public",
        dltrs_core::sql::ident(dataset)
    ))?;
    let statement = client.prepare(sql)?;
    let columns: Vec<(String, Type)> = statement
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_().clone()))
        .collect();
    let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); columns.len()];
    for message in client.simple_query(sql)? {
        if let SimpleQueryMessage::Row(row) = message {
            for (i, column) in values.iter_mut().enumerate() {
                column.push(row.get(i).map(str::to_owned));
            }
        }
    }
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays = Vec::with_capacity(columns.len());
    for ((name, kind), column) in columns.iter().zip(&values) {
        let array = typed(kind, column)?;
        fields.push(Field::new(name, array.data_type().clone(), true));
        arrays.push(array);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
    Ok(vec![batch])
}

/// One column's text values as the Arrow array of its type.
fn typed(kind: &Type, values: &[Option<String>]) -> Result<ArrayRef, QueryError> {
    Ok(match *kind {
        Type::BOOL => Arc::new(BooleanArray::from(parsed(kind, values, |v| {
            Some(v == "t")
        })?)),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            Arc::new(Int64Array::from(parsed(kind, values, |v| v.parse().ok())?))
        }
        Type::FLOAT4 | Type::FLOAT8 => Arc::new(Float64Array::from(parsed(kind, values, |v| {
            v.parse().ok()
        })?)),
        Type::TIMESTAMPTZ => Arc::new(
            TimestampMicrosecondArray::from(parsed(kind, values, coerce_timestamp)?)
                .with_timezone("UTC"),
        ),
        Type::TIMESTAMP => Arc::new(TimestampMicrosecondArray::from(parsed(
            kind,
            values,
            coerce_timestamp,
        )?)),
        Type::DATE => Arc::new(Date32Array::from(parsed(kind, values, coerce_date)?)),
        Type::TIME => Arc::new(Time64MicrosecondArray::from(parsed(
            kind,
            values,
            coerce_time,
        )?)),
        Type::NUMERIC => numeric(values)?,
        Type::BYTEA => Arc::new(BinaryArray::from_iter(parsed(kind, values, |v| {
            v.strip_prefix("\\x").and_then(decode_hex)
        })?)),
        _ => Arc::new(StringArray::from_iter(values.iter().map(|v| v.as_deref()))),
    })
}

/// Each value read by `parse`; a value it cannot read is an error naming it and the type.
fn parsed<T>(
    kind: &Type,
    values: &[Option<String>],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<Option<T>>, QueryError> {
    values
        .iter()
        .map(|v| match v.as_deref() {
            Some(v) => parse(v)
                .map(Some)
                .ok_or_else(|| format!("cannot read {v:?} as {kind}").into()),
            None => Ok(None),
        })
        .collect()
}

/// Numerics as `Decimal128(38, s)` at the largest scale of the column's values; as text when a
/// value does not fit 38 digits (NaN, huge values).
fn numeric(values: &[Option<String>]) -> Result<ArrayRef, QueryError> {
    let scale = values
        .iter()
        .flatten()
        .map(|v| v.split_once('.').map_or(0, |(_, f)| f.len()))
        .max()
        .unwrap_or(0)
        .min(38) as i8;
    let parsed: Option<Vec<Option<i128>>> = values
        .iter()
        .map(|v| match v.as_deref() {
            None => Some(None),
            Some(v) => parse_decimal(v, scale).map(Some),
        })
        .collect();
    Ok(match parsed {
        Some(parsed) => {
            let mut b = Decimal128Builder::with_capacity(parsed.len())
                .with_precision_and_scale(38, scale)?;
            for v in parsed {
                b.append_option(v);
            }
            Arc::new(b.finish())
        }
        None => Arc::new(StringArray::from_iter(values.iter().map(|v| v.as_deref()))),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use arrow_array::Array;
    use arrow_schema::{DataType, TimeUnit};

    #[test]
    fn text_values_become_typed_arrays() {
        let v = |s: &[Option<&str>]| s.iter().map(|v| v.map(str::to_owned)).collect::<Vec<_>>();
        let ts = typed(
            &Type::TIMESTAMPTZ,
            &v(&[Some("2024-01-02 03:04:05.5+00"), None]),
        )
        .unwrap();
        assert_eq!(
            ts.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(ts.null_count(), 1);
        let n = numeric(&v(&[Some("1.5"), Some("-2.25"), None])).unwrap();
        assert_eq!(n.data_type(), &DataType::Decimal128(38, 2));
        let b = typed(&Type::BYTEA, &v(&[Some("\\x00ff")])).unwrap();
        assert_eq!(b.len(), 1);
        assert!(typed(&Type::INT8, &v(&[Some("x")])).is_err());
        let huge = numeric(&v(&[Some("NaN")])).unwrap();
        assert_eq!(huge.data_type(), &DataType::Utf8);
    }
}
