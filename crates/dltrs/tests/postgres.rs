//! The PostgreSQL destination end to end, against the server on 127.0.0.1:5432 (a fresh schema
//! per test): every write disposition, dlt's types, long names, restore, and errors that never
//! show the password.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dltrs::destination::Destination;
use dltrs::{Pipeline, Postgres, Resource, WriteDisposition};
use dltrs_testkit::pg::{TestSchema, url};
use serde_json::json;

struct Fixture {
    dir: tempfile::TempDir,
    pg: TestSchema,
}

impl Fixture {
    fn new(prefix: &str) -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            pg: TestSchema::new(prefix),
        }
    }

    fn pipeline(&self) -> Pipeline {
        Pipeline::builder("pg")
            .pipelines_dir(self.dir.path().join("pipelines"))
            .dataset_name(self.pg.name.clone())
            .destination(Postgres::from_url(&url()).unwrap())
            .build()
            .unwrap()
    }

    fn column(&mut self, sql: &str) -> Vec<String> {
        self.pg
            .rows(sql)
            .into_iter()
            .map(|row| row[0].clone().unwrap_or_else(|| "NULL".into()))
            .collect()
    }

    fn table(&self, table: &str) -> String {
        format!("\"{}\".\"{table}\"", self.pg.name)
    }
}

fn orders(ids: std::ops::Range<i64>, status: &str) -> Vec<serde_json::Value> {
    ids.map(|id| {
        json!({
            "id": id,
            "status": status,
            "customer": {"name": format!("c{id}")},
            "items": (0..(id % 3 + 1)).map(|k| json!({"sku": format!("s{id}-{k}"), "qty": k})).collect::<Vec<_>>(),
        })
    })
    .collect()
}

#[test]
fn append_replace_and_merge_with_child_tables() {
    let mut fx = Fixture::new("pg_dispositions");
    let mut pipeline = fx.pipeline();
    let resource = |items, disposition| {
        Resource::new("orders", items)
            .write_disposition(disposition)
            .primary_key(["id"])
    };
    // append twice
    pipeline
        .run([resource(orders(0..10, "new"), WriteDisposition::Append)])
        .unwrap();
    pipeline
        .run([resource(orders(10..15, "new"), WriteDisposition::Append)])
        .unwrap();
    let orders_t = fx.table("orders");
    let items_t = fx.table("orders__items");
    assert_eq!(
        fx.pg.scalar(&format!("SELECT count(*) FROM {orders_t}")),
        "15"
    );
    // 0..15: id % 3 + 1 items each
    let items: i64 = (0..15).map(|id| id % 3 + 1).sum();
    assert_eq!(
        fx.pg.scalar(&format!("SELECT count(*) FROM {items_t}")),
        items.to_string()
    );
    assert_eq!(
        fx.pg.scalar(&format!(
            "SELECT customer__name FROM {orders_t} WHERE id = 7"
        )),
        "c7"
    );
    // replace: only the new rows remain, child table included
    let info = pipeline
        .run([resource(
            orders(100..103, "replaced"),
            WriteDisposition::Replace,
        )])
        .unwrap();
    assert_eq!(info.row_counts()["orders"], 3);
    assert_eq!(
        fx.column(&format!("SELECT id::text FROM {orders_t} ORDER BY id")),
        ["100", "101", "102"]
    );
    let parents = fx.pg.scalar(&format!(
        "SELECT count(*) FROM {items_t} i LEFT JOIN {orders_t} o ON o._dlt_id = i._dlt_parent_id WHERE o._dlt_id IS NULL"
    ));
    assert_eq!(parents, "0", "child rows of replaced parents remain");
    // merge: ids 101..105 with fewer items; 101 and 102 replaced, 103 and 104 added
    let mut changed = orders(101..105, "merged");
    for order in &mut changed {
        order["items"] = json!([{"sku": "only", "qty": 9}]);
    }
    // a duplicate key in one package: the first row wins, as in dlt
    changed.push(json!({"id": 104, "status": "duplicate", "customer": {"name": "x"}, "items": []}));
    pipeline
        .run([resource(changed, WriteDisposition::Merge)])
        .unwrap();
    assert_eq!(
        fx.pg.rows(&format!(
            "SELECT id::text, status FROM {orders_t} ORDER BY id"
        )),
        vec![
            vec![Some("100".into()), Some("replaced".into())],
            vec![Some("101".into()), Some("merged".into())],
            vec![Some("102".into()), Some("merged".into())],
            vec![Some("103".into()), Some("merged".into())],
            vec![Some("104".into()), Some("merged".into())],
        ]
    );
    assert_eq!(
        fx.column(&format!(
            "SELECT o.id || ':' || i.sku FROM {items_t} i JOIN {orders_t} o ON o._dlt_id = i._dlt_parent_id WHERE o.id > 100 ORDER BY 1"
        )),
        ["101:only", "102:only", "103:only", "104:only"]
    );
    // the merge ran through the staging schema and left nothing in it
    assert_eq!(
        fx.pg.scalar(&format!(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}_staging'",
            fx.pg.name
        )),
        "0"
    );
    // system tables: one completed load per run, a state row, schema versions
    assert_eq!(
        fx.column(&format!(
            "SELECT status::text FROM {} ORDER BY inserted_at",
            fx.table("_dlt_loads")
        )),
        ["0", "0", "0", "0"]
    );
    assert_eq!(
        fx.pg.scalar(&format!(
            "SELECT count(*) > 0 FROM {}",
            fx.table("_dlt_version")
        )),
        "t"
    );
    assert_eq!(
        fx.pg.scalar(&format!(
            "SELECT count(DISTINCT pipeline_name) FROM {}",
            fx.table("_dlt_pipeline_state")
        )),
        "1"
    );
}

