//! Destinations by spec (`duckdb`, `duckdb:PATH`, `postgres`, `postgresql://user@host/db`),
//! completed from the configuration layers as dlt does: `destination.<name>.credentials` is
//! a connection string or a table of fields.
//!
//! ```text
//! spec ──▶ DestinationRegistry ──first kind that accepts it──▶ DestinationType::build ──▶ Box<dyn Destination>
//! ```
//!
//! A destination kind is one value implementing [`DestinationType`]: which specs it takes
//! and how it builds a destination from one and the configuration. [`DestinationRegistry`]
//! holds the kinds; its default has the built-in ones of this build (`duckdb` with the
//! `duckdb` feature, `postgres` with `postgres`) and, with DuckDB, the default destination of
//! a pipeline that names none (a `<pipeline>.duckdb` file).

#[cfg(feature = "duckdb")]
mod duckdb;
#[cfg(feature = "filesystem-destination")]
mod filesystem;
#[cfg(feature = "postgres")]
mod postgres;

use std::path::Path;
use std::sync::Arc;

use dltrs_core::destination::Destination;

use crate::Error;
use crate::config::Config;
#[cfg(any(
    feature = "duckdb",
    feature = "postgres",
    feature = "filesystem-destination"
))]
use crate::config::Origin;
#[cfg(any(feature = "duckdb", feature = "postgres"))]
use crate::config::Resolved;

#[cfg(feature = "duckdb")]
pub use self::duckdb::DuckDbDestination;
#[cfg(feature = "filesystem-destination")]
pub use self::filesystem::FilesystemDestination;
#[cfg(feature = "postgres")]
pub use self::postgres::PostgresDestination;

/// A kind of destination, named by a spec.
///
/// What an implementer must guarantee: [`DestinationType::accepts`] is a pure check of the
/// spec's form (no I/O), and no spec is taken by two built-in kinds; [`DestinationType::build`]
/// does not connect (a destination connects for each load), so a pipeline can be built
/// offline, and registers every secret it reads with the configuration's
/// [`Secrets`](crate::secret::Secrets).
pub trait DestinationType: Send + Sync + 'static {
    /// The kind's name, for messages (`duckdb`).
    fn name(&self) -> &'static str;

    /// Whether `spec` names a destination of this kind.
    fn accepts(&self, spec: &str) -> bool;

    /// The specs this kind takes, as the message for an unknown spec lists them:
    /// `` `duckdb` or `duckdb:PATH` (e.g. duckdb:data/rides.duckdb) ``.
    fn specs(&self) -> &'static str;

    /// The destination `spec` names, completed from the configuration.
    fn build(
        &self,
        spec: &str,
        context: &DestinationContext<'_>,
    ) -> Result<Box<dyn Destination>, Error>;

    /// What `dltrs init <source> <kind>` writes for this destination; `None` (the default):
    /// the kind has no template.
    fn template(&self, pipeline_name: &str) -> Option<DestinationTemplate> {
        let _ = pipeline_name;
        None
    }
}

/// A destination kind's part of `dltrs init` ([`crate::init`]).
#[derive(Debug, Clone)]
pub struct DestinationTemplate {
    /// The `destination = ...` line of `pipeline.toml` (with a comment where it helps).
    pub pipeline_line: String,
    /// Lines for `.dltrs/secrets.toml` (empty when the destination needs no secret).
    pub secrets: &'static str,
}

/// What a destination is built with besides its spec.
#[derive(Debug, Clone, Copy)]
pub struct DestinationContext<'a> {
    /// The pipeline's name (DuckDB's default file is `<name>.duckdb`).
    pub pipeline_name: &'a str,
    /// Where relative paths start: the pipeline file's folder, or the current one.
    pub base_dir: &'a Path,
    /// The configuration layers (`destination.<name>.credentials`, ...).
    pub config: &'a Config,
}

/// The destination kinds a spec may name, and the spec of a pipeline that names none.
#[derive(Clone)]
pub struct DestinationRegistry {
    kinds: Vec<Arc<dyn DestinationType>>,
    default_spec: Option<String>,
}

impl Default for DestinationRegistry {
    /// The built-in kinds of this build: `duckdb` (feature `duckdb`, also the default:
    /// `<pipeline>.duckdb`), `postgres` (feature `postgres`) and `filesystem` (feature
    /// `filesystem-destination`).
    fn default() -> Self {
        #[allow(
            unused_mut,
            reason = "without destination features nothing is registered"
        )]
        let mut registry = DestinationRegistry::empty();
        #[cfg(feature = "duckdb")]
        registry
            .register(DuckDbDestination)
            .default_spec(Some("duckdb"));
        #[cfg(feature = "postgres")]
        registry.register(PostgresDestination);
        #[cfg(feature = "filesystem-destination")]
        registry.register(FilesystemDestination);
        registry
    }
}

impl std::fmt::Debug for DestinationRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationRegistry")
            .field(
                "kinds",
                &self.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
            )
            .field("default_spec", &self.default_spec)
            .finish()
    }
}

impl DestinationRegistry {
    /// A registry without kinds and without a default.
    pub fn empty() -> Self {
        DestinationRegistry {
            kinds: Vec::new(),
            default_spec: None,
        }
    }

