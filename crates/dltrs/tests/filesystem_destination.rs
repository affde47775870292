//! The filesystem destination end to end: every format and disposition in a local folder and
//! in moto's S3 server, dlt's layout and system files, restore from the bucket, merge refused,
//! and the errors of a bucket that cannot be written (bad credentials, no bucket, no server).
//! Files are read back by DuckDB, not by our own code.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use dltrs::{Filesystem, Incremental, LoaderFileFormat, Pipeline, Resource, WriteDisposition};
use dltrs_testkit::moto::MotoServer;
use serde_json::{Value, json};

fn items(from: u64, n: u64) -> Vec<Value> {
    (from..from + n)
        .map(|id| {
            json!({
                "id": id,
                "name": format!("n{id}"),
                "at": format!("2024-05-01T10:00:{:02}Z", id % 60),
                "meta": {"color": if id % 2 == 0 { "red" } else { "blue" }},
                "tags": [{"tag": "a"}, {"tag": "b"}],
            })
        })
        .collect()
}

fn pipeline(dir: &Path, destination: Filesystem) -> Pipeline {
    Pipeline::builder("lake")
        .pipelines_dir(dir.join("pipelines"))
        .dataset_name("lake_data")
        .destination(destination)
        .build()
        .unwrap()
}

/// Files under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for inner in files(&path) {
                out.push(format!(
                    "{}/{inner}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        } else {
            out.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

/// The files of folder `dir` in one format as a DuckDB relation of `conn`: DuckDB's readers for
/// JSON Lines and CSV; Parquet through arrow-rs into a table (`dltrs_testkit::parquet`).
fn relation(conn: &duckdb::Connection, format: LoaderFileFormat, dir: &Path) -> String {
    let glob = format!("{}/*", dir.display());
    match format {
        LoaderFileFormat::Parquet => {
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            paths.sort();
            let name = format!("t{}", rand_name());
            dltrs_testkit::parquet::parquet_table(conn, &name, &paths).unwrap();
            name
        }
        LoaderFileFormat::Jsonl => {
            format!("read_json('{glob}', format = 'newline_delimited', union_by_name = true)")
        }
        LoaderFileFormat::Csv => format!("read_csv('{glob}', header = true, union_by_name = true)"),
    }
}

fn rand_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn query_i64(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn every_format_appends_and_replaces_in_a_local_folder() {
    for format in [
        LoaderFileFormat::Parquet,
        LoaderFileFormat::Jsonl,
        LoaderFileFormat::Csv,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("bucket");
        let destination = || {
            Filesystem::new(&bucket.display().to_string())
                .unwrap()
                .loader_file_format(format)
        };
        let mut p = pipeline(dir.path(), destination());
        p.run([Resource::new("items", items(0, 100))]).unwrap();
        p.run([Resource::new("items", items(100, 50))]).unwrap();
        let data = bucket.join("lake_data");
        let ext = match format {
            LoaderFileFormat::Parquet => "parquet",
            LoaderFileFormat::Jsonl => "jsonl.gz",
            LoaderFileFormat::Csv => "csv.gz",
        };
        let root = files(&data.join("items"));
        assert_eq!(root.len(), 2, "{format}: {root:?}");
        for name in &root {
            // {load_id}.{file_id}.{ext}: dlt's default layout
            let parts: Vec<&str> = name.splitn(4, '.').collect();
            assert_eq!(parts.len(), 4, "{name}");
            assert_eq!(parts[2].len(), 10, "{name}: file_id");
            assert_eq!(parts[3], ext, "{name}");
        }
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let table = |name: &str| relation(&conn, format, &data.join(name));
        let count = |name: &str| query_i64(&conn, &format!("SELECT count(*) FROM {}", table(name)));
        assert_eq!(count("items"), 150, "{format}");
        assert_eq!(count("items__tags"), 300, "{format}");
        assert_eq!(
            query_i64(
                &conn,
                &format!(
                    "SELECT count(DISTINCT id) FROM {} WHERE meta__color = 'red'",
                    table("items")
                )
            ),
            75,
            "{format}: flattened columns"
        );
        // child rows point at their parents
        assert_eq!(
            query_i64(
                &conn,
                &format!(
                    "SELECT count(*) FROM {} t WHERE NOT EXISTS (SELECT 1 FROM {} i WHERE i._dlt_id = t._dlt_parent_id)",
                    table("items__tags"),
                    table("items")
                )
            ),
            0,
            "{format}: orphans"
        );

        // replace: the new files only, in the root and the child table
        p.run([Resource::new("items", items(500, 7)).write_disposition(WriteDisposition::Replace)])
            .unwrap();
        assert_eq!(files(&data.join("items")).len(), 1, "{format}");
        assert_eq!(files(&data.join("items__tags")).len(), 1, "{format}");
        assert_eq!(count("items"), 7, "{format}");
        assert_eq!(count("items__tags"), 14, "{format}");
        assert_eq!(
            query_i64(&conn, &format!("SELECT min(id) FROM {}", table("items"))),
            500
        );
        // three loads, three markers; the init marker as dlt 1.31 writes it
        assert_eq!(files(&data.join("_dlt_loads")).len(), 3, "{format}");
        assert_eq!(
            std::fs::read_to_string(data.join("init")).unwrap(),
            r#"{"initial_version":2,"current_version":2}"#
        );
    }
}

#[test]
fn parquet_keeps_the_types() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let destination = Filesystem::new(&bucket.display().to_string())
        .unwrap()
        .loader_file_format(LoaderFileFormat::Parquet);
    let mut p = pipeline(dir.path(), destination);
    let item = json!({"id": 1, "at": "2024-05-01T10:00:00.5Z", "price": 1.5, "ok": true, "doc": {"a": [1, 2]}});
    let resource = Resource::new("typed", vec![item]).max_table_nesting(0);
    p.run([resource]).unwrap();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let typed = relation(
        &conn,
        LoaderFileFormat::Parquet,
        &bucket.join("lake_data/typed"),
    );
    let types: Vec<(String, String)> = conn
        .prepare(&format!("DESCRIBE SELECT * FROM {typed}"))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let of = |name: &str| {
        types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    };
    assert_eq!(of("id").as_deref(), Some("BIGINT"));
    assert_eq!(of("at").as_deref(), Some("TIMESTAMP WITH TIME ZONE"));
    assert_eq!(of("price").as_deref(), Some("DOUBLE"));
    assert_eq!(of("ok").as_deref(), Some("BOOLEAN"));
    // JSON as its text
    assert_eq!(of("doc").as_deref(), Some("VARCHAR"));
    let doc: String = conn
        .query_row(&format!("SELECT doc FROM {typed}"), [], |r| r.get(0))
        .unwrap();
    assert_eq!(doc, r#"{"a":[1,2]}"#);
}

#[test]
fn merge_on_plain_files_is_refused_before_extracting() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let mut p = pipeline(
        dir.path(),
        Filesystem::new(&bucket.display().to_string()).unwrap(),
    );
    let err = p
        .run([Resource::new("items", items(0, 3))
            .write_disposition(WriteDisposition::Merge)
            .primary_key(["id"])])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot merge"), "{err}");
    assert!(err.contains("append or replace"), "{err}");
    assert!(err.contains("nothing was extracted"), "{err}");
    assert!(!bucket.exists(), "nothing may be written");
}

#[test]
fn system_files_have_dlts_names_and_contents() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let mut p = pipeline(
        dir.path(),
        Filesystem::new(&bucket.display().to_string()).unwrap(),
    );
    let info = p
        .run([Resource::new("items", items(0, 3)).incremental(Incremental::new("id"))])
        .unwrap();
    let load_id = info.packages[0].load_id.clone();
    let data = bucket.join("lake_data");
    let loads = files(&data.join("_dlt_loads"));
    assert_eq!(loads, [format!("lake__{load_id}.jsonl")]);
    let marker: Value =
        serde_json::from_slice(&std::fs::read(data.join("_dlt_loads").join(&loads[0])).unwrap())
            .unwrap();
    let keys: Vec<&str> = marker
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "load_id",
            "schema_name",
            "status",
            "inserted_at",
            "schema_version_hash"
        ]
    );
    assert_eq!(marker["status"], 0);

    let versions = files(&data.join("_dlt_version"));
    assert_eq!(versions.len(), 1, "{versions:?}");
    let parts: Vec<&str> = versions[0].trim_end_matches(".jsonl").split("__").collect();
    assert_eq!(parts[0], "lake");
    assert_eq!(parts[2].len(), 64, "sha3-256 in hex: {}", versions[0]);
    let version: Value = serde_json::from_slice(
        &std::fs::read(data.join("_dlt_version").join(&versions[0])).unwrap(),
    )
    .unwrap();
    let keys: Vec<&str> = version
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "version_hash",
            "schema_name",
            "version",
            "engine_version",
            "inserted_at",
            "schema"
        ]
    );
    assert!(version["schema"].as_str().unwrap().contains("\"items\""));

    let states = files(&data.join("_dlt_pipeline_state"));
    assert_eq!(states.len(), 1);
    assert!(
        states[0].starts_with(&format!("lake__{load_id}__")),
        "{states:?}"
    );
    let state: Value = serde_json::from_slice(
        &std::fs::read(data.join("_dlt_pipeline_state").join(&states[0])).unwrap(),
    )
    .unwrap();
    let keys: Vec<&str> = state
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "version",
            "engine_version",
            "pipeline_name",
            "state",
            "created_at",
            "version_hash",
            "_dlt_load_id"
        ]
    );
    let decoded = dltrs::state::StateRow::decode(state["state"].as_str().unwrap()).unwrap();
    assert_eq!(decoded["destination_type"], "dlt.destinations.filesystem");

    // a second run with an unchanged schema writes no second schema file
    p.run([Resource::new("items", items(3, 3)).incremental(Incremental::new("id"))])
        .unwrap();
    assert_eq!(files(&data.join("_dlt_version")).len(), 1);
    assert_eq!(files(&data.join("_dlt_loads")).len(), 2);
}

