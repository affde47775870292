//! The `postgres` destination kind: `postgres` or `postgresql` (credentials from
//! `destination.postgres.credentials`), or a `postgresql://` / `postgres://` connection string.

use dltrs_core::destination::Destination;
use dltrs_postgres::{Postgres, PostgresCredentials};

use super::{DestinationContext, DestinationType, credentials_value, origin_text};
use crate::Error;
use crate::config::{Config, Resolved};

/// PostgreSQL databases ([`Postgres`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDestination;

impl DestinationType for PostgresDestination {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn template(&self, _pipeline_name: &str) -> Option<super::DestinationTemplate> {
        Some(super::DestinationTemplate {
            pipeline_line: "destination = \"postgres\"                # credentials: .dltrs/secrets.toml or DESTINATION__POSTGRES__CREDENTIALS".into(),
            secrets: "[destination.postgres]\n# a connection string, or a table: database, username, password, host, port\ncredentials = \"postgresql://loader:CHANGE_ME@localhost:5432/analytics\"\n\n",
        })
    }

    fn accepts(&self, spec: &str) -> bool {
        spec == "postgres"
            || spec == "postgresql"
            || spec.starts_with("postgresql://")
            || spec.starts_with("postgres://")
    }

    fn specs(&self) -> &'static str {
        "`postgres` (credentials from the configuration) or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
    }

    fn build(
        &self,
        spec: &str,
        context: &DestinationContext<'_>,
    ) -> Result<Box<dyn Destination>, Error> {
        let config = context.config;
        if spec == "postgres" || spec == "postgresql" {
            return Ok(Box::new(postgres_from_config(config)?));
        }
        crate::config::register_connection_string(config.secrets(), spec);
        let mut credentials = PostgresCredentials::parse(spec).map_err(config_error)?;
        if credentials.password.is_none() {
            // a recorded destination never holds its password: the configuration has it
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
        Ok(Box::new(Postgres::new(credentials)))
    }
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
