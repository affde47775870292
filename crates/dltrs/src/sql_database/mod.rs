//! SQL databases as sources (dlt's `sql_database`): tables or queries of PostgreSQL and
//! MySQL/MariaDB become resources whose columns are declared from the database's own types
//! (no inference: numeric precision and scale, timestamps with and without time zone, dates,
//! JSON, UUIDs, bytes, enums as text).
//!
//! Each table is read by a thread of its own over its own connection, in chunks: a server-side
//! portal (PostgreSQL) or a streaming result (MySQL), handed to the extract through a bounded
//! channel, so memory holds a few chunks whatever the table's size. Up to `parallelism` tables
//! are read at once: while one is extracted, the next ones fill their channels. An incremental
//! cursor is pushed into the `WHERE` clause (`cursor >= last value`); the pipeline's
//! incremental filter then drops the boundary rows already loaded.
//!
//! Rows travel as JSON objects: PostgreSQL writes them itself (`row_to_json`, with numerics as
//! exact text and bytes as `0x` hex), MySQL rows are written here. The declared column types
//! turn them back into typed columns.

mod mysql;
mod postgres;

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use dltrs_core::schema::Column;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::incremental::{Boundary, LastValueFunc, RowOrder};
use crate::source::{ResourceTables, SourceContext, SourceType};
use crate::table_hints::{TableHintsConfig, WithHints};
use crate::{BoxError, Error, Incremental, Resource, ResourceState};

/// Rows per chunk read from the database.
const DEFAULT_CHUNK_SIZE: usize = 10_000;

/// Tables read at once.
const DEFAULT_PARALLELISM: usize = 2;

/// Chunks a table's reader may hold ahead of the extract.
const CHANNEL_CHUNKS: usize = 4;

/// A `sql_database` source: where to connect and what to read (`[sources.<name>]` of a
/// pipeline file with `type = "sql_database"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlDatabaseConfig {
    /// `postgresql://...` or `mysql://...` (`mariadb://` too).
    pub credentials: String,
    /// PostgreSQL: the schema (`public`); MySQL: the database (the connection string's).
    #[serde(default)]
    pub schema: Option<String>,
    /// The tables (all of the schema's base tables when empty), or queries: names, or tables
    /// with `name` and hints.
    #[serde(default)]
    pub tables: Vec<SqlTableConfig>,
    /// Rows per chunk (10 000).
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// Tables read at once (2).
    #[serde(default)]
    pub parallelism: Option<usize>,
}

/// One table (or query) of a `sql_database` source, with its resource's hints; written as
/// its name or as a table with `name` (the hints among its keys).
#[derive(Debug, Clone, Default)]
pub struct SqlTableConfig {
    /// The table's name in the database, and the resource's.
    pub name: String,
    /// A query to read instead of the table (the resource is still called `name`).
    pub query: Option<String>,
    /// An incremental cursor, pushed into the `WHERE` clause.
    pub incremental: Option<Incremental>,
    /// The table hints; the primary key is the table's own unless set here.
    pub hints: TableHintsConfig,
}

/// serde's reading of a table's own keys (see [`crate::table_hints`]).
#[derive(Deserialize)]
#[serde(remote = "SqlTableConfig", deny_unknown_fields)]
struct SqlTableKeys {
    name: String,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    incremental: Option<Incremental>,
    #[serde(skip)]
    hints: TableHintsConfig,
}

impl<'de> Deserialize<'de> for SqlTableConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameOrTable;
        impl<'de> Visitor<'de> for NameOrTable {
            type Value = SqlTableConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table name or a table with `name`")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(SqlTableConfig {
                    name: name.to_owned(),
                    ..SqlTableConfig::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let mut hints = TableHintsConfig::default();
                let table = de::value::MapAccessDeserializer::new(map);
                let mut config = SqlTableKeys::deserialize(WithHints::new(table, &mut hints))?;
                config.hints = hints;
                Ok(config)
            }
        }
        deserializer.deserialize_any(NameOrTable)
    }
}

/// The `sql_database` source type of pipeline files: `[sources.<name>]` holds a
/// [`SqlDatabaseConfig`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlDatabaseSource;

impl SourceType for SqlDatabaseSource {
    type Config = SqlDatabaseConfig;

