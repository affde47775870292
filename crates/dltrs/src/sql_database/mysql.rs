//! MySQL and MariaDB tables as resources: reflection from `information_schema`, rows streamed
//! from the server (the result is read as it arrives, never buffered whole) and written as JSON
//! here, by the reflected kind of each column.

use std::fmt::Write as _;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use base64::Engine;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Params, Value as My};

use super::{Chunk, Kind, Plan, Reflected, SqlColumn, SqlTableConfig, param_text, quote, send};
use crate::BoxError;
use dltrs_core::json::write_str;

/// The connection string the driver reads (`mariadb://` is MySQL's protocol).
fn driver_url(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_string(),
    }
}

/// `mysql://user@host:port/db`: never the password.
pub(super) fn location(url: &str) -> String {
    match url::Url::parse(&driver_url(url)) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "mysql (an unreadable connection string)".into(),
    }
}

pub(super) fn connect(url: &str) -> Result<Conn, BoxError> {
    let opts = Opts::from_url(&driver_url(url)).map_err(|e| {
        crate::config::connection_secrets(url)
            .redact(&format!("invalid MySQL connection string: {e}"))
    })?;
    let opts = OptsBuilder::from_opts(opts)
        .tcp_connect_timeout(Some(Duration::from_secs(15)))
        .prefer_socket(false);
    let mut conn = Conn::new(opts).map_err(|e| {
        let text = e.to_string();
        let hint = if text.contains("refused") {
            "; is MySQL/MariaDB running and listening on that host and port?"
        } else if text.contains("Access denied") {
            "; check the user name and password"
        } else {
            ""
        };
        format!("{text}{hint}")
    })?;
    // TIMESTAMP columns come out in UTC
    conn.query_drop("SET time_zone = '+00:00'")?;
    Ok(conn)
}

fn database(conn: &mut Conn, schema: Option<&str>) -> Result<String, BoxError> {
    if let Some(schema) = schema {
        return Ok(schema.to_string());
    }
    let name: Option<Option<String>> = conn.query_first("SELECT DATABASE()")?;
    name.flatten()
        .ok_or_else(|| "the connection string names no database: add it as the path (mysql://user@host:3306/shop) or set `schema`".into())
}

/// The base tables of the database, by name.
pub(super) fn tables(conn: &mut Conn, schema: Option<&str>) -> Result<Vec<String>, BoxError> {
    let db = database(conn, schema)?;
    let names: Vec<String> = conn.exec(
        "SELECT TABLE_NAME FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        (db.clone(),),
    )?;
    if names.is_empty() {
        return Err(format!("database `{db}` has no tables (or the user may not see them)").into());
    }
    Ok(names)
}

fn kind(data_type: &str, column_type: &str) -> Kind {
    match data_type {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" | "bit" => {
            Kind::Int
        }
        "decimal" | "numeric" => Kind::Decimal,
        "float" | "double" | "real" => Kind::Float,
        "json" => Kind::Json,
        "binary" | "varbinary" | "blob" | "tinyblob" | "mediumblob" | "longblob" => Kind::Binary,
        "datetime" => Kind::Timestamp { tz: false },
        "timestamp" => Kind::Timestamp { tz: true },
        "date" => Kind::Date,
        "time" => Kind::Time,
        _ if column_type.starts_with("bool") => Kind::Bool,
        // char, varchar, text, enum, set, ...
        _ => Kind::Text,
    }
}

