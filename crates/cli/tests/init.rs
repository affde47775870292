//! `dltrs init`: the scaffolds are valid pipelines, and the filesystem one runs as it is.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Command;

fn dltrs(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dltrs"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("DLTRS_PIPELINES_DIR", dir.join("pipelines"))
        .output()
        .unwrap()
}

#[test]
fn scaffolds_run_or_parse() {
    let dir = tempfile::tempdir().unwrap();
    let out = dltrs(
        dir.path(),
        &["init", "filesystem", "duckdb", "--name", "files"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "pipeline.toml",
        ".dltrs/config.toml",
        ".dltrs/secrets.toml",
        ".dltrs/.gitignore",
        "data/sample.jsonl",
    ] {
        assert!(dir.path().join(file).exists(), "{file}");
    }
    let out = dltrs(dir.path(), &["run", "pipeline.toml", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["packages"][0]["row_counts"]["items"], 2);
    // existing files are kept unless --force
    let out = dltrs(dir.path(), &["init", "filesystem", "duckdb"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use --force"));

    let rest = tempfile::tempdir().unwrap();
    assert!(
        dltrs(rest.path(), &["init", "rest_api", "duckdb"])
            .status
            .success()
    );
    let mut declared =
        dltrs::declarative::Declared::load(&rest.path().join("pipeline.toml")).unwrap();
    declared.file.pipeline.pipelines_dir = Some(rest.path().join("p").display().to_string());
    assert_eq!(declared.resources().unwrap().len(), 1);
    // sql_database: the file parses; its tables are read from a database when it runs
    let out = dltrs(
        rest.path(),
        &["init", "sql_database", "postgres", "--force"],
    );
    assert!(out.status.success());
    let declared = dltrs::declarative::Declared::load(&rest.path().join("pipeline.toml")).unwrap();
    assert_eq!(
        declared.file.sources["db"].kind,
        dltrs::declarative::SourceKind::SqlDatabase
    );
    assert_eq!(
        declared.file.pipeline.destination.as_deref(),
        Some("postgres")
    );
    let out = dltrs(
        rest.path(),
        &["init", "sql_database", "snowflake", "--force"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_filesystem_destination_scaffold_runs_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dltrs(
        dir.path(),
        &["init", "filesystem", "filesystem", "--name", "files"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    assert!(
        pipeline.contains("destination = \"filesystem:files_data\""),
        "{pipeline}"
    );
    let out = dltrs(dir.path(), &["run", "pipeline.toml", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["destination_name"], "filesystem");
    let dataset = info["dataset_name"].as_str().unwrap();
    // the folder is the pipeline file's, the files dlt's default (gzipped JSON Lines)
    let items = dir.path().join("files_data").join(dataset).join("items");
    let files: Vec<String> = std::fs::read_dir(&items)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.len() == 1 && files[0].ends_with(".jsonl.gz"),
        "{files:?}"
    );
}
