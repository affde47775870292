//! The seams a binding builds on: pipelines that move between threads and run side by side,
//! each with its own progress and secrets; resources of raw JSON text whose items name their
//! tables; destinations asked what they can do before anything is extracted.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dltrs::JsonItem;
use dltrs::progress::Progress;
use dltrs::schema::MergeStrategy;
use dltrs::{DuckDb, Error, Pipeline, Resource, WriteDisposition};
use serde_json::json;

fn pipeline(root: &Path, name: &str) -> Pipeline {
    Pipeline::builder(name)
        .pipelines_dir(root.join("pipelines"))
        .destination(DuckDb::new(db(root, name)))
        .build()
        .unwrap()
}

fn db(root: &Path, name: &str) -> PathBuf {
    root.join(format!("{name}.duckdb"))
}

fn count(db: &Path, table: &str) -> i64 {
    let conn = duckdb::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .unwrap()
}

#[test]
fn pipelines_and_resources_are_send() {
    fn send<T: Send>() {}
    send::<Pipeline>();
    send::<Resource>();
    send::<dltrs::ResourceState>();
    send::<Box<dyn dltrs::destination::Destination>>();
}

#[test]
fn a_pipeline_built_on_one_thread_runs_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline(dir.path(), "moved");
    let resource = Resource::new(
        "rows",
        (0..500).map(|i| json!({"id": i, "tags": [i, i + 1]})),
    );
    let info = std::thread::spawn(move || pipeline.run([resource]))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(info.row_counts()["rows"], 500);
    assert_eq!(info.row_counts()["rows__tags"], 1000);
    let db = db(dir.path(), "moved");
    assert_eq!(count(&db, "moved_dataset.rows"), 500);
    assert_eq!(count(&db, "moved_dataset.rows__tags"), 1000);
}

/// A source failing with a message that quotes its credentials, as a careless driver would.
fn leaky(name: &str, secret: &'static str) -> Resource {
    Resource::try_new(
        name,
        [
            Ok(json!({"id": 1})),
            Err(format!("401 Unauthorized for token {secret}")),
        ],
    )
    .with_secret(secret)
}

#[test]
fn two_pipelines_at_once_count_and_mask_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &'static str, rows: u64, secret: &'static str| {
        let root = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let progress = Progress::new();
            let mut pipeline = Pipeline::builder(name)
                .pipelines_dir(root.join("pipelines"))
                .destination(DuckDb::new(db(&root, name)))
                .progress(progress.clone())
                .build()
                .unwrap();
            let items = (0..rows).map(|i| json!({"id": i, "children": [{"n": i}]}));
            let info = pipeline.run([Resource::new("items", items)]).unwrap();
            let snap = progress.snapshot();
            let err = pipeline.run([leaky("broken", secret)]).unwrap_err();
            let trace = std::fs::read_to_string(pipeline.working_dir().join("trace.json")).unwrap();
            (info, snap, dltrs::report(&err), trace, pipeline)
        })
    };
    let a = run("first", 3000, "alpha-token-1234");
    let b = run("second", 40, "beta-token-5678");
    let (a_info, a_snap, a_err, a_trace, a_pipe) = a.join().unwrap();
    let (b_info, b_snap, b_err, b_trace, b_pipe) = b.join().unwrap();

    // each run counted its own items and rows, none of the other's
    assert_eq!(a_info.row_counts()["items"], 3000);
    assert_eq!(b_info.row_counts()["items"], 40);
    assert_eq!((a_snap.items, b_snap.items), (3000, 40));
    assert_eq!(a_snap.normalized_tables.get("items"), Some(&3000));
    assert_eq!(b_snap.normalized_tables.get("items__children"), Some(&40));
    assert_eq!((a_snap.loaded_rows, b_snap.loaded_rows), (6000, 80));
    assert!(
        a_pipe.progress().same(a_pipe.progress()) && !a_pipe.progress().same(b_pipe.progress())
    );

    // each masks the secrets its resources brought, in its trace and its messages
    assert!(
        a_err.contains("alpha-token-1234"),
        "the error itself is raw: {a_err}"
    );
    assert!(!a_trace.contains("alpha-token-1234"), "{a_trace}");
    assert!(
        a_trace.contains("401 Unauthorized for token ***"),
        "{a_trace}"
    );
    assert!(!b_trace.contains("beta-token-5678"), "{b_trace}");
    assert!(
        b_trace.contains("401 Unauthorized for token ***"),
        "{b_trace}"
    );
    assert_eq!(
        a_pipe.secrets().redact(&a_err),
        a_err.replace("alpha-token-1234", "***")
    );
    assert_eq!(
        b_pipe.secrets().redact(&b_err),
        b_err.replace("beta-token-5678", "***")
    );
    assert!(!a_pipe.secrets().same(b_pipe.secrets()));
}

