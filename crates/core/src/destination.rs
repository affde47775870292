//! The contract between a pipeline and a destination.
//!
//! A destination applies a normalized package so that, whatever happens, the dataset ends in
//! one of two states: **without any of the package, or with all of it** (schema changes, the
//! data of every table by its write disposition, the schema version in `_dlt_version` when new,
//! the pipeline state row when the package carries one, and the package's `_dlt_loads` row).
//! How it gets there is the destination's choice, stated in [`Capabilities::atomicity`]:
//!
//! - [`Atomicity::Transactional`]: the package is applied in one transaction (DuckDB,
//!   PostgreSQL); a failure or a kill rolls everything back.
//! - [`Atomicity::Resumable`]: the package is applied in steps that are each idempotent by
//!   load id (object stores, table formats), and the `_dlt_loads` row is written **last**. A
//!   failure or kill may leave some steps done; loading the same package again finishes it and
//!   reaches the same end state as one uninterrupted load, never a second copy of a row.
//!
//! Either way, loading is **idempotent per load id**: a package whose `_dlt_loads` row exists is
//! not applied again ([`LoadOutcome::AlreadyLoaded`]), so a crash between the destination's
//! commit and the bookkeeping on disk never duplicates rows.
//!
//! The pipeline asks for [`Destination::capabilities`] before it extracts anything: a resource
//! whose write disposition or merge strategy the destination cannot apply is refused up front,
//! so no package is ever made that no run could load.

use arrow_array::RecordBatch;

use crate::naming::{NamingConvention, SnakeCase};
use crate::package::NormalizedPackage;
use crate::progress::Progress;
use crate::schema::{MergeStrategy, WriteDisposition};

/// Boxed error of a destination's driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What happened to a package handed to [`Destination::load`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Applied now.
    Loaded,
    /// Its `_dlt_loads` row was already there (an earlier run committed it).
    AlreadyLoaded,
}

/// How a destination makes a package all-or-nothing (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atomicity {
    /// One transaction per package.
    Transactional,
    /// Idempotent steps by load id, `_dlt_loads` last; a retry finishes an interrupted load.
    Resumable,
}

impl Atomicity {
    /// What a failed load left, for its message.
    fn outcome(self) -> &'static str {
        match self {
            Atomicity::Transactional => "and was rolled back",
            Atomicity::Resumable => "before it completed (loading it again finishes it)",
        }
    }
}

/// The file format a destination reads package files in best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    /// Arrow IPC streams (what the normalizer writes today).
    ArrowIpc,
    /// Parquet files.
    Parquet,
    /// JSON Lines.
    Jsonl,
}

/// What a destination can do, asked before anything is extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The write dispositions it applies.
    pub write_dispositions: Vec<WriteDisposition>,
    /// The merge strategies it applies (empty: it cannot merge).
    pub merge_strategies: Vec<MergeStrategy>,
    /// How a package is made all-or-nothing.
    pub atomicity: Atomicity,
    /// Why it cannot merge and what to do instead, added to the error for a merge resource
    /// when [`Capabilities::merge_strategies`] is empty.
    pub merge_advice: Option<&'static str>,
    /// Table formats (dlt's `table_format` hint) whose tables merge with these strategies
    /// although the destination's plain tables do not (the filesystem destination's `delta`).
    pub table_format_merges: Vec<(&'static str, Vec<MergeStrategy>)>,
    /// The longest identifier it stores (`None`: no limit); longer names are shortened by the
    /// naming convention with dlt's tag.
    pub max_identifier_length: Option<usize>,
    /// The package file format it loads best.
    pub preferred_file_format: FileFormat,
    /// Whether text and JSON values may hold a NUL character (PostgreSQL's may not: the
    /// pipeline then refuses or removes them at normalize, see [`crate::NulPolicy`]).
    pub stores_nul: bool,
}

impl Capabilities {
    /// A SQL database's: every disposition, `merge` as dlt's `delete-insert`, `upsert`,
    /// `insert-only` and `scd2`, one transaction per package.
    pub fn sql(max_identifier_length: Option<usize>) -> Self {
        Capabilities {
            write_dispositions: vec![
                WriteDisposition::Append,
                WriteDisposition::Replace,
                WriteDisposition::Merge,
                WriteDisposition::Skip,
            ],
            merge_strategies: vec![
                MergeStrategy::DeleteInsert,
                MergeStrategy::Upsert,
                MergeStrategy::InsertOnly,
                MergeStrategy::Scd2,
            ],
            atomicity: Atomicity::Transactional,
            merge_advice: None,
            table_format_merges: Vec::new(),
            max_identifier_length,
            preferred_file_format: FileFormat::ArrowIpc,
            stores_nul: true,
        }
    }