/// Reflects a table (columns, types, primary key) or a query (columns and types).
pub(super) fn reflect(
    conn: &mut Conn,
    schema: Option<&str>,
    table: &SqlTableConfig,
) -> Result<Reflected, BoxError> {
    if let Some(query) = &table.query {
        let from = format!("({query}) AS {}", quote("dltrs_query", true));
        let statement = conn.prep(format!("SELECT * FROM {from} LIMIT 0"))?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| {
                use mysql::consts::ColumnType as T;
                let kind = match c.column_type() {
                    T::MYSQL_TYPE_TINY
                    | T::MYSQL_TYPE_SHORT
                    | T::MYSQL_TYPE_LONG
                    | T::MYSQL_TYPE_INT24
                    | T::MYSQL_TYPE_LONGLONG
                    | T::MYSQL_TYPE_YEAR => Kind::Int,
                    T::MYSQL_TYPE_FLOAT | T::MYSQL_TYPE_DOUBLE => Kind::Float,
                    T::MYSQL_TYPE_DECIMAL | T::MYSQL_TYPE_NEWDECIMAL => Kind::Decimal,
                    T::MYSQL_TYPE_JSON => Kind::Json,
                    T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_DATETIME2 => {
                        Kind::Timestamp { tz: false }
                    }
                    T::MYSQL_TYPE_TIMESTAMP | T::MYSQL_TYPE_TIMESTAMP2 => {
                        Kind::Timestamp { tz: true }
                    }
                    T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => Kind::Date,
                    T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => Kind::Time,
                    // 63: the binary character set
                    T::MYSQL_TYPE_BLOB
                    | T::MYSQL_TYPE_TINY_BLOB
                    | T::MYSQL_TYPE_MEDIUM_BLOB
                    | T::MYSQL_TYPE_LONG_BLOB
                    | T::MYSQL_TYPE_VAR_STRING
                    | T::MYSQL_TYPE_STRING
                        if c.character_set() == 63 =>
                    {
                        Kind::Binary
                    }
                    _ => Kind::Text,
                };
                SqlColumn {
                    name: c.name_str().into_owned(),
                    kind,
                    sql_type: String::new(),
                    nullable: true,
                    precision: None,
                    scale: None,
                }
            })
            .collect();
        return Ok(Reflected {
            columns,
            primary_key: Vec::new(),
            from,
        });
    }
    let db = database(conn, schema)?;
    type Row = (
        String,
        String,
        String,
        String,
        Option<u64>,
        Option<u64>,
        Option<u64>,
    );
    let rows: Vec<Row> = conn.exec(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION, \
         NUMERIC_SCALE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (db.clone(), table.name.clone()),
    )?;
    if rows.is_empty() {
        return Err(format!(
            "there is no table `{}` in database `{db}` (or the user may not read it)",
            table.name
        )
        .into());
    }
    // MariaDB's JSON is LONGTEXT with a json_valid() check; MySQL's is its own type
    let json_checked: Vec<String> = conn
        .exec::<String, _, _>(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (db.clone(), table.name.clone()),
        )
        .unwrap_or_default();
    let mut columns = Vec::with_capacity(rows.len());
    for (name, data_type, column_type, nullable, precision, scale, length) in rows {
        let is_json = json_checked
            .iter()
            .any(|check| check.contains(&format!("json_valid(`{name}`)")));
        let kind = match is_json {
            true => Kind::Json,
            false => kind(
                &data_type.to_ascii_lowercase(),
                &column_type.to_ascii_lowercase(),
            ),
        };
        let (precision, scale) = match kind {
            Kind::Decimal => (precision, scale),
            Kind::Text if matches!(data_type.as_str(), "char" | "varchar") => (length, None),
            _ => (None, None),
        };
        columns.push(SqlColumn {
            name,
            kind,
            sql_type: column_type,
            nullable: nullable == "YES",
            precision: precision.and_then(|p| u32::try_from(p).ok()),
            scale: scale.and_then(|s| u32::try_from(s).ok()),
        });
    }
    let primary_key: Vec<String> = conn.exec(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
         ORDER BY ORDINAL_POSITION",
        (db.clone(), table.name.clone()),
    )?;
    Ok(Reflected {
        columns,
        primary_key,
        from: format!("{}.{}", quote(&db, true), quote(&table.name, true)),
    })
}

/// `SELECT <columns> FROM <from> <filter> <order>`.
pub(super) fn select(reflected: &Reflected, filter: &str, order: &str) -> String {
    let columns: Vec<String> = reflected
        .columns
        .iter()
        .map(|c| quote(&c.name, true))
        .collect();
    format!(
        "SELECT {} FROM {}{filter}{order}",
        columns.join(", "),
        reflected.from
    )
}

