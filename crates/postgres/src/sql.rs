//! PostgreSQL's SQL dialect: what its SQL says differently from the shared engine's
//! ([`dltrs_core::sql`]).

use dltrs_core::schema::Column;
use dltrs_core::sql::{Dataset, Dialect};

/// PostgreSQL's [`Dialect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

/// The schema merges are staged in: `<dataset>_staging`, as dlt names it.
pub fn staging(dataset: &Dataset) -> Dataset {
    Dataset {
        catalog: dataset.catalog.clone(),
        schema: format!("{}_staging", dataset.schema),
    }
}

impl Dialect for PostgresDialect {
    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }

    fn column_type(&self, column: &Column) -> String {
        dltrs_core::sql::postgres::column_type(column)
    }

    /// dlt creates `unique` columns (`_dlt_id` among them) with `UNIQUE`.
    fn unique_constraints(&self) -> bool {
        true
    }

    /// A table `COPY` just filled holds its rows in the order they came, which `ctid` follows.
    fn insertion_order(&self) -> &'static str {
        "ctid"
    }

    fn create_staging(&self, dataset: &Dataset) -> Option<String> {
        Some(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            staging(dataset).qualified()
        ))
    }

    /// A table of `<dataset>_staging` named like the dataset's table, as dlt stages.
    fn stage_table(&self, dataset: &Dataset, _index: usize, table: &str) -> String {
        staging(dataset).table(table)
    }

    /// Unlogged: the rows live for this transaction only, so they need no write-ahead log. A
    /// table of that name left in the staging schema (dlt keeps its staging tables) is dropped
    /// first.
    fn create_stage(&self, stage: &str, select: &str) -> String {
        format!(
            "DROP TABLE IF EXISTS {stage}; CREATE UNLOGGED TABLE {stage} AS {select} WITH NO DATA"
        )
    }

    /// Fresh tables have no statistics: without them the planner guesses the merge's joins.
    fn analyze(&self, table: &str) -> Option<String> {
        Some(format!("ANALYZE {table}"))
    }

    /// `ON COMMIT DROP`: gone with the transaction, whatever happens.
    fn create_temp_table(&self, name: &str, select: &str) -> String {
        format!("CREATE TEMP TABLE {name} ON COMMIT DROP AS {select}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_qualified_with_the_schema_and_staged_beside_it() {
        let ds = Dataset {
            catalog: None,
            schema: "ds".into(),
        };
        assert_eq!(ds.table("t"), "\"ds\".\"t\"");
        assert_eq!(
            PostgresDialect.stage_table(&ds, 0, "t"),
            "\"ds_staging\".\"t\""
        );
        assert_eq!(PostgresDialect.placeholder(2), "$2");
    }
}
