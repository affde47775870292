//! `dltrs run`: declarative pipeline files with a REST API and a streamed file download,
//! served by real HTTP servers on 127.0.0.1, loaded into DuckDB.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use dltrs_testkit::server::axum::extract::Query;
use dltrs_testkit::server::axum::routing::get;
use dltrs_testkit::server::axum::{Json, Router};
use dltrs_testkit::server::{TestServer, gzip};
use serde_json::{Value, json};

fn run(dir: &Path, toml: &str, args: &[&str]) -> Output {
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, toml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .arg("run")
        .arg(&file)
        .args(args)
        .env("DLTRS_PIPELINES_DIR", dir.join("pipelines"))
        .output()
        .unwrap()
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = duckdb::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn server() -> TestServer {
    let lines: String = (0..5000)
        .map(|i| {
            format!(
                "{{\"ride_id\": {i}, \"fare\": {{\"amount\": {}.5}}}}\n",
                i % 50
            )
        })
        .collect();
    let body = gzip(lines.as_bytes());
    TestServer::start(
        Router::new()
            .route(
                "/api/rides",
                get(|Query(q): Query<HashMap<String, String>>| async move {
                    let page: i64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                    let rows: Vec<Value> = if page <= 3 {
                        ((page - 1) * 1000..page * 1000)
                            .map(|id| json!({"id": id, "page": page}))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    Json(Value::Array(rows))
                }),
            )
            .route(
                "/files/rides.jsonl.gz",
                get(move || {
                    let body = body.clone();
                    async move { body }
                }),
            ),
    )
}

#[test]
fn runs_a_rest_api_and_a_streamed_download() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[pipeline]
name = "workshop"
dataset_name = "workshop_data"
destination = "duckdb:workshop.duckdb"

[sources.taxi_api]
type = "rest_api"

[sources.taxi_api.client]
base_url = "{api}"
paginator = {{ type = "page_number", base_page = 1, page_param = "page", total_path = false }}

[sources.taxi_api.resource_defaults]
primary_key = "id"
write_disposition = "merge"

[[sources.taxi_api.resources]]
name = "rides"
endpoint = {{ path = "rides" }}

[sources.downloads]
type = "filesystem"

[[sources.downloads.resources]]
name = "ride_files"
url = "{file}"
file_name_column = "source_file"
"#,
        api = server.url("/api/"),
        file = server.url("/files/rides.jsonl.gz"),
    );
    let out = run(dir.path(), &toml, &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["pipeline_name"], "workshop", "{info}");
    let db = dir.path().join("workshop.duckdb");
    assert_eq!(
        count(&db, "SELECT count(DISTINCT id) FROM workshop_data.rides"),
        3000
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM workshop_data.ride_files"),
        5000
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM workshop_data.ride_files WHERE source_file LIKE '%rides.jsonl.gz'"
        ),
        5000
    );
    // --resource runs only the named resources
    let out = run(dir.path(), &toml, &["--resource", "ride_files", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        info["packages"][0]["row_counts"].get("rides").is_none(),
        "{info}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM workshop_data.ride_files"),
        10000
    );
    let out = run(dir.path(), &toml, &["--resource", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    // the merge keeps one row per id on a second run
    let out = run(dir.path(), &toml, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("workshop"));
    assert_eq!(count(&db, "SELECT count(*) FROM workshop_data.rides"), 3000);
    assert_eq!(
        count(&db, "SELECT count(*) FROM workshop_data.ride_files"),
        15000
    );
}

#[test]
fn unknown_keys_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let toml = r#"
[pipeline]
name = "p"

[sources.api]
type = "rest_api"

[sources.api.client]
base_url = "http://127.0.0.1:9/"

[[sources.api.resources]]
name = "a"
endpoint = { path = "a", paginator = { type = "offset", limit = 10, offest = 5 } }
"#;
    let out = run(dir.path(), toml, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `offest`"), "{err}");
    assert!(err.contains("line 13"), "{err}");
    assert!(err.contains("pipeline.toml"), "{err}");

    let toml = "[pipeline]\nname = \"p\"\ndestinaton = \"duckdb\"\n";
    let out = run(dir.path(), toml, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field `destinaton`") && err.contains("line 3"),
        "{err}"
    );

    let toml = "[pipeline]\nname = \"p\"\n[sources.f]\ntype = \"filesystem\"\n[[sources.f.resources]]\nname = \"x\"\nendpoint = \"a\"\npath = \"x.jsonl\"\n";
    let out = run(dir.path(), toml, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`endpoint` does not belong to filesystem resources"),
        "{err}"
    );
}

#[test]
fn schema_alerts_go_to_a_jsonl_file_and_a_webhook() {
    use dltrs_testkit::server::axum::routing::post;
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    let server = TestServer::start(Router::new().route(
        "/hook",
        post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.jsonl"), "{\"id\": 1}\n").unwrap();
    let toml = format!(
        r#"
[pipeline]
name = "alerts"
destination = "duckdb:alerts.duckdb"
alerts = {{ jsonl = "alerts.jsonl", webhook = "{hook}" }}

[sources.files]
type = "filesystem"

[[sources.files.resources]]
name = "things"
path = "a.jsonl"
"#,
        hook = server.url("/hook")
    );
    let out = run(dir.path(), &toml, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the same data again changes nothing: no alert
    std::fs::write(dir.path().join("a.jsonl"), "{\"id\": 2}\n").unwrap();
    assert!(run(dir.path(), &toml, &[]).status.success());
    // a new column is an alert
    std::fs::write(
        dir.path().join("a.jsonl"),
        "{\"id\": 3, \"colour\": \"red\"}\n",
    )
    .unwrap();
    assert!(run(dir.path(), &toml, &[]).status.success());
    let lines: Vec<Value> = std::fs::read_to_string(dir.path().join("alerts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["schema_changes"][0]["change"], "new_table");
    assert_eq!(lines[1]["schema_changes"][0]["column"], "colour");
    let bodies = received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let last: Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(last["alerts"][0]["pipeline_name"], "alerts");
    assert_eq!(last["alerts"][0]["schema_changes"][0]["column"], "colour");
}

#[test]
fn alert_sinks_come_from_config_files_and_the_environment() {
    use dltrs_testkit::server::axum::routing::post;
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    let server = TestServer::start(Router::new().route(
        "/env-hook",
        post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    ));
    let project = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join(".dltrs")).unwrap();
    // the project's config names a file; the global one a webhook the environment overrides
    std::fs::write(
        project.path().join(".dltrs/config.toml"),
        "[alerts]\njsonl = \"project-alerts.jsonl\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(home.path().join(".dltrs")).unwrap();
    std::fs::write(
        home.path().join(".dltrs/secrets.toml"),
        "[alerts]\nwebhook = \"http://127.0.0.1:9/never\"\n",
    )
    .unwrap();
    std::fs::write(project.path().join("a.jsonl"), "{\"id\": 1}\n").unwrap();
    std::fs::write(
        project.path().join("pipeline.toml"),
        "[pipeline]\nname = \"cfg\"\ndestination = \"duckdb:cfg.duckdb\"\n[sources.f]\ntype = \"filesystem\"\n[[sources.f.resources]]\nname = \"things\"\npath = \"a.jsonl\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .args(["run", "pipeline.toml"])
        .current_dir(project.path())
        .env("HOME", home.path())
        .env("DLTRS_PIPELINES_DIR", project.path().join("pipelines"))
        .env("ALERTS__WEBHOOK", server.url("/env-hook"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(project.path().join("project-alerts.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 1);
    assert_eq!(received.lock().unwrap().len(), 1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
