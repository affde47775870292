//! SQL databases as sources, against the servers on this machine: PostgreSQL (a fresh schema
//! per test) and MariaDB (a fresh database per test). Tables with every common type are copied
//! into DuckDB and into PostgreSQL with their types reflected and values checked; incremental
//! extraction across runs; many tables at once; errors that name the table and never the
//! password.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use dltrs::sql_database::{SqlDatabaseConfig, SqlTableConfig, sql_database_resources};
use dltrs::table_hints::TableHintsConfig;
use dltrs::{DuckDb, Incremental, Pipeline, Postgres};
use dltrs_testkit::pg::{TestSchema, url};
use mysql::prelude::Queryable;
use serde_json::json;

fn duck_rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    let mut out = Vec::new();
    let mut rows = stmt.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        out.push(
            (0..n)
                .map(|i| {
                    row.get::<_, Option<String>>(i)
                        .unwrap()
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect(),
        );
    }
    out
}

fn duck_types(db: &Path, dataset: &str, table: &str) -> Vec<String> {
    duck_rows(
        db,
        &format!(
            "SELECT column_name || ' ' || data_type FROM information_schema.columns \
             WHERE table_schema = '{dataset}' AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

fn source_url(pg: &TestSchema) -> String {
    let _ = pg;
    url()
}

fn pipeline_into_duckdb(dir: &Path, name: &str) -> Pipeline {
    Pipeline::builder(name)
        .pipelines_dir(dir.join("pipelines"))
        .dataset_name("copied")
        .destination(DuckDb::new(dir.join("copy.duckdb")))
        .build()
        .unwrap()
}

const PG_TYPES: &str = r#"
CREATE TYPE {s}.mood AS ENUM ('sad', 'happy');
CREATE TABLE {s}.everything (
    id bigint PRIMARY KEY,
    small smallint, normal integer,
    price numeric(10,2), loose numeric,
    ratio real, precise double precision,
    flag boolean,
    name text, code varchar(20), fixed char(3),
    day date, clock time, naive timestamp, aware timestamptz,
    doc json, docb jsonb, uid uuid, bytes bytea, feeling {s}.mood, tags integer[]
);
INSERT INTO {s}.everything VALUES
 (1, -3, 70000, 12345678.90, 0.000000001, 1.5, 2.000000000000001, true,
  'naïve "text"', 'abc', 'xy', '2024-02-29', '23:59:59.123456', '2024-02-29 12:00:00',
  '2024-02-29 12:00:00+02', '{"b": 1, "a": [1, 2]}', '{"k": null}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x00ff10', 'happy', '{1,2,3}'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

#[test]
fn postgres_table_with_every_common_type_into_duckdb() {
    let mut pg = TestSchema::new("src_types");
    let s = format!("\"{}\"", pg.name);
    pg.client
        .batch_execute(&format!(
            "CREATE SCHEMA {s};{}",
            PG_TYPES.replace("{s}", &s)
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline_into_duckdb(dir.path(), "pgsrc");
    let resources = sql_database_resources(&SqlDatabaseConfig {
        credentials: source_url(&pg),
        schema: Some(pg.name.clone()),
        ..SqlDatabaseConfig::default()
    })
    .unwrap();
    let info = pipeline.run(resources).unwrap();
    assert_eq!(info.row_counts()["everything"], 2);
    let db = dir.path().join("copy.duckdb");
    let types = duck_types(&db, "copied", "everything");
    for expected in [
        "id BIGINT",
        "small BIGINT",
        "price DECIMAL(10,2)",
        "loose DECIMAL(38,9)",
        "ratio DOUBLE",
        "precise DOUBLE",
        "flag BOOLEAN",
        "name VARCHAR",
        "code VARCHAR",
        "day DATE",
        "clock TIME",
        "naive TIMESTAMP",
        "aware TIMESTAMP WITH TIME ZONE",
        "doc JSON",
        "docb JSON",
        "uid VARCHAR",
        "bytes BLOB",
        "feeling VARCHAR",
        "tags JSON",
    ] {
        assert!(
            types.contains(&expected.to_string()),
            "{expected} not in {types:?}"
        );
    }
    let row = &duck_rows(
        &db,
        "SELECT id::text, small::text, normal::text, price::text, loose::text, ratio::text, \
         precise::text, flag::text, name, code, fixed, day::text, clock::text, naive::text, \
         aware::text, doc::text, docb::text, uid, hex(bytes), feeling, tags::text \
         FROM copied.everything ORDER BY id",
    )[0];
    assert_eq!(
        row,
        &[
            "1",
            "-3",
            "70000",
            "12345678.90",
            "0.000000001",
            "1.5",
            "2.000000000000001",
            "true",
            "naïve \"text\"",
            "abc",
            "xy ",
            "2024-02-29",
            "23:59:59.123456",
            "2024-02-29 12:00:00",
            "2024-02-29 10:00:00+00",
            r#"{"b":1,"a":[1,2]}"#,
            r#"{"k":null}"#,
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "00FF10",
            "happy",
            "[1,2,3]",
        ]
    );
    // the primary key was reflected; nullability carried over
    let schema = pipeline.schema().unwrap();
    let table = schema.table("everything").unwrap();
    assert_eq!(table.columns["id"].primary_key, Some(true));
    assert_eq!(table.columns["name"].nullable, Some(true));
    // the second row is all nulls but its id
    let nulls = duck_rows(
        &db,
        "SELECT count(*)::text FROM copied.everything WHERE name IS NULL AND docb IS NULL AND bytes IS NULL",
    );
    assert_eq!(nulls[0][0], "1");
}

#[test]
fn postgres_table_into_postgres_keeps_the_types() {
    let mut src = TestSchema::new("src_pg_pg");
    let s = format!("\"{}\"", src.name);
    src.client
        .batch_execute(&format!(
            "CREATE SCHEMA {s};{}",
            PG_TYPES.replace("{s}", &s)
        ))
        .unwrap();
    let mut dst = TestSchema::new("dst_pg_pg");
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = Pipeline::builder("pgpg")
        .pipelines_dir(dir.path().join("pipelines"))
        .dataset_name(dst.name.clone())
        .destination(Postgres::from_url(&url()).unwrap())
        .build()
        .unwrap();
    let resources = sql_database_resources(&SqlDatabaseConfig {
        credentials: url(),
        schema: Some(src.name.clone()),
        tables: vec![SqlTableConfig {
            name: "everything".into(),
            ..SqlTableConfig::default()
        }],
        ..SqlDatabaseConfig::default()
    })
    .unwrap();
    pipeline.run(resources).unwrap();
    let types: Vec<String> = dst
        .rows(&format!(
            "SELECT column_name || ' ' || format_type(a.atttypid, a.atttypmod) FROM information_schema.columns c \
             JOIN pg_attribute a ON a.attrelid = '\"{0}\".everything'::regclass AND a.attname = c.column_name \
             WHERE table_schema = '{0}' AND table_name = 'everything' ORDER BY ordinal_position",
            dst.name
        ))
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    for expected in [
        "price numeric(10,2)",
        "code character varying(20)",
        "aware timestamp with time zone",
        "naive timestamp without time zone",
        "docb jsonb",
        "bytes bytea",
        "day date",
        "clock time without time zone",
    ] {
        assert!(
            types.contains(&expected.to_string()),
            "{expected} not in {types:?}"
        );
    }
    // every value equal to the source's, compared as text by PostgreSQL itself
    let diff = dst.scalar(&format!(
        "SELECT count(*) FROM (SELECT id, price, loose::numeric(38,9), flag, name, code, day, clock, naive, aware, \
         docb, uid::text, bytes, feeling::text FROM \"{0}\".everything \
         EXCEPT SELECT id, price, loose::numeric(38,9), flag, name, code, day, clock, naive, aware, docb, uid::text, \
         bytes, feeling::text FROM \"{1}\".everything) d",
        src.name, dst.name
    ));
    assert_eq!(diff, "0");
}

#[test]
fn incremental_extraction_across_two_runs() {
    let mut pg = TestSchema::new("src_incr");
    let s = format!("\"{}\"", pg.name);
    pg.client
        .batch_execute(&format!(
            "CREATE SCHEMA {s}; CREATE TABLE {s}.events (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v text);
             INSERT INTO {s}.events SELECT g, '2024-01-01'::timestamptz + g * interval '1 minute', 'v' || g FROM generate_series(1, 1000) g;"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = |pg: &TestSchema| SqlDatabaseConfig {
        credentials: url(),
        schema: Some(pg.name.clone()),
        tables: vec![SqlTableConfig {
            name: "events".into(),
            incremental: Some(
                Incremental::new("updated_at").initial_value(json!("2024-01-01T00:10:00Z")),
            ),
            hints: TableHintsConfig {
                write_disposition: Some(serde_json::from_value(json!("merge")).unwrap()),
                ..TableHintsConfig::default()
            },
            ..SqlTableConfig::default()
        }],
        chunk_size: Some(100),
        ..SqlDatabaseConfig::default()
    };
    let mut pipeline = pipeline_into_duckdb(dir.path(), "incr");
    let info = pipeline
        .run(sql_database_resources(&config(&pg)).unwrap())
        .unwrap();
    // from the initial value (closed): minutes 10..=1000
    assert_eq!(info.row_counts()["events"], 991);
    // one row changed (moved to the end), two new, one new on the boundary
    pg.client
        .batch_execute(&format!(
            "UPDATE {s}.events SET updated_at = '2024-01-01'::timestamptz + 1000 * interval '1 minute', v = 'changed' WHERE id = 500;
             INSERT INTO {s}.events VALUES (1001, '2024-01-01'::timestamptz + 1001 * interval '1 minute', 'new'),
                                           (1002, '2024-01-01'::timestamptz + 1002 * interval '1 minute', 'new');"
        ))
        .unwrap();
    let extracted = pipeline
        .extract(sql_database_resources(&config(&pg)).unwrap())
        .unwrap();
    // the WHERE clause asked from the last value: rows 1000 (boundary, already loaded and
    // dropped by its hash), 500 (moved onto the boundary), 1001 and 1002
    assert_eq!(extracted.items["events"], 3, "{:?}", extracted.items);
    pipeline.normalize().unwrap();
    pipeline.load().unwrap();
    let db = dir.path().join("copy.duckdb");
    let rows = duck_rows(
        &db,
        "SELECT count(*)::text, count(*) FILTER (WHERE v = 'changed')::text, max(id)::text FROM copied.events",
    );
    assert_eq!(rows[0], ["993", "1", "1002"]);
}

#[test]
fn many_tables_at_once_and_a_query() {
    let mut pg = TestSchema::new("src_many");
    let s = format!("\"{}\"", pg.name);
    let mut ddl = format!("CREATE SCHEMA {s};");
    for t in 0..5 {
        ddl.push_str(&format!(
            "CREATE TABLE {s}.t{t} (id int PRIMARY KEY, payload text);
             INSERT INTO {s}.t{t} SELECT g, repeat('x', g % 50) FROM generate_series(1, {}) g;",
            1000 * (t + 1)
        ));
    }
    pg.client.batch_execute(&ddl).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline_into_duckdb(dir.path(), "many");
    let mut config = SqlDatabaseConfig {
        credentials: url(),
        schema: Some(pg.name.clone()),
        chunk_size: Some(333),
        parallelism: Some(3),
        ..SqlDatabaseConfig::default()
    };
    let info = pipeline
        .run(sql_database_resources(&config).unwrap())
        .unwrap();
    for t in 0..5 {
        assert_eq!(
            info.row_counts()[format!("t{t}").as_str()],
            1000 * (t as u64 + 1)
        );
    }
    config.tables = vec![SqlTableConfig {
        name: "long_payloads".into(),
        query: Some(format!(
            "SELECT id, length(payload) AS len FROM {s}.t4 WHERE length(payload) > 40"
        )),
        ..SqlTableConfig::default()
    }];
    let info = pipeline
        .run(sql_database_resources(&config).unwrap())
        .unwrap();
    assert_eq!(info.row_counts()["long_payloads"], 5000 / 50 * 9);
}

#[test]
fn missing_tables_and_bad_connections_are_clear_errors() {
    let pg = TestSchema::new("src_errors");
    let err = sql_database_resources(&SqlDatabaseConfig {
        credentials: url(),
        schema: Some(pg.name.clone()),
        tables: vec![SqlTableConfig {
            name: "nope".into(),
            ..SqlTableConfig::default()
        }],
        ..SqlDatabaseConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("no table `nope`"), "{err}");
    for credentials in [
        "postgresql://loader:pg-secret-321@127.0.0.1:1/test",
        "mysql://root:my-secret-654@127.0.0.1:3306/test",
        "mysql://root:my-secret-654@127.0.0.1:1/test",
    ] {
        let err = sql_database_resources(&SqlDatabaseConfig {
            credentials: credentials.into(),
            ..SqlDatabaseConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("127.0.0.1"), "{err}");
        assert!(err.contains("running") || err.contains("password"), "{err}");
    }
}

/// A MariaDB database of its own, dropped at the end.
struct TestDatabase {
    name: String,
    conn: mysql::Conn,
}

impl TestDatabase {
    fn new(prefix: &str) -> TestDatabase {
        let name = format!("{prefix}_{}", std::process::id());
        let mut conn =
            mysql::Conn::new(mysql::Opts::from_url("mysql://root@127.0.0.1:3306/test").unwrap())
                .unwrap();
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .unwrap();
        conn.query_drop(format!("CREATE DATABASE `{name}`"))
            .unwrap();
        TestDatabase { name, conn }
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = self
            .conn
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}

#[test]
fn mariadb_table_with_every_common_type_into_duckdb_and_postgres() {
    let mut my = TestDatabase::new("src_mariadb_types");
    let db_name = my.name.clone();
    my.conn
        .query_drop(format!(
            "CREATE TABLE `{db_name}`.everything (
                id BIGINT PRIMARY KEY, tiny TINYINT, normal INT, price DECIMAL(10,2),
                ratio FLOAT, precise DOUBLE, name VARCHAR(20), body TEXT, day DATE,
                clock TIME(6), naive DATETIME(6), aware TIMESTAMP(6) NULL, doc JSON,
                bytes BLOB, feeling ENUM('sad','happy'), flag BOOLEAN)"
        ))
        .unwrap();
    my.conn
        .query_drop(format!(
            "INSERT INTO `{db_name}`.everything VALUES
             (1, -3, 70000, 12345678.90, 1.5, 2.000000000000001, 'naïve \"text\"', 'long body', '2024-02-29',
              '23:59:59.123456', '2024-02-29 12:00:00.5', '2024-02-29 12:00:00', '{{\"b\": 1, \"a\": [1, 2]}}',
              X'00FF10', 'happy', TRUE),
             (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        ))
        .unwrap();
    let config = SqlDatabaseConfig {
        credentials: my.url(),
        ..SqlDatabaseConfig::default()
    };
    // into DuckDB
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline_into_duckdb(dir.path(), "mysrc");
    pipeline
        .run(sql_database_resources(&config).unwrap())
        .unwrap();
    let db = dir.path().join("copy.duckdb");
    let types = duck_types(&db, "copied", "everything");
    for expected in [
        "id BIGINT",
        "tiny BIGINT",
        "price DECIMAL(10,2)",
        "precise DOUBLE",
        "name VARCHAR",
        "day DATE",
        "clock TIME",
        "naive TIMESTAMP",
        "aware TIMESTAMP WITH TIME ZONE",
        "doc JSON",
        "bytes BLOB",
        "feeling VARCHAR",
    ] {
        assert!(
            types.contains(&expected.to_string()),
            "{expected} not in {types:?}"
        );
    }
    let row = &duck_rows(
        &db,
        "SELECT id::text, tiny::text, price::text, ratio::text, precise::text, name, day::text, \
         clock::text, naive::text, aware::text, doc::text, hex(bytes), feeling, flag::text \
         FROM copied.everything ORDER BY id",
    )[0];
    assert_eq!(
        row,
        &[
            "1",
            "-3",
            "12345678.90",
            "1.5",
            "2.000000000000001",
            "naïve \"text\"",
            "2024-02-29",
            "23:59:59.123456",
            "2024-02-29 12:00:00.5",
            "2024-02-29 12:00:00+00",
            r#"{"b":1,"a":[1,2]}"#,
            "00FF10",
            "happy",
            "1",
        ]
    );
    // into PostgreSQL
    let mut dst = TestSchema::new("dst_mariadb");
    let mut pipeline = Pipeline::builder("mypg")
        .pipelines_dir(dir.path().join("pipelines2"))
        .dataset_name(dst.name.clone())
        .destination(Postgres::from_url(&url()).unwrap())
        .build()
        .unwrap();
    pipeline
        .run(sql_database_resources(&config).unwrap())
        .unwrap();
    let row = &dst.rows(&format!(
        "SELECT price::text, (aware AT TIME ZONE 'UTC')::text, naive::text, encode(bytes, 'hex'), doc::text \
         FROM \"{}\".everything WHERE id = 1",
        dst.name
    ))[0];
    assert_eq!(
        row,
        &[
            Some("12345678.90".to_string()),
            Some("2024-02-29 12:00:00".into()),
            Some("2024-02-29 12:00:00.5".into()),
            Some("00ff10".into()),
            Some(r#"{"a": [1, 2], "b": 1}"#.into()),
        ]
    );
}

#[test]
fn mariadb_incremental_across_two_runs() {
    let mut my = TestDatabase::new("src_mariadb_incr");
    let db_name = my.name.clone();
    my.conn
        .query_drop(format!(
            "CREATE TABLE `{db_name}`.events (id INT PRIMARY KEY, version INT NOT NULL, v TEXT)"
        ))
        .unwrap();
    let values: Vec<String> = (1..=500).map(|i| format!("({i}, {i}, 'v{i}')")).collect();
    my.conn
        .query_drop(format!(
            "INSERT INTO `{db_name}`.events VALUES {}",
            values.join(",")
        ))
        .unwrap();
    let config = SqlDatabaseConfig {
        credentials: my.url(),
        tables: vec![SqlTableConfig {
            name: "events".into(),
            incremental: Some(Incremental::new("version")),
            ..SqlTableConfig::default()
        }],
        chunk_size: Some(64),
        ..SqlDatabaseConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline_into_duckdb(dir.path(), "myincr");
    let info = pipeline
        .run(sql_database_resources(&config).unwrap())
        .unwrap();
    assert_eq!(info.row_counts()["events"], 500);
    my.conn
        .query_drop(format!(
            "INSERT INTO `{db_name}`.events VALUES (501, 500, 'same version'), (502, 501, 'newer')"
        ))
        .unwrap();
    let info = pipeline
        .run(sql_database_resources(&config).unwrap())
        .unwrap();
    assert_eq!(info.row_counts()["events"], 2);
}

#[test]
fn a_table_the_user_may_not_read_is_an_error_naming_it() {
    let mut pg = TestSchema::new("src_denied");
    let s = format!("\"{}\"", pg.name);
    let role = format!("{}_reader", pg.name);
    pg.client
        .batch_execute(&format!(
            "CREATE SCHEMA {s}; CREATE TABLE {s}.secret_table (id int PRIMARY KEY);
             INSERT INTO {s}.secret_table VALUES (1);
             DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" LOGIN;
             GRANT USAGE ON SCHEMA {s} TO \"{role}\";"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = pipeline_into_duckdb(dir.path(), "denied");
    let credentials = format!("postgresql://{role}@127.0.0.1:5432/test");
    let result = sql_database_resources(&SqlDatabaseConfig {
        credentials,
        schema: Some(pg.name.clone()),
        tables: vec![SqlTableConfig {
            name: "secret_table".into(),
            ..SqlTableConfig::default()
        }],
        ..SqlDatabaseConfig::default()
    })
    .map_err(|e| dltrs::report(&e))
    .and_then(|resources| pipeline.run(resources).map_err(|e| dltrs::report(&e)));
    let _ = pg.client.batch_execute(&format!(
        "DROP SCHEMA {s} CASCADE; DROP ROLE IF EXISTS \"{role}\";"
    ));
    let err = result.unwrap_err();
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("secret_table"), "{err}");
}
