//! Schema contracts: each mode of each entity, on a second run that would change the schema.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use dltrs::{
    ContractEntity, ContractMode, DuckDb, NormalizeWarning, Pipeline, Resource, SchemaContract,
};
use serde_json::{Value, json};

fn columns(db: &Path, table: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT column_name FROM information_schema.columns WHERE table_schema = 'c_dataset' AND table_name = ? ORDER BY ordinal_position")
        .unwrap();
    stmt.query_map([table], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|c| !c.starts_with("_dlt"))
        .collect()
}

fn tables(db: &Path) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT table_name FROM information_schema.tables WHERE table_schema = 'c_dataset' AND table_name NOT LIKE '_dlt%' ORDER BY 1")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn ids(db: &Path) -> Vec<i64> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT id FROM c_dataset.t ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The second run's items for an entity: one item that changes the schema, one that does not.
fn change(entity: ContractEntity) -> Vec<Value> {
    match entity {
        ContractEntity::Tables => vec![
            json!({"id": 2, "n": 2, "tags": ["x"]}),
            json!({"id": 3, "n": 3}),
        ],
        ContractEntity::Columns => vec![
            json!({"id": 2, "n": 2, "extra": 5}),
            json!({"id": 3, "n": 3}),
        ],
        ContractEntity::DataType => vec![json!({"id": 2, "n": "two"}), json!({"id": 3, "n": 3})],
    }
}

fn contract(entity: ContractEntity, mode: ContractMode) -> SchemaContract {
    let mut c = SchemaContract::default();
    match entity {
        ContractEntity::Tables => c.tables = Some(mode),
        ContractEntity::Columns => c.columns = Some(mode),
        ContractEntity::DataType => c.data_type = Some(mode),
    }
    c
}

#[test]
fn every_mode_of_every_entity() {
    for entity in [
        ContractEntity::Tables,
        ContractEntity::Columns,
        ContractEntity::DataType,
    ] {
        for mode in [
            ContractMode::Evolve,
            ContractMode::Freeze,
            ContractMode::DiscardRow,
            ContractMode::DiscardValue,
        ] {
            let case = format!("{}={}", entity.as_str(), mode.as_str());
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("c.duckdb");
            let mut p = Pipeline::builder("c")
                .pipelines_dir(dir.path().join("pipelines"))
                .destination(DuckDb::new(&db))
                .build()
                .unwrap();
            p.run([Resource::new("t", vec![json!({"id": 1, "n": 1})])])
                .unwrap();
            let result =
                p.run([Resource::new("t", change(entity)).schema_contract(contract(entity, mode))]);
            let (new_table, new_column, variant) = (
                tables(&db).contains(&"t__tags".to_string()),
                columns(&db, "t").contains(&"extra".to_string()),
                columns(&db, "t").contains(&"n__v_text".to_string()),
            );
            match mode {
                ContractMode::Evolve => {
                    result.unwrap();
                    assert_eq!(ids(&db), [1, 2, 3], "{case}");
                    let changed = match entity {
                        ContractEntity::Tables => new_table,
                        ContractEntity::Columns => new_column,
                        ContractEntity::DataType => variant,
                    };
                    assert!(changed, "{case}: the schema did not evolve");
                }
                ContractMode::Freeze => {
                    let err = result.err().map(|e| dltrs::report(&e)).unwrap_or_default();
                    assert!(
                        err.contains("refused: the schema contract freezes"),
                        "{case}: {err}"
                    );
                    assert!(err.contains(entity.as_str()), "{case}: {err}");
                    assert_eq!(ids(&db), [1], "{case}: the dataset changed");
                    assert!(!new_table && !new_column && !variant, "{case}");
                }
                ContractMode::DiscardRow | ContractMode::DiscardValue => {
                    let info = result.unwrap();
                    assert!(
                        !new_table && !new_column && !variant,
                        "{case}: the schema changed"
                    );
                    let whole_item =
                        mode == ContractMode::DiscardRow || entity == ContractEntity::Tables;
                    let expected: &[i64] = if whole_item { &[1, 3] } else { &[1, 2, 3] };
                    assert_eq!(ids(&db), expected, "{case}");
                    let text = info.to_string();
                    let counted = if whole_item {
                        "1 row(s) left out"
                    } else {
                        "1 value(s) left out"
                    };
                    assert!(text.contains(counted), "{case}: {text}");
                }
            }
        }
    }
}

