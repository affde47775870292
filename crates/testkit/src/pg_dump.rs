//! The canonical dump of a dataset in PostgreSQL: the same document [`dump_dataset`] makes of a
//! DuckDB dataset, so a PostgreSQL load is compared with dlt's DuckDB expectations.
//!
//! The tables are copied into an in-memory DuckDB database with the types dlt gives the same
//! columns in DuckDB ([`duckdb_equivalent`]) and then dumped by [`dump_dataset`], so values are
//! formatted by one set of rules. Values travel as PostgreSQL's text (timestamps in UTC, bytea
//! as hex, numerics without trailing zeros) and are cast by DuckDB.
//!
//! One difference cannot be undone: `jsonb` stores objects with their keys sorted and prints
//! them with spaces; [`canonical_json_columns`] brings the JSON columns of two dumps to the
//! same form before they are compared.

use dltrs_core::sql::ident as quote;
use dltrs_core::sql::postgres::duckdb_equivalent;
use duckdb::Connection;
use postgres::{Client, SimpleQueryMessage};
use serde_json::Value;

use crate::dump_dataset;

/// A failure reading PostgreSQL or writing the DuckDB copy.
pub type DumpError = Box<dyn std::error::Error + Send + Sync>;

struct PgColumn {
    name: String,
    duckdb_type: String,
    nullable: bool,
    bytea: bool,
    numeric: bool,
}

/// Dumps the PostgreSQL schema `dataset` in the canonical form, as dataset `name_as`.
///
/// # Errors
///
/// Any PostgreSQL or DuckDB error.
pub fn dump_postgres(
    client: &mut Client,
    dataset: &str,
    name_as: &str,
) -> Result<Value, DumpError> {
    client.batch_execute("SET TimeZone = 'UTC'")?;
    let duck = Connection::open_in_memory()?;
    duck.execute_batch(&format!("CREATE SCHEMA {}", quote(name_as)))?;
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
            &[&dataset],
        )?
        .into_iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    for table in &tables {
        let columns: Vec<PgColumn> = client
            .query(
                "SELECT column_name::text, data_type::text, numeric_precision::int, numeric_scale::int, \
                 is_nullable::text FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                &[&dataset, table],
            )?
            .into_iter()
            .map(|row| -> Result<PgColumn, postgres::Error> {
                let data_type: String = row.try_get(1)?;
                Ok(PgColumn {
                    name: row.try_get(0)?,
                    duckdb_type: duckdb_equivalent(&data_type, row.try_get(2)?, row.try_get(3)?),
                    nullable: row.try_get::<_, String>(4)? == "YES",
                    bytea: data_type == "bytea",
                    numeric: data_type == "numeric",
                })
            })
            .collect::<Result<_, _>>()?;
        let defs: Vec<String> = columns
            .iter()
            .map(|c| {
                let not_null = if c.nullable { "" } else { " NOT NULL" };
                format!("{} {}{not_null}", quote(&c.name), c.duckdb_type)
            })
            .collect();
        let target = format!("{}.{}", quote(name_as), quote(table));
        duck.execute_batch(&format!("CREATE TABLE {target} ({})", defs.join(", ")))?;
        if columns.is_empty() {
            continue;
        }
        let select: Vec<String> = columns
            .iter()
            .map(|c| match (c.bytea, c.numeric) {
                (true, _) => format!("encode({}, 'hex')", quote(&c.name)),
                // wei is numeric(156,78): 78 zeros after the point would not cast to DuckDB's
                // DECIMAL(38,0)
                (_, true) => format!("trim_scale({})::text", quote(&c.name)),
                _ => format!("{}::text", quote(&c.name)),
            })
            .collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| match c.bytea {
                true => "unhex(?)".to_string(),
                false => format!("CAST(? AS {})", c.duckdb_type),
            })
            .collect();
        let mut insert = duck.prepare(&format!(
            "INSERT INTO {target} VALUES ({})",
            values.join(", ")
        ))?;
        let sql = format!(
            "SELECT {} FROM {}.{}",
            select.join(", "),
            quote(dataset),
            quote(table)
        );
        for message in client.simple_query(&sql)? {
            if let SimpleQueryMessage::Row(row) = message {
                let cells: Vec<Option<&str>> = (0..row.len()).map(|i| row.get(i)).collect();
                insert.execute(duckdb::params_from_iter(cells))?;
            }
        }
    }
    Ok(dump_dataset(&duck, name_as)?)
}

/// Rewrites the values of `JSON` columns in the documents of `dump` as JSON text with sorted
/// keys and no spaces, the form both DuckDB's and PostgreSQL's JSON reach.
pub fn canonical_json_columns(dump: &mut Value) {
    let json_columns: Vec<(String, String)> = dump["tables"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(table, entry)| {
            entry["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c[1] == "JSON")
                .filter_map(move |c| Some((table.clone(), c[0].as_str()?.to_string())))
        })
        .collect();
    if json_columns.is_empty() {
        return;
    }
    fn walk(value: &mut Value, names: &[&str]) {
        match value {
            Value::Object(map) => {
                for (key, field) in map.iter_mut() {
                    if let (true, Value::String(text)) = (names.contains(&key.as_str()), &*field)
                        && let Ok(parsed) = serde_json::from_str::<Value>(text)
                    {
                        *field = Value::String(sorted(parsed).to_string());
                    } else {
                        walk(field, names);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, names)),
            _ => {}
        }
    }
    fn sorted(value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> =
                    map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    // a document key is the column name in its own table, or a child table's key path; JSON
    // column names are matched wherever they appear, which is exact enough for the cases
    let names: Vec<&str> = json_columns.iter().map(|(_, c)| c.as_str()).collect();
    if let Some(documents) = dump.get_mut("documents") {
        walk(documents, &names);
    }
}
