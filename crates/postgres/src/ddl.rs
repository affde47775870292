//! Tables from the schema: created when missing, extended with the columns they lack.
//!
//! Schemas only grow, so the only changes are new tables and new columns. A new column that the
//! schema declares `NOT NULL` is added nullable and constrained when no row is null.
//! `_dlt_root_id` added to a child table with rows (a table that starts to merge) is backfilled
//! from the parent chain first. PostgreSQL's DDL is transactional, so all of this commits or
//! rolls back with the package.

use std::collections::HashMap;

use dltrs_core::schema::{Schema, Table};
use postgres::Transaction;

use crate::sql::{Dataset, column_def, ident};

const ROOT_ID: &str = "_dlt_root_id";
const PARENT_ID: &str = "_dlt_parent_id";
const ROW_ID: &str = "_dlt_id";

/// The tables of a dataset as they are in the database, with their column names.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    tables: HashMap<String, Vec<String>>,
    /// `UNIQUE` constraints of tables created by this transaction, added after their rows:
    /// building an index over loaded rows is several times cheaper than growing it row by row.
    deferred_unique: Vec<(String, String)>,
}

impl Catalog {
    /// Reads the dataset's tables and columns (inside the current transaction).
    pub(crate) fn read(
        tx: &mut Transaction<'_>,
        dataset: &Dataset,
    ) -> Result<Self, postgres::Error> {
        let rows = tx.query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
            &[&dataset.schema],
        )?;
        let mut tables: HashMap<String, Vec<String>> = HashMap::new();
        for row in rows {
            let table: String = row.try_get(0)?;
            let column: String = row.try_get(1)?;
            tables.entry(table).or_default().push(column);
        }
        Ok(Catalog {
            tables,
            deferred_unique: Vec::new(),
        })
    }

    /// Adds the `UNIQUE` constraints deferred when tables were created.
    pub(crate) fn add_deferred_constraints(
        &mut self,
        tx: &mut Transaction<'_>,
        dataset: &Dataset,
    ) -> Result<(), postgres::Error> {
        for (table, column) in std::mem::take(&mut self.deferred_unique) {
            tx.batch_execute(&format!(
                "ALTER TABLE {} ADD UNIQUE ({})",
                dataset.table(&table),
                ident(&column)
            ))?;
        }
        Ok(())
    }

    /// True when the table exists.
    pub(crate) fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    fn has_column(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .is_some_and(|cols| cols.iter().any(|c| c == column))
    }
}

/// Creates `table` or adds the complete columns it lacks.
pub(crate) fn sync_table(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    schema: &Schema,
    table: &Table,
    catalog: &mut Catalog,
) -> Result<(), postgres::Error> {
    let columns: Vec<_> = table.complete_columns().collect();
    if columns.is_empty() {
        return Ok(());
    }
    let name = dataset.table(&table.name);
    if !catalog.has_table(&table.name) {
        let defs: Vec<String> = columns
            .iter()
            .map(|c| {
                if c.unique == Some(true) {
                    catalog
                        .deferred_unique
                        .push((table.name.clone(), c.name.clone()));
                    let mut plain = (*c).clone();
                    plain.unique = None;
                    column_def(&plain)
                } else {
                    column_def(c)
                }
            })
            .collect();
        tx.batch_execute(&format!("CREATE TABLE {name} ({})", defs.join(", ")))?;
        catalog.tables.insert(
            table.name.clone(),
            columns.iter().map(|c| c.name.clone()).collect(),
        );
        return Ok(());
    }
    for column in columns {
        if catalog.has_column(&table.name, &column.name) {
            continue;
        }
        let mut nullable = column.clone();
        nullable.nullable = Some(true);
        tx.batch_execute(&format!(
            "ALTER TABLE {name} ADD COLUMN {}",
            column_def(&nullable)
        ))?;
        if let Some(cols) = catalog.tables.get_mut(&table.name) {
            cols.push(column.name.clone());
        }
        if column.name == ROOT_ID {
            backfill_root_id(tx, dataset, schema, table)?;
        }
        if !column.is_nullable() {
            constrain_not_null(tx, dataset, &table.name, &column.name)?;
        }
    }
    Ok(())
}

/// Makes sure every existing child table of `root` has `_dlt_root_id`, filled from the parent
/// chain: a table loaded with `append` or `replace` has none, and `merge` deletes through it.
pub(crate) fn ensure_root_keys(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    schema: &Schema,
    root: &str,
    catalog: &mut Catalog,
) -> Result<(), postgres::Error> {
    for table in schema.descendants(root) {
        if !catalog.has_table(&table.name) || catalog.has_column(&table.name, ROOT_ID) {
            continue;
        }
        tx.batch_execute(&format!(
            "ALTER TABLE {} ADD COLUMN {} varchar",
            dataset.table(&table.name),
            ident(ROOT_ID)
        ))?;
        if let Some(cols) = catalog.tables.get_mut(&table.name) {
            cols.push(ROOT_ID.to_string());
        }
        backfill_root_id(tx, dataset, schema, table)?;
        constrain_not_null(tx, dataset, &table.name, ROOT_ID)?;
    }
    Ok(())
}

/// Fills `_dlt_root_id` of a child table: its parent's `_dlt_id` under a root table, else its
/// parent's `_dlt_root_id` (parents are filled first).
fn backfill_root_id(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    schema: &Schema,
    table: &Table,
) -> Result<u64, postgres::Error> {
    let Some(parent) = table.parent.as_deref().and_then(|p| schema.table(p)) else {
        return Ok(0);
    };
    let name = dataset.table(&table.name);
    let root = ident(ROOT_ID);
    let sql = if parent.is_nested() {
        format!(
            "UPDATE {name} AS c SET {root} = p.{root} FROM {parent} AS p \
             WHERE c.{parent_id} = p.{row_id} AND c.{root} IS NULL",
            parent = dataset.table(&parent.name),
            parent_id = ident(PARENT_ID),
            row_id = ident(ROW_ID),
        )
    } else {
        format!(
            "UPDATE {name} SET {root} = {parent_id} WHERE {root} IS NULL",
            parent_id = ident(PARENT_ID),
        )
    };
    tx.execute(&sql, &[])
}

/// Adds `NOT NULL` to a column when it holds no nulls; otherwise it stays nullable (old rows
/// cannot be given a value).
fn constrain_not_null(
    tx: &mut Transaction<'_>,
    dataset: &Dataset,
    table: &str,
    column: &str,
) -> Result<(), postgres::Error> {
    let name = dataset.table(table);
    let column = ident(column);
    let row = tx.query_one(
        &format!("SELECT EXISTS (SELECT 1 FROM {name} WHERE {column} IS NULL)"),
        &[],
    )?;
    let has_nulls: bool = row.try_get(0)?;
    if !has_nulls {
        tx.batch_execute(&format!(
            "ALTER TABLE {name} ALTER COLUMN {column} SET NOT NULL"
        ))?;
    }
    Ok(())
}
