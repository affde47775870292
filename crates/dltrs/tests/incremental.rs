//! Incremental loading end to end: a REST API asked only for what changed and merged, boundary
//! deduplication, bounded state, restore from the destination, new files only.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dltrs::filesystem::{FileResourceConfig, file_resource};
use dltrs::rest_api::{RestApiConfig, rest_api_resources};
use dltrs::state::StateRow;
use dltrs::{DuckDb, Incremental, Pipeline, Resource, WriteDisposition};
use dltrs_testkit::server::TestServer;
use dltrs_testkit::server::axum::extract::{Query, State};
use dltrs_testkit::server::axum::routing::get;
use dltrs_testkit::server::axum::{Json, Router};
use serde_json::{Value, json};

fn pipeline(dir: &Path, name: &str, db: &Path) -> Pipeline {
    Pipeline::builder(name)
        .pipelines_dir(dir.join("pipelines"))
        .destination(DuckDb::new(db))
        .build()
        .unwrap()
}

fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn ts(second: u32) -> String {
    format!("2024-05-01T10:{:02}:{:02}Z", second / 60, second % 60)
}

#[derive(Default)]
struct Api {
    records: Vec<Value>,
    since_seen: Vec<String>,
}

type Shared = Arc<Mutex<Api>>;

/// `/records?since=..&page=..`: records with `updated_at >= since`, oldest first, 10 a page.
fn api_router(api: Shared) -> Router {
    Router::new()
        .route(
            "/records",
            get(
                |State(api): State<Shared>, Query(q): Query<HashMap<String, String>>| async move {
                    let mut api = api.lock().unwrap();
                    let since = q.get("since").cloned().unwrap_or_default();
                    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                    if page == 1 {
                        api.since_seen.push(since.clone());
                    }
                    let mut matching: Vec<Value> = api
                        .records
                        .iter()
                        .filter(|r| r["updated_at"].as_str().unwrap_or_default() >= since.as_str())
                        .cloned()
                        .collect();
                    matching
                        .sort_by_key(|r| r["updated_at"].as_str().unwrap_or_default().to_string());
                    let start = (page - 1) * 10;
                    Json(Value::Array(
                        matching.into_iter().skip(start).take(10).collect(),
                    ))
                },
            ),
        )
        .with_state(api)
}

fn rest_config(server: &TestServer, incremental: bool) -> RestApiConfig {
    let params = if incremental {
        json!({"since": {"type": "incremental", "cursor_path": "updated_at", "initial_value": ts(0)}})
    } else {
        json!({})
    };
    serde_json::from_value(json!({
        "client": {"base_url": server.url("/"),
                   "paginator": {"type": "page_number", "base_page": 1, "total_path": false}},
        "resource_defaults": {"primary_key": "id",
                              "write_disposition": if incremental { "merge" } else { "replace" }},
        "resources": [{"name": "records", "endpoint": {"path": "records", "params": params}}],
    }))
    .unwrap()
}

#[test]
fn rest_api_asks_only_for_changes_and_merges_them_into_a_full_reload() {
    let api: Shared = Arc::default();
    api.lock().unwrap().records = (1..=25)
        .map(|i| json!({"id": i, "name": format!("r{i}"), "updated_at": ts(i)}))
        .collect();
    let server = TestServer::start(api_router(api.clone()));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inc.duckdb");
    let mut p = pipeline(dir.path(), "inc", &db);

    let info = p
        .run(rest_api_resources(&rest_config(&server, true)).unwrap())
        .unwrap();
    assert_eq!(info.row_counts().get("records"), Some(&25));
    assert_eq!(api.lock().unwrap().since_seen, [ts(0)]);

    {
        let mut api = api.lock().unwrap();
        api.records[4]["name"] = json!("changed");
        api.records[4]["updated_at"] = json!(ts(40));
        for i in 26..=28 {
            api.records
                .push(json!({"id": i, "name": format!("r{i}"), "updated_at": ts(i + 20)}));
        }
    }
    let info = p
        .run(rest_api_resources(&rest_config(&server, true)).unwrap())
        .unwrap();
    // the request asked only for records from the last cursor on
    assert_eq!(api.lock().unwrap().since_seen, [ts(0), ts(25)]);
    // record 25 sits on the boundary and is not loaded again; the change and the new ones are
    assert_eq!(info.row_counts().get("records"), Some(&4));

    let full_db = dir.path().join("full.duckdb");
    let mut full = pipeline(dir.path(), "full", &full_db);
    full.run(rest_api_resources(&rest_config(&server, false)).unwrap())
        .unwrap();
    let sql = |dataset: &str| {
        format!(
            "SELECT id || '|' || name || '|' || strftime(updated_at::TIMESTAMP, '%H:%M:%S') FROM {dataset}.records ORDER BY id"
        )
    };
    let incremental = rows(&db, &sql("inc_dataset"));
    assert_eq!(incremental.len(), 28);
    assert!(
        incremental.contains(&"5|changed|10:00:40".to_string()),
        "{incremental:?}"
    );
    assert_eq!(incremental, rows(&full_db, &sql("full_dataset")));
}

