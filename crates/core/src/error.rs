//! Errors of the core stages. Each variant carries what a user needs to find the bad input.

use crate::json::JsonError;
use crate::schema::ContractEntity;
use crate::types::DataType;

/// A schema could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The stored JSON is not a dlt schema.
    #[error("cannot read schema JSON: {0}")]
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
    #[error("table `{table}`, item {item}: invalid JSON: {source}")]
    InvalidJson {
        /// Root table the item was for.
        table: String,
        /// 0-based position of the item among all items pushed to the normalizer.
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
        /// 0-based position of the item among all items pushed to the normalizer.
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
        /// 0-based position of the item among all items pushed to the normalizer.
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
        /// 0-based position of the item among all items pushed to the normalizer.
        item: u64,
    },
    /// The contract left the item out (internal: the normalizer counts it and goes on).
    #[error("discarded by the schema contract")]
    Discarded(Box<crate::normalize::NormalizeWarning>),
    /// A row of an Arrow source holds a value dltrs cannot normalize.
    #[error("table `{table}`: {reason}; cast the column to a supported type")]
    Unsupported {
        /// Root table the row was for.
        table: String,
        /// Which column and type.
        reason: String,
    },
    /// The buffered rows could not be assembled into an Arrow batch (a dltrs bug).
    #[error("internal error building the batch of table `{table}` (please report): {source}")]
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
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A package manifest or stored schema is not what dltrs wrote.
    #[error(
        "{}: unreadable package file ({source}); the package is damaged: delete its directory \
         to drop it",
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
    #[error("{}: {source}", path.display())]
    Arrow {
        /// The file.
        path: std::path::PathBuf,
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// An item of the package could not be normalized.
    #[error("load package {load_id}, resource `{resource}`, item {item}: {source}")]
    Normalize {
        /// The package.
        load_id: String,
        /// The resource the item came from.
        resource: String,
        /// 1-based position of the item among the resource's items in the package.
        item: u64,
        /// Why.
        #[source]
        source: Box<NormalizeError>,
    },
    /// Normalized rows could not be assembled into Arrow batches (a dltrs bug).
    #[error("load package {load_id}: {source}")]
    Flush {
        /// The package.
        load_id: String,
        /// Why.
        #[source]
        source: Box<NormalizeError>,
    },
    /// An item was written before any resource was started (a dltrs bug).
    #[error("internal error: item written to a package before its resource (please report)")]
    NoResource,
}

impl PackageError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        PackageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