    /// Why `destination` cannot load table `table` with `disposition` (and `strategy`, dlt's
    /// `delete-insert` when unset) in `table_format` (the table's hint), or `Ok` when it can.
    pub fn check(
        &self,
        destination: &str,
        table: &str,
        disposition: WriteDisposition,
        strategy: Option<MergeStrategy>,
        table_format: Option<&str>,
    ) -> Result<(), String> {
        let format = self
            .table_format_merges
            .iter()
            .find(|(name, _)| Some(*name) == table_format);
        if let (WriteDisposition::Merge, Some((name, strategies))) = (disposition, format) {
            let strategy = strategy.unwrap_or(MergeStrategy::DeleteInsert);
            if strategies.contains(&strategy) {
                return Ok(());
            }
            let known: Vec<&str> = strategies.iter().map(|s| s.as_str()).collect();
            return Err(format!(
                "table `{table}`: {name} tables of destination {destination} cannot merge with strategy `{}`; they merge with {}",
                strategy.as_str(),
                known.join(", ")
            ));
        }
        if !self.write_dispositions.contains(&disposition) {
            let known: Vec<&str> = self.write_dispositions.iter().map(|d| d.as_str()).collect();
            let advice = match (disposition, self.merge_advice) {
                (WriteDisposition::Merge, Some(advice)) => format!(": {advice}"),
                _ => String::new(),
            };
            return Err(format!(
                "table `{table}`: destination {destination} cannot {}; it takes write_disposition {}{advice}",
                disposition.as_str(),
                known.join(", ")
            ));
        }
        if disposition == WriteDisposition::Merge {
            let strategy = strategy.unwrap_or(MergeStrategy::DeleteInsert);
            if !self.merge_strategies.contains(&strategy) {
                let known: Vec<&str> = self.merge_strategies.iter().map(|s| s.as_str()).collect();
                return Err(format!(
                    "table `{table}`: destination {destination} cannot merge with strategy `{}`; it merges with {}",
                    strategy.as_str(),
                    if known.is_empty() {
                        "none (use append or replace)".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        Ok(())
    }
}

/// What a load is given besides the package: where it goes and whom to tell.
#[derive(Debug, Clone, Copy)]
pub struct LoadContext<'a> {
    /// The dataset (schema) to load into.
    pub dataset: &'a str,
    /// The run's counters: a destination counts files and rows loaded, per batch.
    pub progress: &'a Progress,
}

/// A destination failed. A transactional destination applied nothing of the package; a
/// resumable one may have done some steps, which loading the package again finishes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The destination could not be opened.
    #[error("cannot open destination {location}")]
    Connect {
        /// Where (no secrets).
        location: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A query could not be run (see [`Destination::query`]).
    #[error("query on {location} failed")]
    Query {
        /// Where (no secrets).
        location: String,
        /// Why (the destination's error, naming what the query got wrong).
        #[source]
        source: BoxError,
    },
    /// A package could not be applied: a transactional destination rolled it back, a
    /// resumable one finishes it when it is loaded again.
    #[error("load package {load_id} failed at table `{table}` {}", atomicity.outcome())]
    Load {
        /// The package.
        load_id: String,
        /// The table being written, or the step (`_dlt_loads`, `schema`).
        table: String,
        /// How the destination applies packages: what the failure left behind.
        atomicity: Atomicity,
        /// Whether loading it again can succeed without a change.
        failure: Failure,
        /// Why.
        #[source]
        source: BoxError,
    },
}

impl DestinationError {
    /// Whether loading the package again fails the same way until someone changes the data
    /// or the destination: the pipeline sets such a package aside instead of retrying it.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            DestinationError::Load {
                failure: Failure::Terminal,
                ..
            }
        )
    }
}

/// How a load failed, as the destination classifies its errors (dlt's transient and
/// terminal exceptions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The next attempt may succeed as it is: the connection was refused or lost, a lock
    /// or serialization conflict, a timeout, a full disk, a package file that could not be
    /// read. The package stays pending and the next run retries it.
    Transient,
    /// The destination refuses the package itself: a constraint or type error, an invalid
    /// value, a column that cannot be created. Retrying cannot help until the cause is fixed.
    Terminal,
}

