//! The DuckDB destination of dltrs, the embedded default.
//!
//! A package is applied in one DuckDB transaction by the shared SQL engine
//! ([`dltrs_core::sql`]). What is DuckDB's own lives here:
//!
//! ```text
//! lib.rs     DuckDb: the file opened per load, its memory limit, the catalog names qualify
//! client.rs  the engine's SqlClient: statements, bound values, a package file per INSERT
//! scan.rs    dltrs_scan / dltrs_scan_ordered: package files as a table function
//! sql.rs     the engine's Dialect: ?, uncompressed _dlt_id, DELETE per table, temp tables, rowid
//! ```
//!
//! Identifiers are always quoted ([`dltrs_core::sql::ident`]); values are bound parameters or
//! Arrow batches, never spliced into SQL.

mod client;
mod scan;
pub mod sql;

use std::path::{Path, PathBuf};

use dltrs_core::destination::{
    BoxError, Capabilities, Destination, DestinationError, LoadContext, LoadOutcome, Restored,
};
use dltrs_core::package::NormalizedPackage;
use dltrs_core::sql::Dataset;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{Config, Connection};

use crate::client::DuckDbClient;
use crate::sql::DuckDbDialect;

/// DuckDB's memory limit for a load that appends or replaces: enough for its buffers, small
/// enough that the peak RSS of a load stays flat whatever its size (64 MB loads 1M rides as
/// fast as 128 MB and 4 GB do; `bench/README.md`).
const MEMORY_LIMIT: &str = "64MB";

/// The limit for a load that merges: the merge's window and hash joins over the staged rows
/// need room to work (and spill) in: at 64 MB DuckDB runs out of memory merging 1M rides, at
/// 128 MB it merges them in 12 s within 220 MB (256 MB: as fast, 365 MB).
const MERGE_MEMORY_LIMIT: &str = "128MB";

/// A DuckDB database file that datasets are loaded into (one DuckDB schema per dataset).
///
/// The file is opened for each load and closed after it, so between runs other processes
/// (a notebook, the `duckdb` shell) can open it: DuckDB lets one process write a file at a time.
pub struct DuckDb {
    path: PathBuf,
}

impl DuckDb {
    /// A destination writing into the DuckDB file at `path` (created on first load).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DuckDb { path: path.into() }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self, memory_limit: &str) -> Result<Connection, DestinationError> {
        let connect = |source: BoxError| DestinationError::Connect {
            location: self.location(),
            source,
        };
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| connect(e.into()))?;
        }
        // DuckDB's default cache is 80% of RAM; a load streams through it, so a small cache
        // keeps a load's memory bounded whatever its size (full pages go to the file).
        let config = Config::default()
            .max_memory(memory_limit)
            .map_err(|e| connect(e.into()))?;
        Connection::open_with_flags(&self.path, config).map_err(|e| connect(e.into()))
    }
}

/// The dataset `schema` of the database `conn` has open, qualified with its catalog: a schema
/// may share the database file's name.
fn catalog_dataset(conn: &Connection, schema: &str) -> duckdb::Result<Dataset> {
    let catalog: String = conn.query_row("SELECT current_database()", [], |row| row.get(0))?;
    Ok(Dataset {
        catalog: Some(catalog),
        schema: schema.to_string(),
    })
}

impl Destination for DuckDb {
    fn destination_type(&self) -> &'static str {
        "dlt.destinations.duckdb"
    }

    fn destination_name(&self) -> &str {
        "duckdb"
    }

    fn location(&self) -> String {
        format!("duckdb:{}", self.path.display())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::sql(None)
    }

    fn restore(
        &self,
        dataset: &str,
        pipeline_name: &str,
        schema_name: &str,
    ) -> Result<Option<Restored>, DestinationError> {
        if !self.path.exists() {
            // nothing was ever loaded here; opening would create the file
            return Ok(None);
        }
        let conn = self.open(MEMORY_LIMIT)?;
        let restored = catalog_dataset(&conn, dataset)
            .map_err(BoxError::from)
            .and_then(|dataset| {
                dltrs_core::sql::restore(
                    &mut DuckDbClient { conn: &conn },
                    &DuckDbDialect,
                    &dataset,
                    pipeline_name,
                    schema_name,
                )
            });
        restored.map_err(|source| DestinationError::Connect {
            location: self.location(),
            source,
        })
    }

    fn load(
        &mut self,
        ctx: &LoadContext<'_>,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError> {
        let merges = package
            .manifest
            .roots
            .iter()
            .any(|root| package.disposition(root) == dltrs_core::WriteDisposition::Merge);
        let conn = self.open(if merges {
            MERGE_MEMORY_LIMIT
        } else {
            MEMORY_LIMIT
        })?;
        // without it DuckDB inserts a scan on one thread, keeping the scan's row order (which
        // SQL does not promise and dlt does not either)
        conn.execute_batch("SET preserve_insertion_order = false")
            .and_then(|()| scan::register(&conn))
            .map_err(|e| DestinationError::Connect {
                location: self.location(),
                source: e.into(),
            })?;
        let dataset =
            catalog_dataset(&conn, ctx.dataset).map_err(|e| DestinationError::Connect {
                location: self.location(),
                source: e.into(),
            })?;
        dltrs_core::sql::load_package(
            &mut DuckDbClient { conn: &conn },
            &DuckDbDialect,
            &dataset,
            package,
            ctx.progress,
        )
    }

    fn query(&self, dataset: &str, sql: &str) -> Result<Vec<RecordBatch>, DestinationError> {
        let failed = |source: BoxError| DestinationError::Query {
            location: self.location(),
            source,
        };
        if !self.path.exists() {
            return Err(failed(
                "the database file does not exist yet: nothing was loaded into it".into(),
            ));
        }
        let conn = self.open(MEMORY_LIMIT)?;
        let dataset = catalog_dataset(&conn, dataset).map_err(|e| failed(e.into()))?;
        // the dataset is the default schema; a dataset not created yet leaves the default
        let exists: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM information_schema.schemata WHERE catalog_name = ? AND schema_name = ?",
                [dataset.catalog.as_deref().unwrap_or_default(), dataset.schema.as_str()],
                |row| row.get(0),
            )
            .map_err(|e| failed(e.into()))?;
        if exists {
            conn.execute_batch(&format!("USE {}", dataset.qualified()))
                .map_err(|e| failed(e.into()))?;
        }
        let mut statement = conn.prepare(sql).map_err(|e| failed(e.into()))?;
        let rows = statement.query_arrow([]).map_err(|e| failed(e.into()))?;
        let schema = rows.get_schema();
        let batches: Vec<RecordBatch> = rows.collect();
        // no rows still has columns
        Ok(match batches.is_empty() {
            true => vec![RecordBatch::new_empty(schema)],
            false => batches,
        })
    }
}
