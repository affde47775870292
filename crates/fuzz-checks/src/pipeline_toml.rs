//! Pipeline files (`dltrs::declarative::Declared`): TOML text to a checked pipeline and its
//! resources.

use dltrs::declarative::Declared;
use dltrs::filesystem::FilesystemSource;
use dltrs::rest_api::RestApiSource;
use dltrs::source::SourceRegistry;

/// Keys of pipeline files and of the built-in sources' sections, so that built files reach
/// past "unknown key".
const KEYS: &[&str] = &[
    "pipeline",
    "name",
    "destination",
    "dataset_name",
    "pipelines_dir",
    "schema_contract",
    "alerts",
    "jsonl",
    "webhook",
    "sources",
    "type",
    "client",
    "base_url",
    "auth",
    "token",
    "headers",
    "paginator",
    "resource_defaults",
    "resources",
    "endpoint",
    "path",
    "params",
    "data_selector",
    "primary_key",
    "merge_key",
    "write_disposition",
    "disposition",
    "strategy",
    "columns",
    "data_type",
    "nullable",
    "precision",
    "scale",
    "unique",
    "incremental",
    "cursor_path",
    "initial_value",
    "start_param",
    "end_param",
    "include_from_parent",
    "max_table_nesting",
    "table_name",
    "format",
    "url",
    "new_files_only",
    "file_name_column",
    "delimiter",
    "quote_char",
    "has_header",
    "limit",
    "total_path",
    "next_url_path",
    "response_actions",
    "status_code",
    "action",
    "content",
    "method",
    "json",
    "quarantine",
    "create_tables_on_first_run",
    "timezone",
    "tables",
    "data_type",
    "api_key",
    "username",
    "password",
    "location",
    "base_page",
    "page_param",
    "cursor_param",
    "offset",
    "maximum_offset",
];

/// Values of those keys.
const WORDS: &[&str] = &[
    "rest_api",
    "filesystem",
    "sql_database",
    "duckdb",
    "postgres",
    "items",
    "append",
    "merge",
    "replace",
    "upsert",
    "delete-insert",
    "scd2",
    "evolve",
    "freeze",
    "discard_row",
    "discard_value",
    "text",
    "bigint",
    "double",
    "bool",
    "timestamp",
    "json",
    "decimal",
    "page_number",
    "offset",
    "cursor",
    "json_link",
    "header_link",
    "auto",
    "single_page",
    "bearer",
    "api_key",
    "http_basic",
    "header",
    "query",
    "ignore",
    "GET",
    "POST",
    "csv",
    "jsonl",
    "parquet",
    "https://api.example.com/v1/",
    "http://127.0.0.1:9/",
    "data/*.jsonl",
    "$.data[*]",
    "next",
    "{resources.items.id}",
    "items/{resources.items.id}/details",
    "id",
    "${TOKEN}",
    "",
    "2024-01-01T00:00:00Z",
    ",",
    ";",
    "\"",
    "UTC",
];

/// Reading a pipeline file never panics, whatever the text, and neither does building its
/// resources when it reads. The first byte picks the text: even, the input as it is; odd, a
/// well-formed TOML file whose keys and values the rest of the input picks.
pub fn pipeline_toml(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let mut picks = rest.iter().copied();
        let table = built_table(&mut picks, 0);
        match toml::to_string(&table) {
            Ok(text) => text.into_bytes(),
            Err(_) => return,
        }
    };
    // a folder of its own, without `.dltrs` layers, removed when the check ends
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("pipeline.toml");
    if std::fs::write(&path, &text).is_err() {
        return;
    }
    if let Ok(declared) = Declared::load_with(&path, &registry()) {
        // nothing is read or fetched: files are listed and pages requested when extracted
        let _ = declared.resources();
    }
}

/// The source types of this crate's `dltrs` features, whatever the build: `sql_database`
/// (on in the full workspace build) would connect to a database for its resources.
fn registry() -> SourceRegistry {
    let mut registry = SourceRegistry::empty();
    registry.register(RestApiSource).register(FilesystemSource);
    registry
}

/// A table of up to eight entries, nested up to four levels; `pipeline` and `sources` are
/// more likely at the top.
fn built_table(picks: &mut impl Iterator<Item = u8>, depth: usize) -> toml::Table {
    let mut table = toml::Table::new();
    let entries = picks.next().map_or(0, |b| usize::from(b % 8));
    for n in 0..entries {
        let Some(k) = picks.next() else { break };
        let key = match (depth, n) {
            (0, 0) => "pipeline".to_owned(),
            (0, 1) => "sources".to_owned(),
            _ if k >= 250 => format!("k{k}"),
            _ => KEYS[usize::from(k) % KEYS.len()].to_owned(),
        };
        let value = built_value(picks, depth + 1);
        table.insert(key, value);
    }
    table
}

fn built_value(picks: &mut impl Iterator<Item = u8>, depth: usize) -> toml::Value {
    let kind = picks.next().unwrap_or(0);
    let word = |b: Option<u8>| WORDS[usize::from(b.unwrap_or(0)) % WORDS.len()].to_owned();
    match kind % 8 {
        _ if depth > 4 => toml::Value::String(word(picks.next())),
        0..=2 => toml::Value::String(word(picks.next())),
        3 => toml::Value::Integer(i64::from(picks.next().unwrap_or(0)) - 10),
        4 => toml::Value::Boolean(kind & 8 != 0),
        5 => {
            let n = usize::from(kind >> 4) % 4;
            toml::Value::Array((0..n).map(|_| built_value(picks, depth + 1)).collect())
        }
        _ => toml::Value::Table(built_table(picks, depth)),
    }
}
