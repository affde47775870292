//! The destination test suite: every conformance case of `testdata/conformance/cases` is run
//! through the library into a fresh destination, the dataset is dumped canonically and compared
//! with what Python dlt 1.31 wrote (`expected/`); every `beyond` case is compared with the
//! documents it names. A destination runs the whole suite with one line in a test file:
//!
//! ```ignore
//! dltrs_testkit::destination_suite!(duckdb, dltrs_testkit::suite::DuckDbTarget);
//! ```
//!
//! What the destination brings is a [`SuiteTarget`]: how to make a fresh one for a case and how
//! to dump what it holds.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use dltrs::destination::Destination;
use dltrs::json::{Item, parse_str, write_item};
use dltrs::{DuckDb, Pipeline, Postgres, Resource, WriteDisposition};
use serde_json::{Value, json};

use crate::pg::{TestSchema, url};

/// The dataset name of the expectations (`dataset_name` of dlt's runs).
pub const DATASET: &str = "conformance";

/// A destination the suite loads cases into.
pub trait SuiteTarget: Sized {
    /// A fresh, empty destination for one case; `dir` is the case's own temporary directory.
    fn fresh(dir: &Path) -> Self;

    /// The destination to load into.
    fn destination(&self) -> Box<dyn Destination>;

    /// The dataset to load into.
    fn dataset(&self) -> String;

    /// The loaded dataset dumped canonically ([`crate::dump_dataset`]), named [`DATASET`].
    fn dump(&mut self) -> Value;

    /// Whether JSON columns come back with their object keys sorted (PostgreSQL's `jsonb`): the
    /// expectations are then compared in that form too.
    fn sorts_json_keys() -> bool {
        false
    }

    /// Whether the system tables are SQL tables like DuckDB's, compared with the
    /// expectation's `system`; a filesystem dataset has dlt's system files instead (tested
    /// on their own).
    fn has_sql_system_tables() -> bool {
        true
    }

    /// Whether the destination merges: the cases with a `merge` run are skipped for one that
    /// does not (plain files), which refuses them before extracting.
    fn merges() -> bool {
        true
    }
}

/// Whether a case has a run with write disposition `merge`.
fn merges(path: &Path) -> bool {
    read_json(path)["runs"]
        .as_array()
        .is_some_and(|runs| runs.iter().any(|r| r["write_disposition"] == "merge"))
}

/// A fresh local folder per case for the filesystem destination, read back into DuckDB
/// ([`crate::dump_filesystem`]): Parquet files (`FilesystemTarget<false>`, which cannot
/// merge), or Delta tables (`FilesystemTarget<true>`, [`DeltaTarget`]: their current files).
pub struct FilesystemTarget<const DELTA: bool = false> {
    root: PathBuf,
}

/// The filesystem destination with Delta tables.
pub type DeltaTarget = FilesystemTarget<true>;

impl<const DELTA: bool> SuiteTarget for FilesystemTarget<DELTA> {
    fn fresh(dir: &Path) -> Self {
        FilesystemTarget {
            root: dir.join("bucket"),
        }
    }

    #[allow(clippy::expect_used)]
    fn destination(&self) -> Box<dyn Destination> {
        let url = self.root.display().to_string();
        let files = dltrs::Filesystem::new(&url)
            .expect("a bucket folder")
            .loader_file_format(dltrs::LoaderFileFormat::Parquet);
        Box::new(match DELTA {
            true => files.table_format(dltrs::TableFormat::Delta),
            false => files,
        })
    }

    fn dataset(&self) -> String {
        DATASET.to_string()
    }

    #[allow(clippy::expect_used)]
    fn dump(&mut self) -> Value {
        crate::dump_filesystem(&self.root.join(DATASET), DATASET).expect("a dump of the dataset")
    }

    fn has_sql_system_tables() -> bool {
        false
    }

    fn merges() -> bool {
        DELTA
    }
}

/// A fresh DuckDB file per case.
pub struct DuckDbTarget {
    path: PathBuf,
}

impl SuiteTarget for DuckDbTarget {
    fn fresh(dir: &Path) -> Self {
        // named like the dataset on purpose: every name must be qualified with the catalog
        DuckDbTarget {
            path: dir.join("conformance.duckdb"),
        }
    }

    fn destination(&self) -> Box<dyn Destination> {
        Box::new(DuckDb::new(&self.path))
    }

