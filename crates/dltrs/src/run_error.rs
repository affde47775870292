//! [`Error`]: everything a pipeline run can fail with.

use std::path::PathBuf;

use dltrs_core::PackageError;
use dltrs_core::destination::DestinationError;

/// A boxed error from user code or a driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a pipeline step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A resource failed while its items were read; nothing of this run was loaded.
    #[error(
        "extract of resource `{resource}` failed at item {item}; nothing of this run was loaded: {source}"
    )]
    Extract {
        /// The resource.
        resource: String,
        /// 1-based number of the item that failed.
        item: u64,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// Items could not be normalized.
    #[error("{source}{hint}")]
    Normalize {
        /// Why.
        #[source]
        source: PackageError,
        /// What to do.
        hint: String,
    },
    /// The working directory or a package could not be used.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The destination refused a package; it stays pending and the next run retries it.
    #[error("{source}; the package stays in {} and is retried by the next run", dir.display())]
    Load {
        /// Why.
        #[source]
        source: DestinationError,
        /// Where the package waits.
        dir: PathBuf,
    },
    /// The stored schema or state could not be read.
    #[error("{}: {message}", path.display())]
    Stored {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The pipeline is misconfigured.
    #[error("{0}")]
    Config(String),
}

/// Result of pipeline steps.
pub type Result<T, E = Error> = std::result::Result<T, E>;
