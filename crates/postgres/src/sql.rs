//! PostgreSQL SQL text: quoted identifiers and column definitions.

use dltrs_core::schema::Column;
pub use dltrs_core::sql::{ident, ident_list};

/// A PostgreSQL schema holding a dataset's tables.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The schema's name.
    pub schema: String,
}

impl Dataset {
    /// `"schema"`.
    pub fn qualified(&self) -> String {
        ident(&self.schema)
    }

    /// `"schema"."table"`.
    pub fn table(&self, table: &str) -> String {
        format!("{}.{}", ident(&self.schema), ident(table))
    }

    /// The dataset merges are staged in: `<dataset>_staging`, as dlt names it.
    pub fn staging(&self) -> Dataset {
        Dataset {
            schema: format!("{}_staging", self.schema),
        }
    }
}

/// A column definition for `CREATE TABLE`: name, dlt's PostgreSQL type, `UNIQUE` for a
/// `unique` column (as dlt creates them, `_dlt_id` included), `NOT NULL` when declared.
pub fn column_def(column: &Column) -> String {
    let mut def = format!(
        "{} {}",
        ident(&column.name),
        dltrs_core::sql::postgres::column_type(column)
    );
    if column.unique == Some(true) {
        def.push_str(" UNIQUE");
    }
    if !column.is_nullable() {
        def.push_str(" NOT NULL");
    }
    def
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_escaped() {
        assert_eq!(ident("a"), "\"a\"");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        let ds = Dataset {
            schema: "ds".into(),
        };
        assert_eq!(ds.table("t"), "\"ds\".\"t\"");
        assert_eq!(ds.staging().table("t"), "\"ds_staging\".\"t\"");
    }
}
