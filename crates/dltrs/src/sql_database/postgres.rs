//! PostgreSQL tables as resources: reflection from `information_schema`, rows written as JSON
//! by the server (`row_to_json`) and fetched from a portal a chunk at a time.

use std::sync::mpsc::SyncSender;

use dltrs_postgres::PostgresCredentials;
use postgres::Client;
use postgres::types::ToSql;

use super::{Chunk, Kind, Plan, Reflected, SqlColumn, SqlTableConfig, param_text, quote, send};
use crate::BoxError;

/// The driver's error with the server's message (its `Display` alone is "db error").
fn pg(e: postgres::Error) -> BoxError {
    dltrs_postgres::describe(&e).into()
}

pub(super) fn connect(credentials: &PostgresCredentials) -> Result<Client, BoxError> {
    let mut client = dltrs_postgres::Postgres::new(credentials.clone())
        .connect()
        .map_err(|e| match e {
            dltrs_core::destination::DestinationError::Connect { source, .. } => source,
            other => other.into(),
        })?;
    // timestamps with a time zone come out in UTC
    client.batch_execute("SET TimeZone = 'UTC'").map_err(pg)?;
    Ok(client)
}

/// The base tables of `schema`, by name.
pub(super) fn tables(client: &mut Client, schema: &str) -> Result<Vec<String>, BoxError> {
    let rows = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
            &[&schema],
        )
        .map_err(pg)?;
    if rows.is_empty() {
        return Err(
            format!("schema `{schema}` has no tables (or the user may not see them)").into(),
        );
    }
    rows.iter().map(|r| r.try_get(0).map_err(pg)).collect()
}

/// The kind of a PostgreSQL type by its name in `pg_type` (`udt_name`).
fn kind(udt: &str, data_type: &str) -> Kind {
    match udt {
        "int2" | "int4" | "int8" | "oid" => Kind::Int,
        "float4" | "float8" => Kind::Float,
        "numeric" | "money" => Kind::Decimal,
        "bool" => Kind::Bool,
        "json" | "jsonb" => Kind::Json,
        "bytea" => Kind::Binary,
        "timestamptz" => Kind::Timestamp { tz: true },
        "timestamp" => Kind::Timestamp { tz: false },
        "date" => Kind::Date,
        "time" | "timetz" => Kind::Time,
        _ if data_type == "ARRAY" || udt.starts_with('_') => Kind::Json,
        // text, varchar, char, uuid, enums, intervals, network types, ...
        _ => Kind::Text,
    }
}

