//! Parquet files into DuckDB tables for the tests. This build of DuckDB has no Parquet
//! extension (it would be downloaded, and tests run offline), so the files are read by
//! arrow-rs's reader and handed to DuckDB as Arrow batches (`arrow(?)`, duckdb-rs's Arrow
//! table function); DuckDB's own Parquet reader reads them in the Python tests.

use std::path::Path;

use duckdb::Connection;
use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::pg_dump::DumpError;

/// Makes `arrow(?)` available on `conn`.
///
/// # Errors
///
/// When DuckDB refuses the registration.
pub fn register_arrow(conn: &Connection) -> Result<(), DumpError> {
    conn.register_table_function::<ArrowVTab>("arrow")?;
    Ok(())
}

/// Inserts the rows of the Parquet file `file` into the existing table `table` (a quoted
/// name) by column name; columns the file lacks stay null.
///
/// # Errors
///
/// A file that cannot be read, or a DuckDB error.
pub fn insert_parquet(conn: &Connection, table: &str, file: &Path) -> Result<u64, DumpError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file)?)?.build()?;
    let mut rows = 0;
    for batch in reader {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        let registration = ArrowBatchRegistration::new(batch);
        conn.execute(
            &format!("INSERT INTO {table} BY NAME SELECT * FROM arrow(?)"),
            [&registration],
        )?;
    }
    Ok(rows)
}

/// The Parquet files `files` as a new table `name` of `conn`: its columns are every file's
/// (later files may have more), every file's rows inserted by name.
///
/// # Errors
///
/// As [`insert_parquet`]; no files is an error.
pub fn parquet_table(
    conn: &Connection,
    name: &str,
    files: &[std::path::PathBuf],
) -> Result<(), DumpError> {
    register_arrow(conn)?;
    if files.is_empty() {
        return Err("no Parquet files".into());
    }
    let mut schemas = Vec::new();
    for file in files {
        let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file)?)?;
        schemas.push(builder.schema().as_ref().clone());
    }
    let schema = arrow_schema::Schema::try_merge(schemas)?;
    let empty = arrow_array::RecordBatch::new_empty(std::sync::Arc::new(schema));
    let registration = ArrowBatchRegistration::new(empty);
    let quoted = dltrs_core::sql::ident(name);
    conn.execute(
        &format!("CREATE TABLE {quoted} AS SELECT * FROM arrow(?)"),
        [&registration],
    )?;
    for file in files {
        insert_parquet(conn, &quoted, file)?;
    }
    Ok(())
}