    fn dataset(&self) -> String {
        DATASET.to_string()
    }

    #[allow(clippy::expect_used)]
    fn dump(&mut self) -> Value {
        let conn = duckdb::Connection::open(&self.path).expect("the loaded DuckDB file");
        crate::dump_dataset(&conn, DATASET).expect("a dump of the dataset")
    }
}

/// A fresh schema per case on the test PostgreSQL server ([`crate::pg`]), dumped through an
/// in-memory DuckDB copy with dlt's PostgreSQL types mapped back to DuckDB's.
pub struct PostgresTarget {
    schema: TestSchema,
}

impl SuiteTarget for PostgresTarget {
    fn fresh(_dir: &Path) -> Self {
        PostgresTarget {
            schema: TestSchema::new("conformance"),
        }
    }

    #[allow(clippy::expect_used)]
    fn destination(&self) -> Box<dyn Destination> {
        Box::new(Postgres::from_url(&url()).expect("the test server's URL"))
    }

    fn dataset(&self) -> String {
        self.schema.name.clone()
    }

    #[allow(clippy::expect_used)]
    fn dump(&mut self) -> Value {
        let name = self.schema.name.clone();
        crate::dump_postgres(&mut self.schema.client, &name, DATASET)
            .expect("a dump of the dataset")
    }

    fn sorts_json_keys() -> bool {
        true
    }
}

/// Runs the suite's tests for `target` as `#[test]`s in a module named `name`:
/// `every_case_matches_dlt`, `every_beyond_case_gets_its_documents`,
/// `a_table_that_starts_to_merge_replaces_its_grandchildren` and
/// `every_strategy_case_matches_dlt`; `without_strategies` leaves the last out, and
/// `without_merge` (a destination that cannot merge) the last two.
#[macro_export]
macro_rules! destination_suite {
    ($name:ident, $target:ty, without_strategies) => {
        mod $name {
            #[test]
            fn every_case_matches_dlt() {
                $crate::suite::every_case_matches_dlt::<$target>();
            }

            #[test]
            fn every_beyond_case_gets_its_documents() {
                $crate::suite::every_beyond_case_gets_its_documents::<$target>();
            }

            #[test]
            fn a_table_that_starts_to_merge_replaces_its_grandchildren() {
                $crate::suite::a_table_that_starts_to_merge_replaces_its_grandchildren::<$target>();
            }
        }
    };
    ($name:ident, $target:ty, without_merge) => {
        mod $name {
            #[test]
            fn every_case_matches_dlt() {
                $crate::suite::every_case_matches_dlt::<$target>();
            }

            #[test]
            fn every_beyond_case_gets_its_documents() {
                $crate::suite::every_beyond_case_gets_its_documents::<$target>();
            }
        }
    };
    ($name:ident, $target:ty) => {
        mod $name {
            #[test]
            fn every_case_matches_dlt() {
                $crate::suite::every_case_matches_dlt::<$target>();
            }

            #[test]
            fn every_beyond_case_gets_its_documents() {
                $crate::suite::every_beyond_case_gets_its_documents::<$target>();
            }

            #[test]
            fn a_table_that_starts_to_merge_replaces_its_grandchildren() {
                $crate::suite::a_table_that_starts_to_merge_replaces_its_grandchildren::<$target>();
            }

            #[test]
            fn every_strategy_case_matches_dlt() {
                $crate::suite::every_strategy_case_matches_dlt::<$target>();
            }
        }
    };
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance")
}

#[allow(clippy::panic)]
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

/// A pipeline working in `dir`, loading into `target`.
#[allow(clippy::expect_used)]
fn pipeline(dir: &Path, target: &impl SuiteTarget) -> Pipeline {
    Pipeline::builder("conformance")
        .pipelines_dir(dir.join("pipelines"))
        .dataset_name(target.dataset())
        .destination(target.destination())
        .build()
        .expect("a pipeline")
}

