//! The connection the shared engine drives ([`SqlClient`]): statements and bound values over
//! `postgres`, package files appended by binary `COPY` ([`crate::copy`]).

use std::io::Write;

use dltrs_core::destination::{BoxError, ClassifiedError, Failure};
use dltrs_core::package::BatchFile;
use dltrs_core::progress::Progress;
use dltrs_core::sql::{Param, RowOrder, SqlClient, ident_list};
use postgres::types::ToSql;
use postgres::{Client, CopyInWriter};

use crate::copy;

/// Bytes of COPY data gathered before they are sent.
const COPY_CHUNK: usize = 1 << 20;

/// A connection to the database, with the buffer its `COPY`s are encoded into.
pub(crate) struct PgClient {
    client: Client,
    buf: Vec<u8>,
}

impl PgClient {
    pub(crate) fn new(client: Client) -> Self {
        PgClient {
            client,
            buf: Vec::new(),
        }
    }
}

/// An error with its causes in its text (the driver's `Display` is only "db error", the
/// server's message, detail and hint are in the source chain) and its classification.
fn pg(e: impl std::error::Error + 'static) -> BoxError {
    Box::new(ClassifiedError {
        message: crate::describe(&e),
        failure: classify(&e),
    })
}

/// The failure of an error of the driver, found in its chain (a `COPY` write wraps the
/// server's error in an I/O error); a package file that cannot be read is transient, a column
/// the `COPY` encoder cannot write terminal.
fn classify(e: &(dyn std::error::Error + 'static)) -> Failure {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if let Some(pg) = err.downcast_ref::<postgres::Error>() {
            return failure_of(pg);
        }
        if err.is::<copy::UnsupportedColumn>() {
            return Failure::Terminal;
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<postgres::Error>())
        {
            return failure_of(inner);
        }
        cause = err.source();
    }
    Failure::Transient
}

/// dlt's split of PostgreSQL's errors by SQLSTATE class: what a retry may fix (a lost
/// connection, a conflict with another transaction, a resource running out, the server
/// shutting down) is transient; what the data or the schema causes (classes 22 data
/// exception, 23 integrity constraint, 42 syntax or access rule, ...) is terminal.
fn failure_of(e: &postgres::Error) -> Failure {
    let Some(code) = e.code() else {
        // no server answer: the connection broke or timed out
        return Failure::Transient;
    };
    match code.code().get(..2) {
        // connection exception, transaction rollback (serialization, deadlock), insufficient
        // resources (disk full, out of memory, too many connections), lock not available,
        // operator intervention (shutdown, cancel), system error (I/O)
        Some("08" | "40" | "53" | "55" | "57" | "58") => Failure::Transient,
        _ => Failure::Terminal,
    }
}

fn bind<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| -> &(dyn ToSql + Sync) {
            match param {
                Param::Text(text) => text,
                Param::Int(int) => int,
            }
        })
        .collect()
}

impl SqlClient for PgClient {
    fn begin(&mut self) -> Result<(), BoxError> {
        self.client.batch_execute("BEGIN").map_err(pg)
    }

    fn commit(&mut self) -> Result<(), BoxError> {
        self.client.batch_execute("COMMIT").map_err(pg)
    }

    fn rollback(&mut self) -> Result<(), BoxError> {
        self.client.batch_execute("ROLLBACK").map_err(pg)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), BoxError> {
        self.client.batch_execute(sql).map_err(pg)
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, BoxError> {
        self.client.execute(sql, &bind(params)).map_err(pg)
    }

    fn query_bool(&mut self, sql: &str, params: &[Param<'_>]) -> Result<bool, BoxError> {
        let row = self.client.query_one(sql, &bind(params)).map_err(pg)?;
        row.try_get(0).map_err(pg)
    }

    fn query_text(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Vec<Option<String>>>, BoxError> {
        let rows = self.client.query(sql, &bind(params)).map_err(pg)?;
        rows.iter()
            .map(|row| (0..row.len()).map(|i| row.try_get(i).map_err(pg)).collect())
            .collect()
    }

    /// One binary `COPY` of the file's batches, sent a megabyte at a time; a file without rows
    /// sends none. `COPY` keeps the order of its rows, whatever `_order`.
    fn append_file(
        &mut self,
        table: &str,
        _order: RowOrder,
        mut file: BatchFile,
        progress: &Progress,
    ) -> Result<(), BoxError> {
        // the first batch with rows names the columns of this file's COPY
        let first = loop {
            match file.next() {
                Some(batch) => {
                    let batch = batch.map_err(pg)?;
                    if batch.num_rows() > 0 {
                        break Some(batch);
                    }
                }
                None => break None,
            }
        };
        let Some(first) = first else {
            return Ok(());
        };
        let sql = format!(
            "COPY {table} ({}) FROM STDIN WITH (FORMAT binary)",
            ident_list(first.schema().fields().iter().map(|f| f.name().as_str()))
        );
        let buf = &mut self.buf;
        if buf.capacity() == 0 {
            buf.reserve(COPY_CHUNK + (COPY_CHUNK >> 2));
        }
        let mut writer = self.client.copy_in(&sql).map_err(pg)?;
        buf.clear();
        buf.extend_from_slice(copy::HEADER);
        let mut next = Some(Ok(first));
        while let Some(batch) = next {
            let batch = batch.map_err(pg)?;
            copy::encode_batch(&batch, buf).map_err(pg)?;
            if buf.len() >= COPY_CHUNK {
                writer.write_all(buf).map_err(pg)?;
                buf.clear();
            }
            progress.loaded_rows(batch.num_rows() as u64);
            next = file.next();
        }
        finish(writer, buf)
    }

    /// The whole chain in the text, as for the driver's errors.
    fn report(&self, error: BoxError) -> BoxError {
        crate::describe(&*error).into()
    }
}

fn finish(mut writer: CopyInWriter<'_>, buf: &mut Vec<u8>) -> Result<(), BoxError> {
    buf.extend_from_slice(copy::TRAILER);
    writer.write_all(buf).map_err(pg)?;
    buf.clear();
    writer.finish().map_err(pg)?;
    Ok(())
}
