//! `merge`, as dlt does it (`dlt/destinations/sql_jobs.py`): the package's rows are staged (in
//! tables the dialect names, [`Dialect::stage_table`]) in the package's order, then by strategy:
//!
//! - `delete-insert`: destination rows whose primary key or merge key arrives again are deleted
//!   together with their child rows (through `_dlt_root_id`); the staged rows are inserted,
//!   deduplicated on the primary key (the first row of the package wins, or the first by the
//!   `dedup_sort` column);
//! - `upsert`: destination rows whose primary key arrives are replaced by the staged rows (no
//!   deduplication), their child rows by the staged ones;
//! - `insert-only`: staged rows whose primary key the destination lacks are inserted
//!   (deduplicated as for delete-insert), the others left as they are;
//! - `scd2`: `_dlt_id` is the row's hash; active versions (`_dlt_valid_to` null) whose hash is
//!   not staged are retired at the package's time (with a merge key, only those whose key is
//!   staged), staged versions not active are inserted, active from the package's time; child
//!   tables are insert-only.
//!
//! A `hard_delete` column marks staged rows that delete instead of insert: a boolean column
//! when true, any other when not null. All of it inside the package's transaction, so no one
//! else sees the staging tables; they are dropped before the commit.

use super::ddl::Catalog;
use super::load::{StepResult, at};
use super::{Dialect, MergeKeys, RowOrder, Session, SqlClient, ident, ident_list};
use crate::package::{NormalizedPackage, NormalizedTable};
use crate::progress::Progress;
use crate::schema::{MergeStrategy, Table};
use crate::types::DataType;

const ROW_ID: &str = "\"_dlt_id\"";
const VALID_FROM: &str = "\"_dlt_valid_from\"";
const VALID_TO: &str = "\"_dlt_valid_to\"";
const VALID_TO_NAME: &str = crate::schema::SCD2_VALID_TO;
const ROOT_ID: &str = "\"_dlt_root_id\"";
/// Temporary table of root row ids being replaced.
const DELETE_IDS: &str = "dltrs_merge_delete";
/// Temporary table of staged root row ids that are inserted.
const KEEP_IDS: &str = "dltrs_merge_keep";