#[test]
fn columns_of_a_table_receiving_its_first_data_are_free() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.duckdb");
    let mut p = Pipeline::builder("c")
        .pipelines_dir(dir.path().join("pipelines"))
        .destination(DuckDb::new(&db))
        .schema_contract(SchemaContract::parse("columns=freeze").unwrap())
        .build()
        .unwrap();
    // first data: any columns; later: none
    p.run([Resource::new(
        "t",
        vec![json!({"id": 1, "n": 1}), json!({"id": 2, "m": 2})],
    )])
    .unwrap();
    let err = p
        .run([Resource::new("t", vec![json!({"id": 3, "k": 3})])])
        .err()
        .map(|e| dltrs::report(&e))
        .unwrap_or_default();
    assert!(err.contains("new column `k`"), "{err}");
    // the resource's own contract wins over the pipeline's
    p.run([Resource::new("t", vec![json!({"id": 3, "k": 3})])
        .schema_contract(SchemaContract::parse("columns=evolve").unwrap())])
        .unwrap();
    assert!(columns(&db, "t").contains(&"k".to_string()));
}

#[test]
fn discarded_items_and_values_go_to_the_quarantine_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.duckdb");
    let mut p = Pipeline::builder("c")
        .pipelines_dir(dir.path().join("pipelines"))
        .destination(DuckDb::new(&db))
        .build()
        .unwrap();
    p.run([Resource::new("t", vec![json!({"id": 1, "n": 1})])])
        .unwrap();
    let items = vec![
        json!({"id": 2, "n": 2, "extra": "x"}),
        json!({"id": 3, "n": "three"}),
        json!({"id": 4, "n": 4}),
    ];
    let info = p
        .run([Resource::new("t", items)
            .schema_contract(
                SchemaContract::parse("columns=discard_row,data_type=discard_value").unwrap(),
            )
            .quarantine(true)])
        .unwrap();
    assert_eq!(ids(&db), [1, 3, 4]);
    assert_eq!(info.row_counts().get("t__rejected"), Some(&2));
    let text = info.to_string();
    assert!(
        text.contains("1 row(s) left out (columns: discard_row) for new column t.extra"),
        "{text}"
    );
    assert!(text.contains("in item 2 of t"), "{text}");
    let conn = duckdb::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT item, coalesce(\"column\", ''), entity, mode, _dlt_load_id IS NOT NULL FROM c_dataset.t__rejected ORDER BY item")
        .unwrap();
    let rows: Vec<(String, String, String, String, bool)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            (
                r#"{"id":2,"n":2,"extra":"x"}"#.into(),
                "extra".into(),
                "columns".into(),
                "discard_row".into(),
                true
            ),
            (
                r#"{"id":3,"n":"three"}"#.into(),
                "n".into(),
                "data_type".into(),
                "discard_value".into(),
                true
            ),
        ]
    );
    let n: Option<i64> = conn
        .query_row("SELECT n FROM c_dataset.t WHERE id = 3", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, None);
}