/// An error a database driver reported, with its classification: what a
/// [`crate::sql::SqlClient`] returns when the driver's own error type does not say (its text
/// holds the driver's message and causes).
#[derive(Debug)]
pub struct ClassifiedError {
    /// The driver's message and its causes.
    pub message: String,
    /// Whether a retry can succeed.
    pub failure: Failure,
}

impl std::fmt::Display for ClassifiedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClassifiedError {}

/// The classification of an error of a load: a [`ClassifiedError`] in its chain says; an
/// I/O error (a package file, a socket) is transient; anything else a database reported is
/// terminal.
pub fn classify(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut cause = Some(error);
    while let Some(err) = cause {
        if let Some(classified) = err.downcast_ref::<ClassifiedError>() {
            return classified.failure;
        }
        if err.is::<std::io::Error>() || err.is::<crate::PackageError>() {
            return Failure::Transient;
        }
        cause = err.source();
    }
    Failure::Terminal
}

/// What a destination holds of a pipeline, for a working directory that was lost.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The newest pipeline state of a completed load, decoded (dlt's state document).
    pub state: Option<serde_json::Value>,
    /// The newest stored schema (dlt's schema document), as JSON text.
    pub schema: Option<String>,
}

/// A place datasets are loaded into.
///
/// `Send + Sync`: a pipeline (and the destination it owns) may move to another thread, and a
/// Python binding releases the GIL while it loads.
pub trait Destination: Send + Sync {
    /// dlt's destination type as recorded in the pipeline state (`dlt.destinations.duckdb`).
    fn destination_type(&self) -> &'static str;

    /// Short name (`duckdb`).
    fn destination_name(&self) -> &str;

    /// Where the data goes, for people to read; never contains secrets.
    fn location(&self) -> String;

    /// What it can do (see [`Capabilities`]); asked before anything is extracted.
    fn capabilities(&self) -> Capabilities;

    /// The naming convention identifiers must follow: dlt's snake case, shortened to the
    /// capabilities' identifier length.
    fn naming(&self) -> Box<dyn NamingConvention> {
        match self.capabilities().max_identifier_length {
            Some(max) => Box::new(SnakeCase::with_max_length(max)),
            None => Box::new(SnakeCase::new()),
        }
    }

    /// The newest state of `pipeline_name` and schema `schema_name` in `dataset`, if the
    /// destination has them (`None` when there is nothing to restore from).
    fn restore(
        &self,
        dataset: &str,
        pipeline_name: &str,
        schema_name: &str,
    ) -> Result<Option<Restored>, DestinationError> {
        let _ = (dataset, pipeline_name, schema_name);
        Ok(None)
    }

    /// Applies `package` to `ctx.dataset`, all or nothing, idempotently by load id (see the
    /// module docs), counting what it loads in `ctx.progress`.
    fn load(
        &mut self,
        ctx: &LoadContext<'_>,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError>;

    /// Runs one SQL statement with `dataset` as the default schema (tables named without
    /// one) and returns its rows as Arrow batches with the destination's types: what a
    /// binding's `dataset()` and `sql_client()` read. The whole result is held, so callers
    /// ask for what fits in memory. Destinations that cannot be queried say so.
    fn query(&self, dataset: &str, sql: &str) -> Result<Vec<RecordBatch>, DestinationError> {
        let _ = (dataset, sql);
        Err(DestinationError::Query {
            location: self.location(),
            source: format!(
                "the {} destination cannot be queried",
                self.destination_name()
            )
            .into(),
        })
    }
}

/// A boxed destination is a destination: what a destination chosen at run time (from a
/// command-line flag or a pipeline file) is handed around as.
impl<D: Destination + ?Sized> Destination for Box<D> {
    fn destination_type(&self) -> &'static str {
        (**self).destination_type()
    }

    fn destination_name(&self) -> &str {
        (**self).destination_name()
    }

    fn location(&self) -> String {
        (**self).location()
    }

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }

    fn naming(&self) -> Box<dyn NamingConvention> {
        (**self).naming()
    }

    fn restore(
        &self,
        dataset: &str,
        pipeline_name: &str,
        schema_name: &str,
    ) -> Result<Option<Restored>, DestinationError> {
        (**self).restore(dataset, pipeline_name, schema_name)
    }

    fn load(
        &mut self,
        ctx: &LoadContext<'_>,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError> {
        (**self).load(ctx, package)
    }

    fn query(&self, dataset: &str, sql: &str) -> Result<Vec<RecordBatch>, DestinationError> {
        (**self).query(dataset, sql)
    }
}
