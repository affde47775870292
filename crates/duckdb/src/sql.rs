//! DuckDB SQL text: quoted identifiers and column definitions.

use dltrs_core::schema::Column;
pub use dltrs_core::sql::{ident, ident_list};

/// A dataset: a schema in a DuckDB catalog (the attached database). Names are always
/// qualified with the catalog, since a schema may share the database file's name.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The database (catalog) name.
    pub catalog: String,
    /// The schema holding the dataset's tables.
    pub schema: String,
}

impl Dataset {
    /// `"catalog"."schema"`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", ident(&self.catalog), ident(&self.schema))
    }

    /// `"catalog"."schema"."table"`.
    pub fn table(&self, table: &str) -> String {
        format!("{}.{}", self.qualified(), ident(table))
    }
}

/// A column definition for `CREATE TABLE`: name, dlt's DuckDB type, stored uncompressed for
/// row keys, `NOT NULL` when declared.
pub fn column_def(column: &Column) -> String {
    let mut def = format!(
        "{} {}",
        ident(&column.name),
        dltrs_core::sql::duckdb::column_type(column)
    );
    if column.row_key == Some(true) {
        // `_dlt_id`s are random: DuckDB's string compression saves 13% of a rides dataset's
        // file on them and costs a fifth of the load's time (`bench/README.md`)
        def.push_str(" USING COMPRESSION uncompressed");
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
            catalog: "db".into(),
            schema: "ds".into(),
        };
        assert_eq!(ds.table("t"), "\"db\".\"ds\".\"t\"");
    }
}
