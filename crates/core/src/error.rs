//! Errors of the core stages. Each variant carries what a user needs to find the bad input.

use crate::json::JsonError;
use crate::schema::ContractEntity;
use crate::types::DataType;

/// An error and its causes on one line, outermost first, joined by `: `: how an error is
/// shown to a user (the CLI, `trace.json`, Python exceptions). Our errors keep their cause
/// out of their own message ([`std::error::Error::source`] holds it), so each cause appears
/// once; a driver's error that repeats its own cause is not repeated again.
pub fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut last = text.clone();
    let mut cause = err.source();
    while let Some(err) = cause {
        let part = err.to_string();
        if !part.is_empty() && !last.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        last = part;
        cause = err.source();
    }
    text
}

/// A schema could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The stored JSON is not a dlt schema.
    #[error("cannot read schema JSON")]
    Parse(#[source] serde_json::Error),
    /// The YAML is not a dlt schema.
    #[error("cannot read or write schema YAML: {0}")]
    Yaml(String),
    /// A schema from another dlt schema engine.
    #[error(
        "schema engine version {0} is not supported (dltrs reads engine version {ENGINE}); \
         export the schema with dlt 1.x first",
        ENGINE = crate::schema::ENGINE_VERSION
    )]
    UnsupportedEngine(u32),
}

/// An item could not be normalized. Items before it are kept; the failed item adds no rows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The item is not valid JSON.
    #[error("table `{table}`, item {item}: invalid JSON")]
    InvalidJson {
        /// Root table the item was for.
        table: String,
        /// 1-based position of the item among its resource's items.
        item: u64,
        /// What is wrong and where.
        #[source]
        source: JsonError,
    },
    /// A null arrived for a column declared not nullable.
    #[error(
        "table `{table}`, item {item}: column `{column}` is not nullable but the value is null; \
         send a value or declare the column nullable"
    )]
    NullInNotNullColumn {
        /// Table of the row.
        table: String,
        /// Column name.
        column: String,
        /// 1-based position of the item among its resource's items.
        item: u64,
    },
    /// Two key paths of one table shorten to the same column name at the destination's
    /// identifier length.
    #[error(
        "table `{table}`, item {item}: `{first}` and `{second}` both shorten to column \
         `{column}` at the destination's identifier length, so their values would mix: rename \
         one of the keys in the data, or declare the columns with shorter names"
    )]
    IdentifierCollision {
        /// The table.
        table: String,
        /// The shortened column name.
        column: String,
        /// The first path (normalized, unshortened).
        first: String,
        /// The second.
        second: String,
        /// 1-based position of the item among its resource's items.
        item: u64,
    },
    /// A text or JSON value holds a NUL character the destination cannot store.
    #[error(
        "table `{table}`, item {item}: column `{column}` holds a NUL character (\\0 or \\u0000), \
         which the destination cannot store in text or JSON: remove it from the data, or let \
         dltrs remove such characters (`--remove-nul`, or `remove_nul = true` in [pipeline])"
    )]
    NulCharacter {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// 1-based position of the item among its resource's items.
        item: u64,
    },
    /// An item of a merge table lacks a primary or merge key value.
    #[error(
        "table `{table}`, item {item}: the {key} column `{column}` {}; a merge needs it in every \
         item: fix the data, or declare the {key} the items have",
        if *null { "is null" } else { "is missing" }
    )]
    MissingKey {
        /// The root table.
        table: String,
        /// The key column.
        column: String,
        /// `primary key` or `merge key`.
        key: &'static str,
        /// True when the value is null, false when the item has none.
        null: bool,
        /// 1-based position of the item among its resource's items.
        item: u64,
    },
    /// A value fits neither the column's type nor its variant column's type.
    #[error(
        "table `{table}`, item {item}: value {value} cannot be stored in column `{column}` of \
         type {data_type}: the variant column for its type exists with another type; \
         fix the value or declare the column type"
    )]
    CannotCoerce {
        /// Table of the row.
        table: String,
        /// The (variant) column that refused the value.
        column: String,
        /// Its data type.
        data_type: DataType,
        /// The value, truncated.
        value: String,
        /// 1-based position of the item among its resource's items.
        item: u64,
    },
    /// The schema contract freezes the schema change this item needs.
    #[error(
        "table `{table}`, item {item}: {} is refused: the schema contract freezes {}{}; nothing of this run was loaded. To accept such data set `{} = \"evolve\"` (or `discard_row` / `discard_value` to leave it out)",
        match column { Some(c) => format!("{} `{c}`", match entity { ContractEntity::DataType => "a new type for column", _ => "new column" }), None => "a new table".to_string() },
        entity.as_str(),
        value.as_ref().map(|v| format!(" (value {v})")).unwrap_or_default(),
        entity.as_str()
    )]
    ContractViolation {
        /// The table.
        table: String,
        /// The column (none for a new table).
        column: Option<String>,
        /// The entity the contract freezes.
        entity: ContractEntity,
        /// The value, truncated.
        value: Option<String>,
        /// 1-based position of the item among its resource's items.
        item: u64,
    },
    /// The contract left the item out (internal: the normalizer counts it and goes on).
    #[error("discarded by the schema contract")]
    Discarded(Box<crate::normalize::NormalizeWarning>),
    /// A row of an Arrow source holds a value dltrs cannot normalize.
    #[error("table `{table}`, item {item}: {reason}; cast the column to a supported type")]
    Unsupported {
        /// Root table the row was for.
        table: String,
        /// 1-based position of the row among its resource's items.
        item: u64,
        /// Which column and type.
        reason: String,
    },
    /// The buffered rows could not be assembled into an Arrow batch (a dltrs bug).
    #[error("internal error building the batch of table `{table}` (please report)")]
    Batch {
        /// Table being flushed.
        table: String,
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
}

