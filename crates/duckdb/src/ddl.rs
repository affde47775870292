//! Tables from the schema: created when missing, extended with the columns they lack.
//!
//! Schemas only grow, so the only changes are new tables and new columns. A new column that
//! the schema declares `NOT NULL` is added nullable (DuckDB cannot add a `NOT NULL` column to
//! a table with rows) and constrained when the table is empty. `_dlt_root_id` added to a child
//! table with rows (a table that starts to merge) is backfilled from the parent chain and stays
//! nullable: DuckDB cannot add the constraint in the transaction that updated the rows.

use std::collections::HashMap;

use dltrs_core::schema::{Schema, Table};
use duckdb::Connection;

use crate::sql::{Dataset, column_def, ident};

const ROOT_ID: &str = "_dlt_root_id";
const PARENT_ID: &str = "_dlt_parent_id";
const ROW_ID: &str = "_dlt_id";

/// The tables of a dataset as they are in the database, with their column names.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    tables: HashMap<String, Vec<String>>,
}

impl Catalog {
    /// Reads the dataset's tables and columns (inside the current transaction).
    pub(crate) fn read(conn: &Connection, dataset: &Dataset) -> duckdb::Result<Self> {
        let mut stmt = conn.prepare(
            "SELECT table_name, column_name FROM information_schema.columns \
             WHERE table_catalog = ? AND table_schema = ? ORDER BY table_name, ordinal_position",
        )?;
        let mut rows = stmt.query([&dataset.catalog, &dataset.schema])?;
        let mut tables: HashMap<String, Vec<String>> = HashMap::new();
        while let Some(row) = rows.next()? {
            let table: String = row.get(0)?;
            let column: String = row.get(1)?;
            tables.entry(table).or_default().push(column);
        }
        Ok(Catalog { tables })
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
    conn: &Connection,
    dataset: &Dataset,
    schema: &Schema,
    table: &Table,
    catalog: &mut Catalog,
) -> duckdb::Result<()> {
    let columns: Vec<_> = table.complete_columns().collect();
    if columns.is_empty() {
        return Ok(());
    }
    let name = dataset.table(&table.name);
    if !catalog.has_table(&table.name) {
        let defs: Vec<String> = columns.iter().map(|c| column_def(c)).collect();
        conn.execute_batch(&format!("CREATE TABLE {name} ({})", defs.join(", ")))?;
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
        conn.execute_batch(&format!(
            "ALTER TABLE {name} ADD COLUMN {}",
            column_def(&nullable)
        ))?;
        if let Some(cols) = catalog.tables.get_mut(&table.name) {
            cols.push(column.name.clone());
        }
        if column.name == ROOT_ID && backfill_root_id(conn, dataset, schema, table)? > 0 {
            continue;
        }
        if !column.is_nullable() {
            constrain_not_null(conn, dataset, &table.name, &column.name)?;
        }
    }
    Ok(())
}

/// Makes sure every existing child table of `root` has `_dlt_root_id`, filled from the parent
/// chain: a table loaded with `append` or `replace` has none, and `merge` deletes through it.
pub(crate) fn ensure_root_keys(
    conn: &Connection,
    dataset: &Dataset,
    schema: &Schema,
    root: &str,
    catalog: &mut Catalog,
) -> duckdb::Result<()> {
    for table in schema.descendants(root) {
        if !catalog.has_table(&table.name) || catalog.has_column(&table.name, ROOT_ID) {
            continue;
        }
        conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} VARCHAR",
            dataset.table(&table.name),
            ident(ROOT_ID)
        ))?;
        if let Some(cols) = catalog.tables.get_mut(&table.name) {
            cols.push(ROOT_ID.to_string());
        }
        if backfill_root_id(conn, dataset, schema, table)? == 0 {
            constrain_not_null(conn, dataset, &table.name, ROOT_ID)?;
        }
    }
    Ok(())
}

/// Fills `_dlt_root_id` of a child table: its parent's `_dlt_id` under a root table, else its
/// parent's `_dlt_root_id` (parents are filled first). Returns the rows updated.
fn backfill_root_id(
    conn: &Connection,
    dataset: &Dataset,
    schema: &Schema,
    table: &Table,
) -> duckdb::Result<usize> {
    let Some(parent) = table.parent.as_deref().and_then(|p| schema.table(p)) else {
        return Ok(0);
    };
    let name = dataset.table(&table.name);
    let sql = if parent.is_nested() {
        format!(
            "UPDATE {name} SET {root} = p.{root} FROM {parent} AS p \
             WHERE {name}.{parent_id} = p.{row_id} AND {name}.{root} IS NULL",
            root = ident(ROOT_ID),
            parent = dataset.table(&parent.name),
            parent_id = ident(PARENT_ID),
            row_id = ident(ROW_ID),
        )
    } else {
        format!(
            "UPDATE {name} SET {root} = {parent_id} WHERE {root} IS NULL",
            root = ident(ROOT_ID),
            parent_id = ident(PARENT_ID),
        )
    };
    conn.execute(&sql, [])
}

/// Adds `NOT NULL` to a column when it holds no nulls; otherwise it stays nullable (old rows
/// cannot be given a value).
fn constrain_not_null(
    conn: &Connection,
    dataset: &Dataset,
    table: &str,
    column: &str,
) -> duckdb::Result<()> {
    let name = dataset.table(table);
    let nulls: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM {name} WHERE {} IS NULL",
            ident(column)
        ),
        [],
        |row| row.get(0),
    )?;
    if nulls == 0 {
        conn.execute_batch(&format!(
            "ALTER TABLE {name} ALTER COLUMN {} SET NOT NULL",
            ident(column)
        ))?;
    }
    Ok(())
}
