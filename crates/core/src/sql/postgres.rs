//! PostgreSQL's names for dlt's data types (dlt's `PostgresTypeMapper`).

use crate::schema::Column;
use crate::types::{DEFAULT_DECIMAL, DataType};

/// PostgreSQL's identifier limit (`NAMEDATALEN - 1`); dlt shortens longer names with a tag.
pub const MAX_IDENTIFIER_LENGTH: usize = 63;

/// The precision and scale of `wei` columns, as dlt 1.31 declares them (twice the 78 digits of
/// a 256-bit integer, half of them after the point).
pub const WEI_NUMERIC: (u32, u32) = (156, 78);

/// The PostgreSQL column type for a schema column, as dlt 1.31 creates it.
pub fn column_type(column: &Column) -> String {
    match column.data_type.unwrap_or(DataType::Text) {
        DataType::Text => match column.precision {
            Some(length) => format!("varchar({length})"),
            None => "varchar".into(),
        },
        DataType::Double => "double precision".into(),
        DataType::Bool => "boolean".into(),
        DataType::Timestamp => {
            let zone = match column.timezone {
                Some(false) => "without",
                _ => "with",
            };
            match column.precision {
                Some(p) => format!("timestamp ({p}) {zone} time zone"),
                None => format!("timestamp {zone} time zone"),
            }
        }
        // precision is in bits, as dlt reads it
        DataType::Bigint => match column.precision {
            Some(bits) if bits <= 16 => "smallint".into(),
            Some(bits) if bits <= 32 => "integer".into(),
            _ => "bigint".into(),
        },
        DataType::Binary => "bytea".into(),
        DataType::Json => "jsonb".into(),
        DataType::Decimal => {
            let precision = column.precision.unwrap_or(u32::from(DEFAULT_DECIMAL.0));
            let scale = column.scale.unwrap_or(DEFAULT_DECIMAL.1 as u32);
            format!("numeric({precision},{scale})")
        }
        DataType::Wei => format!("numeric({},{})", WEI_NUMERIC.0, WEI_NUMERIC.1),
        DataType::Date => "date".into(),
        DataType::Time => match column.precision {
            Some(p) => format!("time ({p}) without time zone"),
            None => "time without time zone".into(),
        },
    }
}

/// The DuckDB type dlt would create for a column PostgreSQL reports as `data_type` (with
/// `numeric_precision` and `numeric_scale` for numerics): how a dataset in PostgreSQL is
/// compared with the same dataset in DuckDB.
pub fn duckdb_equivalent(data_type: &str, precision: Option<i32>, scale: Option<i32>) -> String {
    match data_type {
        "character varying" | "text" => "VARCHAR".into(),
        "double precision" => "DOUBLE".into(),
        "boolean" => "BOOLEAN".into(),
        "timestamp with time zone" => "TIMESTAMP WITH TIME ZONE".into(),
        "timestamp without time zone" => "TIMESTAMP".into(),
        "bigint" => "BIGINT".into(),
        "integer" => "INTEGER".into(),
        "smallint" => "SMALLINT".into(),
        "bytea" => "BLOB".into(),
        "jsonb" | "json" => "JSON".into(),
        "date" => "DATE".into(),
        "time without time zone" => "TIME".into(),
        "numeric" => match (precision, scale) {
            (Some(p), Some(s)) if (p, s) == (WEI_NUMERIC.0 as i32, WEI_NUMERIC.1 as i32) => {
                // dlt's wei: DuckDB caps decimals at 38 digits, and dlt's wei there is (38,0)
                "DECIMAL(38,0)".into()
            }
            (Some(p), Some(s)) => format!("DECIMAL({p},{s})"),
            _ => "DECIMAL(38,9)".into(),
        },
        other => other.to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_to_duckdb_names() {
        for data_type in [
            DataType::Text,
            DataType::Double,
            DataType::Bool,
            DataType::Timestamp,
            DataType::Bigint,
            DataType::Binary,
            DataType::Json,
            DataType::Decimal,
            DataType::Wei,
            DataType::Date,
            DataType::Time,
        ] {
            let column = Column::new("c", data_type);
            let pg = column_type(&column);
            let (name, p, s) = match pg.strip_prefix("numeric(") {
                Some(rest) => {
                    let (p, s) = rest
                        .trim_end_matches(')')
                        .split_once(',')
                        .unwrap_or(("", ""));
                    ("numeric", p.parse().ok(), s.parse().ok())
                }
                None => (pg.as_str(), None, None),
            };
            let name = if name == "varchar" {
                "character varying"
            } else {
                name
            };
            assert_eq!(
                duckdb_equivalent(name, p, s),
                crate::sql::duckdb::column_type(&column),
                "{data_type:?}"
            );
        }
    }
}