    fn name(&self) -> &'static str {
        "sql_database"
    }

    fn template(&self) -> Option<crate::source::SourceTemplate> {
        Some(crate::source::SourceTemplate {
            pipeline_section: r#"[sources.db]
type = "sql_database"
# credentials: .dltrs/secrets.toml ([sources.db] credentials) or SOURCES__DB__CREDENTIALS
schema = "public"               # PostgreSQL schema; for MySQL/MariaDB, the database
chunk_size = 10000
# every base table when `tables` is absent
tables = [
  { name = "items", write_disposition = "merge", incremental = { cursor_path = "updated_at" } },
]
"#,
            secrets: "[sources.db]\ncredentials = \"postgresql://reader:CHANGE_ME@localhost:5432/shop\"   # or mysql://user:pw@host:3306/shop\n\n",
            files: &[],
        })
    }

    fn resources(
        &self,
        config: SqlDatabaseConfig,
        _context: &SourceContext<'_>,
    ) -> Result<Vec<Resource>, Error> {
        sql_database_resources(&config)
    }

    fn resource_tables(&self) -> Option<ResourceTables> {
        Some(ResourceTables {
            list: "tables",
            called: "sql_database tables",
            identified_by: "`name`, `query`, `incremental` and table hints",
            keys: crate::table_hints::keys_with_hints(|probe| SqlTableKeys::deserialize(probe)),
        })
    }
}

/// What a column's values are, for reading and for the `WHERE` clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Float,
    Decimal,
    Bool,
    Text,
    Json,
    Binary,
    Timestamp { tz: bool },
    Date,
    Time,
}

/// A column as the database describes it.
#[derive(Debug, Clone)]
pub(crate) struct SqlColumn {
    /// The name in the database.
    pub name: String,
    pub kind: Kind,
    /// The type as SQL writes it (for casting a bound cursor value to it).
    pub sql_type: String,
    pub nullable: bool,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
}

impl SqlColumn {
    /// The column hint dlt's reflection would declare.
    fn hint(&self) -> Column {
        use dltrs_core::DataType as D;
        let data_type = match self.kind {
            Kind::Int => D::Bigint,
            Kind::Float => D::Double,
            Kind::Decimal => D::Decimal,
            Kind::Bool => D::Bool,
            Kind::Text => D::Text,
            Kind::Json => D::Json,
            Kind::Binary => D::Binary,
            Kind::Timestamp { .. } => D::Timestamp,
            Kind::Date => D::Date,
            Kind::Time => D::Time,
        };
        let mut column = Column::new(self.name.clone(), data_type);
        column.nullable = Some(self.nullable);
        match self.kind {
            Kind::Decimal => {
                column.precision = self.precision;
                column.scale = self.scale;
            }
            Kind::Text => column.precision = self.precision,
            Kind::Timestamp { tz } => column.timezone = Some(tz),
            _ => {}
        }
        column
    }
}

/// What a table's reader needs: the reflected table and the statement to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// `SELECT ...` with `$1`/`?` placeholders for `params`.
    pub sql: String,
    /// Cursor bounds, as text (cast by the statement).
    pub params: Vec<Value>,
    pub columns: Vec<SqlColumn>,
    pub chunk_size: usize,
}

/// A reflected table, ready to read.
#[derive(Debug, Clone)]
pub(crate) struct Reflected {
    pub columns: Vec<SqlColumn>,
    pub primary_key: Vec<String>,
    /// `FROM` target: the quoted table, or the parenthesized query with an alias.
    pub from: String,
}

/// One chunk of rows: JSON objects separated by `\n`.
type Chunk = Result<Vec<u8>, String>;

/// The database behind a source.
#[derive(Debug, Clone)]
enum Database {
    Postgres(dltrs_postgres::PostgresCredentials),
    Mysql(String),
}

impl Database {
    fn parse(credentials: &str) -> Result<Database, Error> {
        let scheme = credentials.split("://").next().unwrap_or_default();
        match scheme {
            "postgresql" | "postgres" => dltrs_postgres::PostgresCredentials::parse(credentials)
                .map(Database::Postgres)
                .map_err(|e| Error::Config(e.to_string())),
            "mysql" | "mariadb" => Ok(Database::Mysql(credentials.to_string())),
            _ => Err(Error::Config(format!(
                "the sql_database credentials must be a postgresql:// or mysql:// connection string, not `{}`",
                crate::config::connection_secrets(credentials).redact(credentials)
            ))),
        }
    }

    /// Where, for messages: never the password.
    fn location(&self) -> String {
        match self {
            Database::Postgres(c) => {
                let mut shown = c.clone();
                shown.password = None;
                shown.to_string()
            }
            Database::Mysql(url) => mysql::location(url),
        }
    }

