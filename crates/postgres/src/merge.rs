//! `merge` with the `delete-insert` strategy, as dlt does it (`dlt/destinations/sql_jobs.py`):
//! the package's rows are copied into tables of the staging schema `<dataset>_staging`;
//! destination rows whose primary key or merge key arrives again are deleted together with
//! their child rows (through `_dlt_root_id`); the staged rows are inserted, deduplicated on the
//! primary key keeping the first row of the package. All of it inside the package's
//! transaction, so the staging tables are never seen by anyone else and are dropped before the
//! commit.

use dltrs_core::package::{NormalizedPackage, NormalizedTable};
use dltrs_core::progress::Progress;
use dltrs_core::schema::Table;
use postgres::Transaction;

use crate::ddl::Catalog;
use crate::load::{StepResult, at, copy_in};
use crate::sql::{Dataset, ident_list};
use dltrs_core::sql::MergeKeys;

const ROW_ID: &str = "\"_dlt_id\"";
const ROOT_ID: &str = "\"_dlt_root_id\"";
/// Temporary table of root row ids being replaced.
const DELETE_IDS: &str = "\"dltrs_merge_delete\"";
/// Temporary table of staged root row ids that are inserted.
const KEEP_IDS: &str = "\"dltrs_merge_keep\"";

/// Merges the package's rows of `root` and its child tables (`chain`) into the dataset.
#[allow(clippy::too_many_arguments)]
pub(crate) fn delete_insert(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    package: &NormalizedPackage,
    root: &Table,
    keys: &MergeKeys,
    chain: &[&NormalizedTable],
    catalog: &Catalog,
    progress: &Progress,
) -> StepResult<()> {
    let schema = &package.schema;
    let Some(root_index) = chain.iter().position(|t| t.name == root.name) else {
        // no root rows, so no child rows either: nothing to merge
        return Ok(());
    };
    let staging = dataset.staging();
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        staging.qualified()
    ))
    .map_err(at("staging schema"))?;
    // stage every table of the chain that has rows; unlogged: they live for this transaction
    let mut staged: Vec<(String, Vec<String>)> = Vec::with_capacity(chain.len());
    for data in chain {
        let stage = staging.table(&data.name);
        let columns: Vec<String> = schema
            .table(&data.name)
            .map(|t| t.complete_columns().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let list = ident_list(columns.iter().map(String::as_str));
        tx.batch_execute(&format!(
            "DROP TABLE IF EXISTS {stage}; \
             CREATE UNLOGGED TABLE {stage} AS SELECT {list} FROM {} WITH NO DATA",
            dataset.table(&data.name)
        ))
        .map_err(at(&data.name))?;
        copy_in(tx, &stage, package, data, progress)?;
        staged.push((stage, columns));
    }
    let root_stage = &staged[root_index].0;
    let root_name = dataset.table(&root.name);
    // fresh tables have no statistics: without them the planner guesses the joins below
    tx.batch_execute(&format!("ANALYZE {root_stage}"))
        .map_err(at(&root.name))?;

    // destination roots whose key arrives again, and their child rows
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {DELETE_IDS} ON COMMIT DROP AS \
         SELECT d.{ROW_ID} FROM {root_name} AS d WHERE {}",
        keys.matches(root_stage)
    ))
    .map_err(at(&root.name))?;
    for child in schema.descendants(&root.name) {
        if catalog.has_table(&child.name) {
            tx.batch_execute(&format!(
                "DELETE FROM {} WHERE {ROOT_ID} IN (SELECT {ROW_ID} FROM {DELETE_IDS})",
                dataset.table(&child.name)
            ))
            .map_err(at(&child.name))?;
        }
    }
    tx.batch_execute(&format!(
        "DELETE FROM {root_name} WHERE {ROW_ID} IN (SELECT {ROW_ID} FROM {DELETE_IDS})"
    ))
    .map_err(at(&root.name))?;

    // the first staged row of each primary key wins, as in dlt; a table COPY just filled
    // holds its rows in the order they came, which `ctid` follows
    let keep = if keys.primary.is_empty() {
        format!("SELECT {ROW_ID} FROM {root_stage}")
    } else {
        format!(
            "SELECT {ROW_ID} FROM (SELECT {ROW_ID}, row_number() OVER \
             (PARTITION BY {} ORDER BY ctid) AS dltrs_rn FROM {root_stage}) AS ranked \
             WHERE dltrs_rn = 1",
            ident_list(keys.primary.iter().map(String::as_str))
        )
    };
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {KEEP_IDS} ON COMMIT DROP AS {keep}"
    ))
    .map_err(at(&root.name))?;
    for (index, (stage, columns)) in staged.iter().enumerate() {
        let data = chain[index];
        let list = ident_list(columns.iter().map(String::as_str));
        let filter = if index == root_index { ROW_ID } else { ROOT_ID };
        tx.batch_execute(&format!(
            "INSERT INTO {} ({list}) SELECT {list} FROM {stage} \
             WHERE {filter} IN (SELECT {ROW_ID} FROM {KEEP_IDS})",
            dataset.table(&data.name)
        ))
        .map_err(at(&data.name))?;
    }
    let mut drops: Vec<String> = staged.into_iter().map(|(stage, _)| stage).collect();
    drops.push(DELETE_IDS.to_string());
    drops.push(KEEP_IDS.to_string());
    tx.batch_execute(&format!("DROP TABLE {}", drops.join(", ")))
        .map_err(at(&root.name))?;
    Ok(())
}
