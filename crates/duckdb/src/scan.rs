//! `dltrs_scan(token)`: a table function that hands DuckDB the batches of one package file,
//! so a load is `INSERT INTO t SELECT * FROM dltrs_scan(?)` and DuckDB inserts on all its
//! threads. (The appender inserts on the calling thread only, and DuckDB's compression of
//! what it stores is most of a load's time.)
//!
//! A scan is registered under a token for the length of one statement; DuckDB's threads take
//! the file's rows a vector at a time from a shared cursor. With more than one thread the rows
//! of a scan reach the table in no fixed order, so a scan whose order matters (the merge's
//! staging: the first row of a key wins) goes through `dltrs_scan_ordered`, read by one thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use dltrs_core::package::BatchFile;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{
    BindInfo, InitInfo, TableFunctionInfo, VTab, record_batch_to_duckdb_data_chunk,
    to_duckdb_logical_type_for_field,
};

/// The function read by all of DuckDB's threads.
pub(crate) const PARALLEL: &str = "dltrs_scan";
/// The function read by one thread, in the file's order.
pub(crate) const ORDERED: &str = "dltrs_scan_ordered";

/// Registers both functions on a connection's database.
pub(crate) fn register(conn: &duckdb::Connection) -> duckdb::Result<()> {
    conn.register_table_function::<ScanFunction<true>>(PARALLEL)?;
    conn.register_table_function::<ScanFunction<false>>(ORDERED)
}

/// Rows per call: DuckDB's vector size (`STANDARD_VECTOR_SIZE`), the most a chunk holds.
const VECTOR_ROWS: usize = 2048;

/// Scans in flight, by token. Table functions are registered per database, not per
/// connection, and DuckDB hands them only SQL values, hence a process-wide registry.
static SCANS: LazyLock<Mutex<HashMap<u64, Arc<Scan>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

fn scans() -> MutexGuard<'static, HashMap<u64, Arc<Scan>>> {
    SCANS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One file being scanned.
pub(crate) struct Scan {
    schema: SchemaRef,
    cursor: Mutex<Cursor>,
}

struct Cursor {
    file: BatchFile,
    batch: Option<RecordBatch>,
    offset: usize,
    rows: u64,
    /// The first error reading the file, kept whole for the load's error (DuckDB only
    /// passes a message through).
    error: Option<dltrs_core::error::PackageError>,
}

impl Scan {
    /// The next slice of at most one vector, or `None` at the end of the file.
    fn next_slice(&self) -> Result<Option<RecordBatch>, String> {
        let mut cursor = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(batch) = &cursor.batch
                && cursor.offset < batch.num_rows()
            {
                let len = (batch.num_rows() - cursor.offset).min(VECTOR_ROWS);
                let slice = batch.slice(cursor.offset, len);
                cursor.offset += len;
                cursor.rows += len as u64;
                return Ok(Some(slice));
            }
            match cursor.file.next() {
                None => return Ok(None),
                Some(Ok(batch)) => {
                    cursor.batch = Some(batch);
                    cursor.offset = 0;
                }
                Some(Err(e)) => {
                    let message = e.to_string();
                    cursor.error.get_or_insert(e);
                    return Err(message);
                }
            }
        }
    }
}

/// A file registered for scanning until this is dropped.
pub(crate) struct Registration {
    token: u64,
    scan: Arc<Scan>,
}

impl Registration {
    /// Registers `file` until the registration is dropped.
    pub(crate) fn new(file: BatchFile) -> Self {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        let scan = Arc::new(Scan {
            schema: file.schema(),
            cursor: Mutex::new(Cursor {
                file,
                batch: None,
                offset: 0,
                rows: 0,
                error: None,
            }),
        });
        scans().insert(token, Arc::clone(&scan));
        Registration { token, scan }
    }

    /// The token to pass to `dltrs_scan(?)`.
    pub(crate) fn token(&self) -> u64 {
        self.token
    }

    /// The file's columns, in order.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.scan.schema
    }

    /// Rows handed to DuckDB so far.
    pub(crate) fn rows(&self) -> u64 {
        self.cursor().rows
    }

    /// The error reading the file that stopped the scan, if one did.
    pub(crate) fn take_error(&self) -> Option<dltrs_core::error::PackageError> {
        self.cursor().error.take()
    }

    fn cursor(&self) -> MutexGuard<'_, Cursor> {
        self.scan
            .cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        scans().remove(&self.token);
    }
}

/// The table function, read by all of DuckDB's threads or by one.
pub(crate) struct ScanFunction<const PARALLEL: bool>;

impl<const PARALLEL: bool> VTab for ScanFunction<PARALLEL> {
    type BindData = Arc<Scan>;
    type InitData = ();

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let token = bind.get_parameter(0).to_uint64();
        let scan = scans()
            .get(&token)
            .cloned()
            .ok_or_else(|| format!("no package file is registered under {token}"))?;
        for field in scan.schema.fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(scan)
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        // DuckDB caps this at its own thread count
        init.set_max_threads(if PARALLEL { 64 } else { 1 });
        Ok(())
    }

    fn func(
        info: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        match info.get_bind_data().next_slice()? {
            Some(slice) => record_batch_to_duckdb_data_chunk(&slice, output)?,
            None => output.set_len(0),
        }
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}
