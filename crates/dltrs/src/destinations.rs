//! The destination a spec names (`duckdb`, `duckdb:PATH`, `postgres`,
//! `postgresql://user@host/db`), completed from the configuration layers as dlt does:
//! `destination.<name>.credentials` is a connection string or a table of fields.

use std::path::Path;

use dltrs_core::destination::Destination;
use dltrs_postgres::{Postgres, PostgresCredentials};

use crate::config::{Config, Origin, Resolved};
use crate::{DuckDb, Error};

/// The destination `spec` names; relative DuckDB paths are taken from `base_dir`.
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
    let spec = spec.unwrap_or("duckdb");
    if spec == "postgres" || spec == "postgresql" {
        return Ok(Box::new(postgres_from_config(config)?));
    }
    if spec.starts_with("postgresql://") || spec.starts_with("postgres://") {
        crate::config::register_connection_string(config.secrets(), spec);
        let mut credentials = PostgresCredentials::parse(spec).map_err(config_error)?;
        if credentials.password.is_none() {
            let resolved = credentials_value(config, "postgres");
            credentials.password = match &resolved.value {
                Some(toml::Value::Table(fields)) => text_field(fields, "password", &resolved)?,
                Some(toml::Value::String(url)) => PostgresCredentials::parse(url)
                    .ok()
                    .filter(|c| same_server(c, &credentials))
                    .and_then(|c| c.password),
                _ => None,
            };
        }
        return Ok(Box::new(Postgres::new(credentials)));
    }
    match spec.split_once(':') {
        None if spec == "duckdb" => duckdb_from_config(pipeline_name, base_dir, config),
        Some(("duckdb", path)) if !path.is_empty() => {
            Ok(Box::new(DuckDb::new(base_dir.join(duckdb_path(spec)))))
        }
        _ => Err(Error::Config(format!(
            "unknown destination `{}`: use `duckdb`, `duckdb:PATH` (e.g. duckdb:data/rides.duckdb), `postgres` (credentials from the configuration) or postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
            config.secrets().redact(spec)
        ))),
    }
}

fn credentials_value(config: &Config, destination: &str) -> Resolved {
    config.value(&["destination", destination], &["credentials"])
}

fn config_error(e: dltrs_postgres::CredentialsError) -> Error {
    Error::Config(e.to_string())
}

fn same_server(a: &PostgresCredentials, b: &PostgresCredentials) -> bool {
    (&a.host, a.port, &a.username, &a.database) == (&b.host, b.port, &b.username, &b.database)
}

fn postgres_from_config(config: &Config) -> Result<Postgres, Error> {
    let resolved = credentials_value(config, "postgres");
    let from = origin_text(resolved.origin.as_ref());
    let credentials = match &resolved.value {
        None => return Err(resolved.missing("the PostgreSQL credentials (destination.postgres.credentials: a connection string postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or a table with database, username, password, host, port)")),
        Some(toml::Value::String(url)) => {
            crate::config::register_connection_string(config.secrets(), url);
            PostgresCredentials::parse(url)
                .map_err(|e| Error::Config(format!("{e} (from {from})")))?
        }
        Some(toml::Value::Table(fields)) => {
            let required = |key: &str| -> Result<String, Error> {
                text_field(fields, key, &resolved)?.ok_or_else(|| {
                    Error::Config(format!(
                        "the PostgreSQL credentials from {from} have no `{key}`; set destination.postgres.credentials.{key} (e.g. DESTINATION__POSTGRES__CREDENTIALS__{})",
                        key.to_uppercase()
                    ))
                })
            };
            let mut credentials =
                PostgresCredentials::new(required("database")?, required("username")?);
            credentials.password = text_field(fields, "password", &resolved)?;
            if let Some(host) = text_field(fields, "host", &resolved)? {
                credentials.host = host;
            }
            if let Some(port) = text_field(fields, "port", &resolved)? {
                credentials.port = port.parse().map_err(|_| {
                    Error::Config(format!(
                        "the PostgreSQL port `{port}` from {from} is not a port number"
                    ))
                })?;
            }
            for option in ["connect_timeout", "sslmode"] {
                if let Some(value) = text_field(fields, option, &resolved)? {
                    credentials
                        .set_option(option, &value)
                        .map_err(|e| Error::Config(format!("{e} (from {from})")))?;
                }
            }
            let known = [
                "database",
                "username",
                "password",
                "host",
                "port",
                "connect_timeout",
                "sslmode",
                "drivername",
            ];
            if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(Error::Config(format!(
                    "unknown PostgreSQL credentials field `{unknown}` in {from}: use {}",
                    known.join(", ")
                )));
            }
            credentials
        }
        Some(_) => {
            return Err(Error::Config(format!(
                "the PostgreSQL credentials from {from} must be a connection string or a table of fields"
            )));
        }
    };
    if let Some(password) = &credentials.password {
        config.secrets().register(password);
    }
    Ok(Postgres::new(credentials))
}

/// A field of a credentials table as text (ports and timeouts may be numbers).
fn text_field(
    fields: &toml::Table,
    key: &str,
    resolved: &Resolved,
) -> Result<Option<String>, Error> {
    match fields.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(toml::Value::Integer(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(Error::Config(format!(
            "the credentials field `{key}` from {} must be text or a number",
            origin_text(resolved.origin.as_ref())
        ))),
    }
}

fn duckdb_from_config(
    pipeline_name: &str,
    base_dir: &Path,
    config: &Config,
) -> Result<Box<dyn Destination>, Error> {
    let resolved = credentials_value(config, "duckdb");
    let path = match &resolved.value {
        None => format!("{pipeline_name}.duckdb"),
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
    };
    Ok(Box::new(DuckDb::new(base_dir.join(path))))
}

/// The file of `PATH`, `duckdb:PATH` or the connection string `duckdb:///PATH` (relative;
/// `duckdb:////abs/path` is absolute, as in SQLAlchemy).
fn duckdb_path(spec: &str) -> &str {
    spec.strip_prefix("duckdb:///")
        .or_else(|| spec.strip_prefix("duckdb:"))
        .unwrap_or(spec)
}

pub(crate) fn origin_text(origin: Option<&Origin>) -> String {
    match origin {
        Some(Origin::Env(var)) => format!("environment variable {var}"),
        Some(Origin::File(path)) => path.display().to_string(),
        None => "the configuration".into(),
    }
}
