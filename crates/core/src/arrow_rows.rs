//! Items from Arrow record batches (Parquet files): each row an object whose values keep their
//! types — timestamps, dates, times, decimals and bytes as typed items, structs as nested
//! objects, lists as arrays — so rows normalize as dlt normalizes the rows `pyarrow` gives it.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, DurationSecondType,
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType as T, TimeUnit};

use crate::json::Item;

/// Row `row` of `batch` as an object item.
pub fn row_item(batch: &RecordBatch, row: usize) -> Result<Item<'_>, String> {
    let fields = batch.schema_ref().fields();
    let mut out = Vec::with_capacity(fields.len());
    for (field, column) in fields.iter().zip(batch.columns()) {
        let value =
            value(column.as_ref(), row).map_err(|e| format!("column `{}`: {e}", field.name()))?;
        out.push((Cow::Borrowed(field.name().as_str()), value));
    }
    Ok(Item::Object(out))
}

fn scale(unit: &TimeUnit, v: i64) -> Option<i64> {
    match unit {
        TimeUnit::Second => v.checked_mul(1_000_000),
        TimeUnit::Millisecond => v.checked_mul(1_000),
        TimeUnit::Microsecond => Some(v),
        TimeUnit::Nanosecond => Some(v.div_euclid(1_000)),
    }
}

fn range<'a>(values: &'a dyn Array, start: usize, end: usize) -> Result<Item<'a>, String> {
    (start..end)
        .map(|i| value(values, i))
        .collect::<Result<Vec<_>, _>>()
        .map(Item::Array)
}

