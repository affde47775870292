//! dlt's data types, type inference and coercion rules.

mod coerce;
pub mod datetime;
mod decimal;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use coerce::{Scalar, coerce, decode_hex, infer_type, typed_text, value_type};
pub use decimal::{format_decimal, parse_decimal};

/// A column's data type, as dlt names it (`dlt/common/data_types/typing.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Text of any length.
    Text,
    /// A 64-bit float.
    Double,
    /// A boolean.
    Bool,
    /// An instant, stored in UTC with microsecond precision.
    Timestamp,
    /// A 64-bit signed integer.
    Bigint,
    /// Bytes.
    Binary,
    /// A JSON document (nested data kept whole).
    Json,
    /// A fixed-point decimal (default precision 38, scale 9).
    Decimal,
    /// A large integer, e.g. an Ethereum amount: a decimal with scale 0.
    Wei,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
}

impl DataType {
    /// dlt's name of the type (`bigint`, `text`, ...), also used in variant column names.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Text => "text",
            DataType::Double => "double",
            DataType::Bool => "bool",
            DataType::Timestamp => "timestamp",
            DataType::Bigint => "bigint",
            DataType::Binary => "binary",
            DataType::Json => "json",
            DataType::Decimal => "decimal",
            DataType::Wei => "wei",
            DataType::Date => "date",
            DataType::Time => "time",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default precision and scale of `decimal` columns (dlt's `DEFAULT_NUMERIC_PRECISION/SCALE`).
pub const DEFAULT_DECIMAL: (u8, i8) = (38, 9);
/// Precision and scale of `wei` columns in DuckDB and the Arrow buffers.
pub const WEI_DECIMAL: (u8, i8) = (38, 0);
