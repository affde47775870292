//! The library API end to end, into DuckDB files in temp dirs.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

use dltrs::inspect::PackageManifest;
use dltrs::schema::Column;
use dltrs::{DataType, DuckDb, Error, PackageStatus, Pipeline, Resource, WriteDisposition};
use serde::Serialize;
use serde_json::json;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Fixture {
            root: dir.path().to_path_buf(),
            _dir: dir,
        }
    }

    fn db(&self) -> PathBuf {
        self.root.join("test.duckdb")
    }

    fn pipeline(&self) -> Pipeline {
        Pipeline::builder("p")
            .pipelines_dir(self.root.join("pipelines"))
            .destination(DuckDb::new(self.db()))
            .build()
            .unwrap()
    }

    fn strings(&self, sql: &str) -> Vec<String> {
        query(&self.db(), sql)
    }
}

fn query(db: &Path, sql: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_failed_replace_leaves_the_old_data_and_is_set_aside_until_retried() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let replace = |items: Vec<serde_json::Value>| {
        Resource::new("t", items).write_disposition(WriteDisposition::Replace)
    };
    pipeline
        .run([replace(vec![json!({"id": 1, "s": "old", "l": [1, 2]})])])
        .unwrap();
    // someone constrains the table under us: the next insert (a null `s`) must fail
    {
        let conn = duckdb::Connection::open(fx.db()).unwrap();
        conn.execute_batch("ALTER TABLE p_dataset.t ALTER s SET NOT NULL")
            .unwrap();
    }
    let err = pipeline
        .run([replace(vec![json!({"id": 2, "s": null, "l": [3]})])])
        .unwrap_err();
    // a constraint the data breaks is terminal: retrying as it is cannot succeed
    assert!(matches!(err, Error::PackageFailed { .. }), "{err}");
    assert!(dltrs::report(&err).contains("retry-package"), "{err}");
    assert_eq!(fx.strings("SELECT id::VARCHAR FROM p_dataset.t"), ["1"]);
    assert_eq!(
        fx.strings("SELECT count(*)::VARCHAR FROM p_dataset.t__l"),
        ["2"]
    );
    assert_eq!(
        fx.strings("SELECT count(*)::VARCHAR FROM p_dataset._dlt_loads"),
        ["1"]
    );
    assert!(pipeline.pending_packages().unwrap().is_empty());
    let failed = pipeline.failed_packages().unwrap();
    assert_eq!(failed.len(), 1);

    // once the table is fixed and the package put back, the next run loads it first
    {
        let conn = duckdb::Connection::open(fx.db()).unwrap();
        conn.execute_batch("ALTER TABLE p_dataset.t ALTER s DROP NOT NULL")
            .unwrap();
    }
    pipeline.retry_package(&failed[0].load_id).unwrap();
    assert_eq!(pipeline.pending_packages().unwrap().len(), 1);
    let info = pipeline.run(Vec::<Resource>::new()).unwrap();
    assert_eq!(info.packages.len(), 1);
    assert!(info.packages[0].resumed);
    assert!(info.to_string().contains("interrupted run"), "{info}");
    assert_eq!(
        fx.strings("SELECT id || coalesce(s, '-') FROM p_dataset.t"),
        ["2-"]
    );
    assert_eq!(
        fx.strings("SELECT value::VARCHAR FROM p_dataset.t__l"),
        ["3"]
    );
}

#[test]
fn steps_run_one_by_one_and_a_loaded_package_is_not_loaded_twice() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let extracted = pipeline
        .extract([Resource::new("events", (0..10).map(|i| json!({"n": i})))])
        .unwrap();
    assert_eq!(extracted.items["events"], 10);
    assert_eq!(pipeline.normalize().unwrap().len(), 1);
    let info = pipeline.load().unwrap();
    assert_eq!(info.row_counts()["events"], 10);
    assert_eq!(info.packages[0].status, PackageStatus::Loaded);
    assert!(!info.packages[0].resumed);
    assert!(pipeline.load().unwrap().packages.is_empty());
    assert_eq!(
        fx.strings("SELECT sum(n)::VARCHAR FROM p_dataset.events"),
        ["45"]
    );
    let json: serde_json::Value = serde_json::from_str(&info.to_json()).unwrap();
    assert_eq!(json["packages"][0]["row_counts"]["events"], 10);
    assert_eq!(json["destination_name"], "duckdb");
}

