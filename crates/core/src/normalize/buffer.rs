//! Per-table columnar buffers: Arrow builders that normalized rows are appended to.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder,
    StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{ArrowError, DataType as ArrowType, Field, Schema as ArrowSchema, TimeUnit};

use crate::schema::Column;
use crate::types::{DEFAULT_DECIMAL, DataType, Scalar, WEI_DECIMAL};

/// Field metadata key naming the dlt data type of an Arrow column (`json` is Utf8 in Arrow).
pub const DLT_TYPE_METADATA: &str = "dlt.data_type";

/// The Arrow type a column of the given dlt type is buffered as.
pub fn arrow_type(column: &Column) -> ArrowType {
    match column.data_type.unwrap_or(DataType::Text) {
        DataType::Text | DataType::Json => ArrowType::Utf8,
        DataType::Bigint => ArrowType::Int64,
        DataType::Double => ArrowType::Float64,
        DataType::Bool => ArrowType::Boolean,
        DataType::Timestamp => ArrowType::Timestamp(
            TimeUnit::Microsecond,
            (column.timezone != Some(false)).then(|| Arc::from("UTC")),
        ),
        DataType::Date => ArrowType::Date32,
        DataType::Time => ArrowType::Time64(TimeUnit::Microsecond),
        DataType::Decimal => {
            let precision = column
                .precision
                .and_then(|p| u8::try_from(p).ok())
                .unwrap_or(DEFAULT_DECIMAL.0);
            ArrowType::Decimal128(precision, column.decimal_scale())
        }
        DataType::Wei => ArrowType::Decimal128(WEI_DECIMAL.0, WEI_DECIMAL.1),
        DataType::Binary => ArrowType::Binary,
    }
}

/// The Arrow field for a schema column, tagged with its dlt type. Fields are always nullable:
/// the schema, not the batch, says what may be null, and the destination enforces it.
pub fn arrow_field(column: &Column) -> Field {
    let data_type = column.data_type.unwrap_or(DataType::Text);
    Field::new(&column.name, arrow_type(column), true).with_metadata(
        std::collections::HashMap::from([(
            DLT_TYPE_METADATA.to_string(),
            data_type.as_str().to_string(),
        )]),
    )
}

enum Builder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Decimal(Decimal128Builder),
    Binary(BinaryBuilder),
}

impl Builder {
    fn new(column: &Column) -> Self {
        match column.data_type.unwrap_or(DataType::Text) {
            DataType::Text | DataType::Json => Builder::Utf8(StringBuilder::new()),
            DataType::Bigint => Builder::Int64(Int64Builder::new()),
            DataType::Double => Builder::Float64(Float64Builder::new()),
            DataType::Bool => Builder::Boolean(BooleanBuilder::new()),
            DataType::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            DataType::Date => Builder::Date(Date32Builder::new()),
            DataType::Time => Builder::Time(Time64MicrosecondBuilder::new()),
            DataType::Decimal | DataType::Wei => Builder::Decimal(Decimal128Builder::new()),
            DataType::Binary => Builder::Binary(BinaryBuilder::new()),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Utf8(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Boolean(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Decimal(b) => b.append_null(),
            Builder::Binary(b) => b.append_null(),
        }
    }

    /// Appends a value; a value of the wrong kind (a normalizer bug) is appended as null.
    fn append(&mut self, value: &Scalar<'_>) {
        match (self, value) {
            (Builder::Utf8(b), Scalar::Text(s)) => b.append_value(s),
            (Builder::Utf8(b), Scalar::Json(s)) => b.append_value(s),
            (Builder::Int64(b), Scalar::Bigint(v)) => b.append_value(*v),
            (Builder::Float64(b), Scalar::Double(v)) => b.append_value(*v),
            (Builder::Boolean(b), Scalar::Bool(v)) => b.append_value(*v),
            (Builder::Timestamp(b), Scalar::Timestamp(v)) => b.append_value(*v),
            (Builder::Date(b), Scalar::Date(v)) => b.append_value(*v),
            (Builder::Time(b), Scalar::Time(v)) => b.append_value(*v),
            (Builder::Decimal(b), Scalar::Decimal(v)) => b.append_value(*v),
            (Builder::Binary(b), Scalar::Binary(v)) => b.append_value(v),
            (builder, _) => builder.append_null(),
        }
    }

    fn finish(&mut self, field: &Field) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => {
                let array = b.finish();
                match field.data_type() {
                    ArrowType::Timestamp(_, tz) => Arc::new(array.with_timezone_opt(tz.clone())),
                    _ => Arc::new(array),
                }
            }
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Decimal(b) => {
                let array = b.finish();
                match field.data_type() {
                    ArrowType::Decimal128(p, s) => {
                        Arc::new(array.with_precision_and_scale(*p, *s)?)
                    }
                    _ => Arc::new(array),
                }
            }
            Builder::Binary(b) => Arc::new(b.finish()),
        })
    }
}