/// Streams `plan`'s rows in chunks; ends when the result ends or the extract stops listening.
pub(super) fn read(url: &str, location: &str, plan: Plan, sender: SyncSender<Chunk>) {
    if let Err(e) = read_chunks(url, &plan, &sender) {
        send(
            &sender,
            Err(crate::config::connection_secrets(url).redact(&format!("{location}: {e}"))),
        );
    }
}

fn read_chunks(url: &str, plan: &Plan, sender: &SyncSender<Chunk>) -> Result<(), BoxError> {
    let mut conn = connect(url)?;
    let params = match plan.params.is_empty() {
        true => Params::Empty,
        false => Params::Positional(
            plan.params
                .iter()
                .map(|v| My::Bytes(param_text(v).into_bytes()))
                .collect(),
        ),
    };
    let result = conn.exec_iter(plan.sql.as_str(), params)?;
    let keys: Vec<String> = plan
        .columns
        .iter()
        .map(|c| {
            let mut key = String::new();
            write_str(&mut key, &c.name);
            key
        })
        .collect();
    let mut chunk = String::with_capacity(plan.chunk_size * 128);
    let mut rows = 0;
    for row in result {
        let values = row?.unwrap();
        chunk.push('{');
        for (index, (column, value)) in plan.columns.iter().zip(values).enumerate() {
            if index > 0 {
                chunk.push(',');
            }
            chunk.push_str(&keys[index]);
            chunk.push(':');
            write_value(&mut chunk, column.kind, value);
        }
        chunk.push_str("}\n");
        rows += 1;
        if rows == plan.chunk_size {
            let full = std::mem::replace(&mut chunk, String::with_capacity(plan.chunk_size * 128));
            if !send(sender, Ok(full.into_bytes())) {
                return Ok(());
            }
            rows = 0;
        }
    }
    if rows > 0 {
        send(sender, Ok(chunk.into_bytes()));
    }
    Ok(())
}

/// A value as JSON text by its column's kind (the binary protocol gives typed values; text
/// values arrive as bytes).
fn write_value(out: &mut String, kind: Kind, value: My) {
    match value {
        My::NULL => out.push_str("null"),
        My::Int(i) => {
            let _ = write!(out, "{i}");
        }
        My::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        My::Float(f) => write_float(out, f64::from(f)),
        My::Double(f) => write_float(out, f),
        // dates and times hold no character JSON escapes: written straight between quotes
        My::Date(year, month, day, hour, minute, second, micros) => {
            if year == 0 && month == 0 && day == 0 {
                // MySQL's zero date is no date
                out.push_str("null");
                return;
            }
            let _ = match kind {
                Kind::Date => write!(out, "\"{year:04}-{month:02}-{day:02}\""),
                Kind::Timestamp { tz } => write!(
                    out,
                    "\"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{micros:06}{}\"",
                    if tz { "+00:00" } else { "" }
                ),
                _ => write!(
                    out,
                    "\"{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}\""
                ),
            };
        }
        My::Time(negative, days, hours, minutes, seconds, micros) => {
            let hours = u64::from(days) * 24 + u64::from(hours);
            let sign = if negative { "-" } else { "" };
            let _ = write!(
                out,
                "\"{sign}{hours:02}:{minutes:02}:{seconds:02}.{micros:06}\""
            );
        }
        My::Bytes(bytes) => match kind {
            Kind::Binary => write_str(
                out,
                &base64::engine::general_purpose::STANDARD.encode(&bytes),
            ),
            Kind::Int => {
                // BIT(n) arrives as big-endian bytes
                let n = bytes
                    .iter()
                    .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
                let _ = write!(out, "{n}");
            }
            Kind::Json if dltrs_core::json::validate(&bytes).is_ok() => {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            Kind::Timestamp { tz } => {
                let text = String::from_utf8_lossy(&bytes).replacen(' ', "T", 1);
                if text.starts_with("0000-00-00") {
                    out.push_str("null");
                } else if tz {
                    write_str(out, &format!("{text}+00:00"));
                } else {
                    write_str(out, &text);
                }
            }
            _ => write_str(out, &String::from_utf8_lossy(&bytes)),
        },
    }
}

fn write_float(out: &mut String, f: f64) {
    if f.is_finite() {
        dltrs_core::json::write_float(out, f);
    } else {
        out.push_str("null");
    }
}
