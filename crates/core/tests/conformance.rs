//! Golden tests: every conformance case of `testdata/conformance` (dlt 1.31's own output) run
//! through the normalizer. Tables, columns (name, DuckDB type, nullability, order) and row
//! counts must equal dlt's, and the documents rebuilt from our batches must equal dlt's
//! documents (merge and replace are applied to the documents the way the destination would).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int64Type, Time64MicrosecondType,
    TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType as ArrowType;
use dltrs_core::json::Item;
use dltrs_core::schema::TableHints;
use dltrs_core::types::datetime::{format_date, format_time, format_timestamp};
use dltrs_core::types::format_decimal;
use dltrs_core::{RelationalNormalizer, Schema, WriteDisposition};
use serde::Deserialize;
use serde_json::{Map, Value, json};

const GENERATED: &[&str] = &[
    "_dlt_id",
    "_dlt_parent_id",
    "_dlt_root_id",
    "_dlt_list_idx",
    "_dlt_load_id",
];

#[derive(Deserialize)]
struct Case {
    /// The whole case file, parsed by our parser: serde_json would round big integers.
    #[serde(skip)]
    text: String,
    #[serde(default)]
    max_table_nesting: Option<u32>,
    runs: Vec<Run>,
    #[serde(default)]
    expect_documents: Option<Value>,
    #[serde(default)]
    expect_same_documents_as: Option<String>,
}

#[derive(Deserialize)]
struct Run {
    table: String,
    write_disposition: WriteDisposition,
    #[serde(default)]
    primary_key: Option<Keys>,
    #[serde(default)]
    merge_key: Option<Keys>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Keys {
    One(String),
    Many(Vec<String>),
}

impl Keys {
    fn list(keys: &Option<Keys>) -> Vec<String> {
        match keys {
            None => Vec::new(),
            Some(Keys::One(k)) => vec![k.clone()],
            Some(Keys::Many(ks)) => ks.clone(),
        }
    }
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a case leaves behind: the final schema and the documents of every root table.
struct Outcome {
    schema: Schema,
    row_counts: BTreeMap<String, usize>,
    documents: BTreeMap<String, Vec<Value>>,
}

/// The `data` items of each run, parsed with the project's parser (exact big integers).
fn run_items(case: &Case) -> Vec<Vec<Item<'_>>> {
    let root = dltrs_core::json::parse_str(&case.text).unwrap();
    let field = |item: &Item<'static>, key: &str| -> Option<Item<'static>> {
        match item {
            Item::Object(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone()),
            _ => None,
        }
    };
    let root = root.into_owned();
    let Some(Item::Array(runs)) = field(&root, "runs") else {
        panic!("case without runs")
    };
    runs.iter()
        .map(|run| match field(run, "data") {
            Some(Item::Array(items)) => items,
            _ => Vec::new(),
        })
        .collect()
}

fn run_case(case: &Case) -> Outcome {
    let items = run_items(case);
    let mut schema = Schema::new("conformance");
    let mut row_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut documents: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (n, run) in case.runs.iter().enumerate() {
        let mut normalizer = RelationalNormalizer::new(schema, format!("170000000{n}.5"));
        let hints = TableHints {
            write_disposition: Some(run.write_disposition),
            primary_key: Keys::list(&run.primary_key),
            merge_key: Keys::list(&run.merge_key),
            max_nesting: case.max_table_nesting,
            ..TableHints::default()
        };
        let table = normalizer.apply_hints(&run.table, &hints);
        for value in &items[n] {
            normalizer
                .push(&table, value)
                .unwrap_or_else(|e| panic!("run {n}: {e}"));
        }
        let chunk = normalizer.flush().unwrap();
        schema = normalizer.into_schema();
        let batches: HashMap<String, RecordBatch> = chunk
            .batches
            .into_iter()
            .map(|b| (b.table, b.batch))
            .collect();
        let new_docs = rebuild_documents(&schema, &table, &batches);
        let chain: Vec<String> = schema
            .data_tables()
            .filter(|t| schema.root_table(t).name == table)
            .map(|t| t.name.clone())
            .collect();
        let docs = documents.entry(table.clone()).or_default();
        match run.write_disposition {
            WriteDisposition::Replace => {
                *docs = new_docs;
                for t in &chain {
                    row_counts.insert(t.clone(), batches.get(t).map_or(0, |b| b.num_rows()));
                }
            }
            WriteDisposition::Merge => {
                let keys: Vec<String> = Keys::list(&run.primary_key)
                    .into_iter()
                    .chain(Keys::list(&run.merge_key))
                    .map(|k| {
                        dltrs_core::naming::NamingConvention::normalize_path(
                            &dltrs_core::SnakeCase::new(),
                            &k,
                        )
                    })
                    .collect();
                let key_of = |d: &Value| keys.iter().map(|k| d.get(k).cloned()).collect::<Vec<_>>();
                let incoming: Vec<Vec<Option<Value>>> = new_docs.iter().map(key_of).collect();
                docs.retain(|d| !incoming.contains(&key_of(d)));
                docs.extend(new_docs);
                // row counts follow the documents: count rows per table from them
                for t in &chain {
                    row_counts.insert(t.clone(), 0);
                }
                count_rows(&table, docs, &mut row_counts);
            }
            _ => {
                docs.extend(new_docs);
                for t in &chain {
                    *row_counts.entry(t.clone()).or_default() +=
                        batches.get(t).map_or(0, |b| b.num_rows());
                }
            }
        }
    }
    for docs in documents.values_mut() {
        docs.sort_by_key(|d| serde_json::to_string(d).unwrap_or_default());
    }
    Outcome {
        schema,
        row_counts,
        documents,
    }
}

fn count_rows(table: &str, docs: &[Value], counts: &mut BTreeMap<String, usize>) {
    *counts.entry(table.to_string()).or_default() += docs.len();
    for doc in docs {
        if let Value::Object(map) = doc {
            for (key, value) in map {
                if let Value::Array(children) = value
                    && children.iter().all(Value::is_object)
                {
                    count_rows(&format!("{table}__{key}"), children, counts);
                }
            }
        }
    }
}

fn cell(array: &dyn Array, row: usize) -> Option<Value> {
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        ArrowType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        ArrowType::Int64 => json!(array.as_primitive::<Int64Type>().value(row)),
        ArrowType::Float64 => json!(array.as_primitive::<Float64Type>().value(row)),
        ArrowType::Boolean => json!(array.as_boolean().value(row)),
        ArrowType::Timestamp(_, _) => {
            json!(format_timestamp(
                array.as_primitive::<TimestampMicrosecondType>().value(row)
            ))
        }
        ArrowType::Date32 => json!(format_date(array.as_primitive::<Date32Type>().value(row))),
        ArrowType::Time64(_) => {
            json!(format_time(
                array.as_primitive::<Time64MicrosecondType>().value(row)
            ))
        }
        ArrowType::Decimal128(_, scale) => {
            let text = format_decimal(array.as_primitive::<Decimal128Type>().value(row), *scale);
            let text = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                text
            };
            Value::String(text)
        }
        ArrowType::Binary => {
            let bytes = array.as_binary::<i32>().value(row);
            Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
        }
        other => panic!("unexpected arrow type {other}"),
    })
}

