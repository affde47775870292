//! The PostgreSQL destination of dltrs.
//!
//! A dataset is a PostgreSQL schema. A package is applied in one transaction by the shared SQL
//! engine ([`dltrs_core::sql`]); PostgreSQL's DDL is transactional, so new tables and columns
//! commit or roll back with the data. What is PostgreSQL's own lives here:
//!
//! ```text
//! lib.rs          Postgres: a connection per load or restore, errors that say what to check
//! credentials.rs  a connection string or dlt's fields, the password masked
//! client.rs       the engine's SqlClient: statements, bound values, a package file per COPY
//! copy.rs         Arrow batches as binary COPY tuples
//! query.rs        a statement's rows as Arrow batches (text format, typed by column)
//! sql.rs          the engine's Dialect: $1, UNIQUE, TRUNCATE a, b, <dataset>_staging, ctid
//! ```
//!
//! Identifiers are always quoted ([`dltrs_core::sql::ident`]) and shortened to PostgreSQL's 63
//! characters by the naming convention, with dlt's tag; values are bound parameters or binary
//! COPY data, never spliced into SQL. The password never appears in
//! [`Destination::location`], errors or `Debug` output.

mod client;
mod copy;
mod credentials;
mod query;
pub mod sql;

pub use credentials::{CredentialsError, PostgresCredentials, SslMode};

use dltrs_core::destination::{
    Capabilities, Destination, DestinationError, LoadContext, LoadOutcome, Restored,
};
use dltrs_core::package::NormalizedPackage;
use dltrs_core::sql::Dataset;
use dltrs_core::sql::postgres::MAX_IDENTIFIER_LENGTH;
use postgres::{Client, NoTls};

use crate::client::PgClient;
use crate::sql::PostgresDialect;

/// A PostgreSQL database that datasets are loaded into (one schema per dataset).
///
/// A connection is opened for each load and restore and closed after it.
#[derive(Debug, Clone)]
pub struct Postgres {
    credentials: PostgresCredentials,
}

impl Postgres {
    /// A destination writing into the database the credentials name.
    pub fn new(credentials: PostgresCredentials) -> Self {
        Postgres { credentials }
    }

    /// A destination from a connection string, `postgresql://user:password@host:port/db`.
    pub fn from_url(url: &str) -> Result<Self, CredentialsError> {
        PostgresCredentials::parse(url).map(Postgres::new)
    }

    /// The credentials.
    pub fn credentials(&self) -> &PostgresCredentials {
        &self.credentials
    }

    /// Opens a connection; the error names the server and user, never the password.
    pub fn connect(&self) -> Result<Client, DestinationError> {
        self.credentials
            .config()
            .connect(NoTls)
            .map_err(|e| DestinationError::Connect {
                location: self.location(),
                source: connect_error(e).into(),
            })
    }
}

/// An error and its causes in one line: the driver's own `Display` is "db error" or "error
/// connecting to server", with the server's message, detail and hint in the chain.
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        if let Some(db) = cause.downcast_ref::<postgres::error::DbError>() {
            for extra in [db.detail(), db.hint()].into_iter().flatten() {
                if !message.contains(extra) {
                    message.push_str(" (");
                    message.push_str(extra);
                    message.push(')');
                }
            }
        }
        source = cause.source();
    }
    message
}

/// The driver's error with what to check.
fn connect_error(e: postgres::Error) -> String {
    let mut message = describe(&e);
    let hint = if let Some(db) = e.as_db_error() {
        match db.code().code() {
            "28P01" | "28000" => "; check the user name and password",
            "3D000" => "; create the database first, or name another one",
            "42501" => "; the user needs CONNECT and CREATE on the database",
            _ => "",
        }
    } else if message.contains("refused") {
        "; is PostgreSQL running and listening on that host and port?"
    } else if message.contains("timed out") {
        "; check the host, the port and any firewall (connect_timeout sets the wait)"
    } else {
        ""
    };
    message.push_str(hint);
    message
}

impl Destination for Postgres {
    fn destination_type(&self) -> &'static str {
        "dlt.destinations.postgres"
    }

    fn destination_name(&self) -> &str {
        "postgres"
    }

    fn location(&self) -> String {
        let mut shown = self.credentials.clone();
        shown.password = None;
        shown.to_string()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // text and jsonb refuse `\0`
            stores_nul: false,
            ..Capabilities::sql(Some(MAX_IDENTIFIER_LENGTH))
        }
    }

    fn restore(
        &self,
        dataset: &str,
        pipeline_name: &str,
        schema_name: &str,
    ) -> Result<Option<Restored>, DestinationError> {
        let mut client = PgClient::new(self.connect()?);
        let dataset = Dataset {
            catalog: None,
            schema: dataset.to_string(),
        };
        dltrs_core::sql::restore(
            &mut client,
            &PostgresDialect,
            &dataset,
            pipeline_name,
            schema_name,
        )
        .map_err(|source| DestinationError::Connect {
            location: self.location(),
            source,
        })
    }

    fn load(
        &mut self,
        ctx: &LoadContext<'_>,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError> {
        let mut client = PgClient::new(self.connect()?);
        let dataset = Dataset {
            catalog: None,
            schema: ctx.dataset.to_string(),
        };
        dltrs_core::sql::load_package(
            &mut client,
            &PostgresDialect,
            &dataset,
            package,
            ctx.progress,
        )
    }

    fn query(
        &self,
        dataset: &str,
        sql: &str,
    ) -> Result<Vec<arrow_array::RecordBatch>, DestinationError> {
        let mut client = self.connect()?;
        query::query(&mut client, dataset, sql).map_err(|source| DestinationError::Query {
            location: self.location(),
            source: describe(source.as_ref()).into(),
        })
    }
}