impl<C: SqlClient, D: Dialect> Session<'_, C, D> {
    /// Merges the package's rows of `root` and its child tables (`chain`) into the dataset
    /// with `strategy` (delete-insert, upsert or insert-only).
    #[allow(clippy::too_many_arguments, reason = "one merge's parts")]
    pub(crate) fn merge(
        &mut self,
        strategy: MergeStrategy,
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

        // destination roots whose key arrives again (none for insert-only), and their child rows
        let delete_ids = self.dialect.temp_table(DELETE_IDS);
        let select = match strategy {
            MergeStrategy::InsertOnly => {
                format!("SELECT d.{ROW_ID} FROM {root_name} AS d WHERE 1 = 0")
            }
            // scd2 retires instead: active versions whose row hash is not staged (with a
            // merge key, only those whose key is)
            MergeStrategy::Scd2 => {
                let scoped = match keys.merge.is_empty() {
                    true => String::new(),
                    false => format!(
                        " AND ({})",
                        MergeKeys {
                            primary: Vec::new(),
                            merge: keys.merge.clone()
                        }
                        .matches(root_stage)
                    ),
                };
                format!(
                    "SELECT d.{ROW_ID} FROM {root_name} AS d WHERE d.{VALID_TO} IS NULL \
                     AND d.{ROW_ID} NOT IN (SELECT {ROW_ID} FROM {root_stage}){scoped}"
                )
            }
            MergeStrategy::Upsert => format!(
                "SELECT d.{ROW_ID} FROM {root_name} AS d WHERE {}",
                MergeKeys {
                    primary: keys.primary.clone(),
                    merge: Vec::new()
                }
                .matches(root_stage)
            ),
            _ => format!(
                "SELECT d.{ROW_ID} FROM {root_name} AS d WHERE {}",
                keys.matches(root_stage)
            ),
        };
        self.client
            .execute_batch(&self.dialect.create_temp_table(&delete_ids, &select))
            .map_err(at(&root.name))?;
        // bound as text (a driver that types the parameter by the cast would refuse a string)
        let boundary = boundary_timestamp(package.load_id());
        let timestamp = self.dialect.column_type(&crate::schema::Column::new(
            VALID_TO_NAME,
            DataType::Timestamp,
        ));
        if strategy == MergeStrategy::Scd2 {
            let sql = format!(
                "UPDATE {root_name} SET {VALID_TO} = CAST(CAST({} AS VARCHAR) AS {timestamp}) \
                 WHERE {ROW_ID} IN (SELECT {ROW_ID} FROM {delete_ids})",
                self.dialect.placeholder(1)
            );
            self.client
                .execute(&sql, &[super::Param::Text(&boundary)])
                .map_err(at(&root.name))?;
        }
        for child in schema.descendants(&root.name) {
            if strategy == MergeStrategy::Scd2 {
                // child tables of scd2 are insert-only
                break;
            }
            if catalog.has_table(&child.name) {
                self.client
                    .execute_batch(&format!(
                        "DELETE FROM {} WHERE {ROOT_ID} IN (SELECT {ROW_ID} FROM {delete_ids})",
                        self.table(&child.name)
                    ))
                    .map_err(at(&child.name))?;
            }
        }
        if strategy != MergeStrategy::Scd2 {
            self.client
                .execute_batch(&format!(
                    "DELETE FROM {root_name} WHERE {ROW_ID} IN (SELECT {ROW_ID} FROM {delete_ids})"
                ))
                .map_err(at(&root.name))?;
        }

        // the first staged row of each primary key wins, as in dlt (first by the dedup_sort
        // column when there is one); a staging table just filled holds its rows in the order
        // they came, which the insertion order column follows. Upsert does not deduplicate.
        let live = hard_delete(root)
            .map(|(column, boolean)| match boolean {
                true => format!("{} IS NOT TRUE", ident(column)),
                false => format!("{} IS NULL", ident(column)),
            })
            .unwrap_or_else(|| "1 = 1".into());
        let order = match dedup_sort(root) {
            Some((column, descending)) => format!(
                "{} {} NULLS LAST, {}",
                ident(column),
                if descending { "DESC" } else { "ASC" },
                self.dialect.insertion_order()
            ),
            None => self.dialect.insertion_order().to_string(),
        };
        let absent = match strategy {
            MergeStrategy::InsertOnly => format!(
                " AND NOT EXISTS (SELECT 1 FROM {root_name} AS d WHERE {})",
                keys.primary
                    .iter()
                    .map(|c| format!("d.{c} = ranked.{c}", c = ident(c)))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            ),
            _ => String::new(),
        };
        let keep = if strategy == MergeStrategy::Scd2 {
            // one row per row hash, and only versions not active already
            format!(
                "SELECT {ROW_ID} FROM (SELECT *, row_number() OVER \
                 (PARTITION BY {ROW_ID} ORDER BY {order}) AS dltrs_rn FROM {root_stage}) AS ranked \
                 WHERE dltrs_rn = 1 AND {live} AND {ROW_ID} NOT IN \
                 (SELECT {ROW_ID} FROM {root_name} WHERE {VALID_TO} IS NULL)"
            )
        } else if keys.primary.is_empty() || strategy == MergeStrategy::Upsert {
            format!("SELECT {ROW_ID} FROM {root_stage} WHERE {live}")
        } else {
            let primary = ident_list(keys.primary.iter().map(String::as_str));
            format!(
                "SELECT {ROW_ID} FROM (SELECT *, row_number() OVER \
                 (PARTITION BY {primary} ORDER BY {order}) AS dltrs_rn FROM {root_stage}) AS ranked \
                 WHERE dltrs_rn = 1 AND {live}{absent}",
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
            let target = self.table(&data.name);
            // scd2's child rows are insert-only: a version that comes back has its rows already
            let new_rows = match (strategy, index == root_index) {
                (MergeStrategy::Scd2, false) => {
                    format!(" AND {ROW_ID} NOT IN (SELECT {ROW_ID} FROM {target})")
                }
                _ => String::new(),
            };
            self.client
                .execute_batch(&format!(
                    "INSERT INTO {target} ({list}) SELECT {list} FROM {stage} \
                     WHERE {filter} IN (SELECT {ROW_ID} FROM {keep_ids}){new_rows}"
                ))
                .map_err(at(&data.name))?;
        }
        if strategy == MergeStrategy::Scd2 {
            // the versions inserted now became active at the package's time
            let sql = format!(
                "UPDATE {root_name} SET {VALID_FROM} = CAST(CAST({} AS VARCHAR) AS {timestamp}) \
                 WHERE {VALID_FROM} IS NULL",
                self.dialect.placeholder(1)
            );
            self.client
                .execute(&sql, &[super::Param::Text(&boundary)])
                .map_err(at(&root.name))?;
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

/// The root's `hard_delete` column and whether it is boolean (true deletes) rather than any
/// other type (a value deletes).
fn hard_delete(root: &Table) -> Option<(&str, bool)> {
    root.complete_columns()
        .find(|c| {
            c.other
                .get("hard_delete")
                .and_then(serde_json::Value::as_bool)
                == Some(true)
        })
        .map(|c| (c.name.as_str(), c.data_type == Some(DataType::Bool)))
}

/// The root's `dedup_sort` column and whether it sorts descending (the greatest value wins).
fn dedup_sort(root: &Table) -> Option<(&str, bool)> {
    root.complete_columns().find_map(|c| {
        match c
            .other
            .get("dedup_sort")
            .and_then(serde_json::Value::as_str)
        {
            Some("desc") => Some((c.name.as_str(), true)),
            Some("asc") => Some((c.name.as_str(), false)),
            _ => None,
        }
    })
}

/// scd2's boundary: the package's time (its load id), as dlt takes the load package's
/// creation time, in ISO form.
fn boundary_timestamp(load_id: &str) -> String {
    crate::types::datetime::format_timestamp(crate::package::load_id_micros(load_id))
}