#[test]
fn raw_json_items_name_their_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline(dir.path(), "raw");
    // interleaved tables: each keeps files of its own
    let items = (0..25_000u64).map(|i| {
        let json = format!("{{\"id\": {i}, \"kind\": \"k{}\"}}", i % 3).into_bytes();
        Ok::<_, std::convert::Infallible>(match i % 3 {
            0 => JsonItem::new(json),
            1 => JsonItem::to_table("Cats", json),
            _ => JsonItem::to_table("dogs", json),
        })
    });
    let info = pipeline
        .run([Resource::from_json_items("animals", items)
            .write_disposition(WriteDisposition::Merge)
            .primary_key(["id"])])
        .unwrap();
    let counts = info.row_counts();
    assert_eq!(
        (counts["animals"], counts["cats"], counts["dogs"]),
        (8334, 8333, 8333)
    );
    let db = db(dir.path(), "raw");
    assert_eq!(count(&db, "raw_dataset.cats"), 8333);
    // the resource's hints apply to every table it writes: a second run merges, not appends
    let again = (0..3u64).map(|i| {
        Ok::<_, std::convert::Infallible>(JsonItem::to_table(
            "cats",
            format!("{{\"id\": {}}}", 3 * i + 1).into_bytes(),
        ))
    });
    pipeline
        .run([Resource::from_json_items("animals", again)
            .write_disposition(WriteDisposition::Merge)
            .primary_key(["id"])])
        .unwrap();
    assert_eq!(count(&db, "raw_dataset.cats"), 8333);
    let schema = pipeline.schema().unwrap();
    let cats = schema.table("cats").unwrap();
    assert_eq!(cats.write_disposition, Some(WriteDisposition::Merge));
}

#[test]
fn raw_json_bytes_are_checked_and_pretty_json_is_one_item() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline(dir.path(), "bytes");
    let docs: Vec<&[u8]> = vec![b"{\"a\": 1}", b"{\n  \"a\": 2,\n  \"b\": [1, 2]\n}\n"];
    let info = pipeline
        .run([Resource::from_json_bytes("docs", docs)])
        .unwrap();
    assert_eq!(info.row_counts()["docs"], 2);
    assert_eq!(info.row_counts()["docs__b"], 2);

    let mut pulled = 0u64;
    let bad = Resource::from_json_fn("docs", move |buf| {
        pulled += 1;
        match pulled {
            1 => buf.extend_from_slice(b"{\"a\": 3}"),
            2 => buf.extend_from_slice(b"{\"a\": 4,"),
            _ => return Ok(false),
        }
        Ok(true)
    });
    let err = pipeline.run([bad]).unwrap_err();
    assert!(
        matches!(&err, Error::Extract { resource, item: 2, .. } if resource == "docs"),
        "{err}"
    );
    assert!(dltrs::report(&err).contains("not JSON"), "{err}");
    // nothing of the failed run was loaded
    assert_eq!(count(&db(dir.path(), "bytes"), "bytes_dataset.docs"), 2);
}

#[test]
fn a_merge_the_destination_cannot_do_is_refused_before_extracting() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline(dir.path(), "caps");
    let pulled = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&pulled);
    let items = (0..10).map(move |i| {
        seen.fetch_add(1, Ordering::Relaxed);
        json!({"id": i})
    });
    let err = pipeline
        .run([Resource::new("dim", items)
            .write_disposition(WriteDisposition::Merge)
            .merge_strategy(MergeStrategy::Cdc)
            .primary_key(["id"])])
        .unwrap_err();
    let text = dltrs::report(&err);
    assert!(matches!(err, Error::Config(_)), "{text}");
    assert!(
        text.contains("cdc") && text.contains("delete-insert") && text.contains("duckdb"),
        "{text}"
    );
    assert_eq!(pulled.load(Ordering::Relaxed), 0, "no item was pulled");
    assert!(pipeline.pending_packages().unwrap().is_empty());
    let caps = pipeline.destination().capabilities();
    assert_eq!(caps.atomicity, dltrs::destination::Atomicity::Transactional);
}
