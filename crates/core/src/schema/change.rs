//! [`SchemaChange`]: one addition to a schema, as a value that can be logged and alerted on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::DataType;

/// A change the normalizer made to the schema. Schemas only grow, so these are additions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SchemaChange {
    /// A new table (a root table, or a child table from a list).
    NewTable {
        /// Table name.
        table: String,
        /// Parent table of a child table.
        parent: Option<String>,
    },
    /// A new column, or a column that had only hints and now has a type.
    NewColumn {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
        /// Its data type.
        data_type: DataType,
        /// True for a variant column holding values another column's type could not take.
        variant: bool,
    },
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaChange::NewTable {
                table,
                parent: None,
            } => write!(f, "new table {table}"),
            SchemaChange::NewTable {
                table,
                parent: Some(parent),
            } => write!(f, "new table {table} (child of {parent})"),
            SchemaChange::NewColumn {
                table,
                column,
                data_type,
                variant,
            } => {
                let kind = if *variant { "variant column" } else { "column" };
                write!(f, "new {kind} {table}.{column} {data_type}")
            }
        }
    }
}