fn events(ids: std::ops::RangeInclusive<i64>, ts_of: impl Fn(i64) -> i64) -> Vec<Value> {
    ids.map(|id| json!({"id": id, "ts": ts_of(id)})).collect()
}

#[test]
fn boundary_items_are_loaded_once_and_new_ones_on_the_boundary_are_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.duckdb");
    let mut p = pipeline(dir.path(), "b", &db);
    let resource = |items: Vec<Value>| {
        Resource::new("events", items)
            .primary_key(["id"])
            .incremental(Incremental::new("ts"))
    };
    // ids 1..=6 with ts 1,1,2,2,3,3
    p.run([resource(events(1..=6, |id| (id + 1) / 2))]).unwrap();
    // the source sends everything again plus id 7 on the last ts and id 8 later
    let mut again = events(1..=6, |id| (id + 1) / 2);
    again.push(json!({"id": 7, "ts": 3}));
    again.push(json!({"id": 8, "ts": 4}));
    let info = p.run([resource(again)]).unwrap();
    assert_eq!(info.row_counts().get("events"), Some(&2));
    let ids = rows(&db, "SELECT id::VARCHAR FROM b_dataset.events ORDER BY id");
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7", "8"]);
    // without a primary key the row hash identifies a boundary item
    let mut p = pipeline(dir.path(), "h", &db);
    let plain =
        |items: Vec<Value>| Resource::new("plain", items).incremental(Incremental::new("ts"));
    p.run([plain(vec![
        json!({"v": "a", "ts": 1}),
        json!({"v": "b", "ts": 1}),
    ])])
    .unwrap();
    let info = p
        .run([plain(vec![
            json!({"v": "a", "ts": 1}),
            json!({"v": "b", "ts": 1}),
            json!({"v": "c", "ts": 1}),
        ])])
        .unwrap();
    assert_eq!(info.row_counts().get("plain"), Some(&1));
}

fn stored_incremental(p: &Pipeline, resource: &str) -> Value {
    let state = p.state().unwrap();
    state.0["sources"][p.schema_name()]["resources"][resource]["incremental"].clone()
}

#[test]
fn state_stays_small_whatever_the_volume() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.duckdb");
    let mut p = pipeline(dir.path(), "s", &db);
    // 100k items, 100 per cursor value
    let make = |from: i64| {
        Resource::new(
            "many",
            (from..from + 100_000).map(|id| json!({"id": id, "ts": id / 100})),
        )
        .primary_key(["id"])
        .incremental(Incremental::new("ts"))
    };
    p.run([make(0)]).unwrap();
    let first = stored_incremental(&p, "many");
    assert_eq!(first["ts"]["last_value"], json!(999));
    assert_eq!(
        first["ts"]["unique_hashes"].as_array().map(Vec::len),
        Some(100)
    );
    let size = serde_json::to_string(&p.state().unwrap()).unwrap().len();
    assert!(size < 5_000, "state is {size} bytes");
    let info = p.run([make(100_000)]).unwrap();
    assert_eq!(info.row_counts().get("many"), Some(&100_000));
    let second = serde_json::to_string(&p.state().unwrap()).unwrap().len();
    assert!(
        second < 5_000 && second.abs_diff(size) < 200,
        "state grew from {size} to {second}"
    );
    // the state row in the destination decodes to dlt's layout
    let encoded = rows(
        &db,
        "SELECT state FROM s_dataset._dlt_pipeline_state ORDER BY version DESC LIMIT 1",
    );
    let doc = StateRow::decode(&encoded[0]).unwrap();
    assert_eq!(
        doc["sources"]["s"]["resources"]["many"]["incremental"]["ts"]["last_value"],
        json!(1999)
    );
    assert_eq!(doc["pipeline_name"], json!("s"));
}

#[test]
fn a_wiped_working_directory_is_restored_from_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.duckdb");
    let resource = |to: i64| {
        Resource::new("events", events(1..=to, |id| id))
            .primary_key(["id"])
            .incremental(Incremental::new("ts"))
    };
    let mut p = pipeline(dir.path(), "r", &db);
    let info = p.run([resource(10)]).unwrap();
    assert!(info.restored.is_none());
    drop(p);
    std::fs::remove_dir_all(dir.path().join("pipelines")).unwrap();

    let mut p = pipeline(dir.path(), "r", &db);
    let info = p.run([resource(15)]).unwrap();
    let restored = info.restored.clone().unwrap_or_default();
    assert!(
        restored.contains("state version") && restored.contains("schema"),
        "{restored}"
    );
    assert!(info.to_string().contains("Restored"), "{info}");
    assert_eq!(info.row_counts().get("events"), Some(&5));
    assert_eq!(
        rows(&db, "SELECT count(*)::VARCHAR FROM r_dataset.events"),
        ["15"]
    );
}

