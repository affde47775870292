//! The connection the shared engine drives ([`SqlClient`]): statements and bound values over
//! `duckdb`, package files inserted from the scan table function ([`crate::scan`]).

use dltrs_core::destination::{BoxError, Failure};
use dltrs_core::package::BatchFile;
use dltrs_core::progress::Progress;
use dltrs_core::sql::{Param, RowOrder, SqlClient, ident_list};
use duckdb::types::{ToSql, ToSqlOutput};
use duckdb::{Connection, params_from_iter};

use crate::scan;

/// A DuckDB connection, as the engine drives it.
pub(crate) struct DuckDbClient<'c> {
    pub(crate) conn: &'c Connection,
}

/// A bound value, as DuckDB takes it.
struct Bound<'a>(&'a Param<'a>);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> duckdb::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Param::Text(text) => ToSqlOutput::from(*text),
            Param::Int(int) => ToSqlOutput::from(*int),
        })
    }
}

fn bind<'a>(params: &'a [Param<'a>]) -> duckdb::ParamsFromIter<impl Iterator<Item = Bound<'a>>> {
    params_from_iter(params.iter().map(Bound))
}

impl SqlClient for DuckDbClient<'_> {
    fn begin(&mut self) -> Result<(), BoxError> {
        Ok(self.conn.execute_batch("BEGIN TRANSACTION")?)
    }

    fn commit(&mut self) -> Result<(), BoxError> {
        Ok(self.conn.execute_batch("COMMIT")?)
    }

    fn rollback(&mut self) -> Result<(), BoxError> {
        Ok(self.conn.execute_batch("ROLLBACK")?)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), BoxError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, BoxError> {
        Ok(self.conn.execute(sql, bind(params))? as u64)
    }

    fn query_bool(&mut self, sql: &str, params: &[Param<'_>]) -> Result<bool, BoxError> {
        Ok(self.conn.query_row(sql, bind(params), |row| row.get(0))?)
    }

    fn query_text(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Vec<Option<String>>>, BoxError> {
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query(bind(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let columns = row.as_ref().column_count();
            out.push((0..columns).map(|i| row.get(i)).collect::<Result<_, _>>()?);
        }
        Ok(out)
    }

    /// One `INSERT ... SELECT * FROM dltrs_scan(?)`: DuckDB inserts on all its threads, or, for
    /// [`RowOrder::Kept`], reads the file on one (`dltrs_scan_ordered`).
    fn append_file(
        &mut self,
        table: &str,
        order: RowOrder,
        file: BatchFile,
        progress: &Progress,
    ) -> Result<(), BoxError> {
        let function = match order {
            RowOrder::Any => scan::PARALLEL,
            RowOrder::Kept => scan::ORDERED,
        };
        let scan = scan::Registration::new(file);
        let columns = ident_list(scan.schema().fields().iter().map(|f| f.name().as_str()));
        let sql = format!("INSERT INTO {table} ({columns}) SELECT * FROM {function}(?)");
        let inserted = self.conn.execute(&sql, [scan.token()]);
        if let Some(error) = scan.take_error() {
            // the file could not be read: that, not DuckDB's echo of it, is the error
            return Err(error.into());
        }
        inserted?;
        progress.loaded_rows(scan.rows());
        Ok(())
    }

    /// DuckDB's errors carry their kind only as their message's first words (`Conversion
    /// Error: ...`): I/O (a lock held by another process, a full disk), memory, transaction
    /// conflicts and interrupts may pass; constraint, conversion, binder, catalog and the other
    /// errors the data or the schema cause will not. An error that is not DuckDB's is a package
    /// file that could not be read: transient.
    fn failure(&self, error: &BoxError) -> Failure {
        let Some(error) = error.downcast_ref::<duckdb::Error>() else {
            return Failure::Transient;
        };
        let text = error.to_string();
        const TRANSIENT: [&str; 5] = [
            "IO Error",
            "Out of Memory Error",
            "TransactionContext Error",
            "Interrupt Error",
            "Connection Error",
        ];
        if TRANSIENT.iter().any(|kind| text.starts_with(kind)) {
            Failure::Transient
        } else {
            Failure::Terminal
        }
    }
}
