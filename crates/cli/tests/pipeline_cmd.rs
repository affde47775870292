//! `dltrs pipeline`: listing, info, trace, schema, packages, abort and sync of a real pipeline.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

fn dltrs(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .args(args)
        .arg("--pipelines-dir")
        .arg(dir.join("pipelines"))
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn inspect_and_manage_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("orders.jsonl");
    std::fs::write(&data, "{\"id\": 1, \"items\": [{\"sku\": \"a\"}]}\n").unwrap();
    let db = format!("duckdb:{}", dir.path().join("shop.duckdb").display());
    let data_arg = data.to_str().unwrap();
    stdout(&dltrs(
        dir.path(),
        &[
            "load",
            data_arg,
            "--table",
            "orders",
            "--pipeline-name",
            "shop",
            "--destination",
            &db,
        ],
    ));

    assert_eq!(
        stdout(&dltrs(dir.path(), &["pipeline", "--list"])).trim(),
        "shop"
    );
    let info = stdout(&dltrs(dir.path(), &["pipeline", "shop", "info"]));
    assert!(info.contains(&format!("destination: {db}")), "{info}");
    assert!(info.contains("tables: orders, orders__items"), "{info}");
    assert!(
        info.contains("pending packages: none") && info.contains("last run:"),
        "{info}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&dltrs(
        dir.path(),
        &["pipeline", "shop", "info", "--json"],
    )))
    .unwrap();
    assert_eq!(json["dataset_name"], "shop_dataset");
    assert_eq!(json["last_run"]["ok"], true);

    let trace = stdout(&dltrs(dir.path(), &["pipeline", "shop", "trace"]));
    assert!(
        trace.contains("extract") && trace.contains("orders__items: 1 row(s)"),
        "{trace}"
    );
    let schema = stdout(&dltrs(dir.path(), &["pipeline", "shop", "schema"]));
    assert!(schema.contains("orders__items:"), "{schema}");
    let packages = stdout(&dltrs(dir.path(), &["pipeline", "shop", "load-package"]));
    let load_id = packages.split_whitespace().next().unwrap().to_string();
    assert!(packages.contains("loaded"), "{packages}");
    let package = stdout(&dltrs(
        dir.path(),
        &["pipeline", "shop", "load-package", &load_id],
    ));
    assert!(package.contains("orders: 1 row(s)"), "{package}");

    // a load that cannot reach its destination leaves its package pending
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let bad = format!("duckdb:{}/x.duckdb", blocker.display());
    let out = dltrs(
        dir.path(),
        &[
            "load",
            data_arg,
            "--table",
            "orders",
            "--pipeline-name",
            "shop",
            "--destination",
            &bad,
        ],
    );
    assert!(!out.status.success());
    let info = stdout(&dltrs(dir.path(), &["pipeline", "shop", "info"]));
    assert!(info.contains("pending package:"), "{info}");
    let failed = stdout(&dltrs(dir.path(), &["pipeline", "shop", "failed-jobs"]));
    assert!(
        failed.contains("last run failed") && failed.contains("is not loaded"),
        "{failed}"
    );
    let aborted = stdout(&dltrs(
        dir.path(),
        &["pipeline", "shop", "abort-packages", "-y"],
    ));
    assert!(aborted.contains("aborted package"), "{aborted}");
    assert!(
        stdout(&dltrs(dir.path(), &["pipeline", "shop", "info"]))
            .contains("pending packages: none")
    );

    // sync: the local state and schema come back from the destination
    let synced = stdout(&dltrs(
        dir.path(),
        &["pipeline", "shop", "--destination", &db, "sync", "-y"],
    ));
    assert!(synced.contains("Restored"), "{synced}");
    let out = dltrs(dir.path(), &["pipeline", "nope", "info"]);
    assert_eq!(out.status.code(), Some(2));

    // drop: a second resource goes with its child table; the first stays
    let other = dir.path().join("returns.jsonl");
    std::fs::write(&other, "{\"id\": 9, \"lines\": [{\"n\": 1}]}\n").unwrap();
    stdout(&dltrs(
        dir.path(),
        &[
            "load",
            other.to_str().unwrap(),
            "--table",
            "returns",
            "--pipeline-name",
            "shop",
            "--destination",
            &db,
        ],
    ));
    let dropped = stdout(&dltrs(
        dir.path(),
        &["pipeline", "shop", "drop", "returns", "-y"],
    ));
    assert!(
        dropped.contains("returns__lines") && dropped.contains("returns"),
        "{dropped}"
    );
    let conn = duckdb::Connection::open(dir.path().join("shop.duckdb")).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop_dataset' AND table_name NOT LIKE '_dlt%' ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tables, ["orders", "orders__items"]);
    drop(conn);
    assert!(
        stdout(&dltrs(dir.path(), &["pipeline", "shop", "info"]))
            .contains("tables: orders, orders__items")
    );
    // the destination's schema forgot the table too: a restore does not bring it back
    std::fs::remove_dir_all(dir.path().join("pipelines/shop/schemas")).unwrap();
    std::fs::remove_file(dir.path().join("pipelines/shop/state.json")).unwrap();
    let synced = stdout(&dltrs(
        dir.path(),
        &["pipeline", "shop", "--destination", &db, "sync", "-y"],
    ));
    assert!(synced.contains("Restored"), "{synced}");
    let schema = stdout(&dltrs(dir.path(), &["pipeline", "shop", "schema"]));
    assert!(
        schema.contains("orders__items:") && !schema.contains("returns"),
        "{schema}"
    );
    let out = dltrs(dir.path(), &["pipeline", "shop", "drop", "nothing", "-y"]);
    assert_eq!(out.status.code(), Some(2));
}