#[test]
fn only_new_or_modified_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let write = |name: &str, ids: &[i64]| {
        let text: String = ids.iter().map(|id| format!("{{\"id\": {id}}}\n")).collect();
        std::fs::write(data.join(name), text).unwrap();
    };
    write("a.jsonl", &[1, 2]);
    write("b.jsonl", &[3]);
    let config: FileResourceConfig = serde_json::from_value(json!({
        "name": "files", "path": "data/*.jsonl", "new_files_only": true,
    }))
    .unwrap();
    let db = dir.path().join("f.duckdb");
    let mut p = pipeline(dir.path(), "f", &db);
    let info = p
        .run([file_resource(&config, dir.path()).unwrap()])
        .unwrap();
    assert_eq!(info.row_counts().get("files"), Some(&3));
    let info = p
        .run([file_resource(&config, dir.path()).unwrap()])
        .unwrap();
    assert_eq!(info.row_counts().get("files"), None);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write("c.jsonl", &[4]);
    write("a.jsonl", &[1, 2, 5]);
    let info = p
        .run([file_resource(&config, dir.path()).unwrap()])
        .unwrap();
    assert_eq!(info.row_counts().get("files"), Some(&4));
    assert_eq!(
        rows(&db, "SELECT count(*)::VARCHAR FROM f_dataset.files"),
        ["7"]
    );
    let _ = WriteDisposition::Append;
}

#[test]
fn endpoint_incremental_and_placeholders_send_the_start() {
    let api: Shared = Arc::default();
    api.lock().unwrap().records = (1..=25)
        .map(|i| json!({"id": i, "updated_at": ts(i)}))
        .collect();
    let server = TestServer::start(api_router(api.clone()));
    let config = |endpoint: Value| -> RestApiConfig {
        serde_json::from_value(json!({
            "client": {"base_url": server.url("/"),
                       "paginator": {"type": "page_number", "base_page": 1, "total_path": false}},
            "resources": [{"name": "records", "primary_key": "id", "endpoint": endpoint}],
        }))
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.duckdb");
    let mut p = pipeline(dir.path(), "e", &db);
    let by_param = config(json!({"path": "records", "incremental": {
        "start_param": "since", "cursor_path": "updated_at", "initial_value": ts(20)}}));
    let info = p.run(rest_api_resources(&by_param).unwrap()).unwrap();
    assert_eq!(info.row_counts().get("records"), Some(&6));
    let mut p = pipeline(dir.path(), "e2", &db);
    let by_placeholder = config(
        json!({"path": "records", "params": {"since": "{incremental.start_value}"},
        "incremental": {"cursor_path": "updated_at", "initial_value": ts(22)}}),
    );
    let info = p.run(rest_api_resources(&by_placeholder).unwrap()).unwrap();
    assert_eq!(info.row_counts().get("records"), Some(&4));
    assert_eq!(api.lock().unwrap().since_seen, [ts(20), ts(22)]);
}

#[test]
fn children_of_an_incremental_parent_follow_only_its_new_records() {
    let api: Shared = Arc::default();
    api.lock().unwrap().records = (1..=3)
        .map(|i| json!({"id": i, "updated_at": ts(i)}))
        .collect();
    let comment_calls = Arc::new(Mutex::new(Vec::<i64>::new()));
    let calls = comment_calls.clone();
    let router = api_router(api.clone()).route(
        "/records/{id}/comments",
        get(move |dltrs_testkit::server::axum::extract::Path(id): dltrs_testkit::server::axum::extract::Path<i64>| {
            let calls = calls.clone();
            async move {
                calls.lock().unwrap().push(id);
                Json(json!([{"comment_id": id * 10}]))
            }
        }),
    );
    let server = TestServer::start(router);
    let config: RestApiConfig = serde_json::from_value(json!({
        "client": {"base_url": server.url("/"),
                   "paginator": {"type": "page_number", "base_page": 1, "total_path": false}},
        "resources": [
            {"name": "records", "primary_key": "id", "write_disposition": "merge",
             "endpoint": {"path": "records", "params": {"since": {"type": "incremental",
                 "cursor_path": "updated_at", "initial_value": ts(0)}}}},
            {"name": "comments", "endpoint": {"path": "records/{resources.records.id}/comments",
                 "paginator": "single_page"}},
        ],
    }))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.duckdb");
    let mut p = pipeline(dir.path(), "c", &db);
    p.run(rest_api_resources(&config).unwrap()).unwrap();
    assert_eq!(*comment_calls.lock().unwrap(), [1, 2, 3]);
    api.lock()
        .unwrap()
        .records
        .push(json!({"id": 4, "updated_at": ts(9)}));
    let info = p.run(rest_api_resources(&config).unwrap()).unwrap();
    // record 3 came back on the boundary and was skipped: its comments are not fetched again
    assert_eq!(*comment_calls.lock().unwrap(), [1, 2, 3, 4]);
    assert_eq!(info.row_counts().get("comments"), Some(&1));
}

#[test]
fn a_missing_primary_key_on_the_boundary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.duckdb");
    let mut p = pipeline(dir.path(), "k", &db);
    let err = p
        .run([Resource::new("events", vec![json!({"ts": 1, "other": 2})])
            .primary_key(["id"])
            .incremental(Incremental::new("ts"))])
        .err()
        .map(|e| dltrs::report(&e))
        .unwrap_or_default();
    assert!(err.contains("no value in primary key column `id`"), "{err}");
}
