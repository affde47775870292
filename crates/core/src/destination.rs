//! The contract between a pipeline and a destination.
//!
//! A destination applies a normalized package in **one transaction**: schema changes (new
//! tables, new columns), the data of every table by its write disposition, the schema version
//! (`_dlt_version`, when new), the pipeline state row (when the package carries one) and
//! finally the `_dlt_loads` row. Loading is **idempotent per load id**: a package whose
//! `_dlt_loads` row exists is not applied again, so a crash between the commit and the
//! bookkeeping on disk never duplicates rows.

use crate::naming::{NamingConvention, SnakeCase};
use crate::package::NormalizedPackage;

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

/// A destination failed. Nothing of the package is applied when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The destination could not be opened.
    #[error("cannot open destination {location}: {source}")]
    Connect {
        /// Where (no secrets).
        location: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A package could not be applied; the transaction was rolled back.
    #[error("load package {load_id} failed at table `{table}` and was rolled back: {source}")]
    Load {
        /// The package.
        load_id: String,
        /// The table being written, or the step (`_dlt_loads`, `schema`).
        table: String,
        /// Why.
        #[source]
        source: BoxError,
    },
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
pub trait Destination {
    /// dlt's destination type as recorded in the pipeline state (`dlt.destinations.duckdb`).
    fn destination_type(&self) -> &'static str;

    /// Short name (`duckdb`).
    fn destination_name(&self) -> &str;

    /// Where the data goes, for people to read; never contains secrets.
    fn location(&self) -> String;

    /// The naming convention identifiers must follow (length limits).
    fn naming(&self) -> Box<dyn NamingConvention> {
        Box::new(SnakeCase::new())
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

    /// Applies `package` to `dataset` in one transaction (see the module docs).
    fn load(
        &mut self,
        dataset: &str,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError>;
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
        dataset: &str,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError> {
        (**self).load(dataset, package)
    }
}