#[test]
fn a_failing_resource_loads_nothing_and_leaves_nothing_pending() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let items: Vec<Result<serde_json::Value, std::io::Error>> = vec![
        Ok(json!({"id": 1})),
        Err(std::io::Error::other("the API went away")),
    ];
    let err = pipeline.run([Resource::try_new("t", items)]).unwrap_err();
    let text = dltrs::report(&err);
    assert!(text.contains("resource `t` failed at item 2"), "{text}");
    assert!(text.contains("the API went away"), "{text}");
    assert!(pipeline.pending_packages().unwrap().is_empty());
    assert!(
        !fx.db().exists()
            || fx.strings(
                "SELECT count(*)::VARCHAR FROM information_schema.tables WHERE table_name = 't'"
            ) == ["0"]
    );
}

#[derive(Serialize)]
struct Order {
    order_id: u32,
    customer: Customer,
    lines: Vec<Line>,
}

#[derive(Serialize)]
struct Customer {
    name: String,
}

#[derive(Serialize)]
struct Line {
    sku: String,
    qty: u32,
}

#[test]
fn serializable_structs_become_tables_with_hints_applied() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let orders = vec![Order {
        order_id: 1,
        customer: Customer { name: "Ann".into() },
        lines: vec![
            Line {
                sku: "a".into(),
                qty: 2,
            },
            Line {
                sku: "b".into(),
                qty: 1,
            },
        ],
    }];
    let info = pipeline
        .run([Resource::new("orders", orders)
            .table_name("Shop Orders")
            .column(Column::new("note", DataType::Text))
            .max_table_nesting(0)])
        .unwrap();
    assert!(info.to_string().contains("new table shop_orders"), "{info}");
    // nesting 0: dicts and lists stay JSON columns; the declared column comes first, as
    // columns declared before data do in dlt
    assert_eq!(
        fx.strings(
            "SELECT column_name || ' ' || data_type FROM information_schema.columns \
             WHERE table_name = 'shop_orders' ORDER BY ordinal_position"
        ),
        [
            "note VARCHAR",
            "order_id BIGINT",
            "customer JSON",
            "lines JSON",
            "_dlt_load_id VARCHAR",
            "_dlt_id VARCHAR"
        ]
    );
    assert_eq!(
        fx.strings("SELECT customer::VARCHAR || lines::VARCHAR FROM p_dataset.shop_orders"),
        [r#"{"name":"Ann"}[{"sku":"a","qty":2},{"sku":"b","qty":1}]"#]
    );
}

#[test]
fn state_is_written_once_and_decodes_as_dlt_state() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    for _ in 0..2 {
        pipeline
            .run([Resource::new("t", vec![json!({"a": 1})])])
            .unwrap();
    }
    let rows = fx.strings("SELECT state FROM p_dataset._dlt_pipeline_state");
    assert_eq!(rows.len(), 1, "unchanged state is not written again");
    let state = dltrs::state::StateRow::decode(&rows[0]).unwrap();
    assert_eq!(state["pipeline_name"], "p");
    assert_eq!(state["dataset_name"], "p_dataset");
    assert_eq!(state["_state_engine_version"], 4);
    assert_eq!(state["destination_type"], "dlt.destinations.duckdb");
    let stored = fx.strings("SELECT schema FROM p_dataset._dlt_version");
    assert_eq!(stored.len(), 1);
    let schema = dltrs::Schema::from_json(&stored[0]).unwrap();
    assert!(schema.table("_dlt_pipeline_state").is_some());
    assert_eq!(schema.version_hash, pipeline.schema().unwrap().version_hash);
}