/// The value at `row` of `array`.
fn value(array: &dyn Array, row: usize) -> Result<Item<'_>, String> {
    if array.is_null(row) {
        return Ok(Item::Null);
    }
    let out_of_range = || "a value out of range".to_string();
    Ok(match array.data_type() {
        T::Null => Item::Null,
        T::Boolean => Item::Bool(array.as_boolean().value(row)),
        T::Int8 => Item::Int(array.as_primitive::<Int8Type>().value(row).into()),
        T::Int16 => Item::Int(array.as_primitive::<Int16Type>().value(row).into()),
        T::Int32 => Item::Int(array.as_primitive::<Int32Type>().value(row).into()),
        T::Int64 => Item::Int(array.as_primitive::<Int64Type>().value(row)),
        T::UInt8 => Item::Int(array.as_primitive::<UInt8Type>().value(row).into()),
        T::UInt16 => Item::Int(array.as_primitive::<UInt16Type>().value(row).into()),
        T::UInt32 => Item::Int(array.as_primitive::<UInt32Type>().value(row).into()),
        T::UInt64 => {
            let v = array.as_primitive::<UInt64Type>().value(row);
            i64::try_from(v).map_or_else(|_| Item::BigInt(Cow::Owned(v.to_string())), Item::Int)
        }
        T::Float16 => Item::Float(array.as_primitive::<Float16Type>().value(row).to_f64()),
        T::Float32 => Item::Float(array.as_primitive::<Float32Type>().value(row).into()),
        T::Float64 => Item::Float(array.as_primitive::<Float64Type>().value(row)),
        T::Utf8 => Item::Str(Cow::Borrowed(array.as_string::<i32>().value(row))),
        T::LargeUtf8 => Item::Str(Cow::Borrowed(array.as_string::<i64>().value(row))),
        T::Utf8View => Item::Str(Cow::Borrowed(array.as_string_view().value(row))),
        T::Binary => Item::Binary(Cow::Borrowed(array.as_binary::<i32>().value(row))),
        T::LargeBinary => Item::Binary(Cow::Borrowed(array.as_binary::<i64>().value(row))),
        T::BinaryView => Item::Binary(Cow::Borrowed(array.as_binary_view().value(row))),
        T::FixedSizeBinary(_) => {
            Item::Binary(Cow::Borrowed(array.as_fixed_size_binary().value(row)))
        }
        T::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            Item::Timestamp(scale(unit, v).ok_or_else(out_of_range)?)
        }
        T::Date32 => Item::Date(
            array
                .as_primitive::<arrow_array::types::Date32Type>()
                .value(row),
        ),
        T::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(row);
            Item::Date(i32::try_from(ms.div_euclid(86_400_000)).map_err(|_| out_of_range())?)
        }
        T::Time32(unit) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(row),
                _ => array.as_primitive::<Time32MillisecondType>().value(row),
            };
            Item::Time(scale(unit, v.into()).ok_or_else(out_of_range)?)
        }
        T::Time64(unit) => {
            let v = match unit {
                TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().value(row),
                _ => array.as_primitive::<Time64MicrosecondType>().value(row),
            };
            Item::Time(scale(unit, v).ok_or_else(out_of_range)?)
        }
        T::Duration(unit) => {
            // pyarrow gives a timedelta; dlt has no interval type: seconds as a double
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<DurationSecondType>().value(row),
                TimeUnit::Millisecond => array.as_primitive::<DurationMillisecondType>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<DurationMicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<DurationNanosecondType>().value(row),
            };
            let micros = scale(unit, v).ok_or_else(out_of_range)?;
            Item::Float(micros as f64 / 1e6)
        }
        T::Decimal32(_, s) => {
            Item::Decimal(array.as_primitive::<Decimal32Type>().value(row).into(), *s)
        }
        T::Decimal64(_, s) => {
            Item::Decimal(array.as_primitive::<Decimal64Type>().value(row).into(), *s)
        }
        T::Decimal128(_, s) => Item::Decimal(array.as_primitive::<Decimal128Type>().value(row), *s),
        T::Decimal256(_, s) => {
            let v = array.as_primitive::<Decimal256Type>().value(row);
            Item::Decimal(v.to_i128().ok_or_else(out_of_range)?, *s)
        }
        T::List(_) => {
            let list = array.as_list::<i32>();
            let offsets = list.value_offsets();
            range(
                list.values().as_ref(),
                offsets[row] as usize,
                offsets[row + 1] as usize,
            )?
        }
        T::LargeList(_) => {
            let list = array.as_list::<i64>();
            let offsets = list.value_offsets();
            range(
                list.values().as_ref(),
                offsets[row] as usize,
                offsets[row + 1] as usize,
            )?
        }
        T::FixedSizeList(_, n) => {
            let list = array.as_fixed_size_list();
            let n = *n as usize;
            let start = (list.offset() + row) * n;
            range(list.values().as_ref(), start, start + n)?
        }
        T::Struct(fields) => {
            let s = array.as_struct();
            let mut out = Vec::with_capacity(fields.len());
            for (field, column) in fields.iter().zip(s.columns()) {
                out.push((
                    Cow::Borrowed(field.name().as_str()),
                    value(column.as_ref(), row)?,
                ));
            }
            Item::Object(out)
        }
        T::Map(_, _) => {
            // pyarrow gives a list of (key, value) pairs
            let map = array.as_map();
            let offsets = map.value_offsets();
            let (keys, values) = (map.keys().as_ref(), map.values().as_ref());
            let mut out = Vec::new();
            for i in offsets[row] as usize..offsets[row + 1] as usize {
                out.push(Item::Object(vec![
                    (Cow::Borrowed("key"), value(keys, i)?),
                    (Cow::Borrowed("value"), value(values, i)?),
                ]));
            }
            Item::Array(out)
        }
        T::Dictionary(key, _) => {
            let dict = array.as_any_dictionary();
            let keys = dict.keys();
            let index = match key.as_ref() {
                T::Int8 => usize::try_from(keys.as_primitive::<Int8Type>().value(row)).ok(),
                T::Int16 => usize::try_from(keys.as_primitive::<Int16Type>().value(row)).ok(),
                T::Int32 => usize::try_from(keys.as_primitive::<Int32Type>().value(row)).ok(),
                T::Int64 => usize::try_from(keys.as_primitive::<Int64Type>().value(row)).ok(),
                T::UInt8 => Some(keys.as_primitive::<UInt8Type>().value(row).into()),
                T::UInt16 => Some(keys.as_primitive::<UInt16Type>().value(row).into()),
                T::UInt32 => usize::try_from(keys.as_primitive::<UInt32Type>().value(row)).ok(),
                T::UInt64 => usize::try_from(keys.as_primitive::<UInt64Type>().value(row)).ok(),
                other => return Err(format!("dictionary keys of type {other} are not supported")),
            };
            let values = dict.values().as_ref();
            match index.filter(|i| *i < values.len()) {
                Some(i) => value(values, i)?,
                None => return Err("a dictionary key out of range".into()),
            }
        }
        other => return Err(format!("Arrow type {other} is not supported")),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{
        ArrayRef, BinaryArray, Date32Array, Decimal128Array, Int32Array, StructArray,
        TimestampMillisecondArray,
    };
    use arrow_schema::{Field, Fields};

    use super::*;
    use crate::json::item_to_string;

    #[test]
    fn rows_keep_types_and_nesting() {
        let mut tags = ListBuilder::new(StringBuilder::new());
        tags.values().append_value("a");
        tags.values().append_value("b");
        tags.append(true);
        tags.append(false);
        let inner = StructArray::new(
            Fields::from(vec![Field::new("x", arrow_schema::DataType::Int32, true)]),
            vec![Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef],
            None,
        );
        let decimals = Decimal128Array::from(vec![Some(12345), None])
            .with_precision_and_scale(10, 2)
            .unwrap_or_else(|e| panic!("{e}"));
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int32Array::from(vec![7, 8])) as ArrayRef),
            (
                "at",
                Arc::new(TimestampMillisecondArray::from(vec![1_500, -1])) as ArrayRef,
            ),
            (
                "day",
                Arc::new(Date32Array::from(vec![19_000, 0])) as ArrayRef,
            ),
            ("price", Arc::new(decimals) as ArrayRef),
            (
                "raw",
                Arc::new(BinaryArray::from(vec![b"hi".as_ref(), b""])) as ArrayRef,
            ),
            ("tags", Arc::new(tags.finish()) as ArrayRef),
            ("inner", Arc::new(inner) as ArrayRef),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let first = row_item(&batch, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            item_to_string(&first),
            r#"{"id":7,"at":"1970-01-01T00:00:01.500000+00:00","day":"2022-01-08","price":"123.45","raw":"aGk=","tags":["a","b"],"inner":{"x":1}}"#
        );
        let second = row_item(&batch, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            item_to_string(&second),
            r#"{"id":8,"at":"1969-12-31T23:59:59.999000+00:00","day":"1970-01-01","price":null,"raw":"","tags":null,"inner":{"x":null}}"#
        );
    }
}