    /// Adds `kind`, in place of a kind of the same name; kinds are asked in registration
    /// order whether they take a spec.
    pub fn register(&mut self, kind: impl DestinationType) -> &mut Self {
        let kind: Arc<dyn DestinationType> = Arc::new(kind);
        match self.kinds.iter_mut().find(|k| k.name() == kind.name()) {
            Some(known) => *known = kind,
            None => self.kinds.push(kind),
        }
        self
    }

    /// The spec of a pipeline that names no destination (`None`: naming one is required).
    pub fn default_spec(&mut self, spec: Option<&str>) -> &mut Self {
        self.default_spec = spec.map(str::to_owned);
        self
    }

    /// The `dltrs init` template of kind `name` for pipeline `pipeline_name`: an error
    /// listing the kinds with one when it has none or is not registered.
    pub fn template(&self, name: &str, pipeline_name: &str) -> Result<DestinationTemplate, Error> {
        let kind = self
            .kinds
            .iter()
            .find(|k| k.name() == name || k.accepts(name));
        if let Some(template) = kind.and_then(|k| k.template(pipeline_name)) {
            return Ok(template);
        }
        let with: Vec<&str> = self
            .kinds
            .iter()
            .filter(|k| k.template(pipeline_name).is_some())
            .map(|k| k.name())
            .collect();
        Err(Error::Config(format!(
            "unknown destination `{name}`: dltrs init knows {}",
            with.join(", ")
        )))
    }

    /// The names of the registered kinds, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// The destination `spec` names (the default spec when `None`).
    pub fn destination(
        &self,
        spec: Option<&str>,
        context: &DestinationContext<'_>,
    ) -> Result<Box<dyn Destination>, Error> {
        let Some(spec) = spec.or(self.default_spec.as_deref()) else {
            return Err(Error::Config(format!(
                "pipeline `{}` names no destination and this build of dltrs has no default one (DuckDB is the cargo feature `duckdb`): name one, {}",
                context.pipeline_name,
                self.known()
            )));
        };
        match self.kinds.iter().find(|k| k.accepts(spec)) {
            Some(kind) => kind.build(spec, context),
            None => Err(Error::Config(format!(
                "unknown destination `{}`: {}",
                context.config.secrets().redact(spec),
                self.known()
            ))),
        }
    }

    /// What the registered kinds take, for messages.
    fn known(&self) -> String {
        match self.kinds.as_slice() {
            [] => "but this build of dltrs has no destinations (they are cargo features: duckdb, postgres, filesystem-destination)".into(),
            kinds => {
                let specs: Vec<&str> = kinds.iter().map(|k| k.specs()).collect();
                format!("use {}", specs.join(", or "))
            }
        }
    }
}

/// The destination `spec` names, from the built-in kinds ([`DestinationRegistry::default`]);
/// relative DuckDB paths are taken from `base_dir`.
///
/// - `duckdb` (or no spec): the database file from `destination.duckdb.credentials` (a path,
///   or a table with `database`), else `<pipeline>.duckdb`, as in dlt; `duckdb:PATH` names it.
/// - `postgres` (or `postgresql`): credentials from `destination.postgres.credentials`, a
///   connection string or a table of `database`, `username`, `password`, `host`, `port`,
///   `connect_timeout`, `sslmode`.
/// - `postgresql://...` or `postgres://...`: that connection string; a password it lacks
///   comes from the configuration (a recorded destination never holds one).
pub fn destination(
    spec: Option<&str>,
    pipeline_name: &str,
    base_dir: &Path,
    config: &Config,
) -> Result<Box<dyn Destination>, Error> {
    let context = DestinationContext {
        pipeline_name,
        base_dir,
        config,
    };
    DestinationRegistry::default().destination(spec, &context)
}

/// The destination of a pipeline built without one: a DuckDB file `<pipeline>.duckdb` in the
/// current directory, in a build with DuckDB.
pub(crate) fn default_destination(pipeline_name: &str) -> Result<Box<dyn Destination>, Error> {
    #[cfg(feature = "duckdb")]
    {
        Ok(Box::new(dltrs_duckdb::DuckDb::new(format!(
            "{pipeline_name}.duckdb"
        ))))
    }
    #[cfg(not(feature = "duckdb"))]
    {
        Err(Error::Config(format!(
            "pipeline `{pipeline_name}` has no destination and this build of dltrs has no default one (DuckDB is the cargo feature `duckdb`): give one to `PipelineBuilder::destination`"
        )))
    }
}

/// `destination.<destination>.credentials` from the layers.
#[cfg(any(feature = "duckdb", feature = "postgres"))]
fn credentials_value(config: &Config, destination: &str) -> Resolved {
    config.value(&["destination", destination], &["credentials"])
}

/// Where a value came from, for messages.
#[cfg(any(
    feature = "duckdb",
    feature = "postgres",
    feature = "filesystem-destination"
))]
pub(crate) fn origin_text(origin: Option<&Origin>) -> String {
    match origin {
        Some(Origin::Env(var)) => format!("environment variable {var}"),
        Some(Origin::File(path)) => path.display().to_string(),
        Some(Origin::Flag(flag)) => format!("the flag {flag}"),
        None => "the configuration".into(),
    }
}
