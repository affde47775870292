//! `merge` with the `delete-insert` strategy, as dlt does it (`dlt/destinations/sql_jobs.py`):
//! the package's rows are staged (in tables the dialect names, [`Dialect::stage_table`]) in the
//! package's order; destination rows whose primary key or merge key arrives again are deleted
//! together with their child rows (through `_dlt_root_id`); the staged rows are inserted,
//! deduplicated on the primary key keeping the first row of the package. All of it inside the
//! package's transaction, so no one else sees the staging tables; they are dropped before the
//! commit.

use super::ddl::Catalog;
use super::load::{StepResult, at};
use super::{Dialect, MergeKeys, RowOrder, Session, SqlClient, ident_list};
use crate::package::{NormalizedPackage, NormalizedTable};
use crate::progress::Progress;
use crate::schema::Table;

const ROW_ID: &str = "\"_dlt_id\"";
const ROOT_ID: &str = "\"_dlt_root_id\"";
/// Temporary table of root row ids being replaced.
const DELETE_IDS: &str = "dltrs_merge_delete";
/// Temporary table of staged root row ids that are inserted.
const KEEP_IDS: &str = "dltrs_merge_keep";

impl<C: SqlClient, D: Dialect> Session<'_, C, D> {
    /// Merges the package's rows of `root` and its child tables (`chain`) into the dataset.
    pub(crate) fn delete_insert(
        &mut self,
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
        if let Some(sql) = self.dialect.create_staging(self.dataset) {
            self.client
                .execute_batch(&sql)
                .map_err(at("staging schema"))?;
        }
        // stage every table of the chain that has rows, in the package's row order
        let mut staged: Vec<(String, Vec<String>)> = Vec::with_capacity(chain.len());
        for (index, data) in chain.iter().enumerate() {
            let stage = self.dialect.stage_table(self.dataset, index, &data.name);
            let columns: Vec<String> = schema
                .table(&data.name)
                .map(|t| t.complete_columns().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let list = ident_list(columns.iter().map(String::as_str));
            let select = format!("SELECT {list} FROM {}", self.table(&data.name));
            self.client
                .execute_batch(&self.dialect.create_stage(&stage, &select))
                .map_err(at(&data.name))?;
            self.append(&stage, RowOrder::Kept, package, data, progress)?;
            staged.push((stage, columns));
        }
        let root_stage = &staged[root_index].0;
        let root_name = self.table(&root.name);
        if let Some(sql) = self.dialect.analyze(root_stage) {
            self.client.execute_batch(&sql).map_err(at(&root.name))?;
        }

        // destination roots whose key arrives again, and their child rows
        let delete_ids = self.dialect.temp_table(DELETE_IDS);
        let select = format!(
            "SELECT d.{ROW_ID} FROM {root_name} AS d WHERE {}",
            keys.matches(root_stage)
        );
        self.client
            .execute_batch(&self.dialect.create_temp_table(&delete_ids, &select))
            .map_err(at(&root.name))?;
        for child in schema.descendants(&root.name) {
            if catalog.has_table(&child.name) {
                self.client
                    .execute_batch(&format!(
                        "DELETE FROM {} WHERE {ROOT_ID} IN (SELECT {ROW_ID} FROM {delete_ids})",
                        self.table(&child.name)
                    ))
                    .map_err(at(&child.name))?;
            }
        }
        self.client
            .execute_batch(&format!(
                "DELETE FROM {root_name} WHERE {ROW_ID} IN (SELECT {ROW_ID} FROM {delete_ids})"
            ))
            .map_err(at(&root.name))?;

        // the first staged row of each primary key wins, as in dlt; a staging table just
        // filled holds its rows in the order they came, which the insertion order column follows
        let keep = if keys.primary.is_empty() {
            format!("SELECT {ROW_ID} FROM {root_stage}")
        } else {
            format!(
                "SELECT {ROW_ID} FROM (SELECT {ROW_ID}, row_number() OVER \
                 (PARTITION BY {} ORDER BY {}) AS dltrs_rn FROM {root_stage}) AS ranked \
                 WHERE dltrs_rn = 1",
                ident_list(keys.primary.iter().map(String::as_str)),
                self.dialect.insertion_order()
            )
        };
        let keep_ids = self.dialect.temp_table(KEEP_IDS);
        self.client
            .execute_batch(&self.dialect.create_temp_table(&keep_ids, &keep))
            .map_err(at(&root.name))?;
        for (index, (stage, columns)) in staged.iter().enumerate() {
            let data = chain[index];
            let list = ident_list(columns.iter().map(String::as_str));
            let filter = if index == root_index { ROW_ID } else { ROOT_ID };
            self.client
                .execute_batch(&format!(
                    "INSERT INTO {} ({list}) SELECT {list} FROM {stage} \
                     WHERE {filter} IN (SELECT {ROW_ID} FROM {keep_ids})",
                    self.table(&data.name)
                ))
                .map_err(at(&data.name))?;
        }
        let mut drops: Vec<String> = staged.into_iter().map(|(stage, _)| stage).collect();
        drops.push(delete_ids);
        drops.push(keep_ids);
        if self.dialect.table_lists() {
            self.client
                .execute_batch(&format!("DROP TABLE {}", drops.join(", ")))
                .map_err(at(&root.name))?;
        } else {
            for table in drops {
                self.client
                    .execute_batch(&format!("DROP TABLE IF EXISTS {table}"))
                    .map_err(at(&root.name))?;
            }
        }
        Ok(())
    }
}
