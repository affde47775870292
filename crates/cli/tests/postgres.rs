//! `dltrs` into PostgreSQL (the server on 127.0.0.1:5432, a fresh schema per test): a
//! connection string flag, `destination = "postgres"` with credentials from the environment or
//! `.dltrs/secrets.toml` (as a string or as fields), the pipeline commands on the recorded
//! destination, `init`, and a password that never shows, even when the connection fails.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};

use dltrs_testkit::pg::{TestSchema, url};

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join(".dltrs")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(
            root.join("rides.jsonl"),
            "{\"id\": 1, \"stops\": [{\"at\": \"2024-01-01T00:00:00Z\"}]}\n{\"id\": 2, \"stops\": []}\n",
        )
        .unwrap();
        Project { _dir: dir, root }
    }

    fn dltrs(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dltrs"));
        cmd.args(args)
            .current_dir(&self.root)
            .env("HOME", self.root.parent().unwrap().join("home"))
            .env("DLTRS_PIPELINES_DIR", self.root.join("pipelines"))
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn load_with_a_connection_string_then_inspect_the_pipeline() {
    let project = Project::new();
    let mut pg = TestSchema::new("cli_pg_load");
    let out = project.dltrs(
        &[
            "load",
            "rides.jsonl",
            "--table",
            "rides",
            "--pipeline-name",
            "pgp",
            "--dataset-name",
            &pg.name,
            "--destination",
            &url(),
            "-q",
            "--json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["destination_name"], "postgres");
    assert_eq!(
        pg.scalar(&format!(
            "SELECT count(*) FROM \"{}\".rides__stops",
            pg.name
        )),
        "1"
    );
    // the pipeline commands find the destination the run recorded
    let out = project.dltrs(&["pipeline", "pgp", "info", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("postgresql://root@127.0.0.1:5432/test"),
        "{}",
        text(&out)
    );
    // dropping a resource drops its tables in PostgreSQL
    let out = project.dltrs(&["pipeline", "pgp", "drop", "rides", "-y"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        pg.scalar(&format!(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name LIKE 'rides%'",
            pg.name
        )),
        "0"
    );
}

#[test]
fn destination_postgres_takes_credentials_from_the_layers() {
    let project = Project::new();
    let mut pg = TestSchema::new("cli_pg_layers");
    let pipeline = format!(
        "[pipeline]\nname = \"layered\"\ndataset_name = \"{}\"\ndestination = \"postgres\"\n\n\
         [sources.files]\ntype = \"filesystem\"\n\n[[sources.files.resources]]\nname = \"rides\"\npath = \"rides.jsonl\"\n",
        pg.name
    );
    std::fs::write(project.root.join("pipeline.toml"), pipeline).unwrap();
    // nothing set: the error lists where it looked
    let out = project.dltrs(&["run", "pipeline.toml", "-q"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("DESTINATION__POSTGRES__CREDENTIALS"),
        "{}",
        text(&out)
    );
    // fields in secrets.toml
    std::fs::write(
        project.root.join(".dltrs/secrets.toml"),
        "[destination.postgres.credentials]\ndatabase = \"test\"\nusername = \"root\"\nhost = \"127.0.0.1\"\nport = 5432\npassword = \"file-secret-123\"\n",
    )
    .unwrap();
    let out = project.dltrs(&["run", "pipeline.toml", "-q"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("file-secret-123"), "{}", text(&out));
    assert_eq!(
        pg.scalar(&format!("SELECT count(*) FROM \"{}\".rides", pg.name)),
        "2"
    );
    // the environment wins over the file: a server that refuses, so the run fails
    let out = project.dltrs(
        &["run", "pipeline.toml", "-q"],
        &[(
            "DESTINATION__POSTGRES__CREDENTIALS",
            "postgresql://root:env-secret-456@127.0.0.1:1/test",
        )],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    // every string of secrets.toml is masked, the file's host and user among them
    assert!(
        shown.contains(":1/") && shown.contains("is PostgreSQL running"),
        "{shown}"
    );
    assert!(!shown.contains("env-secret-456"), "{shown}");
    let trace = std::fs::read_to_string(project.root.join("pipelines/layered/trace.json")).unwrap();
    assert!(!trace.contains("env-secret-456"), "{trace}");
}

#[test]
fn a_refused_connection_never_shows_the_password() {
    let project = Project::new();
    let out = project.dltrs(
        &[
            "load",
            "rides.jsonl",
            "--table",
            "rides",
            "-v",
            "--destination",
            "postgresql://loader:flag-secret-789@127.0.0.1:1/test",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("is PostgreSQL running"), "{shown}");
    assert!(!shown.contains("flag-secret-789"), "{shown}");
}

#[test]
fn init_scaffolds_a_postgres_pipeline() {
    let project = Project::new();
    let out = project.dltrs(
        &["init", "filesystem", "postgres", "--name", "pg_init"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let pipeline = std::fs::read_to_string(project.root.join("pipeline.toml")).unwrap();
    assert!(
        pipeline.contains("destination = \"postgres\""),
        "{pipeline}"
    );
    let secrets = std::fs::read_to_string(project.root.join(".dltrs/secrets.toml")).unwrap();
    assert!(secrets.contains("[destination.postgres]"), "{secrets}");
    // it runs once the credentials point at a server
    let mut pg = TestSchema::new("cli_pg_init");
    let out = project.dltrs(
        &["run", "pipeline.toml", "-q", "--dataset-name", &pg.name],
        &[("DESTINATION__POSTGRES__CREDENTIALS", &url())],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        pg.scalar(&format!("SELECT count(*) FROM \"{}\".items", pg.name)),
        "2"
    );
}

#[test]
fn init_and_run_a_sql_database_pipeline_incrementally() {
    let project = Project::new();
    let mut src = TestSchema::new("cli_sql_src");
    let s = format!("\"{}\"", src.name);
    src.client
        .batch_execute(&format!(
            "CREATE SCHEMA {s}; CREATE TABLE {s}.items (id int PRIMARY KEY, updated_at timestamptz NOT NULL, name text);
             INSERT INTO {s}.items SELECT g, '2024-01-01'::timestamptz + g * interval '1 hour', 'n' || g FROM generate_series(1, 100) g;"
        ))
        .unwrap();
    let out = project.dltrs(&["init", "sql_database", "duckdb", "--name", "copy"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    // the template's schema and credentials overridden from the environment
    let env = [
        ("SOURCES__DB__CREDENTIALS", url()),
        ("SOURCES__DB__SCHEMA", src.name.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = project.dltrs(&["run", "pipeline.toml", "-q", "--json"], &env);
    assert!(out.status.success(), "{}", text(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = |info: &serde_json::Value| {
        info["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["row_counts"]["items"].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!(rows(&info), 100, "{info}");
    src.client
        .batch_execute(&format!(
            "INSERT INTO {s}.items VALUES (101, '2024-02-01', 'new'); UPDATE {s}.items SET updated_at = '2024-02-02', name = 'changed' WHERE id = 5;"
        ))
        .unwrap();
    let out = project.dltrs(&["run", "pipeline.toml", "-q", "--json"], &env);
    assert!(out.status.success(), "{}", text(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows(&info), 2, "{info}");
}
