//! The `filesystem` source: local files and globs, JSON Lines, JSON arrays and CSV, and
//! downloads streamed from a real HTTP server on 127.0.0.1, gzipped by name or by
//! Content-Encoding.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write;
use std::path::Path;

use dltrs::filesystem::{FileResourceConfig, file_resource};
use dltrs::{DuckDb, Pipeline, Resource};
use dltrs_testkit::server::axum::Router;
use dltrs_testkit::server::axum::routing::get;
use dltrs_testkit::server::{TestServer, gzip};
use serde_json::{Value, json};

fn resource(value: Value, base: &Path) -> Resource {
    let config: FileResourceConfig =
        serde_json::from_value(value).unwrap_or_else(|e| panic!("config: {e}"));
    file_resource(&config, base).unwrap_or_else(|e| panic!("{e}"))
}

fn values(resource: Resource) -> Result<Vec<Value>, String> {
    resource
        .into_values()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| dltrs::report(e.as_ref()))
}

fn write(path: &Path, text: &str) {
    let mut file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `n` ride-like JSON lines.
fn rides(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 200);
    for i in 0..n {
        let line = json!({
            "ride_id": i, "vendor": format!("v{}", i % 7), "pickup_at": "2024-05-01T10:00:00Z",
            "fare": {"amount": (i % 100) as f64 + 0.5, "currency": "USD"},
            "stops": [{"seq": 1, "lat": 40.1}, {"seq": 2, "lat": 40.2}],
        });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

fn pipeline(dir: &Path, name: &str) -> (Pipeline, std::path::PathBuf) {
    let db = dir.join(format!("{name}.duckdb"));
    let pipeline = Pipeline::builder(name)
        .pipelines_dir(dir.join("pipelines"))
        .destination(DuckDb::new(&db))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (pipeline, db)
}

fn query_i64(db: &Path, sql: &str) -> i64 {
    let conn = duckdb::Connection::open(db).unwrap_or_else(|e| panic!("{e}"));
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn gzipped_jsonl_download_streams_into_duckdb() {
    let body = gzip(&rides(200_000));
    let by_name = body.clone();
    let router = Router::new()
        .route(
            "/rides.jsonl.gz",
            get(move || {
                let body = by_name.clone();
                async move { ([("content-type", "application/gzip")], body) }
            }),
        )
        .route(
            "/rides.jsonl",
            get(move || {
                let body = body.clone();
                async move {
                    (
                        [
                            ("content-type", "application/x-ndjson"),
                            ("content-encoding", "gzip"),
                        ],
                        body,
                    )
                }
            }),
        );
    let server = TestServer::start(router);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (mut pipeline, db) = pipeline(dir.path(), "downloads");
    let info = pipeline
        .run([
            resource(
                json!({"name": "by_name", "url": server.url("/rides.jsonl.gz")}),
                dir.path(),
            ),
            resource(
                json!({"name": "by_encoding", "url": server.url("/rides.jsonl"),
                            "file_name_column": "_file"}),
                dir.path(),
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.row_counts().get("by_name"), Some(&200_000));
    assert_eq!(info.row_counts().get("by_encoding__stops"), Some(&400_000));
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM downloads_dataset.by_encoding"),
        200_000
    );
    assert_eq!(
        query_i64(&db, "SELECT sum(ride_id) FROM downloads_dataset.by_name"),
        (0..200_000i64).sum::<i64>()
    );
    let conn = duckdb::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let file: String = conn
        .query_row(
            "SELECT DISTINCT _file FROM downloads_dataset.by_encoding",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file, server.url("/rides.jsonl"));
}

#[test]
fn local_globs_json_arrays_and_csv() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    write(&data.join("b.jsonl"), "{\"id\": 3}\n{\"id\": 4}\n");
    write(&data.join("a.jsonl"), "{\"id\": 1}\n\n{\"id\": 2}\n");
    write(&data.join("sub/c.jsonl"), "{\"id\": 5}\n");
    write(
        &data.join("list.json"),
        "[{\"id\": 10}, {\"id\": 11, \"tags\": [\"x\"]}]",
    );
    write(
        &data.join("people.csv"),
        "id,name,score,active\n1,Ann,1.5,True\n2,\"Bob, Jr.\",,False\n",
    );
    std::fs::write(data.join("zipped.jsonl.gz"), gzip(b"{\"id\": 7}\n"))
        .unwrap_or_else(|e| panic!("{e}"));

    let got = values(resource(
        json!({"name": "j", "path": "data/*.jsonl", "file_name_column": "file"}),
        dir.path(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let a = dir.path().join("data/a.jsonl").display().to_string();
    let b = dir.path().join("data/b.jsonl").display().to_string();
    assert_eq!(
        got,
        vec![
            json!({"id": 1, "file": a}),
            json!({"id": 2, "file": a}),
            json!({"id": 3, "file": b}),
            json!({"id": 4, "file": b})
        ]
    );
    let got = values(resource(
        json!({"name": "deep", "path": "data/**/*.jsonl"}),
        dir.path(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.len(), 5);
    let got = values(resource(
        json!({"name": "arr", "path": "data/list.json"}),
        dir.path(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got,
        vec![json!({"id": 10}), json!({"id": 11, "tags": ["x"]})]
    );
    let got = values(resource(
        json!({"name": "gz", "path": "data/zipped.jsonl.gz"}),
        dir.path(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, vec![json!({"id": 7})]);

    let (mut pipeline, db) = pipeline(dir.path(), "files");
    pipeline
        .run([resource(
            json!({"name": "people", "path": "data/people.csv", "primary_key": "id",
                             "write_disposition": "merge"}),
            dir.path(),
        )])
        .unwrap_or_else(|e| panic!("{e}"));
    let conn = duckdb::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = conn
        .prepare("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'files_dataset' AND table_name = 'people' ORDER BY ordinal_position")
        .unwrap_or_else(|e| panic!("{e}"));
    let columns: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap_or_else(|e| panic!("{e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    let columns: Vec<(&str, &str)> = columns
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        &columns[..4],
        [
            ("id", "BIGINT"),
            ("name", "VARCHAR"),
            ("score", "DOUBLE"),
            ("active", "BOOLEAN")
        ]
    );
    let name: String = conn
        .query_row(
            "SELECT name FROM files_dataset.people WHERE id = 2",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(name, "Bob, Jr.");
}

#[test]
fn bad_files_are_explained() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("a.jsonl"), "{\"id\": 1}\n");
    write(&dir.path().join("b.jsonl"), "{\"id\": 2}\n{\"id\": \n");
    let err = values(resource(
        json!({"name": "j", "path": "*.jsonl"}),
        dir.path(),
    ))
    .err()
    .unwrap_or_default();
    assert!(err.contains("b.jsonl, line 2"), "{err}");
    let err = values(resource(
        json!({"name": "m", "path": "missing.jsonl"}),
        dir.path(),
    ))
    .err()
    .unwrap_or_default();
    assert!(
        err.contains("cannot open") && err.contains("missing.jsonl"),
        "{err}"
    );
    let config: FileResourceConfig = serde_json::from_value(json!({"name": "t", "path": "x.txt"}))
        .unwrap_or_else(|e| panic!("{e}"));
    let err = file_resource(&config, dir.path())
        .err()
        .map(|e| dltrs::report(&e))
        .unwrap_or_default();
    assert!(err.contains("set `format`"), "{err}");
    let err = serde_json::from_value::<FileResourceConfig>(json!({"name": "t", "paht": "x"}))
        .err()
        .map(|e| dltrs::report(&e))
        .unwrap_or_default();
    assert!(err.contains("unknown field `paht`"), "{err}");
}

fn parquet_file() -> Vec<u8> {
    use std::sync::Arc;

    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{
        ArrayRef, BinaryArray, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
        StructArray, TimestampMicrosecondArray,
    };
    use arrow_schema::{DataType, Field, Fields};

    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in 0..3 {
        for t in 0..i {
            tags.values().append_value(format!("t{t}"));
        }
        tags.append(true);
    }
    let address = StructArray::new(
        Fields::from(vec![Field::new("city", DataType::Utf8, true)]),
        vec![Arc::new(StringArray::from(vec![Some("Berlin"), None, Some("Oslo")])) as ArrayRef],
        None,
    );
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "Name",
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])) as ArrayRef,
        ),
        (
            "at",
            Arc::new(
                TimestampMicrosecondArray::from(vec![0, 1_700_000_000_000_000, 86_400_000_000])
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![0, 19_000, 20_000])) as ArrayRef,
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from(vec![1050, 2, -399])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ) as ArrayRef,
        ),
        (
            "raw",
            Arc::new(BinaryArray::from(vec![b"x".as_ref(), b"yz", b""])) as ArrayRef,
        ),
        ("tags", Arc::new(tags.finish()) as ArrayRef),
        ("address", Arc::new(address) as ArrayRef),
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

#[test]
fn parquet_rows_keep_their_types_locally_and_over_http() {
    let bytes = parquet_file();
    let served = bytes.clone();
    let server = TestServer::start(Router::new().route(
        "/data.parquet",
        get(move || {
            let body = served.clone();
            async move { body }
        }),
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.parquet"), &bytes).unwrap();
    let (mut pipeline, db) = pipeline(dir.path(), "parq");
    let info = pipeline
        .run([
            resource(json!({"name": "local", "path": "*.parquet"}), dir.path()),
            resource(
                json!({"name": "remote", "url": server.url("/data.parquet"),
                            "file_name_column": "_file"}),
                dir.path(),
            ),
        ])
        .unwrap();
    assert_eq!(info.row_counts().get("local"), Some(&3));
    assert_eq!(info.row_counts().get("remote__tags"), Some(&3));
    let conn = duckdb::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'parq_dataset' AND table_name = 'remote' ORDER BY ordinal_position")
        .unwrap();
    let columns: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let columns: Vec<(&str, &str)> = columns
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "BIGINT"),
            ("name", "VARCHAR"),
            ("at", "TIMESTAMP WITH TIME ZONE"),
            ("day", "DATE"),
            ("price", "DECIMAL(38,9)"),
            ("raw", "BLOB"),
            ("_file", "VARCHAR"),
            ("address__city", "VARCHAR"),
            ("_dlt_load_id", "VARCHAR"),
            ("_dlt_id", "VARCHAR"),
        ]
    );
    let row: (duckdb::types::Value, String, f64, String) = conn
        .query_row(
            "SELECT \"at\", day::VARCHAR, price::DOUBLE, _file FROM parq_dataset.remote WHERE id = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        (
            duckdb::types::Value::Timestamp(
                duckdb::types::TimeUnit::Microsecond,
                1_700_000_000_000_000
            ),
            "2022-01-08".into(),
            0.02,
            server.url("/data.parquet")
        )
    );
    let tags: i64 = conn
        .query_row("SELECT count(*) FROM parq_dataset.local__tags t JOIN parq_dataset.local l ON t._dlt_parent_id = l._dlt_id WHERE l.id = 3", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tags, 2);
}

/// The chunks one after the other with a pause between, so the bytes before an error reach
/// the client before the connection is cut.
fn paced<T: Send + 'static>(
    chunks: Vec<T>,
) -> impl dltrs_testkit::server::futures::Stream<Item = T> + Send + 'static {
    use dltrs_testkit::server::futures::StreamExt;
    dltrs_testkit::server::futures::stream::iter(chunks).then(|chunk| async move {
        dltrs_testkit::server::tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        chunk
    })
}

#[test]
fn a_cut_download_resumes_with_a_range_request() {
    use dltrs_testkit::server::axum::body::{Body, Bytes};
    use dltrs_testkit::server::axum::http::HeaderMap;
    use dltrs_testkit::server::axum::response::Response;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let body = rides(20_000);
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    let router = Router::new().route(
        "/big.jsonl",
        get(move |headers: HeaderMap| {
            let body = body.clone();
            let seen = seen.clone();
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let total = body.len();
                let start = headers
                    .get("range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes="))
                    .and_then(|v| v.trim_end_matches('-').parse::<usize>().ok());
                let builder = Response::builder().header("accept-ranges", "bytes");
                match start {
                    None => {
                        // a third of the file, then the connection breaks
                        let part = Bytes::copy_from_slice(&body[..total / 3]);
                        let chunks: Vec<Result<Bytes, std::io::Error>> =
                            vec![Ok(part), Err(std::io::Error::other("cut"))];
                        builder
                            .header("content-length", total.to_string())
                            .body(Body::from_stream(paced(chunks)))
                            .unwrap()
                    }
                    Some(start) => {
                        // the second part is cut again; the third request finishes
                        let end = if n == 1 {
                            start + (total - start) / 2
                        } else {
                            total
                        };
                        let part = Bytes::copy_from_slice(&body[start..end]);
                        let mut chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(part)];
                        if end < total {
                            chunks.push(Err(std::io::Error::other("cut")));
                        }
                        builder
                            .status(206)
                            .header(
                                "content-range",
                                format!("bytes {start}-{}/{total}", total - 1),
                            )
                            .header("content-length", (total - start).to_string())
                            .body(Body::from_stream(paced(chunks)))
                            .unwrap()
                    }
                }
            }
        }),
    );
    let router = router.route(
        "/no_ranges.jsonl",
        get(|| async {
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"a\": 1}\n{\"a\"")),
                Err(std::io::Error::other("cut")),
            ];
            Response::builder()
                .header("content-length", "1000")
                .body(Body::from_stream(paced(chunks)))
                .unwrap()
        }),
    );
    let server = TestServer::start(router);
    let dir = tempfile::tempdir().unwrap();
    let err = values(resource(
        json!({"name": "cut", "url": server.url("/no_ranges.jsonl")}),
        dir.path(),
    ))
    .err()
    .unwrap_or_default();
    assert!(
        err.contains("no_ranges.jsonl") && err.contains("broke off after"),
        "{err}"
    );
    let got = values(resource(
        json!({"name": "big", "url": server.url("/big.jsonl")}),
        dir.path(),
    ))
    .unwrap();
    assert_eq!(got.len(), 20_000);
    assert_eq!(got[19_999]["ride_id"], 19_999);
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}