#[test]
fn frozen_tables_can_be_created_by_the_first_run_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.duckdb");
    let mut p = Pipeline::builder("c")
        .pipelines_dir(dir.path().join("pipelines"))
        .destination(DuckDb::new(&db))
        .build()
        .unwrap();
    let frozen = SchemaContract::parse("tables=freeze").unwrap();
    // dlt's semantics: a frozen table cannot even be created
    let err = p
        .run([Resource::new("t", vec![json!({"id": 1, "tags": ["a"]})]).schema_contract(frozen)])
        .err()
        .map(|e| dltrs::report(&e))
        .unwrap_or_default();
    assert!(err.contains("a new table is refused"), "{err}");
    // asked for, the first run creates the table and its child table; later runs are frozen
    let resource = |items: Vec<Value>| {
        Resource::new("t", items)
            .schema_contract(frozen)
            .create_tables_on_first_run(true)
    };
    p.run([resource(vec![json!({"id": 1, "tags": ["a"]})])])
        .unwrap();
    assert_eq!(tables(&db), ["t", "t__tags"]);
    p.run([resource(vec![json!({"id": 2, "tags": ["b"]})])])
        .unwrap();
    let err = p
        .run([resource(vec![json!({"id": 3, "parts": [1]})])])
        .err()
        .map(|e| dltrs::report(&e))
        .unwrap_or_default();
    assert!(
        err.contains("table `t__parts`") && err.contains("freezes tables"),
        "{err}"
    );
    assert_eq!(ids(&db), [1, 2]);
}

#[test]
fn columns_declared_from_a_rust_type_win_over_inference() {
    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    struct Reading {
        id: i64,
        value: f64,
        note: Option<String>,
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.duckdb");
    let mut p = Pipeline::builder("c")
        .pipelines_dir(dir.path().join("pipelines"))
        .destination(DuckDb::new(&db))
        .build()
        .unwrap();
    // `value` arrives as an integer first: the declared double wins
    let items = vec![
        json!({"id": 1, "value": 3, "note": null}),
        json!({"id": 2, "value": 2.5, "note": "x"}),
    ];
    p.run([Resource::new("readings", items)
        .columns_from::<Reading>()
        .unwrap()])
        .unwrap();
    let conn = duckdb::Connection::open(&db).unwrap();
    let types: Vec<(String, String, String)> = conn
        .prepare("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'c_dataset' AND table_name = 'readings' AND column_name NOT LIKE '_dlt%' ORDER BY ordinal_position")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        types,
        [
            ("id".into(), "BIGINT".into(), "NO".into()),
            ("value".into(), "DOUBLE".into(), "NO".into()),
            ("note".into(), "VARCHAR".into(), "YES".into()),
        ]
    );
    // a null in a field that is not an Option is a clear error
    let err = p
        .run([
            Resource::new("readings", vec![json!({"id": 3, "value": null})])
                .columns_from::<Reading>()
                .unwrap(),
        ])
        .err()
        .map(|e| dltrs::report(&e))
        .unwrap_or_default();
    assert!(err.contains("column `value` is not nullable"), "{err}");
}

#[test]
fn the_trace_records_discards_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.duckdb");
    let mut p = Pipeline::builder("c")
        .pipelines_dir(dir.path().join("pipelines"))
        .destination(DuckDb::new(&db))
        .build()
        .unwrap();
    p.run([Resource::new("t", vec![json!({"id": 1})])]).unwrap();
    let discard = SchemaContract::parse("columns=discard_row").unwrap();
    p.run([Resource::new("t", vec![json!({"id": 2, "x": 1})]).schema_contract(discard)])
        .unwrap();
    let trace = p.last_trace().unwrap();
    let steps: Vec<&str> = trace.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["extract", "normalize", "load"]);
    assert_eq!(trace.steps[0].items.as_ref().unwrap()["t"], 1);
    let info = trace.load_info.as_ref().unwrap();
    match &info.packages[0].warnings[0] {
        NormalizeWarning::ContractDiscarded { table, rows, .. } => {
            assert_eq!((table.as_str(), *rows), ("t", 1));
        }
        other => panic!("{other:?}"),
    }
    let freeze = SchemaContract::parse("freeze").unwrap();
    assert!(
        p.run([Resource::new("t", vec![json!({"id": 3, "y": 1})]).schema_contract(freeze)])
            .is_err()
    );
    let trace = p.last_trace().unwrap();
    assert!(
        trace
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("new column `y` is refused"),
        "{trace}"
    );
    assert!(trace.load_info.is_none());
}