/// Runs an incremental resource into `destination`, deletes the working directory, runs again
/// with more items: the state comes back from the bucket, so only the new items are loaded.
fn restores_from(dir: &Path, destination: impl Fn() -> Filesystem) -> Vec<u64> {
    let run = |from: u64, n: u64| {
        let mut p = pipeline(dir, destination());
        let info = p
            .run([Resource::new("items", items(from, n)).incremental(Incremental::new("id"))])
            .unwrap();
        info.row_counts().get("items").copied().unwrap_or(0)
    };
    let first = run(0, 10);
    std::fs::remove_dir_all(dir.join("pipelines")).unwrap();
    // items 0..15: ten loaded before, five new
    let second = run(0, 15);
    vec![first, second]
}

#[test]
fn state_and_schema_are_restored_from_a_local_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let loaded = restores_from(dir.path(), || {
        Filesystem::new(&bucket.display().to_string()).unwrap()
    });
    assert_eq!(loaded, [10, 5]);
}

// ---- S3 (moto) ----

fn s3(server: &MotoServer, bucket: &str) -> Filesystem {
    Filesystem::new(&format!("s3://{bucket}/some/prefix"))
        .unwrap()
        .credentials(server.credentials())
}

#[test]
fn every_format_and_disposition_on_s3() {
    let server = MotoServer::start();
    for format in [
        LoaderFileFormat::Parquet,
        LoaderFileFormat::Jsonl,
        LoaderFileFormat::Csv,
    ] {
        let bucket = format!("lake-{}", format.as_str());
        server.create_bucket(&bucket);
        let dir = tempfile::tempdir().unwrap();
        let destination = || s3(&server, &bucket).loader_file_format(format);
        let mut p = pipeline(dir.path(), destination());
        p.run([Resource::new("items", items(0, 40))]).unwrap();
        p.run([Resource::new("items", items(40, 10))]).unwrap();
        let keys = server.list(&bucket, "some/prefix/lake_data/items/");
        assert_eq!(keys.len(), 2, "{format}: {keys:?}");
        let rows = |table: &str| -> i64 {
            let keys = server.list(&bucket, &format!("some/prefix/lake_data/{table}/"));
            let local = tempfile::tempdir().unwrap();
            for (i, key) in keys.iter().enumerate() {
                let name = key.rsplit('/').next().unwrap();
                std::fs::write(
                    local.path().join(format!("{i}.{name}")),
                    server.get(&bucket, key),
                )
                .unwrap();
            }
            let conn = duckdb::Connection::open_in_memory().unwrap();
            let rows = relation(&conn, format, local.path());
            query_i64(&conn, &format!("SELECT count(*) FROM {rows}"))
        };
        assert_eq!(rows("items"), 50, "{format}");
        assert_eq!(rows("items__tags"), 100, "{format}");
        p.run([Resource::new("items", items(90, 4)).write_disposition(WriteDisposition::Replace)])
            .unwrap();
        assert_eq!(rows("items"), 4, "{format}");
        assert_eq!(rows("items__tags"), 8, "{format}");
        assert_eq!(
            server
                .list(&bucket, "some/prefix/lake_data/_dlt_loads/")
                .len(),
            3
        );
        assert_eq!(
            server.get(&bucket, "some/prefix/lake_data/init"),
            br#"{"initial_version":2,"current_version":2}"#
        );
    }
}