fn rows_of(batch: &RecordBatch) -> Vec<Map<String, Value>> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|row| {
            let mut map = Map::new();
            for (i, field) in schema.fields().iter().enumerate() {
                if let Some(v) = cell(batch.column(i).as_ref(), row) {
                    map.insert(field.name().clone(), v);
                }
            }
            map
        })
        .collect()
}

/// dump_dataset.py's documents: children folded into parents by `_dlt_parent_id`, ordered by
/// `_dlt_list_idx`, generated columns dropped.
fn rebuild_documents(
    schema: &Schema,
    root: &str,
    batches: &HashMap<String, RecordBatch>,
) -> Vec<Value> {
    let rows: HashMap<String, Vec<Map<String, Value>>> = batches
        .iter()
        .map(|(t, b)| (t.clone(), rows_of(b)))
        .collect();
    fn build(
        schema: &Schema,
        table: &str,
        row: &Map<String, Value>,
        rows: &HashMap<String, Vec<Map<String, Value>>>,
    ) -> Value {
        let mut doc: Map<String, Value> = row
            .iter()
            .filter(|(k, _)| !GENERATED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let id = row.get("_dlt_id");
        for child in schema
            .data_tables()
            .filter(|t| t.parent.as_deref() == Some(table))
        {
            let mut kids: Vec<&Map<String, Value>> = rows
                .get(&child.name)
                .map(|r| r.iter().filter(|k| k.get("_dlt_parent_id") == id).collect())
                .unwrap_or_default();
            if kids.is_empty() {
                continue;
            }
            kids.sort_by_key(|k| k.get("_dlt_list_idx").and_then(Value::as_i64));
            let key = child.name[table.len() + 2..].to_string();
            doc.insert(
                key,
                Value::Array(
                    kids.into_iter()
                        .map(|k| build(schema, &child.name, k, rows))
                        .collect(),
                ),
            );
        }
        Value::Object(doc)
    }
    rows.get(root)
        .map(|r| {
            r.iter()
                .map(|row| build(schema, root, row, &rows))
                .collect()
        })
        .unwrap_or_default()
}

fn column_rows(schema: &Schema, table: &str) -> Vec<Value> {
    schema
        .table(table)
        .map(|t| {
            t.complete_columns()
                .map(|c| {
                    json!([
                        c.name,
                        dltrs_core::sql::duckdb::column_type(c),
                        c.is_nullable()
                    ])
                })
                .collect()
        })
        .unwrap_or_default()
}

fn case_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn load_case(path: &Path) -> Case {
    let mut case: Case = serde_json::from_value(read_json(path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    case.text = std::fs::read_to_string(path).unwrap();
    case
}

#[test]
fn every_public_case_matches_dlt() {
    let mut failures = Vec::new();
    let files = case_files("cases");
    assert!(files.len() >= 20, "conformance cases missing");
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let expected = read_json(&testdata().join("expected").join(format!("{name}.json")));
        let outcome = run_case(&load_case(&path));
        let Value::Object(tables) = &expected["tables"] else {
            panic!("{name}: no tables")
        };
        let ours: Vec<String> = outcome
            .schema
            .data_tables()
            .map(|t| t.name.clone())
            .collect();
        let mut theirs: Vec<String> = tables.keys().cloned().collect();
        let mut ours_sorted = ours.clone();
        ours_sorted.sort();
        theirs.sort();
        if ours_sorted != theirs {
            failures.push(format!("{name}: tables {ours_sorted:?}, dlt {theirs:?}"));
            continue;
        }
        for (table, want) in tables {
            let got = column_rows(&outcome.schema, table);
            if Value::Array(got.clone()) != want["columns"] {
                failures.push(format!(
                    "{name}.{table}: columns\n  ours {}\n  dlt  {}",
                    json!(got),
                    want["columns"]
                ));
            }
            let count = outcome.row_counts.get(table).copied().unwrap_or(0);
            if json!(count) != want["row_count"] {
                failures.push(format!(
                    "{name}.{table}: {count} rows, dlt {}",
                    want["row_count"]
                ));
            }
        }
        let got_docs = json!(outcome.documents);
        if got_docs != expected["documents"] {
            failures.push(format!(
                "{name}: documents\n  ours {got_docs}\n  dlt  {}",
                expected["documents"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn integers_beyond_64_bits_keep_every_digit() {
    let case = load_case(&testdata().join("beyond/integers_beyond_64_bits.json"));
    let outcome = run_case(&case);
    let column = &outcome.schema.table("t").unwrap().columns["big"];
    assert_eq!(column.data_type, Some(dltrs_core::DataType::Wei));
    let want = case.expect_documents.unwrap();
    let mut want_docs: Vec<Value> = want["t"].as_array().unwrap().clone();
    want_docs.sort_by_key(|d| serde_json::to_string(d).unwrap());
    assert_eq!(json!(outcome.documents["t"]), json!(want_docs));
}

#[test]
fn replace_then_merge_normalizes_like_merge() {
    let case = load_case(&testdata().join("beyond/workshop_replace_then_merge.json"));
    let outcome = run_case(&case);
    let other = case.expect_same_documents_as.unwrap();
    let expected = read_json(&testdata().join("expected").join(format!("{other}.json")));
    assert_eq!(json!(outcome.documents), expected["documents"]);
    // the merge run propagates root ids into the child tables created by the replace run
    let passengers = outcome.schema.table("users__passengers").unwrap();
    assert!(passengers.columns.contains_key("_dlt_root_id"));
}

/// The copies in `testdata/conformance` must equal `../shared/conformance` when it is there.
#[test]
fn conformance_copies_are_current() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    if !shared.exists() {
        return;
    }
    for dir in ["cases", "expected", "beyond"] {
        for entry in std::fs::read_dir(shared.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let ours = testdata().join(dir).join(path.file_name().unwrap());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(&ours).unwrap_or_default(),
                "{} differs from the shared copy; copy it again",
                ours.display()
            );
        }
    }
}