#[test]
fn data_the_normalizer_rejects_loads_nothing_and_leaves_nothing_pending() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let items = vec![json!({"id": 1}), json!({"id": null})];
    let err = pipeline
        .run([Resource::new("t", items).primary_key(["id"])])
        .unwrap_err();
    let text = dltrs::report(&err);
    // the item's position is counted once, by the normalizer, within its resource
    assert!(
        text.contains("resource `t`: table `t`, item 2: column `id` is not nullable"),
        "{text}"
    );
    assert_eq!(text.matches("item ").count(), 1, "{text}");
    assert!(text.contains("nothing of this run was loaded"), "{text}");
    assert!(pipeline.pending_packages().unwrap().is_empty());
    pipeline
        .run([Resource::new("t", vec![json!({"id": 3})]).primary_key(["id"])])
        .unwrap();
    assert_eq!(fx.strings("SELECT id::VARCHAR FROM p_dataset.t"), ["3"]);
}

#[test]
fn a_value_the_table_type_cannot_take_fails_the_load_instead_of_vanishing() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    pipeline
        .run([Resource::new("t", vec![json!({"id": 1, "s": "true"})])])
        .unwrap();
    {
        let conn = duckdb::Connection::open(fx.db()).unwrap();
        conn.execute_batch("ALTER TABLE p_dataset.t ALTER s TYPE BOOLEAN USING s::BOOLEAN")
            .unwrap();
    }
    let result = pipeline.run([Resource::new("t", vec![json!({"id": 2, "s": "new"})])]);
    let stored =
        fx.strings("SELECT id || ':' || coalesce(s::VARCHAR, 'NULL') FROM p_dataset.t ORDER BY id");
    assert!(result.is_err(), "loaded silently: {stored:?}");
    assert_eq!(stored, ["1:true"]);
}

#[test]
fn a_merge_keeps_the_first_row_of_each_key_across_many_vectors() {
    // DuckDB reads a package file a vector (2048 rows) at a time; the merge's staging must
    // keep the package's order, or a later duplicate could win
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let items = (0..30_000).map(|i| json!({"id": i % 500, "n": i, "l": [i]}));
    let resource = Resource::new("t", items)
        .write_disposition(WriteDisposition::Merge)
        .primary_key(["id"]);
    pipeline.run([resource]).unwrap();
    assert_eq!(
        fx.strings(
            "SELECT count(*)::VARCHAR || ' ' || count(*) FILTER (n = id)::VARCHAR FROM p_dataset.t"
        ),
        ["500 500"]
    );
    assert_eq!(
        fx.strings("SELECT count(*)::VARCHAR || ' ' || sum(value)::VARCHAR FROM p_dataset.t__l"),
        ["500 124750"]
    );
}

#[test]
fn a_large_append_loads_every_row_once() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let items = (0..60_000i64).map(|i| json!({"n": i, "l": [i, -i]}));
    pipeline.run([Resource::new("t", items)]).unwrap();
    assert_eq!(
        fx.strings(
            "SELECT count(*)::VARCHAR || ' ' || count(DISTINCT n)::VARCHAR || ' ' || sum(n)::VARCHAR \
             || ' ' || count(DISTINCT _dlt_id)::VARCHAR FROM p_dataset.t"
        ),
        ["60000 60000 1799970000 60000"]
    );
    assert_eq!(
        fx.strings(
            "SELECT count(*)::VARCHAR || ' ' || sum(c.value)::VARCHAR FROM p_dataset.t__l AS c \
             JOIN p_dataset.t AS r ON c._dlt_parent_id = r._dlt_id AND abs(c.value) = r.n"
        ),
        ["120000 0"]
    );
    // random row ids are not worth DuckDB's string compression
    assert_eq!(
        fx.strings(
            "SELECT DISTINCT compression FROM pragma_storage_info('p_dataset.t') \
             WHERE column_name = '_dlt_id' AND segment_type = 'VARCHAR'"
        ),
        ["Uncompressed"]
    );
}