    /// One connection for listing and reflecting the tables of a source.
    fn session(&self) -> Result<Session, BoxError> {
        Ok(match self {
            Database::Postgres(c) => Session::Postgres(Box::new(postgres::connect(c)?)),
            Database::Mysql(url) => Session::Mysql(Box::new(mysql::connect(url)?)),
        })
    }

    fn start(&self, plan: Plan, sender: SyncSender<Chunk>) {
        let location = self.location();
        match self.clone() {
            Database::Postgres(c) => {
                std::thread::spawn(move || postgres::read(&c, &location, plan, sender));
            }
            Database::Mysql(url) => {
                std::thread::spawn(move || mysql::read(&url, &location, plan, sender));
            }
        }
    }
}

/// A connection, for what is read before the tables are (their names and columns).
enum Session {
    Postgres(Box<::postgres::Client>),
    Mysql(Box<::mysql::Conn>),
}

impl Session {
    fn tables(&mut self, schema: Option<&str>) -> Result<Vec<String>, BoxError> {
        match self {
            Session::Postgres(client) => postgres::tables(client, schema.unwrap_or("public")),
            Session::Mysql(conn) => mysql::tables(conn, schema),
        }
    }

    fn reflect(
        &mut self,
        schema: Option<&str>,
        table: &SqlTableConfig,
    ) -> Result<Reflected, BoxError> {
        match self {
            Session::Postgres(client) => {
                postgres::reflect(client, schema.unwrap_or("public"), table)
            }
            Session::Mysql(conn) => mysql::reflect(conn, schema, table),
        }
    }
}

/// The resources of a `sql_database` source: one per table (every base table of the schema
/// when none is named), each with its reflected columns and primary key declared.
pub fn sql_database_resources(config: &SqlDatabaseConfig) -> Result<Vec<Resource>, Error> {
    let database = Database::parse(&config.credentials)?;
    let location = database.location();
    let schema = config.schema.as_deref();
    // the connection string's password, masked in every message and in the run's output
    let secrets = crate::config::connection_secrets(&config.credentials);
    let failed = |what: &str, e: BoxError| {
        Error::Config(secrets.redact(&format!("sql_database {location}: {what}: {e}")))
    };
    let mut session = database
        .session()
        .map_err(|e| failed("cannot connect", e))?;
    let tables = if config.tables.is_empty() {
        session
            .tables(schema)
            .map_err(|e| failed("cannot list the tables", e))?
            .into_iter()
            .map(|name| SqlTableConfig {
                name,
                ..SqlTableConfig::default()
            })
            .collect()
    } else {
        config.tables.clone()
    };
    let chunk_size = config.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE).max(1);
    let shared = Arc::new(Mutex::new(Readers {
        database: database.clone(),
        parallelism: config.parallelism.unwrap_or(DEFAULT_PARALLELISM).max(1),
        order: tables.iter().map(|t| t.name.clone()).collect(),
        waiting: HashMap::new(),
        started: HashMap::new(),
    }));
    let mut resources = Vec::with_capacity(tables.len());
    for table in &tables {
        let reflected = session
            .reflect(schema, table)
            .map_err(|e| failed(&format!("cannot read table `{}`", table.name), e))?;
        let state = ResourceState::default();
        shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .insert(
                table.name.clone(),
                Waiting {
                    reflected: reflected.clone(),
                    incremental: table.incremental.clone(),
                    state: state.clone(),
                    chunk_size,
                },
            );
        let mut reader = TableReader {
            name: table.name.clone(),
            shared: shared.clone(),
            receiver: None,
            chunk: Vec::new(),
            at: 0,
        };
        let mut resource = Resource::from_fn(table.name.clone(), move |buf| reader.next(buf))
            .with_state_handle(state);
        for column in &reflected.columns {
            resource = resource.column(column.hint());
        }
        if table.hints.primary_key.is_none() && !reflected.primary_key.is_empty() {
            resource = resource.primary_key(reflected.primary_key.clone());
        }
        if let Some(incremental) = &table.incremental {
            resource = resource.incremental(incremental.clone());
        }
        resources.push(table.hints.apply(resource).with_secrets(&secrets));
    }
    Ok(resources)
}

/// A table not yet being read.
struct Waiting {
    reflected: Reflected,
    incremental: Option<Incremental>,
    state: ResourceState,
    chunk_size: usize,
}

/// The source's readers: started in table order, `parallelism` ahead of the extract.
struct Readers {
    database: Database,
    parallelism: usize,
    order: VecDeque<String>,
    waiting: HashMap<String, Waiting>,
    started: HashMap<String, Receiver<Chunk>>,
}

