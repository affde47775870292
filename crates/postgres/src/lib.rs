//! The PostgreSQL destination of dltrs.
//!
//! A dataset is a PostgreSQL schema. A package is applied in one transaction (see
//! [`dltrs_core::destination`]); PostgreSQL's DDL is transactional, so new tables and columns
//! commit or roll back with the data:
//!
//! ```text
//! BEGIN
//!   CREATE SCHEMA / CREATE TABLE / ALTER TABLE ADD COLUMN     ddl.rs   (from the package schema)
//!   per root table of the package, by write disposition:      load.rs
//!     append   binary COPY into the table                     copy.rs
//!     replace  TRUNCATE the root and child tables, then COPY
//!     merge    COPY into <dataset>_staging, delete-insert     merge.rs
//!   _dlt_version (new schema hash), _dlt_pipeline_state (state changed), _dlt_loads
//! COMMIT
//! ```
//!
//! Identifiers are always quoted ([`sql::ident`]) and shortened to PostgreSQL's 63 characters
//! by the naming convention, with dlt's tag; values are bound parameters or binary COPY data,
//! never spliced into SQL. The password never appears in [`Destination::location`], errors or
//! `Debug` output.

mod copy;
mod credentials;
mod ddl;
mod load;
mod merge;
mod restore;
pub mod sql;

pub use credentials::{CredentialsError, PostgresCredentials, SslMode};

use dltrs_core::destination::{
    Capabilities, Destination, DestinationError, LoadContext, LoadOutcome, Restored,
};
use dltrs_core::package::NormalizedPackage;
use dltrs_core::sql::postgres::MAX_IDENTIFIER_LENGTH;
use postgres::{Client, NoTls};

use crate::sql::Dataset;

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
        Capabilities::sql(Some(MAX_IDENTIFIER_LENGTH))
    }

    fn restore(
        &self,
        dataset: &str,
        pipeline_name: &str,
        schema_name: &str,
    ) -> Result<Option<Restored>, DestinationError> {
        let mut client = self.connect()?;
        let dataset = Dataset {
            schema: dataset.to_string(),
        };
        restore::restore(&mut client, &dataset, pipeline_name, schema_name).map_err(|source| {
            DestinationError::Connect {
                location: self.location(),
                source: source.into(),
            }
        })
    }

    fn load(
        &mut self,
        ctx: &LoadContext<'_>,
        package: &NormalizedPackage,
    ) -> Result<LoadOutcome, DestinationError> {
        let mut client = self.connect()?;
        let dataset = Dataset {
            schema: ctx.dataset.to_string(),
        };
        load::load_package(&mut client, &dataset, package, ctx.progress)
    }
}