#[test]
fn a_damaged_package_file_fails_the_load_naming_it_and_stays_pending() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    pipeline
        .extract([Resource::new("t", (0..100).map(|i| json!({"n": i})))])
        .unwrap();
    pipeline.normalize().unwrap();
    let load_id = pipeline.pending_packages().unwrap().remove(0);
    let package = pipeline.package(&load_id).unwrap().unwrap();
    let PackageManifest::Normalized(manifest) = &package.manifest else {
        panic!("{package:?}");
    };
    let table = manifest.tables.iter().find(|t| t.name == "t").unwrap();
    let dir = pipeline
        .working_dir()
        .join("packages")
        .join(package.stage.as_str())
        .join(&load_id);
    let file = dir.join(&table.files[0]);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let err = pipeline.load().unwrap_err();
    let message = dltrs::report(&err);
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert_eq!(pipeline.pending_packages().unwrap().len(), 1);
    assert!(
        fx.strings("SELECT table_name FROM information_schema.tables WHERE table_name = 't'")
            .is_empty()
    );
}

#[test]
fn a_refused_package_is_set_aside_without_advancing_the_cursor() {
    let fx = Fixture::new();
    let conn = duckdb::Connection::open(fx.db()).unwrap();
    conn.execute_batch(
        "CREATE SCHEMA p_dataset; CREATE TABLE p_dataset.t (id BIGINT CHECK (id > 0), \
         _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)",
    )
    .unwrap();
    drop(conn);
    let items = || {
        Resource::new("t", vec![json!({"id": 1}), json!({"id": -2})])
            .incremental(dltrs::Incremental::new("id"))
    };
    let mut pipeline = fx.pipeline();
    let err = pipeline.run([items()]).unwrap_err();
    assert!(matches!(err, Error::PackageFailed { .. }), "{err:?}");
    let text = dltrs::report(&err);
    assert!(text.contains("failed at table `t`"), "{text}");
    assert!(text.contains("CHECK constraint"), "{text}");
    let failed = pipeline.failed_packages().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].failure.as_ref().unwrap().table, "t");
    assert!(pipeline.pending_packages().unwrap().is_empty());
    // the cursor stayed where it was: the state of the failed package was not applied
    let state = pipeline.state().unwrap();
    let cursor = state
        .0
        .get("sources")
        .and_then(|s| s.pointer("/p/resources/t"));
    assert!(cursor.is_none(), "{:?}", state.0);

    let conn = duckdb::Connection::open(fx.db()).unwrap();
    conn.execute_batch(
        "CREATE TABLE p_dataset.t2 AS SELECT * FROM p_dataset.t; DROP TABLE p_dataset.t; \
         ALTER TABLE p_dataset.t2 RENAME TO t",
    )
    .unwrap();
    drop(conn);
    // the same items again: nothing of them was skipped
    pipeline.run([items()]).unwrap();
    let state = pipeline.state().unwrap();
    let cursor = state
        .0
        .get("sources")
        .and_then(|s| s.pointer("/p/resources/t"));
    assert!(cursor.is_some(), "{:?}", state.0);
    assert_eq!(
        fx.strings("SELECT CAST(id AS VARCHAR) FROM p_dataset.t ORDER BY id"),
        ["-2", "1"]
    );
    // a later load stored a state: retrying the old package does not move the cursor back
    let before = pipeline.state().unwrap();
    pipeline.retry_package(&failed[0].load_id).unwrap();
    assert_eq!(
        pipeline.pending_packages().unwrap(),
        [failed[0].load_id.clone()]
    );
    let stored = pipeline
        .working_dir()
        .join("packages/normalized")
        .join(&failed[0].load_id);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stored.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["pipeline_state"].is_null(), "{manifest}");
    pipeline.load().unwrap();
    assert_eq!(pipeline.state().unwrap().version(), before.version());
}

