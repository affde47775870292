//! `merge` with the `delete-insert` strategy, as dlt does it (`dlt/destinations/sql_jobs.py`):
//! the package's rows are staged in temporary tables; destination rows whose primary key or
//! merge key arrives again are deleted together with their child rows (through
//! `_dlt_root_id`); the staged rows are inserted, deduplicated on the primary key keeping the
//! first row of the package.

use dltrs_core::package::{NormalizedPackage, NormalizedTable};
use dltrs_core::progress::Progress;
use dltrs_core::schema::Table;
use duckdb::Connection;

use crate::ddl::Catalog;
use crate::load::{StepResult, Target, append, at};
use crate::sql::{Dataset, ident, ident_list};
use dltrs_core::sql::MergeKeys;

const ROW_ID: &str = "\"_dlt_id\"";
const ROOT_ID: &str = "\"_dlt_root_id\"";
/// Temporary table of root row ids being replaced.
const DELETE_IDS: &str = "\"dltrs_merge_delete\"";
/// Temporary table of staged root row ids that are inserted.
const KEEP_IDS: &str = "\"dltrs_merge_keep\"";

fn staging_name(index: usize) -> String {
    ident(&format!("dltrs_stage_{index}"))
}

/// Merges the package's rows of `root` and its child tables (`chain`) into the dataset.
#[allow(clippy::too_many_arguments)]
pub(crate) fn delete_insert(
    conn: &Connection,
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
    // stage every table of the chain that has rows
    let mut staged: Vec<(String, Vec<String>)> = Vec::with_capacity(chain.len());
    for (index, data) in chain.iter().enumerate() {
        let stage = staging_name(index);
        let columns: Vec<String> = schema
            .table(&data.name)
            .map(|t| t.complete_columns().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let list = ident_list(columns.iter().map(String::as_str));
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE {stage} AS SELECT {list} FROM {} LIMIT 0",
            dataset.table(&data.name)
        ))
        .map_err(at(&data.name))?;
        append(
            conn,
            Target::Temp,
            &format!("dltrs_stage_{index}"),
            package,
            data,
            progress,
        )?;
        staged.push((stage, columns));
    }
    let root_stage = &staged[root_index].0;
    let root_name = dataset.table(&root.name);

    // destination roots whose key arrives again, and their child rows
    let sql = format!(
        "CREATE OR REPLACE TEMP TABLE {DELETE_IDS} AS \
         SELECT d.{ROW_ID} FROM {root_name} AS d WHERE {}",
        keys.matches(root_stage)
    );
    conn.execute_batch(&sql).map_err(at(&root.name))?;
    for child in schema.descendants(&root.name) {
        if catalog.has_table(&child.name) {
            conn.execute_batch(&format!(
                "DELETE FROM {} WHERE {ROOT_ID} IN (SELECT {ROW_ID} FROM {DELETE_IDS})",
                dataset.table(&child.name)
            ))
            .map_err(at(&child.name))?;
        }
    }
    conn.execute_batch(&format!(
        "DELETE FROM {root_name} WHERE {ROW_ID} IN (SELECT {ROW_ID} FROM {DELETE_IDS})"
    ))
    .map_err(at(&root.name))?;

    // the first staged row of each primary key wins, as in dlt
    let keep = if keys.primary.is_empty() {
        format!("SELECT {ROW_ID} FROM {root_stage}")
    } else {
        format!(
            "SELECT {ROW_ID} FROM (SELECT {ROW_ID}, row_number() OVER \
             (PARTITION BY {} ORDER BY rowid) AS dltrs_rn FROM {root_stage}) WHERE dltrs_rn = 1",
            ident_list(keys.primary.iter().map(String::as_str))
        )
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE {KEEP_IDS} AS {keep}"
    ))
    .map_err(at(&root.name))?;
    for (index, (stage, columns)) in staged.iter().enumerate() {
        let data = chain[index];
        let list = ident_list(columns.iter().map(String::as_str));
        let filter = if index == root_index { ROW_ID } else { ROOT_ID };
        conn.execute_batch(&format!(
            "INSERT INTO {} ({list}) SELECT {list} FROM {stage} \
             WHERE {filter} IN (SELECT {ROW_ID} FROM {KEEP_IDS})",
            dataset.table(&data.name)
        ))
        .map_err(at(&data.name))?;
    }
    let mut drops: Vec<String> = staged.into_iter().map(|(stage, _)| stage).collect();
    drops.push(DELETE_IDS.to_string());
    drops.push(KEEP_IDS.to_string());
    for table in drops {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS temp.main.{table}"))
            .map_err(at(&root.name))?;
    }
    Ok(())
}