#[test]
fn a_large_file_goes_up_in_parts_on_s3() {
    let server = MotoServer::start();
    server.create_bucket("big");
    let dir = tempfile::tempdir().unwrap();
    // incompressible text: well over one 8 MiB part per file
    let rows: Vec<Value> = (0..60_000u64)
        .map(|i| {
            let part = format!(
                "{:x}{:x}{:x}",
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                i.wrapping_mul(0xc2b2_ae3d_27d4_eb4f),
                i ^ 0x5555_5555_5555
            );
            json!({"id": i, "blob": part.repeat(5)})
        })
        .collect();
    let mut p = pipeline(
        dir.path(),
        s3(&server, "big")
            .loader_file_format(LoaderFileFormat::Jsonl)
            .compression(false),
    );
    p.run([Resource::new("blobs", rows)]).unwrap();
    let keys = server.list("big", "some/prefix/lake_data/blobs/");
    let largest = keys
        .iter()
        .map(|k| server.get("big", k).len())
        .max()
        .unwrap_or(0);
    assert!(
        largest > 8 << 20,
        "{largest} bytes: not enough for a multipart upload"
    );
    let text: String = keys
        .iter()
        .map(|k| String::from_utf8(server.get("big", k)).unwrap())
        .collect();
    assert_eq!(text.lines().count(), 60_000);
}

