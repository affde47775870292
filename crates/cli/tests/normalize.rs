//! `dltrs normalize`: the tables, rows and schema a JSON input gives, without loading it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Command, Output};

fn dltrs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn normalize_prints_tables_rows_and_exports_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("orders.json");
    // one top-level array: the same reader as `dltrs load`, not a line loop of its own
    std::fs::write(
        &data,
        "[{\"id\": 1, \"items\": [{\"sku\": \"a\"}, {\"sku\": \"b\"}]},\n {\"id\": 2, \"items\": []}]",
    )
    .unwrap();
    let schema = dir.path().join("schema.yaml");
    let out = dltrs(&[
        "normalize",
        data.to_str().unwrap(),
        "--table",
        "Orders",
        "--primary-key",
        "id",
        "--export-schema",
        schema.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("normalized 2 items of"), "{text}");
    assert!(text.contains("  orders: 2 rows"), "{text}");
    assert!(text.contains("  orders__items: 2 rows"), "{text}");
    let exported = dltrs::Schema::from_yaml(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    let id = &exported.table("orders").unwrap().columns["id"];
    assert_eq!(id.primary_key, Some(true));

    let out = dltrs(&[
        "normalize",
        data.to_str().unwrap(),
        "--table",
        "orders",
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rows"]["orders__items"], 2);
    assert_eq!(summary["schema_version"], 1);
    assert!(!summary["schema_changes"].as_array().unwrap().is_empty());
}

#[test]
fn normalize_names_the_bad_line_and_item_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bad.jsonl");
    std::fs::write(&data, "{\"id\": 1}\n\n{\"id\": 2, \"x\": }\n").unwrap();
    let out = dltrs(&["normalize", data.to_str().unwrap(), "--table", "t"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.jsonl: line 3, item 2: invalid JSON: "),
        "{err}"
    );
    assert_eq!(err.matches("item").count(), 1, "{err}");
}
