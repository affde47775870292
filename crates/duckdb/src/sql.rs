//! DuckDB's SQL dialect: what its SQL says differently from the shared engine's
//! ([`dltrs_core::sql`]).

use dltrs_core::schema::Column;
use dltrs_core::sql::{Dataset, Dialect, ident};

/// DuckDB's [`Dialect`]. Its [`Dataset`]s name their catalog (the attached database file).
#[derive(Debug, Clone, Copy, Default)]
pub struct DuckDbDialect;

impl Dialect for DuckDbDialect {
    fn placeholder(&self, _index: usize) -> String {
        "?".into()
    }

    fn column_type(&self, column: &Column) -> String {
        dltrs_core::sql::duckdb::column_type(column)
    }

    /// `_dlt_id`s are random: DuckDB's string compression saves 13% of a rides dataset's file
    /// on them and costs a fifth of the load's time (`bench/README.md`).
    fn column_storage(&self, column: &Column) -> Option<&'static str> {
        (column.row_key == Some(true)).then_some("USING COMPRESSION uncompressed")
    }

    /// dlt's DuckDB destination creates no index hints (`create_indexes` is off by default), so
    /// `unique` columns get no `UNIQUE`.
    fn unique_constraints(&self) -> bool {
        false
    }

    /// DuckDB cannot add `NOT NULL` in the transaction that updated the column's rows.
    fn not_null_after_update(&self) -> bool {
        false
    }

    /// DuckDB drops one table per statement ("can only drop one object at a time"), and its
    /// `TRUNCATE` is a `DELETE`.
    fn table_lists(&self) -> bool {
        false
    }

    fn insertion_order(&self) -> &'static str {
        "rowid"
    }

    /// A temporary table of the connection, numbered by its place in the chain: nothing to
    /// create beforehand or leave behind in the file.
    fn stage_table(&self, _dataset: &Dataset, index: usize, _table: &str) -> String {
        self.temp_table(&format!("dltrs_stage_{index}"))
    }

    fn create_stage(&self, stage: &str, select: &str) -> String {
        format!("CREATE OR REPLACE TEMP TABLE {stage} AS {select} LIMIT 0")
    }

    /// Qualified with DuckDB's temporary catalog: a `DROP TABLE IF EXISTS` of it never reaches a
    /// table of the database.
    fn temp_table(&self, name: &str) -> String {
        format!("temp.main.{}", ident(name))
    }

    /// Temporary tables live as long as the connection (DuckDB has no `ON COMMIT DROP`); the
    /// merge drops them, and a load's connection is closed after it.
    fn create_temp_table(&self, name: &str, select: &str) -> String {
        format!("CREATE OR REPLACE TEMP TABLE {name} AS {select}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_temporary_tables() {
        let ds = Dataset {
            catalog: Some("db".into()),
            schema: "ds".into(),
        };
        assert_eq!(
            DuckDbDialect.stage_table(&ds, 1, "t"),
            "temp.main.\"dltrs_stage_1\""
        );
        assert_eq!(DuckDbDialect.placeholder(2), "?");
    }
}