#[test]
fn state_and_schema_are_restored_from_s3() {
    let server = MotoServer::start();
    server.create_bucket("restore");
    let dir = tempfile::tempdir().unwrap();
    let loaded = restores_from(dir.path(), || s3(&server, "restore"));
    assert_eq!(loaded, [10, 5]);
}

fn run_error(destination: Filesystem) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pipeline(dir.path(), destination);
    dltrs::report(&p.run([Resource::new("items", items(0, 3))]).unwrap_err())
}

#[test]
fn a_missing_bucket_bad_credentials_and_no_server_are_clear_errors_without_secrets() {
    let server = MotoServer::start();
    let missing = run_error(s3(&server, "no-such-bucket"));
    assert!(missing.contains("no-such-bucket"), "{missing}");
    assert!(
        missing.contains("NoSuchBucket") || missing.contains("does not exist"),
        "{missing}"
    );

    // a server that checks credentials: ours are unknown to it
    let strict = MotoServer::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "1")]);
    strict.create_bucket("strict");
    let denied = run_error(s3(&strict, "strict"));
    assert!(
        denied.contains("403")
            || denied.contains("InvalidAccessKeyId")
            || denied.contains("denied"),
        "{denied}"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut credentials = server.credentials();
    credentials.endpoint_url = Some(format!("http://127.0.0.1:{port}"));
    let refused = run_error(
        Filesystem::new("s3://any/where")
            .unwrap()
            .credentials(credentials),
    );
    assert!(refused.contains(&format!("127.0.0.1:{port}")), "{refused}");

    for message in [&missing, &denied, &refused] {
        assert!(!message.contains("moto-secret-do-not-print"), "{message}");
    }
}

// ---- Delta tables ----

fn delta(bucket: &Path) -> Filesystem {
    Filesystem::new(&bucket.display().to_string())
        .unwrap()
        .table_format(dltrs::TableFormat::Delta)
}

