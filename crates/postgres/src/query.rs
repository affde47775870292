//! [`query`]: the rows of one statement as Arrow batches, for `Destination::query`.
//!
//! Rows come in PostgreSQL's text format (simple query protocol: any statement, any type) and
//! are typed by the statement's column types (from a `prepare`): booleans, integers, floats,
//! timestamps (the session in UTC), dates, times, numerics as decimals at the largest scale
//! the column holds, bytea as binary; everything else (json, jsonb, uuid, text) as text.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
};
use arrow_array::{
    ArrayRef, Date32Array, RecordBatch, Time64MicrosecondArray, TimestampMicrosecondArray,
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
    let bad = |v: &str| -> QueryError { format!("cannot read {v:?} as {kind}").into() };
    Ok(match *kind {
        Type::BOOL => {
            let mut b = BooleanBuilder::with_capacity(values.len());
            for v in values {
                b.append_option(v.as_deref().map(|v| v == "t"));
            }
            Arc::new(b.finish())
        }
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            let mut b = Int64Builder::with_capacity(values.len());
            for v in values {
                b.append_option(
                    v.as_deref()
                        .map(|v| v.parse().map_err(|_| bad(v)))
                        .transpose()?,
                );
            }
            Arc::new(b.finish())
        }
        Type::FLOAT4 | Type::FLOAT8 => {
            let mut b = Float64Builder::with_capacity(values.len());
            for v in values {
                b.append_option(
                    v.as_deref()
                        .map(|v| v.parse().map_err(|_| bad(v)))
                        .transpose()?,
                );
            }
            Arc::new(b.finish())
        }
        Type::TIMESTAMPTZ | Type::TIMESTAMP => {
            let micros = values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .map(|v| coerce_timestamp(v).ok_or_else(|| bad(v)))
                        .transpose()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let array = TimestampMicrosecondArray::from(micros);
            Arc::new(match *kind {
                Type::TIMESTAMPTZ => array.with_timezone("UTC"),
                _ => array,
            })
        }
        Type::DATE => Arc::new(Date32Array::from(
            values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .map(|v| coerce_date(v).ok_or_else(|| bad(v)))
                        .transpose()
                })
                .collect::<Result<Vec<_>, _>>()?,
        )),
        Type::TIME => Arc::new(Time64MicrosecondArray::from(
            values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .map(|v| coerce_time(v).ok_or_else(|| bad(v)))
                        .transpose()
                })
                .collect::<Result<Vec<_>, _>>()?,
        )),
        Type::NUMERIC => numeric(values)?,
        Type::BYTEA => {
            let mut b = BinaryBuilder::with_capacity(values.len(), 0);
            for v in values {
                match v.as_deref() {
                    Some(v) => b.append_value(
                        v.strip_prefix("\\x")
                            .and_then(decode_hex)
                            .ok_or_else(|| bad(v))?,
                    ),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = StringBuilder::with_capacity(values.len(), 0);
            for v in values {
                b.append_option(v.as_deref());
            }
            Arc::new(b.finish())
        }
    })
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
        None => {
            let mut b = StringBuilder::with_capacity(values.len(), 0);
            for v in values {
                b.append_option(v.as_deref());
            }
            Arc::new(b.finish())
        }
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