/// Runs a case file through a pipeline into a fresh `T` and returns the dump of its dataset.
///
/// # Panics
///
/// When the case cannot be read or a run fails: a failed case is a failed test.
#[allow(clippy::expect_used, clippy::panic)]
pub fn run_case<T: SuiteTarget>(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the case file");
    let case: Value = serde_json::from_str(&text).expect("the case's JSON");
    // items are re-serialized from our own parser so integers beyond 64 bits stay exact
    let exact = parse_str(&text).expect("the case's JSON");
    let Some(Item::Array(runs)) = field(&exact, "runs") else {
        panic!("{}: no runs", path.display())
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut target = T::fresh(dir.path());
    let mut pipeline = pipeline(dir.path(), &target);
    for (index, run) in case["runs"].as_array().expect("runs").iter().enumerate() {
        let mut lines = String::new();
        if let Some(Item::Array(items)) = field(&runs[index], "data") {
            for item in items {
                write_item(&mut lines, item);
                lines.push('\n');
            }
        }
        // `"merge"`, or `{"disposition": "merge", "strategy": "upsert"}`
        let (disposition, strategy) = match &run["write_disposition"] {
            Value::Object(spec) => (spec["disposition"].clone(), spec.get("strategy").cloned()),
            other => (other.clone(), None),
        };
        let disposition: WriteDisposition =
            serde_json::from_value(disposition).expect("a write disposition");
        let table = run["table"].as_str().expect("a table name");
        let mut resource = Resource::from_json_reader(table, "case", Cursor::new(lines))
            .write_disposition(disposition)
            .primary_key(keys(&run["primary_key"]))
            .merge_key(keys(&run["merge_key"]));
        if let Some(strategy) = strategy {
            resource = resource
                .merge_strategy(serde_json::from_value(strategy).expect("a merge strategy"));
        }
        // column hints: `{"deleted": {"hard_delete": true}, "seq": {"dedup_sort": "desc"}}`
        for (name, hints) in run["columns"].as_object().into_iter().flatten() {
            let mut column = hints.clone();
            column["name"] = json!(name);
            resource = resource.column(serde_json::from_value(column).expect("column hints"));
        }
        if let Some(levels) = case["max_table_nesting"].as_u64() {
            resource = resource.max_table_nesting(levels as u32);
        }
        pipeline
            .run([resource])
            .unwrap_or_else(|e| panic!("{}: run {index}: {e}", path.display()));
    }
    drop(pipeline);
    target.dump()
}

/// The case files of `dir` (`cases` or `beyond`), in name order.
#[allow(clippy::expect_used)]
pub fn cases(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(testdata().join(dir))
        .expect("the conformance cases")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

fn case_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The merge strategies this suite runs.
const STRATEGIES: [&str; 4] = ["delete-insert", "upsert", "insert-only", "scd2"];

/// Every case of `strategies/cases` whose strategies `T` merges with ([`STRATEGIES`]) loaded
/// into `T` is dumped exactly as dlt's (`strategies/expected/<case>.json`).
///
/// # Panics
///
/// With a report of every case that differs.
#[allow(clippy::panic)]
pub fn every_strategy_case_matches_dlt<T: SuiteTarget>() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in cases("strategies/cases") {
        let case = read_json(&path);
        let strategies: Vec<&str> = case["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                r["write_disposition"]["strategy"]
                    .as_str()
                    .unwrap_or("delete-insert")
            })
            .collect();
        if !strategies.iter().all(|s| STRATEGIES.contains(s)) {
            continue;
        }
        ran += 1;
        let name = case_name(&path);
        let mut expected = read_json(
            &testdata()
                .join("strategies/expected")
                .join(format!("{name}.json")),
        );
        let mut actual = run_case::<T>(&path);
        for dump in [&mut expected, &mut actual] {
            if let Some(dump) = dump.as_object_mut() {
                // the strategies' expectations are about the data
                dump.remove("system");
            }
        }
        if T::sorts_json_keys() {
            crate::canonical_json_columns(&mut expected);
            crate::canonical_json_columns(&mut actual);
        }
        if let Err(report) = crate::compare(&expected, &actual) {
            failures.push(format!("== {name}\n{report}"));
        }
    }
    assert!(ran >= 7, "strategy cases missing: {ran} ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every case of `cases` loaded into `T` is dumped exactly as dlt's (`expected/<case>.json`).
///
/// # Panics
///
/// With a report of every case that differs.
#[allow(clippy::panic)]
pub fn every_case_matches_dlt<T: SuiteTarget>() {
    let mut failures = Vec::new();
    let all = cases("cases");
    assert!(all.len() >= 20, "conformance cases missing");
    let all: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| T::merges() || !merges(p))
        .collect();
    assert!(
        all.len() >= 15,
        "too few cases without merge: {}",
        all.len()
    );
    for path in &all {
        let name = case_name(path);
        let mut expected = read_json(&testdata().join("expected").join(format!("{name}.json")));
        let mut actual = run_case::<T>(path);
        if !T::has_sql_system_tables() {
            for dump in [&mut expected, &mut actual] {
                if let Some(dump) = dump.as_object_mut() {
                    dump.remove("system");
                }
            }
        }
        if T::sorts_json_keys() {
            // jsonb keeps objects with sorted keys: compare JSON columns in one form
            crate::canonical_json_columns(&mut expected);
            crate::canonical_json_columns(&mut actual);
        }
        if let Err(report) = crate::compare(&expected, &actual) {
            failures.push(format!("== {name}\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What a dataset loaded from the case at `path` must dump as: dlt's dump
/// (`expected/<case>.json`) for a case of `cases`, the documents it names for a case of
/// `beyond` (then only `documents` is compared).
///
/// # Panics
///
/// When the case or its expectation cannot be read.
#[allow(clippy::panic)]
pub fn expectation(path: &Path) -> (Value, bool) {
    let name = case_name(path);
    let beyond = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "beyond");
    if !beyond {
        return (
            read_json(&testdata().join("expected").join(format!("{name}.json"))),
            false,
        );
    }
    let case = read_json(path);
    let documents = match (&case["expect_documents"], &case["expect_same_documents_as"]) {
        (Value::Object(_), _) => case["expect_documents"].clone(),
        (_, Value::String(other)) => {
            read_json(&testdata().join("expected").join(format!("{other}.json")))["documents"]
                .clone()
        }
        _ => panic!("{name}: no expected documents"),
    };
    (json!({ "documents": documents }), true)
}

/// Every case of `beyond` loaded into `T` gets the documents it expects (`expect_documents`,
/// or those of the case `expect_same_documents_as` names).
///
/// # Panics
///
/// With a report of every case that differs.
#[allow(clippy::panic)]
pub fn every_beyond_case_gets_its_documents<T: SuiteTarget>() {
    let mut failures = Vec::new();
    for path in cases("beyond")
        .into_iter()
        .filter(|p| T::merges() || !merges(p))
    {
        let name = case_name(&path);
        let (expected, _) = expectation(&path);
        let actual = run_case::<T>(&path);
        let actual = json!({ "documents": actual["documents"] });
        if let Err(report) = crate::compare(&expected, &actual) {
            failures.push(format!("== {name}\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A root table appended to and then merged: its existing child and grandchild tables get
/// `_dlt_root_id` backfilled through the parent chain, so the merge deletes the old rows of
/// every level (dlt 1.31 itself fails once a child table exists,
/// `beyond/workshop_replace_then_merge`; no case has grandchildren).
///
/// # Panics
///
/// When a run fails or a table keeps rows the merge replaced.
#[allow(clippy::expect_used, clippy::panic)]
pub fn a_table_that_starts_to_merge_replaces_its_grandchildren<T: SuiteTarget>() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut target = T::fresh(dir.path());
    let mut pipeline = pipeline(dir.path(), &target);
    let runs = [
        (
            WriteDisposition::Append,
            r#"{"id": 1, "a": [{"x": 1, "b": [{"y": 1}, {"y": 2}]}, {"x": 2, "b": [{"y": 3}]}]}"#,
        ),
        (
            WriteDisposition::Merge,
            r#"{"id": 1, "a": [{"x": 3, "b": [{"y": 4}]}]}"#,
        ),
    ];
    for (index, (disposition, line)) in runs.into_iter().enumerate() {
        let resource = Resource::from_json_reader("t", "case", Cursor::new(format!("{line}\n")))
            .write_disposition(disposition)
            .primary_key(["id"]);
        pipeline
            .run([resource])
            .unwrap_or_else(|e| panic!("run {index}: {e}"));
    }
    drop(pipeline);
    let dump = target.dump();
    for (table, rows) in [("t", 1), ("t__a", 1), ("t__a__b", 1)] {
        assert_eq!(
            dump["tables"][table]["row_count"], rows,
            "rows of {table} after the merge: {:#}",
            dump["tables"]
        );
    }
    let expected = json!({ "t": [{ "id": 1, "a": [{ "x": 3, "b": [{ "y": 4 }] }] }] });
    if let Err(report) = crate::compare(
        &json!({ "documents": expected }),
        &json!({ "documents": dump["documents"] }),
    ) {
        panic!("{report}");
    }
}