#[test]
fn types_are_dlts_postgres_types() {
    let mut fx = Fixture::new("pg_types");
    let mut pipeline = fx.pipeline();
    let item = json!({
        "text": "naïve \"quoted\" \\ text\nline",
        "int": -9_007_199_254_740_993i64,
        "float": 1.5e-7,
        "flag": true,
        "at": "2024-02-29T12:34:56.123456+02:00",
        "nested": {"deep": [1, 2, {"x": null}]},
        "nothing": null,
    });
    let resource = Resource::new("things", vec![item])
        .column(dltrs::schema::Column::new("day", dltrs::DataType::Date))
        .column(dltrs::schema::Column::new("clock", dltrs::DataType::Time))
        .column(dltrs::schema::Column::new(
            "amount",
            dltrs::DataType::Decimal,
        ))
        .column(dltrs::schema::Column::new("nested", dltrs::DataType::Json));
    pipeline.run([resource]).unwrap();
    let more = json!({"day": "2024-03-01", "clock": "23:59:59.5", "amount": "-12345.000000001", "text": "second"});
    pipeline.run([Resource::new("things", vec![more])]).unwrap();
    let types = fx.pg.rows(&format!(
        "SELECT column_name, data_type, coalesce(numeric_precision::text || ',' || numeric_scale::text, ''), is_nullable \
         FROM information_schema.columns WHERE table_schema = '{}' AND table_name = 'things' ORDER BY ordinal_position",
        fx.pg.name
    ));
    let types: Vec<String> = types
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(Option::unwrap_or_default)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for expected in [
        "text character varying  YES",
        "int bigint 64,0 YES",
        "float double precision  YES",
        "flag boolean  YES",
        "at timestamp with time zone  YES",
        "nested jsonb  YES",
        "_dlt_load_id character varying  NO",
        "_dlt_id character varying  NO",
        "day date  YES",
        "clock time without time zone  YES",
        "amount numeric 38,9 YES",
    ] {
        assert!(
            types.contains(&expected.to_string()),
            "{expected} not in {types:#?}"
        );
    }
    let t = fx.table("things");
    let row = fx.pg.rows(&format!(
        "SELECT text, int::text, float::text, flag::text, (at AT TIME ZONE 'UTC')::text, nested::text \
         FROM {t} WHERE text <> 'second'"
    ));
    assert_eq!(
        row[0],
        [
            Some("naïve \"quoted\" \\ text\nline".to_string()),
            Some("-9007199254740993".into()),
            Some("1.5e-07".into()),
            Some("true".into()),
            Some("2024-02-29 10:34:56.123456".into()),
            Some(r#"{"deep": [1, 2, {"x": null}]}"#.into()),
        ]
    );
    let row = fx.pg.rows(&format!(
        "SELECT day::text, clock::text, amount::text FROM {t} WHERE text = 'second'"
    ));
    assert_eq!(
        row[0],
        [
            Some("2024-03-01".to_string()),
            Some("23:59:59.5".into()),
            Some("-12345.000000001".into()),
        ]
    );
    // _dlt_id is UNIQUE, as dlt creates it
    let unique = fx.pg.scalar(&format!(
        "SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = '{}' \
         AND table_name = 'things' AND constraint_type = 'UNIQUE'",
        fx.pg.name
    ));
    assert_eq!(unique, "1");
}

#[test]
fn long_names_are_shortened_to_63_characters_with_dlts_tag() {
    let mut fx = Fixture::new("pg_names");
    let mut pipeline = fx.pipeline();
    let long =
        "a_very_long_column_name_that_goes_on_and_on_beyond_the_postgres_identifier_limit_of_63";
    pipeline
        .run([Resource::new("t", vec![json!({ long: 1, "CamelCase": 2 })])])
        .unwrap();
    let columns = fx.column(&format!(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = '{}' AND table_name = 't' ORDER BY ordinal_position",
        fx.pg.name
    ));
    assert_eq!(
        columns[0],
        "a_very_long_column_name_that_o6gbfgtgres_identifier_limit_of_63"
    );
    assert_eq!(columns[1], "camel_case");
}

#[test]
fn state_and_schema_are_restored_from_postgres() {
    let mut fx = Fixture::new("pg_restore");
    let mut pipeline = fx.pipeline();
    let resource = |items| {
        Resource::with_state("events", move |state| {
            let seen = state.get("seen").and_then(|v| v.as_i64()).unwrap_or(0);
            state.set("seen", json!(seen + 1));
            items
        })
    };
    pipeline.run([resource(vec![json!({"id": 1})])]).unwrap();
    drop(pipeline);
    std::fs::remove_dir_all(fx.dir.path().join("pipelines")).unwrap();
    let mut pipeline = fx.pipeline();
    let info = pipeline.run([resource(vec![json!({"id": 2})])]).unwrap();
    assert!(info.to_string().contains("Restored"), "{info}");
    let state = pipeline.state().unwrap();
    let seen = &state.0["sources"]["pg"]["resources"]["events"]["seen"];
    assert_eq!(seen, &json!(2), "{:?}", state.0);
    assert_eq!(
        fx.pg
            .scalar(&format!("SELECT count(*) FROM {}", fx.table("events"))),
        "2"
    );
}

#[test]
fn connection_errors_name_the_server_and_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expect) in [
        (
            "postgresql://loader:s3cr3t-pa55@127.0.0.1:1/test",
            "is PostgreSQL running",
        ),
        (
            "postgresql://root:s3cr3t-pa55@127.0.0.1:5432/no_such_database_here",
            "does not exist",
        ),
    ] {
        let destination = Postgres::from_url(url).unwrap();
        assert!(!destination.location().contains("s3cr3t"));
        let mut pipeline = Pipeline::builder("pgerr")
            .pipelines_dir(dir.path().join("pipelines"))
            .destination(destination)
            .build()
            .unwrap();
        let err = pipeline
            .run([Resource::new("t", vec![json!({"a": 1})])])
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("s3cr3t-pa55"), "{text}");
        assert!(text.contains(expect), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
    }
}