#[test]
fn two_pipeline_objects_of_one_name_run_one_at_a_time() {
    let fx = Fixture::new();
    let mut first = fx.pipeline();
    let mut second = fx.pipeline();
    // a source that runs the second pipeline while the first holds the lock
    let (tx, rx) = std::sync::mpsc::channel();
    let mut asked = false;
    let items = Resource::new(
        "t",
        std::iter::from_fn(move || {
            if !asked {
                asked = true;
                let result = second.run([Resource::new("u", vec![json!({"id": 9})])]);
                let _ = tx.send(result.map(|_| ()).map_err(|e| dltrs::report(&e)));
            }
            None::<serde_json::Value>
        }),
    );
    first.run([items]).unwrap();
    let err = rx.recv().unwrap().unwrap_err();
    assert!(err.contains("the pipeline is busy"), "{err}");
    assert!(
        err.contains(&format!("process {}", std::process::id())),
        "{err}"
    );
}

#[test]
fn an_interrupt_stops_the_extract_and_leaves_extracted_packages_pending() {
    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let interrupt = pipeline.interrupt();
    // the interrupt arrives while the resource is being read: nothing of it is kept
    let asked = interrupt.clone();
    let items = (0..1000).map(move |i| {
        if i == 10 {
            asked.interrupt();
        }
        json!({ "id": i })
    });
    let err = pipeline.run([Resource::new("t", items)]).unwrap_err();
    assert!(
        matches!(err, Error::Interrupted { step: "extract" }),
        "{err}"
    );
    assert!(pipeline.pending_packages().unwrap().is_empty());
    // an extracted package stays pending when normalize is interrupted
    interrupt.clear();
    pipeline
        .extract([Resource::new("t", (0..100).map(|i| json!({ "id": i })))])
        .unwrap();
    interrupt.interrupt();
    let err = pipeline.normalize().unwrap_err();
    assert!(
        matches!(err, Error::Interrupted { step: "normalize" }),
        "{err}"
    );
    assert_eq!(pipeline.pending_packages().unwrap().len(), 1);
    // the next run finishes it, once
    interrupt.clear();
    let info = pipeline.run(Vec::<Resource>::new()).unwrap();
    assert_eq!(info.row_counts()["t"], 100);
    assert_eq!(
        fx.strings("SELECT count(*)::TEXT FROM p_dataset.t"),
        ["100"]
    );
}

#[test]
fn items_and_arrow_batches_of_one_puller_load_into_one_table() {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType as ArrowType, Field, Schema};
    use dltrs::Pulled;

    let fx = Fixture::new();
    let mut pipeline = fx.pipeline();
    let schema = Arc::new(Schema::new(vec![Field::new("id", ArrowType::Int64, false)]));
    let batch =
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![10, 20]))]).unwrap();
    let mut step = 0;
    let resource = Resource::from_pulls("mixed", move |buf: &mut Vec<u8>| {
        step += 1;
        Ok(match step {
            1 => {
                buf.extend_from_slice(br#"{"id": 1, "at": "\uf0272024-01-01T00:00:00+01:00"}"#);
                Pulled::Item
            }
            2 => Pulled::Batch(batch.clone()),
            3 => {
                buf.extend_from_slice(br#"{"id": 2}"#);
                Pulled::ItemTo("other".into())
            }
            _ => Pulled::End,
        })
    });
    let info = pipeline.run([resource]).unwrap();
    assert_eq!(info.row_counts()["mixed"], 3);
    assert_eq!(info.row_counts()["other"], 1);
    assert_eq!(
        fx.strings("SELECT sum(id)::TEXT FROM p_dataset.mixed"),
        ["31"]
    );
    // a typed marker is a timestamp, not text
    let schema = pipeline.schema().unwrap();
    let at = &schema.tables["mixed"].columns["at"];
    assert_eq!(at.data_type, Some(DataType::Timestamp));
    assert_eq!(
        fx.strings("SELECT epoch_us(\"at\")::TEXT FROM p_dataset.mixed WHERE id = 1"),
        ["1704063600000000"]
    );
}
