//! The `duckdb` destination kind: `duckdb` (the file from `destination.duckdb.credentials`,
//! else `<pipeline>.duckdb`), `duckdb:PATH` and `duckdb:///PATH`.

use dltrs_core::destination::Destination;
use dltrs_duckdb::DuckDb;

use super::{DestinationContext, DestinationType, credentials_value, origin_text};
use crate::Error;

/// DuckDB files ([`DuckDb`]); relative paths are taken from the context's base directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct DuckDbDestination;

impl DestinationType for DuckDbDestination {
    fn name(&self) -> &'static str {
        "duckdb"
    }

    fn template(&self, pipeline_name: &str) -> Option<super::DestinationTemplate> {
        Some(super::DestinationTemplate {
            pipeline_line: format!("destination = \"duckdb:{pipeline_name}.duckdb\""),
            secrets: "",
        })
    }

    fn accepts(&self, spec: &str) -> bool {
        spec == "duckdb"
            || spec
                .strip_prefix("duckdb:")
                .is_some_and(|path| !path.is_empty())
    }

    fn specs(&self) -> &'static str {
        "`duckdb` or `duckdb:PATH` (e.g. duckdb:data/rides.duckdb)"
    }

    fn build(
        &self,
        spec: &str,
        context: &DestinationContext<'_>,
    ) -> Result<Box<dyn Destination>, Error> {
        let path = match spec {
            "duckdb" => configured_path(context)?,
            spec => duckdb_path(spec).to_owned(),
        };
        Ok(Box::new(DuckDb::new(context.base_dir.join(path))))
    }
}

/// The file of `destination.duckdb.credentials`, else `<pipeline>.duckdb`.
fn configured_path(context: &DestinationContext<'_>) -> Result<String, Error> {
    let resolved = credentials_value(context.config, "duckdb");
    Ok(match &resolved.value {
        None => format!("{}.duckdb", context.pipeline_name),
        Some(toml::Value::String(path)) => duckdb_path(path).to_owned(),
        // a file named by digits, from the environment
        Some(toml::Value::Integer(_)) => resolved.text().unwrap_or_default(),
        Some(toml::Value::Table(fields)) => match fields.get("database") {
            Some(toml::Value::String(path)) => duckdb_path(path).to_owned(),
            _ => {
                return Err(Error::Config(format!(
                    "the duckdb credentials from {} are a table without `database`: give the database file as a string or as `database = \"PATH\"`",
                    origin_text(resolved.origin.as_ref())
                )));
            }
        },
        Some(_) => {
            return Err(Error::Config(format!(
                "the duckdb credentials from {} must be the database file's path",
                origin_text(resolved.origin.as_ref())
            )));
        }
    })
}

/// The file of `PATH`, `duckdb:PATH` or the connection string `duckdb:///PATH` (relative;
/// `duckdb:////abs/path` is absolute, as in SQLAlchemy).
fn duckdb_path(spec: &str) -> &str {
    spec.strip_prefix("duckdb:///")
        .or_else(|| spec.strip_prefix("duckdb:"))
        .unwrap_or(spec)
}