/// Reflects a table (columns, types, primary key) or a query (columns and types).
pub(super) fn reflect(
    client: &mut Client,
    schema: &str,
    table: &SqlTableConfig,
) -> Result<Reflected, BoxError> {
    if let Some(query) = &table.query {
        let from = format!("({query}) AS {}", quote("dltrs_query", false));
        let statement = client
            .prepare(&format!("SELECT * FROM {from} LIMIT 0"))
            .map_err(pg)?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| {
                let udt = c.type_().name();
                SqlColumn {
                    name: c.name().to_string(),
                    kind: kind(udt, ""),
                    sql_type: udt.to_string(),
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
    let rows = client.query(
        "SELECT a.attname::text, t.typname::text, format_type(a.atttypid, a.atttypmod), \
                NOT a.attnotnull, c.numeric_precision::int, c.numeric_scale::int, \
                c.character_maximum_length::int, c.data_type::text \
         FROM pg_attribute a \
         JOIN pg_class r ON r.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = r.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN information_schema.columns c \
           ON c.table_schema = n.nspname AND c.table_name = r.relname AND c.column_name = a.attname \
         WHERE n.nspname = $1 AND r.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
        &[&schema, &table.name],
    ).map_err(pg)?;
    if rows.is_empty() {
        return Err(format!(
            "there is no table `{}` in schema `{schema}` (or the user may not read it)",
            table.name
        )
        .into());
    }
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        let udt: String = row.try_get(1).map_err(pg)?;
        let data_type: Option<String> = row.try_get(7).map_err(pg)?;
        let kind = kind(&udt, data_type.as_deref().unwrap_or_default());
        let precision: Option<i32> = row.try_get(4).map_err(pg)?;
        let scale: Option<i32> = row.try_get(5).map_err(pg)?;
        let length: Option<i32> = row.try_get(6).map_err(pg)?;
        let (precision, scale) = match kind {
            // an unconstrained numeric reports no scale: dlt's default decimal then
            Kind::Decimal if scale.is_some() => (precision, scale),
            Kind::Text => (length, None),
            _ => (None, None),
        };
        columns.push(SqlColumn {
            name: row.try_get(0).map_err(pg)?,
            kind,
            sql_type: row.try_get(2).map_err(pg)?,
            nullable: row.try_get(3).map_err(pg)?,
            precision: precision.and_then(|p| u32::try_from(p).ok()),
            scale: scale.and_then(|s| u32::try_from(s).ok()),
        });
    }
    let primary_key = client
        .query(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_class r ON r.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = r.relnamespace \
             JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = ANY(i.indkey) \
             WHERE n.nspname = $1 AND r.relname = $2 AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
            &[&schema, &table.name],
        )
        .map_err(pg)?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg)?;
    Ok(Reflected {
        columns,
        primary_key,
        from: format!("{}.{}", quote(schema, false), quote(&table.name, false)),
    })
}

/// `SELECT row_to_json(q)::text FROM (SELECT <columns> FROM <from> <filter>) q <order>`: numerics
/// as exact text and bytes as `0x` hex, the rest as PostgreSQL writes JSON.
pub(super) fn select(reflected: &Reflected, filter: &str, order: &str) -> String {
    let columns: Vec<String> = reflected
        .columns
        .iter()
        .map(|c| {
            let q = quote(&c.name, false);
            match c.kind {
                Kind::Decimal => format!("{q}::numeric::text AS {q}"),
                Kind::Binary => format!("'0x' || encode({q}, 'hex') AS {q}"),
                _ => q,
            }
        })
        .collect();
    format!(
        "SELECT row_to_json(dltrs_row)::text FROM (SELECT {} FROM {}{filter}{order}) AS dltrs_row",
        columns.join(", "),
        reflected.from
    )
}

/// Reads `plan` in chunks from a portal in a read-only transaction and sends them; ends when
/// the table ends or the extract stops listening.
pub(super) fn read(
    credentials: &PostgresCredentials,
    location: &str,
    plan: Plan,
    sender: SyncSender<Chunk>,
) {
    if let Err(e) = read_chunks(credentials, &plan, &sender) {
        send(&sender, Err(format!("{location}: {e}")));
    }
}

fn read_chunks(
    credentials: &PostgresCredentials,
    plan: &Plan,
    sender: &SyncSender<Chunk>,
) -> Result<(), BoxError> {
    let mut client = connect(credentials)?;
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(pg)?;
    let texts: Vec<String> = plan.params.iter().map(param_text).collect();
    let params: Vec<&(dyn ToSql + Sync)> = texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
    let statement = tx.prepare(&plan.sql).map_err(pg)?;
    let portal = tx.bind(&statement, &params).map_err(pg)?;
    let max_rows = i32::try_from(plan.chunk_size).unwrap_or(i32::MAX);
    loop {
        let rows = tx.query_portal(&portal, max_rows).map_err(pg)?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut chunk = Vec::with_capacity(rows.len() * 128);
        for row in &rows {
            let json: &str = row.try_get(0).map_err(pg)?;
            let start = chunk.len();
            chunk.extend_from_slice(json.as_bytes());
            // a `json` column keeps its text, line breaks included; outside strings they are
            // whitespace and inside strings JSON has them escaped, so they go
            if memchr::memchr2(b'\n', b'\r', &chunk[start..]).is_some() {
                for byte in &mut chunk[start..] {
                    if matches!(*byte, b'\n' | b'\r') {
                        *byte = b' ';
                    }
                }
            }
            chunk.push(b'\n');
        }
        let last = rows.len() < plan.chunk_size;
        if !send(sender, Ok(chunk)) || last {
            return Ok(());
        }
    }
}
