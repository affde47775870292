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
        "extract of resource `{resource}` failed at item {item}; nothing of this run was loaded"
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
    #[error("normalize failed{hint}")]
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
    #[error("load failed; the package stays in {} and is retried by the next run", dir.display())]
    Load {
        /// Why.
        #[source]
        source: DestinationError,
        /// Where the package waits.
        dir: PathBuf,
    },
    /// The working directory has no state or schema, and the destination could not be asked
    /// for the ones it holds; nothing was extracted.
    #[error(
        "the pipeline's state and schema could not be restored from the destination (this \
         working directory has none yet); nothing was extracted: check the destination, then \
         run again"
    )]
    Restore {
        /// Why.
        #[source]
        source: DestinationError,
    },
    /// The destination refused a package for good (a terminal error: a constraint, a type, a
    /// value it cannot store); the package is set aside and later runs go on without it.
    #[error(
        "the destination refused package {load_id} for good; it is set aside in {} and later \
         runs load new data without it. Fix the cause, then `dltrs pipeline {pipeline} \
         retry-package {load_id}`, or drop it with `dltrs pipeline {pipeline} abort-packages`",
        dir.display()
    )]
    PackageFailed {
        /// The pipeline.
        pipeline: String,
        /// The package.
        load_id: String,
        /// Where it waits.
        dir: PathBuf,
        /// Why: the load id, the table and the destination's error (boxed: it is large
        /// and rare).
        #[source]
        source: Box<DestinationError>,
    },
    /// The stored schema or state could not be read.
    #[error("{}: {message}", path.display())]
    Stored {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file outside the working directory (a scaffold, an export) could not be used.
    #[error("cannot {action} {}", path.display())]
    File {
        /// `read`, `write`, `create`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The destination could not be queried.
    #[error("the dataset cannot be queried")]
    Query {
        /// Why.
        #[source]
        source: DestinationError,
    },
    /// The pipeline is misconfigured.
    #[error("{0}")]
    Config(String),
    /// The run was asked to stop ([`crate::Interrupt`], Ctrl-C in a binding) at a point where
    /// stopping loses nothing: an extract in progress leaves no package, extracted and
    /// normalized packages stay pending and the next run finishes them.
    #[error(
        "interrupted during {step}; packages already extracted stay pending and the next run finishes them"
    )]
    Interrupted {
        /// The step that stopped: `extract`, `normalize` or `load`.
        step: &'static str,
    },
}

/// Result of pipeline steps.
pub type Result<T, E = Error> = std::result::Result<T, E>;