/// The log entries of a Delta table folder, oldest first, each a list of actions.
fn delta_log(table: &Path) -> Vec<Vec<Value>> {
    let mut names: Vec<String> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| {
            std::fs::read_to_string(table.join("_delta_log").join(n))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
        .collect()
}

/// The rows of a Delta table by replaying its log (adds minus removes), read through arrow-rs.
fn delta_rows(table: &Path) -> i64 {
    let mut files: Vec<String> = Vec::new();
    for entry in delta_log(table) {
        for action in entry {
            if let Some(path) = action["add"]["path"].as_str() {
                files.push(path.to_string());
            }
            if let Some(path) = action["remove"]["path"].as_str() {
                files.retain(|f| f != path);
            }
        }
    }
    if files.is_empty() {
        return 0;
    }
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let paths: Vec<_> = files.iter().map(|f| table.join(f)).collect();
    dltrs_testkit::parquet::parquet_table(&conn, "t", &paths).unwrap();
    query_i64(&conn, "SELECT count(*) FROM t")
}

#[test]
fn delta_tables_append_replace_and_merge_in_one_commit_per_table() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let mut p = pipeline(dir.path(), delta(&bucket));
    p.run([Resource::new("items", items(0, 20))]).unwrap();
    p.run([Resource::new("items", items(20, 5))]).unwrap();
    let table = bucket.join("lake_data/items");
    let children = bucket.join("lake_data/items__tags");
    assert_eq!(delta_rows(&table), 25);
    assert_eq!(delta_rows(&children), 50);
    let log = delta_log(&table);
    assert_eq!(log.len(), 2);
    assert!(log[0].iter().any(|a| a.get("protocol").is_some()));
    assert!(log[0].iter().any(|a| a.get("metaData").is_some()));

    // merge: ids 10..30 arrive again; 10..25 are replaced (their tags too), 25..30 are new
    let merge = || {
        Resource::new("items", items(10, 20))
            .write_disposition(WriteDisposition::Merge)
            .primary_key(["id"])
    };
    p.run([merge()]).unwrap();
    assert_eq!(delta_rows(&table), 30);
    assert_eq!(delta_rows(&children), 60);
    assert_eq!(delta_log(&table).len(), 3, "one commit per table");
    // the same again changes nothing
    p.run([merge()]).unwrap();
    assert_eq!(delta_rows(&table), 30);
    assert_eq!(delta_rows(&children), 60);

    p.run([Resource::new("items", items(100, 3)).write_disposition(WriteDisposition::Replace)])
        .unwrap();
    assert_eq!(delta_rows(&table), 3);
    assert_eq!(delta_rows(&children), 6);
    let last = delta_log(&table).pop().unwrap();
    assert!(
        last.iter().any(|a| a.get("remove").is_some())
            && last.iter().any(|a| a.get("add").is_some())
    );
}

#[test]
fn two_loaders_committing_to_one_delta_table_lose_no_commit() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    std::thread::scope(|scope| {
        for worker in 0..4u64 {
            let bucket = &bucket;
            let root = dir.path().join(format!("w{worker}"));
            scope.spawn(move || {
                // pipelines of their own, one dataset
                let mut p = Pipeline::builder(format!("lake{worker}"))
                    .pipelines_dir(root.join("pipelines"))
                    .dataset_name("lake_data")
                    .destination(delta(bucket))
                    .build()
                    .unwrap();
                for round in 0..3 {
                    p.run([Resource::new(
                        "items",
                        items(worker * 1000 + round * 10, 10),
                    )])
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(delta_rows(&bucket.join("lake_data/items")), 120);
    assert_eq!(delta_rows(&bucket.join("lake_data/items__tags")), 240);
}

#[test]
fn a_resources_table_format_makes_its_tables_delta_tables_beside_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let files = || Filesystem::new(&bucket.display().to_string()).unwrap();
    let mut p = pipeline(dir.path(), files());
    let merged = |from: u64, n: u64| {
        Resource::new("dims", items(from, n))
            .table_format("delta")
            .write_disposition(WriteDisposition::Merge)
            .primary_key(["id"])
    };
    p.run([merged(0, 10), Resource::new("events", items(0, 4))])
        .unwrap();
    p.run([merged(5, 10)]).unwrap();
    let data = bucket.join("lake_data");
    assert_eq!(delta_rows(&data.join("dims")), 15);
    assert_eq!(delta_rows(&data.join("dims__tags")), 30);
    assert!(!data.join("events/_delta_log").exists());
    assert_eq!(files_in(&data.join("events")), 1);
    // the hint is dlt's table key in the stored schema
    let schema = dltrs_testkit::stored_schema(&data).unwrap();
    assert_eq!(schema.table("dims").unwrap().other["table_format"], "delta");
    // a plain resource still cannot merge
    let err = p
        .run([Resource::new("events", items(0, 1))
            .write_disposition(WriteDisposition::Merge)
            .primary_key(["id"])])
        .unwrap_err()
        .to_string();
    assert!(err.contains("table_format"), "{err}");
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}
