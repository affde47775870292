//! Tables from the schema: created when missing, extended with the columns they lack, inside the
//! package's transaction.
//!
//! Schemas only grow, so the only changes are new tables and new columns. A new column that the
//! schema declares `NOT NULL` is added nullable (no database adds a `NOT NULL` column to a table
//! with rows) and constrained when no row is null. `_dlt_root_id` added to a child table with
//! rows (a table that starts to merge) is backfilled from the parent chain first, and constrained
//! where the dialect can do that in the transaction that updated the rows
//! ([`Dialect::not_null_after_update`]).

use std::collections::HashMap;

use super::{Dialect, Session, SqlClient, ident};
use crate::destination::BoxError;
use crate::schema::{Column, Schema, Table};
use crate::types::DataType;

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
    pub(crate) fn read<C: SqlClient, D: Dialect>(
        sql: &mut Session<'_, C, D>,
    ) -> Result<Self, BoxError> {
        let (in_dataset, params) = sql.in_dataset();
        // `::text`: PostgreSQL's `information_schema` columns are `sql_identifier`, which its
        // driver does not read as text; elsewhere the cast changes nothing
        let rows = sql.client.query_text(
            &format!(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE {in_dataset} ORDER BY table_name, ordinal_position"
            ),
            &params,
        )?;
        let mut tables: HashMap<String, Vec<String>> = HashMap::new();
        for row in rows {
            let mut cells = row.into_iter();
            if let (Some(Some(table)), Some(Some(column))) = (cells.next(), cells.next()) {
                tables.entry(table).or_default().push(column);
            }
        }
        Ok(Catalog {
            tables,
            deferred_unique: Vec::new(),
        })
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

    fn add_column(&mut self, table: &str, column: &str) {
        if let Some(cols) = self.tables.get_mut(table) {
            cols.push(column.to_string());
        }
    }
}

/// A column definition for `CREATE TABLE` or `ADD COLUMN`: name, the dialect's type and storage,
/// `UNIQUE` where the dialect constrains `unique` columns, `NOT NULL` when declared.
fn column_def(dialect: &impl Dialect, column: &Column) -> String {
    let mut def = format!("{} {}", ident(&column.name), dialect.column_type(column));
    if let Some(storage) = dialect.column_storage(column) {
        def.push(' ');
        def.push_str(storage);
    }
    if dialect.unique_constraints() && column.unique == Some(true) {
        def.push_str(" UNIQUE");
    }
    if !column.is_nullable() {
        def.push_str(" NOT NULL");
    }
    def
}

impl<C: SqlClient, D: Dialect> Session<'_, C, D> {
    /// Creates `table` or adds the complete columns it lacks.
    pub(crate) fn sync_table(
        &mut self,
        schema: &Schema,
        table: &Table,
        catalog: &mut Catalog,
    ) -> Result<(), BoxError> {
        let columns: Vec<_> = table.complete_columns().collect();
        if columns.is_empty() {
            return Ok(());
        }
        let name = self.table(&table.name);
        if !catalog.has_table(&table.name) {
            let defs: Vec<String> = columns
                .iter()
                .map(|c| {
                    if self.dialect.unique_constraints() && c.unique == Some(true) {
                        catalog
                            .deferred_unique
                            .push((table.name.clone(), c.name.clone()));
                        let mut plain = (*c).clone();
                        plain.unique = None;
                        column_def(self.dialect, &plain)
                    } else {
                        column_def(self.dialect, c)
                    }
                })
                .collect();
            self.client
                .execute_batch(&format!("CREATE TABLE {name} ({})", defs.join(", ")))?;
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
            self.client.execute_batch(&format!(
                "ALTER TABLE {name} ADD COLUMN {}",
                column_def(self.dialect, &nullable)
            ))?;
            catalog.add_column(&table.name, &column.name);
            if column.name == ROOT_ID
                && self.backfill_root_id(schema, table)? > 0
                && !self.dialect.not_null_after_update()
            {
                continue;
            }
            if !column.is_nullable() {
                self.constrain_not_null(&table.name, &column.name)?;
            }
        }
        Ok(())
    }

    /// Makes sure every existing child table of `root` has `_dlt_root_id`, filled from the
    /// parent chain: a table loaded with `append` or `replace` has none, and `merge` deletes
    /// through it.
    pub(crate) fn ensure_root_keys(
        &mut self,
        schema: &Schema,
        root: &str,
        catalog: &mut Catalog,
    ) -> Result<(), BoxError> {
        let text = self
            .dialect
            .column_type(&Column::new(ROOT_ID, DataType::Text));
        for table in schema.descendants(root) {
            if !catalog.has_table(&table.name) || catalog.has_column(&table.name, ROOT_ID) {
                continue;
            }
            self.client.execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {} {text}",
                self.table(&table.name),
                ident(ROOT_ID)
            ))?;
            catalog.add_column(&table.name, ROOT_ID);
            if self.backfill_root_id(schema, table)? == 0 || self.dialect.not_null_after_update() {
                self.constrain_not_null(&table.name, ROOT_ID)?;
            }
        }
        Ok(())
    }

    /// Adds the `UNIQUE` constraints deferred when tables were created.
    pub(crate) fn add_deferred_constraints(
        &mut self,
        catalog: &mut Catalog,
    ) -> Result<(), BoxError> {
        for (table, column) in std::mem::take(&mut catalog.deferred_unique) {
            self.client.execute_batch(&format!(
                "ALTER TABLE {} ADD UNIQUE ({})",
                self.table(&table),
                ident(&column)
            ))?;
        }
        Ok(())
    }

    /// Fills `_dlt_root_id` of a child table: its parent's `_dlt_id` under a root table, else
    /// its parent's `_dlt_root_id` (parents are filled first). Returns the rows updated.
    fn backfill_root_id(&mut self, schema: &Schema, table: &Table) -> Result<u64, BoxError> {
        let Some(parent) = table.parent.as_deref().and_then(|p| schema.table(p)) else {
            return Ok(0);
        };
        let name = self.table(&table.name);
        let root = ident(ROOT_ID);
        let sql = if parent.is_nested() {
            format!(
                "UPDATE {name} AS c SET {root} = p.{root} FROM {parent} AS p \
                 WHERE c.{parent_id} = p.{row_id} AND c.{root} IS NULL",
                parent = self.table(&parent.name),
                parent_id = ident(PARENT_ID),
                row_id = ident(ROW_ID),
            )
        } else {
            format!(
                "UPDATE {name} SET {root} = {parent_id} WHERE {root} IS NULL",
                parent_id = ident(PARENT_ID),
            )
        };
        self.client.execute(&sql, &[])
    }

    /// Adds `NOT NULL` to a column when it holds no nulls; otherwise it stays nullable (old rows
    /// cannot be given a value).
    fn constrain_not_null(&mut self, table: &str, column: &str) -> Result<(), BoxError> {
        let name = self.table(table);
        let column = ident(column);
        let has_nulls = self.client.query_bool(
            &format!("SELECT EXISTS (SELECT 1 FROM {name} WHERE {column} IS NULL)"),
            &[],
        )?;
        if !has_nulls {
            self.client.execute_batch(&format!(
                "ALTER TABLE {name} ALTER COLUMN {column} SET NOT NULL"
            ))?;
        }
        Ok(())
    }
}
