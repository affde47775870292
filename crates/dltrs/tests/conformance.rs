//! The conformance suite: every case of `testdata/conformance/cases` and `beyond` is run
//! through the library into a fresh DuckDB file, the dataset is dumped canonically and compared
//! with what Python dlt 1.31 wrote (`expected/`), or with the documents a `beyond` case names.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use dltrs::json::{Item, parse_str, write_item};
use dltrs::{DuckDb, Pipeline, Postgres, Resource, WriteDisposition};
use dltrs_testkit::pg::{TestSchema, url};
use serde_json::{Value, json};

const DATASET: &str = "conformance";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keys(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn field<'a>(item: &'a Item<'a>, key: &str) -> Option<&'a Item<'a>> {
    match item {
        Item::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// Where a case is loaded.
#[derive(Clone, Copy)]
enum Target {
    DuckDb,
    Postgres,
}

/// Runs a case file through a pipeline and returns the dump of its dataset.
fn run_case(path: &Path, target: Target) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let case: Value = serde_json::from_str(&text).unwrap();
    // items are re-serialized from our own parser so integers beyond 64 bits stay exact
    let exact = parse_str(&text).unwrap();
    let Some(Item::Array(runs)) = field(&exact, "runs") else {
        panic!("{}: no runs", path.display())
    };
    let dir = tempfile::tempdir().unwrap();
    // named like the dataset on purpose: every name must be qualified with the catalog
    let db = dir.path().join("conformance.duckdb");
    let mut pg = matches!(target, Target::Postgres).then(|| TestSchema::new("conformance"));
    let builder = Pipeline::builder("conformance").pipelines_dir(dir.path().join("pipelines"));
    let mut pipeline = match &pg {
        None => builder.dataset_name(DATASET).destination(DuckDb::new(&db)),
        Some(pg) => builder
            .dataset_name(pg.name.clone())
            .destination(Postgres::from_url(&url()).unwrap()),
    }
    .build()
    .unwrap();
    for (index, run) in case["runs"].as_array().unwrap().iter().enumerate() {
        let mut lines = String::new();
        if let Some(Item::Array(items)) = field(&runs[index], "data") {
            for item in items {
                write_item(&mut lines, item);
                lines.push('\n');
            }
        }
        let disposition: WriteDisposition =
            serde_json::from_value(run["write_disposition"].clone()).unwrap();
        let table = run["table"].as_str().unwrap();
        let mut resource = Resource::from_json_reader(table, "case", Cursor::new(lines))
            .write_disposition(disposition)
            .primary_key(keys(&run["primary_key"]))
            .merge_key(keys(&run["merge_key"]));
        if let Some(levels) = case["max_table_nesting"].as_u64() {
            resource = resource.max_table_nesting(levels as u32);
        }
        pipeline
            .run([resource])
            .unwrap_or_else(|e| panic!("{}: run {index}: {e}", path.display()));
    }
    drop(pipeline);
    if let Some(pg) = &mut pg {
        let name = pg.name.clone();
        return dltrs_testkit::dump_postgres(&mut pg.client, &name, DATASET).unwrap();
    }
    let conn = duckdb::Connection::open(&db).unwrap();
    dltrs_testkit::dump_dataset(&conn, DATASET).unwrap()
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(testdata().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

fn every_case_matches_dlt_on(target: Target) {
    let mut failures = Vec::new();
    let all = cases("cases");
    assert!(all.len() >= 20, "conformance cases missing");
    for path in &all {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let mut expected = read_json(&testdata().join("expected").join(format!("{name}.json")));
        let mut actual = run_case(path, target);
        if let Target::Postgres = target {
            // jsonb keeps objects with sorted keys: compare JSON columns in one form
            dltrs_testkit::canonical_json_columns(&mut expected);
            dltrs_testkit::canonical_json_columns(&mut actual);
        }
        if let Err(report) = dltrs_testkit::compare(&expected, &actual) {
            failures.push(format!("== {name}\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_case_matches_dlt() {
    every_case_matches_dlt_on(Target::DuckDb);
}

/// The same cases loaded into PostgreSQL (a fresh schema each) and dumped by the same rules:
/// dlt's PostgreSQL types map back to the DuckDB types of the expectations.
#[test]
fn every_case_matches_dlt_on_postgres() {
    every_case_matches_dlt_on(Target::Postgres);
}

#[test]
fn every_beyond_case_gets_its_documents() {
    let mut failures = Vec::new();
    for path in cases("beyond") {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let case = read_json(&path);
        let documents = match (&case["expect_documents"], &case["expect_same_documents_as"]) {
            (Value::Object(_), _) => case["expect_documents"].clone(),
            (_, Value::String(other)) => {
                read_json(&testdata().join("expected").join(format!("{other}.json")))["documents"]
                    .clone()
            }
            _ => panic!("{name}: no expected documents"),
        };
        let actual = run_case(&path, Target::DuckDb);
        let expected = json!({ "documents": documents });
        let actual = json!({ "documents": actual["documents"] });
        if let Err(report) = dltrs_testkit::compare(&expected, &actual) {
            failures.push(format!("== {name}\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