/// A load package could not be written, read or normalized.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// A file or directory of the working directory could not be used.
    #[error("{}{}", path.display(), disk_full_hint(source))]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The pipeline's working directory cannot be created.
    #[error(
        "cannot create the pipeline's working directory {}: the pipelines directory \
         (--pipelines-dir, DLTRS_PIPELINES_DIR, or ~/.dltrs/pipelines) must be a writable folder{}",
        path.display(),
        disk_full_hint(source)
    )]
    WorkingDir {
        /// The working directory.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A package manifest or stored schema is not what dltrs wrote.
    #[error(
        "{}: unreadable package file (the package is damaged: delete its directory to drop it)",
        path.display()
    )]
    Manifest {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        #[source]
        source: serde_json::Error,
    },
    /// An Arrow file of a package could not be written or read.
    #[error("{}", path.display())]
    Arrow {
        /// The file.
        path: std::path::PathBuf,
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// An item of the package could not be normalized.
    #[error("load package {load_id}, resource `{resource}`")]
    Normalize {
        /// The package.
        load_id: String,
        /// The resource the item came from.
        resource: String,
        /// Why.
        #[source]
        source: Box<NormalizeError>,
    },
    /// Normalized rows could not be assembled into Arrow batches (a dltrs bug).
    #[error("load package {load_id}")]
    Flush {
        /// The package.
        load_id: String,
        /// Why.
        #[source]
        source: Box<NormalizeError>,
    },
    /// Another run holds the working directory.
    #[error(
        "the pipeline is busy: another run holds {} ({holder}); nothing was done. Wait for it \
         to end, or let this run wait for it (`--wait SECONDS`)",
        path.display()
    )]
    Busy {
        /// The lock file.
        path: std::path::PathBuf,
        /// Who holds it, as the holder wrote it.
        holder: String,
    },
    /// A worker thread of the package writer panicked (a dltrs bug).
    #[error("internal error: {0} (please report)")]
    Internal(String),
    /// The extract a normalizer followed ended without its commit (it failed, or had nothing
    /// to extract): nothing was normalized.
    #[error("the extract being normalized did not complete")]
    ExtractAbandoned,
    /// An item was written before any resource was started (a dltrs bug).
    #[error("internal error: item written to a package before its resource (please report)")]
    NoResource,
}

/// What to do when a write failed for want of space: nothing of the step was kept.
fn disk_full_hint(error: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::StorageFull | ErrorKind::FileTooLarge | ErrorKind::QuotaExceeded => {
            " (the disk is full or a file size limit was reached: nothing of this step was \
             kept; free space, then run again and the next run finishes the work)"
        }
        _ => "",
    }
}

impl PackageError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        PackageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