/// One column's buffer and the facts the hot path needs about it.
pub(crate) struct ColumnBuffer {
    pub(crate) name: String,
    pub(crate) data_type: DataType,
    pub(crate) nullable: bool,
    pub(crate) scale: i8,
    field: Field,
    builder: Builder,
}

/// The rows of one table not yet flushed.
pub(crate) struct TableBuffer {
    pub(crate) columns: Vec<ColumnBuffer>,
    by_name: FxHashMap<u32, usize>,
    filled: Vec<bool>,
    pub(crate) rows: usize,
}

impl TableBuffer {
    pub(crate) fn new() -> Self {
        TableBuffer {
            columns: Vec::new(),
            by_name: FxHashMap::default(),
            filled: Vec::new(),
            rows: 0,
        }
    }

    /// The buffer column of an interned column name.
    pub(crate) fn column(&self, name_id: u32) -> Option<usize> {
        self.by_name.get(&name_id).copied()
    }

    /// Adds a column, with nulls for the rows already buffered.
    pub(crate) fn add_column(&mut self, name_id: u32, column: &Column) -> usize {
        if let Some(i) = self.column(name_id) {
            return i;
        }
        let mut builder = Builder::new(column);
        for _ in 0..self.rows {
            builder.append_null();
        }
        self.columns.push(ColumnBuffer {
            name: column.name.clone(),
            data_type: column.data_type.unwrap_or(DataType::Text),
            nullable: column.is_nullable(),
            scale: column.decimal_scale(),
            field: arrow_field(column),
            builder,
        });
        self.filled.push(false);
        let index = self.columns.len() - 1;
        self.by_name.insert(name_id, index);
        index
    }

    /// Appends one row given as (column index, value) pairs; other columns get nulls.
    pub(crate) fn append_row<'v>(&mut self, values: impl Iterator<Item = (usize, &'v Scalar<'v>)>) {
        for (index, value) in values {
            if let Some(column) = self.columns.get_mut(index) {
                if self.filled[index] {
                    continue;
                }
                column.builder.append(value);
                self.filled[index] = true;
            }
        }
        for (column, filled) in self.columns.iter_mut().zip(self.filled.iter_mut()) {
            if !*filled {
                column.builder.append_null();
            }
            *filled = false;
        }
        self.rows += 1;
    }

    /// Finishes the buffered rows into a batch with columns in `order` (schema order).
    pub(crate) fn finish(&mut self, order: &[&str]) -> Result<RecordBatch, ArrowError> {
        let mut fields = Vec::with_capacity(order.len());
        let mut arrays = Vec::with_capacity(order.len());
        for name in order {
            if let Some(column) = self.columns.iter_mut().find(|c| c.name == *name) {
                arrays.push(column.builder.finish(&column.field)?);
                fields.push(column.field.clone());
            }
        }
        let rows = self.rows;
        self.rows = 0;
        RecordBatch::try_new_with_options(
            Arc::new(ArrowSchema::new(fields)),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    }
}
