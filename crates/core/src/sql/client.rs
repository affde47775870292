//! The two traits a SQL destination implements to be loaded by the shared engine
//! ([`super::load`]): [`SqlClient`], one connection that runs statements, binds values and
//! bulk-appends package files, and [`Dialect`], the SQL text where databases differ. Every other
//! statement of a load, a merge or a restore is written once, by the engine.

use super::{Dataset, ident};
use crate::destination::BoxError;
use crate::package::BatchFile;
use crate::progress::Progress;
use crate::schema::Column;

/// A value bound to a placeholder ([`Dialect::placeholder`]): values are never spliced into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// Text (`VARCHAR`, `text`).
    Text(&'a str),
    /// A 64-bit integer (`BIGINT`).
    Int(i64),
}

/// Whether an appended file's rows must reach the table in the file's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOrder {
    /// Any order: a dataset's table (neither SQL nor dlt promise an order), so the database may
    /// insert on all its threads.
    Any,
    /// The file's order, read back by [`Dialect::insertion_order`]: the merge's staging tables,
    /// where the first staged row of a primary key wins.
    Kept,
}

/// A connection to a SQL database, as the engine drives it.
///
/// What an implementer guarantees:
/// - Every call runs on the same connection, so everything between [`begin`](Self::begin) and
///   [`commit`](Self::commit) is one transaction, DDL included: a package is applied in it or not
///   at all.
/// - Errors come back as the destination reports them (the engine adds only the load id and the
///   table or step): a driver whose own message is thin puts the whole cause chain in the text.
/// - [`append_file`](Self::append_file) inserts exactly the file's rows (in the file's order when
///   asked) and counts them in the run's progress as they go.
pub trait SqlClient {
    /// Opens the transaction a package is applied in.
    fn begin(&mut self) -> Result<(), BoxError>;

    /// Commits it.
    fn commit(&mut self) -> Result<(), BoxError>;

    /// Rolls it back.
    fn rollback(&mut self) -> Result<(), BoxError>;

    /// Runs SQL without parameters or results: one statement, or several separated by `;`.
    fn execute_batch(&mut self, sql: &str) -> Result<(), BoxError>;

    /// Runs one statement with `params` bound to its placeholders; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, BoxError>;

    /// The boolean a one-row, one-column query returns (`SELECT EXISTS (...)`).
    fn query_bool(&mut self, sql: &str, params: &[Param<'_>]) -> Result<bool, BoxError>;

    /// The rows of a query whose columns are all text, `NULL` as `None`.
    fn query_text(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Vec<Option<String>>>, BoxError>;

    /// Inserts the rows of one package file into `table` (a qualified name whose columns
    /// include the file's), in `order`, counting them with [`Progress::loaded_rows`]. The file's
    /// batches share one schema, which names the columns written.
    fn append_file(
        &mut self,
        table: &str,
        order: RowOrder,
        file: BatchFile,
        progress: &Progress,
    ) -> Result<(), BoxError>;

    /// Whether `error` (of this client's driver) may go away on a retry: see
    /// [`crate::destination::Failure`]. By default [`crate::destination::classify`] decides.
    fn failure(&self, error: &BoxError) -> crate::destination::Failure {
        crate::destination::classify(error.as_ref())
    }

    /// How an error that is not the driver's (a package file that cannot be opened, a stored
    /// state that cannot be decoded) is reported: as it is, unless the destination describes
    /// its errors its own way.
    fn report(&self, error: BoxError) -> BoxError {
        error
    }
}

/// The SQL text where databases differ. The engine writes standard SQL with double-quoted
/// identifiers ([`ident`]) and asks the dialect for the rest. A default is what standard SQL
/// (and PostgreSQL) does; an implementation says why its database differs where it overrides.
pub trait Dialect {
    /// The placeholder of the `index`th bound value, counted from 1 (`?`, `$1`).
    fn placeholder(&self, index: usize) -> String;

    /// The column type dlt creates for `column` (dlt's type mapper of the destination).
    fn column_type(&self, column: &Column) -> String;

    /// A storage clause written after a column's type, if the column needs one.
    fn column_storage(&self, column: &Column) -> Option<&'static str> {
        let _ = column;
        None
    }

    /// Whether `unique` columns get `UNIQUE` constraints (as dlt creates them). A table the
    /// package creates gets them after its rows are loaded, at the end of the package: one
    /// index build instead of an index grown row by row.
    fn unique_constraints(&self) -> bool;

    /// Whether a column can be made `NOT NULL` in the transaction that updated its rows (the
    /// `_dlt_root_id` backfill); if not, a backfilled column stays nullable.
    fn not_null_after_update(&self) -> bool {
        true
    }

    /// Whether `DROP TABLE` and `TRUNCATE` take a list of tables. If so, `replace` empties a
    /// root's tables in one `TRUNCATE a, b` and the merge drops its tables in one statement;
    /// if not, each table is emptied with `DELETE FROM` and dropped on its own.
    fn table_lists(&self) -> bool {
        true
    }

    /// The hidden column that follows the order rows were inserted in, for `ORDER BY` over a
    /// freshly filled staging table.
    fn insertion_order(&self) -> &'static str;

    /// The statement that prepares the merge's staging area in `dataset`, if it needs one.
    fn create_staging(&self, dataset: &Dataset) -> Option<String> {
        let _ = dataset;
        None
    }

    /// The qualified name of the staging table for table `table`, the `index`th of its chain.
    fn stage_table(&self, dataset: &Dataset, index: usize, table: &str) -> String;

    /// The statements that create the empty staging table `stage` with the columns of `select`
    /// (a `SELECT ... FROM` a dataset table), in the package's transaction.
    fn create_stage(&self, stage: &str, select: &str) -> String;

    /// A statement that gathers statistics on a filled staging table, if the planner needs them.
    fn analyze(&self, table: &str) -> Option<String> {
        let _ = table;
        None
    }

    /// The name of a temporary table of the connection.
    fn temp_table(&self, name: &str) -> String {
        ident(name)
    }

    /// The statement that creates temporary table `name` (from [`temp_table`](Self::temp_table))
    /// holding the rows of `select`, gone by the end of the transaction or dropped by the merge.
    fn create_temp_table(&self, name: &str, select: &str) -> String;
}
