//! `dltrs load`: the one-line load, run as a process against a DuckDB file in a temp dir.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn dltrs(&self, file: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dltrs"));
        cmd.arg("load")
            .arg(file)
            .args(args)
            .arg("--pipelines-dir")
            .arg(self.path("pipelines"))
            .arg("--destination")
            .arg(format!("duckdb:{}", self.path("out.duckdb").display()));
        cmd
    }

    fn load(&self, file: &Path, args: &[&str]) -> Output {
        self.dltrs(file, args).output().unwrap()
    }

    fn query(&self, sql: &str) -> Vec<String> {
        let conn = duckdb::Connection::open(self.path("out.duckdb")).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "dltrs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn loads_nested_json_lines_and_prints_the_load_info() {
    let env = Env::new();
    let file = env.write(
        "rides.jsonl",
        br#"{"Id": 1, "Payment": {"Amt": 2.5}, "passengers": [{"name": "Ann"}, {"name": "Bo"}]}
{"Id": 2, "Payment": {"Amt": 3.0}, "passengers": []}
"#,
    );
    let stdout = ok(&env.load(&file, &["--table", "Rides"]));
    assert!(
        stdout.contains(
            "1 load package(s) were loaded to destination duckdb and into dataset dltrs_dataset"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("rides: 2 row(s)"), "{stdout}");
    assert!(stdout.contains("rides__passengers: 2 row(s)"), "{stdout}");
    let rows = env.query("SELECT id || ':' || payment__amt FROM dltrs_dataset.rides ORDER BY id");
    assert_eq!(rows, ["1:2.5", "2:3.0"]);
    let json = ok(&env.load(&file, &["--table", "rides", "--json"]));
    let info: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(info["packages"][0]["row_counts"]["rides"], 2);
    assert_eq!(info["dataset_name"], "dltrs_dataset");
}

#[test]
fn a_malformed_record_names_file_and_line_and_loads_nothing_of_the_run() {
    let env = Env::new();
    let good = env.write("good.jsonl", b"{\"id\": 1}\n");
    ok(&env.load(&good, &["--table", "t"]));
    let bad = env.write(
        "bad.jsonl",
        b"{\"id\": 2}\n{\"id\": 3}\n{\"id\": 4,\n{\"id\": 5}\n",
    );
    let out = env.load(&bad, &["--table", "t"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl, line 3"), "{stderr}");
    assert!(
        stderr.contains("nothing of this run was loaded"),
        "{stderr}"
    );
    assert_eq!(env.query("SELECT id::VARCHAR FROM dltrs_dataset.t"), ["1"]);
    // and nothing is left pending to block the next run
    ok(&env.load(&good, &["--table", "t"]));
    assert_eq!(
        env.query("SELECT count(*)::VARCHAR FROM dltrs_dataset.t"),
        ["2"]
    );
}

#[test]
fn reads_gzip_json_arrays_objects_and_stdin() {
    let env = Env::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"[{\"id\": 1}, {\"id\": 2},\n {\"id\": 3}]")
        .unwrap();
    let array = env.write("items.json.gz", &gz.finish().unwrap());
    ok(&env.load(&array, &["--table", "items"]));
    let object = env.write("one.json", b"{\n  \"id\": 4,\n  \"tags\": [\"a\"]\n}\n");
    ok(&env.load(&object, &["--table", "items"]));
    let mut child = env
        .dltrs(Path::new("-"), &["--table", "items"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"id\": 5}\n")
        .unwrap();
    ok(&child.wait_with_output().unwrap());
    assert_eq!(
        env.query("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM dltrs_dataset.items"),
        ["1,2,3,4,5"]
    );
    assert_eq!(
        env.query("SELECT value FROM dltrs_dataset.items__tags"),
        ["a"]
    );
}

#[test]
fn merge_on_a_primary_key_replaces_rows_and_their_children() {
    let env = Env::new();
    let first = env.write(
        "a.jsonl",
        b"{\"id\": 1, \"s\": \"old\", \"l\": [1, 2]}\n{\"id\": 2, \"s\": \"keep\", \"l\": [3]}\n",
    );
    let second = env.write(
        "b.jsonl",
        b"{\"id\": 1, \"s\": \"new\", \"l\": [9]}\n{\"id\": 1, \"s\": \"later duplicate\"}\n",
    );
    let merge = [
        "--table",
        "t",
        "--write-disposition",
        "merge",
        "--primary-key",
        "id",
    ];
    ok(&env.load(&first, &merge));
    ok(&env.load(&second, &merge));
    assert_eq!(
        env.query("SELECT id || s FROM dltrs_dataset.t ORDER BY id"),
        ["1new", "2keep"]
    );
    assert_eq!(
        env.query("SELECT string_agg(value::VARCHAR, ',' ORDER BY value) FROM dltrs_dataset.t__l"),
        ["3,9"]
    );
}

#[test]
fn replace_swaps_the_data_of_root_and_child_tables() {
    let env = Env::new();
    let first = env.write("a.jsonl", b"{\"id\": 1, \"l\": [1, 2]}\n");
    let second = env.write("b.jsonl", b"{\"id\": 2}\n");
    let replace = ["--table", "t", "--write-disposition", "replace"];
    ok(&env.load(&first, &replace));
    ok(&env.load(&second, &replace));
    assert_eq!(env.query("SELECT id::VARCHAR FROM dltrs_dataset.t"), ["2"]);
    assert_eq!(
        env.query("SELECT count(*)::VARCHAR FROM dltrs_dataset.t__l"),
        ["0"]
    );
}

#[test]
fn usage_errors_explain_themselves() {
    let env = Env::new();
    let file = env.write("a.jsonl", b"{\"id\": 1}\n");
    let out = Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .args(["load"])
        .arg(&file)
        .args(["--table", "t", "--destination", "snowflake://x"])
        .arg("--pipelines-dir")
        .arg(env.path("p"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("duckdb:PATH"));
    let missing = env.load(&env.path("missing.jsonl"), &["--table", "t"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing.jsonl"));
}

#[test]
fn defaults_follow_dlt_and_the_pipelines_dir_variable() {
    let env = Env::new();
    let file = env.write("a.jsonl", b"{\"id\": 1}\n");
    let out = Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .args([
            "load",
            "a.jsonl",
            "--table",
            "t",
            "--pipeline-name",
            "rides",
        ])
        .current_dir(env.dir.path())
        .env("DLTRS_PIPELINES_DIR", env.path("pipes"))
        .output()
        .unwrap();
    let stdout = ok(&out);
    assert!(stdout.contains("duckdb:rides.duckdb"), "{stdout}");
    assert!(stdout.contains("dataset rides_dataset"), "{stdout}");
    assert!(env.path("rides.duckdb").exists());
    assert!(env.path("pipes/rides/schemas/rides.schema.json").exists());
    drop(file);
}

#[test]
fn schema_contracts_from_the_command_line() {
    let env = Env::new();
    let first = env.write("first.jsonl", b"{\"id\": 1, \"n\": 1}\n");
    ok(&env.load(&first, &["--table", "t"]));
    let second = env.write(
        "second.jsonl",
        b"{\"id\": 2, \"n\": 2, \"extra\": 5}\n{\"id\": 3, \"n\": 3}\n",
    );
    let out = env.load(
        &second,
        &["--table", "t", "--schema-contract", "columns=freeze"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("new column `extra` is refused"), "{err}");
    assert_eq!(
        env.query("SELECT id::VARCHAR FROM dltrs_dataset.t ORDER BY id"),
        ["1"]
    );
    let stdout = ok(&env.load(
        &second,
        &["--table", "t", "--schema-contract", "discard_row"],
    ));
    assert!(
        stdout.contains("1 row(s) left out (columns: discard_row)"),
        "{stdout}"
    );
    assert_eq!(
        env.query("SELECT id::VARCHAR FROM dltrs_dataset.t ORDER BY id"),
        ["1", "3"]
    );
    let out = env.load(
        &second,
        &["--table", "t", "--schema-contract", "colums=freeze"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown schema contract entity `colums`")
    );
}

#[test]
fn an_exported_schema_edited_and_imported_is_a_data_contract() {
    let env = Env::new();
    let first = env.write("first.jsonl", b"{\"id\": 1, \"n\": 1}\n");
    ok(&env.load(&first, &["--table", "t"]));
    let schema_cmd = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dltrs"))
            .arg("schema")
            .args(args)
            .arg("--pipelines-dir")
            .arg(env.path("pipelines"))
            .output()
            .unwrap()
    };
    let yaml = ok(&schema_cmd(&["export"]));
    assert!(yaml.contains("tables:") && yaml.contains("  t:"), "{yaml}");
    let json_path = env.path("schema.json");
    ok(&schema_cmd(&[
        "export",
        "--format",
        "json",
        "--output",
        json_path.to_str().unwrap(),
    ]));
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    schema["tables"]["t"]["schema_contract"] = serde_json::json!("freeze");
    std::fs::write(&json_path, schema.to_string()).unwrap();
    let imported = ok(&schema_cmd(&["import", json_path.to_str().unwrap()]));
    assert!(imported.contains("imported"), "{imported}");
    let second = env.write("second.jsonl", b"{\"id\": 2, \"n\": 2, \"extra\": true}\n");
    let out = env.load(&second, &["--table", "t"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("new column `extra` is refused"),
        "{err}"
    );
    let third = env.write("third.jsonl", b"{\"id\": 3, \"n\": 3}\n");
    ok(&env.load(&third, &["--table", "t"]));
    assert_eq!(
        env.query("SELECT id::VARCHAR FROM dltrs_dataset.t ORDER BY id"),
        ["1", "3"]
    );
}

#[test]
fn file_flags_are_refused_for_a_database_and_take_effect_for_files() {
    let env = Env::new();
    let file = env.write(
        "a.jsonl",
        b"{\"id\": 1, \"kids\": [{\"n\": 1}]}\n{\"id\": 2}\n",
    );
    let out = env.load(&file, &["--table", "t", "--loader-file-format", "csv"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--loader-file-format") && err.contains("duckdb"),
        "{err}"
    );

    // a relative folder is the current one's; dltrs' own reader of the CSV is DuckDB's
    let out = Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .current_dir(env.dir.path())
        .arg("load")
        .arg(&file)
        .args(["--table", "t", "--pipelines-dir", "pipes"])
        .args([
            "--destination",
            "filesystem:lake",
            "--loader-file-format",
            "csv",
        ])
        .output()
        .unwrap();
    ok(&out);
    let folder = env.path("lake/dltrs_dataset/t");
    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    assert_eq!(files.len(), 1);
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let ids: i64 = conn
        .query_row(
            &format!(
                "SELECT sum(id) FROM read_csv('{}/*.csv.gz', header = true)",
                folder.display()
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ids, 3);

    // merge into plain files: refused, naming the way out
    let out = Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .current_dir(env.dir.path())
        .arg("load")
        .arg(&file)
        .args(["--table", "t", "--pipelines-dir", "pipes"])
        .args(["--write-disposition", "merge", "--primary-key", "id"])
        .args(["--destination", "filesystem:lake"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--table-format delta"), "{err}");
}

#[test]
fn merge_strategies_hard_deletes_and_dedup_sort_from_the_command_line() {
    let env = Env::new();
    let first = env.write(
        "first.jsonl",
        b"{\"id\": 1, \"v\": \"a\", \"seq\": 1}\n{\"id\": 2, \"v\": \"b\", \"seq\": 1}\n",
    );
    let merge = [
        "--table",
        "t",
        "--write-disposition",
        "merge",
        "--primary-key",
        "id",
    ];
    ok(&env.load(&first, &merge));
    // insert-only: id 1 stays as it was, id 3 is new
    let second = env.write(
        "second.jsonl",
        b"{\"id\": 1, \"v\": \"x\", \"seq\": 2}\n{\"id\": 3, \"v\": \"c\", \"seq\": 1}\n",
    );
    let mut args = merge.to_vec();
    args.extend(["--merge-strategy", "insert-only"]);
    ok(&env.load(&second, &args));
    assert_eq!(
        env.query("SELECT id || v FROM dltrs_dataset.t ORDER BY id"),
        ["1a", "2b", "3c"]
    );
    // delete-insert (the table keeps the strategy it was last given) with a hard delete and
    // the greatest seq winning
    let third = env.write(
        "third.jsonl",
        b"{\"id\": 1, \"v\": \"old\", \"seq\": 3}\n{\"id\": 1, \"v\": \"new\", \"seq\": 9}\n{\"id\": 2, \"v\": \"b\", \"seq\": 2, \"gone\": true}\n",
    );
    let mut args = merge.to_vec();
    args.extend(["--merge-strategy", "delete-insert"]);
    args.extend(["--hard-delete", "gone", "--dedup-sort", "seq:desc"]);
    ok(&env.load(&third, &args));
    assert_eq!(
        env.query("SELECT id || v FROM dltrs_dataset.t ORDER BY id"),
        ["1new", "3c"]
    );
    // upsert
    let fourth = env.write("fourth.jsonl", b"{\"id\": 3, \"v\": \"C\", \"seq\": 5}\n");
    let mut args = merge.to_vec();
    args.extend(["--merge-strategy", "upsert"]);
    ok(&env.load(&fourth, &args));
    assert_eq!(
        env.query("SELECT id || v FROM dltrs_dataset.t ORDER BY id"),
        ["1new", "3C"]
    );
    // a bad order names the form
    let out = env.load(&fourth, &["--table", "t", "--dedup-sort", "seq"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("COLUMN:asc or COLUMN:desc"));
}