impl Readers {
    /// Starts the reader of `name` (if not yet) and the next ones up to the parallelism,
    /// and hands out the channel of `name`.
    fn take(&mut self, name: &str) -> Result<Receiver<Chunk>, BoxError> {
        if !self.started.contains_key(name) {
            self.start(name)?;
        }
        let receiver = self
            .started
            .remove(name)
            .ok_or_else(|| format!("table `{name}` was read already"))?;
        // the tables after it, while this one is extracted
        while self.started.len() < self.parallelism.saturating_sub(1) {
            let Some(next) = self.order.front().cloned() else {
                break;
            };
            self.start(&next)?;
        }
        Ok(receiver)
    }

    fn start(&mut self, name: &str) -> Result<(), BoxError> {
        self.order.retain(|n| n != name);
        let Some(waiting) = self.waiting.remove(name) else {
            return Err(format!("table `{name}` is not part of the source").into());
        };
        let plan = plan(&self.database, waiting)?;
        let (sender, receiver) = sync_channel(CHANNEL_CHUNKS);
        self.database.start(plan, sender);
        self.started.insert(name.to_string(), receiver);
        Ok(())
    }
}

/// The statement that reads a table: its columns as the reader writes them, and the cursor
/// bounds of an incremental resource (from the resource's state, read on this thread).
fn plan(database: &Database, waiting: Waiting) -> Result<Plan, BoxError> {
    let Waiting {
        reflected,
        incremental,
        state,
        chunk_size,
    } = waiting;
    let mysql = matches!(database, Database::Mysql(_));
    let mut conditions = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut order = String::new();
    if let Some(incremental) = &incremental {
        let Some(column) = reflected
            .columns
            .iter()
            .find(|c| c.name == incremental.cursor_path)
        else {
            return Err(format!(
                "the incremental cursor `{}` is not a column; the columns are {}",
                incremental.cursor_path,
                reflected
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .into());
        };
        let quoted = quote(&column.name, mysql);
        let mut bound = |value: Value| {
            params.push(value);
            match mysql {
                true => "?".to_string(),
                false => format!("CAST(${}::text AS {})", params.len(), column.sql_type),
            }
        };
        let (start_op, end_op) = match incremental.last_value_func {
            LastValueFunc::Max => (">", "<"),
            LastValueFunc::Min => ("<", ">"),
        };
        if let Some(start) = incremental.start_value(&state).filter(|v| !v.is_null()) {
            let op = match incremental.range_start {
                Boundary::Closed => format!("{start_op}="),
                Boundary::Open => start_op.to_string(),
            };
            conditions.push(format!("{quoted} {op} {}", bound(start)));
        }
        if let Some(end) = incremental.end_value.clone().filter(|v| !v.is_null()) {
            let op = match incremental.range_end {
                Boundary::Closed => format!("{end_op}="),
                Boundary::Open => end_op.to_string(),
            };
            conditions.push(format!("{quoted} {op} {}", bound(end)));
        }
        if let Some(row_order) = incremental.row_order {
            let direction = match row_order {
                RowOrder::Asc => "ASC",
                RowOrder::Desc => "DESC",
            };
            order = format!(" ORDER BY {quoted} {direction}");
        }
    }
    let filter = match conditions.is_empty() {
        true => String::new(),
        false => format!(" WHERE {}", conditions.join(" AND ")),
    };
    let sql = match database {
        Database::Postgres(_) => postgres::select(&reflected, &filter, &order),
        Database::Mysql(_) => mysql::select(&reflected, &filter, &order),
    };
    Ok(Plan {
        sql,
        params,
        columns: reflected.columns,
        chunk_size,
    })
}

/// A quoted identifier: `"name"` (PostgreSQL) or `` `name` `` (MySQL).
pub(crate) fn quote(name: &str, mysql: bool) -> String {
    match mysql {
        true => format!("`{}`", name.replace('`', "``")),
        false => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// The pull side of one table: chunks from its reader, rows handed out one at a time.
struct TableReader {
    name: String,
    shared: Arc<Mutex<Readers>>,
    receiver: Option<Receiver<Chunk>>,
    chunk: Vec<u8>,
    at: usize,
}

impl TableReader {
    fn next(&mut self, buf: &mut Vec<u8>) -> Result<bool, BoxError> {
        loop {
            if self.at < self.chunk.len() {
                let rest = &self.chunk[self.at..];
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                buf.extend_from_slice(&rest[..end]);
                self.at += end + 1;
                return Ok(true);
            }
            if self.receiver.is_none() {
                self.receiver = Some(
                    self.shared
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take(&self.name)?,
                );
            }
            let Some(receiver) = &self.receiver else {
                return Ok(false);
            };
            match receiver.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(format!("table `{}`: {e}", self.name).into()),
                // the reader finished and hung up
                Err(_) => return Ok(false),
            }
        }
    }
}

impl Drop for TableReader {
    /// A resource dropped unread (not selected for the run) is not read ahead either.
    fn drop(&mut self) {
        if let Ok(mut readers) = self.shared.try_lock() {
            readers.order.retain(|n| *n != self.name);
            readers.waiting.remove(&self.name);
            readers.started.remove(&self.name);
        }
    }
}

/// Sends a chunk unless the extract stopped listening; false when it did.
pub(crate) fn send(sender: &SyncSender<Chunk>, chunk: Chunk) -> bool {
    sender.send(chunk).is_ok()
}

/// The text a cursor value is bound as.
pub(crate) fn param_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn reflected() -> Reflected {
        let column = |name: &str, kind, sql_type: &str| SqlColumn {
            name: name.into(),
            kind,
            sql_type: sql_type.into(),
            nullable: true,
            precision: None,
            scale: None,
        };
        Reflected {
            columns: vec![
                column("id", Kind::Int, "integer"),
                column(
                    "Updated At",
                    Kind::Timestamp { tz: true },
                    "timestamp with time zone",
                ),
                column("price", Kind::Decimal, "numeric(10,2)"),
            ],
            primary_key: vec!["id".into()],
            from: "\"s\".\"t\"".into(),
        }
    }

    fn waiting(incremental: Option<Incremental>, last_value: Option<Value>) -> Waiting {
        let state = ResourceState::default();
        if let Some(last) = last_value {
            state.set("incremental", json!({"Updated At": {"last_value": last}}));
        }
        Waiting {
            reflected: reflected(),
            incremental,
            state,
            chunk_size: 10,
        }
    }

    fn postgres() -> Database {
        Database::Postgres(dltrs_postgres::PostgresCredentials::new("db", "u"))
    }

    #[test]
    fn the_cursor_goes_into_the_where_clause_as_a_bound_value() {
        let incremental =
            Incremental::new("Updated At").initial_value(json!("2024-01-01T00:00:00Z"));
        // first run: from the initial value
        let plan = super::plan(&postgres(), waiting(Some(incremental.clone()), None)).unwrap();
        assert_eq!(
            plan.sql,
            "SELECT row_to_json(dltrs_row)::text FROM (SELECT \"id\", \"Updated At\", \
             \"price\"::numeric::text AS \"price\" FROM \"s\".\"t\" WHERE \"Updated At\" >= \
             CAST($1::text AS timestamp with time zone)) AS dltrs_row"
        );
        assert_eq!(plan.params, vec![json!("2024-01-01T00:00:00Z")]);
        // later runs: from the last value; an end value and an order
        let incremental = incremental
            .end_value(json!("2025-01-01T00:00:00Z"))
            .row_order(RowOrder::Asc);
        let plan = super::plan(
            &postgres(),
            waiting(Some(incremental), Some(json!("2024-06-01T00:00:00Z"))),
        )
        .unwrap();
        assert!(
            plan.sql.contains(
                "WHERE \"Updated At\" >= CAST($1::text AS timestamp with time zone) AND \
                 \"Updated At\" < CAST($2::text AS timestamp with time zone) ORDER BY \"Updated At\" ASC"
            ),
            "{}",
            plan.sql
        );
        assert_eq!(
            plan.params,
            vec![json!("2024-06-01T00:00:00Z"), json!("2025-01-01T00:00:00Z")]
        );
        // MySQL: ? placeholders, backquotes
        let plan = super::plan(
            &Database::Mysql("mysql://u@h/db".into()),
            waiting(
                Some(Incremental::new("Updated At").last_value_func(LastValueFunc::Min)),
                Some(json!(5)),
            ),
        )
        .unwrap();
        assert!(
            plan.sql.ends_with("WHERE `Updated At` <= ?"),
            "{}",
            plan.sql
        );
        // no cursor: no WHERE
        let plan = super::plan(&postgres(), waiting(None, None)).unwrap();
        assert!(!plan.sql.contains("WHERE"));
        assert!(plan.params.is_empty());
    }

    #[test]
    fn a_cursor_that_is_no_column_is_an_error_listing_the_columns() {
        let err = super::plan(
            &postgres(),
            waiting(Some(Incremental::new("modified")), None),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`modified` is not a column"), "{err}");
        assert!(err.contains("id, Updated At, price"), "{err}");
    }
}
