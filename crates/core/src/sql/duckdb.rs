//! DuckDB's names for dlt's data types (dlt's `DuckDbTypeMapper`).

use crate::schema::Column;
use crate::types::{DEFAULT_DECIMAL, DataType};

/// The DuckDB column type for a schema column, as dlt 1.31 creates it.
pub fn column_type(column: &Column) -> String {
    match column.data_type.unwrap_or(DataType::Text) {
        DataType::Text => "VARCHAR".into(),
        DataType::Double => "DOUBLE".into(),
        DataType::Bool => "BOOLEAN".into(),
        DataType::Timestamp => {
            if column.timezone == Some(false) {
                "TIMESTAMP".into()
            } else {
                "TIMESTAMP WITH TIME ZONE".into()
            }
        }
        DataType::Bigint => "BIGINT".into(),
        DataType::Binary => "BLOB".into(),
        DataType::Json => "JSON".into(),
        DataType::Decimal => {
            let precision = column.precision.unwrap_or(u32::from(DEFAULT_DECIMAL.0));
            let scale = column.scale.unwrap_or(DEFAULT_DECIMAL.1 as u32);
            format!("DECIMAL({precision},{scale})")
        }
        DataType::Wei => "DECIMAL(38,0)".into(),
        DataType::Date => "DATE".into(),
        DataType::Time => "TIME".into(),
    }
}
