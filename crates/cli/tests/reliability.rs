//! What bad input, a refusing destination, concurrent runs and a full disk do to a pipeline,
//! through the binary, on DuckDB and PostgreSQL: the bad run fails naming what to fix, and
//! the next run with good data succeeds and leaves exactly the good data.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dltrs_testkit::pg::{TestSchema, url};

/// Where a test loads: a DuckDB file, or a fresh PostgreSQL schema.
enum Target {
    DuckDb(PathBuf),
    Postgres(Box<TestSchema>),
}

impl Target {
    fn spec(&self) -> String {
        match self {
            Target::DuckDb(path) => format!("duckdb:{}", path.display()),
            Target::Postgres(_) => url(),
        }
    }

    fn dataset(&self) -> String {
        match self {
            Target::DuckDb(_) => "rel_data".to_string(),
            Target::Postgres(pg) => pg.name.clone(),
        }
    }

    /// Runs `sql` in the dataset (`{ds}` is its name).
    fn exec(&mut self, sql: &str) {
        let sql = sql.replace("{ds}", &self.dataset());
        match self {
            Target::DuckDb(path) => duckdb::Connection::open(path)
                .unwrap()
                .execute_batch(&sql)
                .unwrap(),
            Target::Postgres(pg) => pg.client.batch_execute(&sql).unwrap(),
        }
    }

    /// One text column of a query, in order.
    fn strings(&mut self, sql: &str) -> Vec<String> {
        let sql = sql.replace("{ds}", &self.dataset());
        match self {
            Target::DuckDb(path) => {
                let conn = duckdb::Connection::open(path).unwrap();
                let mut stmt = conn.prepare(&sql).unwrap();
                stmt.query_map([], |row| row.get::<_, String>(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Target::Postgres(pg) => pg
                .rows(&sql)
                .into_iter()
                .map(|row| row[0].clone().unwrap_or_default())
                .collect(),
        }
    }

    fn ids(&mut self) -> Vec<String> {
        self.strings("SELECT CAST(id AS VARCHAR) FROM {ds}.t ORDER BY id")
    }
}

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `dltrs <args>` with this project's pipelines directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dltrs"));
        cmd.args(args)
            .env("DLTRS_PIPELINES_DIR", self.path("pipelines"))
            .env("HOME", self.dir.path())
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG");
        cmd
    }

    /// `dltrs load FILE --table t` into `target` with `extra` flags.
    fn load_command(&self, spec: &str, dataset: &str, file: &Path, extra: &[&str]) -> Command {
        let mut args = vec![
            "load",
            file.to_str().unwrap(),
            "--table",
            "t",
            "--pipeline-name",
            "rel",
            "--dataset-name",
            dataset,
            "--destination",
            spec,
            "-q",
        ];
        args.extend_from_slice(extra);
        self.command(&args)
    }

    fn load(&self, target: &Target, file: &Path, extra: &[&str]) -> Output {
        self.load_command(&target.spec(), &target.dataset(), file, extra)
            .output()
            .unwrap()
    }

    fn pipeline(&self, args: &[&str]) -> Output {
        let mut all = vec!["pipeline", "rel"];
        all.extend_from_slice(args);
        self.command(&all).output().unwrap()
    }

    /// Load ids of the packages in a stage of the working directory.
    fn packages(&self, stage: &str) -> Vec<String> {
        let dir = self.path("pipelines").join("rel/packages").join(stage);
        let mut ids: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "dltrs failed: {}", text(out));
    text(out)
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn targets(name: &str) -> Vec<(Project, Target)> {
    let duck = Project::new();
    let path = duck.path("rel.duckdb");
    vec![
        (duck, Target::DuckDb(path)),
        (
            Project::new(),
            Target::Postgres(Box::new(TestSchema::new(name))),
        ),
    ]
}

#[test]
fn a_merge_whose_items_lack_the_key_fails_at_normalize_and_blocks_nothing() {
    for (project, mut target) in targets("rel_key") {
        let bad = project.write("bad.jsonl", "{\"name\": \"a\"}\n{\"name\": \"b\"}\n");
        let merge = ["--write-disposition", "merge", "--primary-key", "id"];
        let err = failed(&project.load(&target, &bad, &merge));
        assert!(
            err.contains("table `t`, item 1: the primary key column `id` is missing"),
            "{err}"
        );
        assert!(err.contains("nothing of this run was loaded"), "{err}");
        assert!(project.packages("extracted").is_empty(), "{err}");
        assert!(project.packages("normalized").is_empty(), "{err}");

        let null = project.write("null.jsonl", "{\"id\": 1}\n{\"id\": null}\n");
        let err = failed(&project.load(&target, &null, &merge));
        assert!(err.contains("item 2"), "{err}");

        let good = project.write("good.jsonl", "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2}\n");
        ok(&project.load(&target, &good, &merge));
        ok(&project.load(&target, &good, &merge));
        assert_eq!(target.ids(), ["1", "2"]);
    }
}

#[test]
fn a_nul_character_is_refused_for_postgres_or_removed_on_request() {
    for (project, mut target) in targets("rel_nul") {
        let nul = project.write(
            "nul.jsonl",
            "{\"id\": 1, \"s\": \"ok\"}\n{\"id\": 2, \"s\": \"a\\u0000b\", \"j\": [{\"k\": \"\\u0000\"}]}\n",
        );
        let out = project.load(&target, &nul, &[]);
        match &target {
            // DuckDB stores it as it is
            Target::DuckDb(_) => {
                ok(&out);
                assert_eq!(
                    target.strings("SELECT CAST(length(s) AS VARCHAR) FROM {ds}.t WHERE id = 2"),
                    ["3"]
                );
                continue;
            }
            Target::Postgres(_) => {}
        }
        let err = failed(&out);
        assert!(
            err.contains("table `t`, item 2: column `s` holds a NUL character"),
            "{err}"
        );
        assert!(err.contains("--remove-nul"), "{err}");
        assert!(project.packages("normalized").is_empty(), "{err}");

        let good = project.write("good.jsonl", "{\"id\": 3, \"s\": \"fine\"}\n");
        ok(&project.load(&target, &good, &[]));
        assert_eq!(target.ids(), ["3"]);

        let out = project.load(&target, &nul, &["--remove-nul", "--json"]);
        ok(&out);
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let warnings = &info["packages"][0]["warnings"];
        let removed: Vec<(String, u64)> = warnings
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["warning"] == "nul_removed")
            .map(|w| {
                (
                    format!(
                        "{}.{}",
                        w["table"].as_str().unwrap(),
                        w["column"].as_str().unwrap()
                    ),
                    w["values"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(removed, [("t.s".to_string(), 1), ("t__j.k".to_string(), 1)]);
        assert_eq!(target.ids(), ["1", "2", "3"]);
        assert_eq!(target.strings("SELECT s FROM {ds}.t WHERE id = 2"), ["ab"]);
    }
}

#[test]
fn a_package_the_destination_refuses_is_set_aside_and_retried_on_request() {
    for (project, mut target) in targets("rel_fail") {
        // someone else's table, with a rule our data breaks
        target.exec(
            "CREATE SCHEMA IF NOT EXISTS {ds}; CREATE TABLE {ds}.t (id BIGINT CHECK (id > 0), \
             _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)",
        );
        let bad = project.write("bad.jsonl", "{\"id\": -1}\n");
        let err = failed(&project.load(&target, &bad, &[]));
        assert!(err.contains("refused package"), "{err}");
        assert!(err.contains("failed at table `t`"), "{err}");
        assert!(err.contains("retry-package"), "{err}");
        let failed_ids = project.packages("failed");
        assert_eq!(failed_ids.len(), 1, "{err}");
        assert!(project.packages("normalized").is_empty());

        let jobs = ok(&project.pipeline(&["failed-jobs"]));
        assert!(
            jobs.contains(&format!("package {} failed at table `t`", failed_ids[0])),
            "{jobs}"
        );
        let trace = ok(&project.pipeline(&["trace"]));
        assert!(trace.contains("refused package"), "{trace}");

        // the next run is not blocked
        let good = project.write("good.jsonl", "{\"id\": 2}\n");
        ok(&project.load(&target, &good, &[]));
        assert_eq!(target.ids(), ["2"]);

        // the cause fixed, the package goes back and the next run loads it
        let unknown = project.pipeline(&["retry-package", "1.5"]);
        assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
        target.exec(
            "CREATE TABLE {ds}.t2 AS SELECT * FROM {ds}.t; DROP TABLE {ds}.t; \
             ALTER TABLE {ds}.t2 RENAME TO t",
        );
        ok(&project.pipeline(&["retry-package", &failed_ids[0]]));
        assert!(project.packages("failed").is_empty());
        let more = project.write("more.jsonl", "{\"id\": 3}\n");
        ok(&project.load(&target, &more, &[]));
        assert_eq!(target.ids(), ["-1", "2", "3"]);
        let jobs = ok(&project.pipeline(&["failed-jobs"]));
        assert!(jobs.contains("nothing failed"), "{jobs}");
    }
}

#[test]
fn four_runs_of_one_pipeline_at_once_each_load_or_refuse_as_busy() {
    for (project, mut target) in targets("rel_lock") {
        let files: Vec<PathBuf> = (0..4)
            .map(|i| {
                let lines: String = (0..20_000)
                    .map(|n| {
                        format!(
                            "{{\"id\": {}, \"pad\": \"{}\"}}\n",
                            i * 100_000 + n,
                            "x".repeat(40)
                        )
                    })
                    .collect();
                project.write(&format!("part{i}.jsonl"), &lines)
            })
            .collect();
        let (spec, dataset) = (target.spec(), target.dataset());
        let spawn = |file: &Path, wait: &str| {
            project
                .load_command(&spec, &dataset, file, &["--wait", wait])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let children: Vec<_> = files.iter().map(|f| spawn(f, "0")).collect();
        let outs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let mut expected = Vec::new();
        for (i, out) in outs.iter().enumerate() {
            if out.status.success() {
                expected.extend((0..20_000).map(|n| i * 100_000 + n));
            } else {
                let err = failed(out);
                assert!(err.contains("the pipeline is busy"), "{err}");
                assert!(err.contains("process "), "{err}");
                assert!(err.contains("--wait"), "{err}");
            }
        }
        assert!(!expected.is_empty(), "no run loaded");
        let count = target.strings("SELECT CAST(count(*) AS VARCHAR) FROM {ds}.t");
        assert_eq!(count, [expected.len().to_string()]);
        let distinct = target.strings("SELECT CAST(count(DISTINCT id) AS VARCHAR) FROM {ds}.t");
        assert_eq!(distinct, [expected.len().to_string()]);

        // waiting, all four load one after the other
        target.exec("DROP TABLE {ds}.t");
        let children: Vec<_> = files.iter().map(|f| spawn(f, "120")).collect();
        for child in children {
            ok(&child.wait_with_output().unwrap());
        }
        let count = target.strings("SELECT CAST(count(DISTINCT id) AS VARCHAR) FROM {ds}.t");
        assert_eq!(count, ["80000"]);
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_the_next_run_finishes() {
    for (project, mut target) in targets("rel_disk") {
        let lines: String = (0..50_000)
            .map(|n| format!("{{\"id\": {n}, \"pad\": \"{}\"}}\n", "y".repeat(60)))
            .collect();
        let file = project.write("big.jsonl", &lines);
        // a 256 KiB file size limit stands for a full disk: writes fail with EFBIG (the
        // signal the kernel sends with it is ignored, as a shell does)
        let cmd = format!(
            "trap '' XFSZ; ulimit -f 256; exec \"{}\" load \"{}\" --table t --pipeline-name rel \
             --dataset-name \"{}\" --destination \"{}\" -q",
            env!("CARGO_BIN_EXE_dltrs"),
            file.display(),
            target.dataset(),
            target.spec()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&cmd)
            .env("DLTRS_PIPELINES_DIR", project.path("pipelines"))
            .output()
            .unwrap();
        let err = failed(&out);
        assert!(
            err.contains("the disk is full or a file size limit"),
            "{err}"
        );
        let tmp = project.path("pipelines").join("rel/packages/tmp");
        let leftovers = std::fs::read_dir(&tmp).map_or(0, |d| d.flatten().count());
        assert_eq!(leftovers, 0, "{err}");
        assert!(project.packages("extracted").is_empty());

        ok(&project.load(&target, &file, &[]));
        assert_eq!(
            target.strings("SELECT CAST(count(DISTINCT id) AS VARCHAR) FROM {ds}.t"),
            ["50000"]
        );
    }
}

#[test]
fn an_unreachable_destination_keeps_the_package_for_the_next_run() {
    for (project, mut target) in targets("rel_nowhere") {
        let nowhere = match &target {
            Target::DuckDb(_) => "duckdb:/proc/dltrs-cannot-write-here/rel.duckdb".to_string(),
            Target::Postgres(_) => "postgresql://root@127.0.0.1:1/test".to_string(),
        };
        let dataset = target.dataset();
        let to_nowhere = |file: &Path| {
            project
                .load_command(&nowhere, &dataset, file, &[])
                .output()
                .unwrap()
        };
        let first = project.write("first.jsonl", "{\"id\": 1}\n");
        if matches!(target, Target::Postgres(_)) {
            // a new pipeline asks the destination for its state first: nothing is extracted
            let err = failed(&to_nowhere(&first));
            assert!(err.contains("cannot open destination"), "{err}");
            assert!(err.contains("nothing was extracted"), "{err}");
            assert!(project.packages("normalized").is_empty(), "{err}");
        }
        ok(&project.load(&target, &first, &[]));

        let second = project.write("second.jsonl", "{\"id\": 2}\n{\"id\": 3}\n");
        let err = failed(&to_nowhere(&second));
        assert!(err.contains("cannot open destination"), "{err}");
        assert!(err.contains("retried by the next run"), "{err}");
        assert_eq!(project.packages("normalized").len(), 1);

        let third = project.write("third.jsonl", "{\"id\": 4}\n");
        ok(&project.load(&target, &third, &[]));
        assert_eq!(target.ids(), ["1", "2", "3", "4"]);
    }
}

#[test]
fn a_byte_order_mark_is_skipped_and_nan_is_named() {
    for (project, mut target) in targets("rel_bom") {
        let bom = project.write("bom.jsonl", "\u{feff}{\"id\": 1}\n{\"id\": 2}\n");
        ok(&project.load(&target, &bom, &[]));
        assert_eq!(target.ids(), ["1", "2"]);

        let nan = project.write("nan.jsonl", "{\"id\": 3}\n{\"id\": 4, \"x\": NaN}\n");
        let err = failed(&project.load(&target, &nan, &[]));
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("`NaN` is not JSON"), "{err}");
        assert_eq!(target.ids(), ["1", "2"]);
    }
}

#[test]
fn an_unwritable_pipelines_directory_is_named_with_what_to_do() {
    let project = Project::new();
    let target = Target::DuckDb(project.path("rel.duckdb"));
    let file = project.write("a.jsonl", "{\"id\": 1}\n");
    let out = project
        .load_command(&target.spec(), &target.dataset(), &file, &[])
        .env("DLTRS_PIPELINES_DIR", "/proc/dltrs-no-pipelines-here")
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(
        err.contains(
            "cannot create the pipeline's working directory /proc/dltrs-no-pipelines-here/rel"
        ),
        "{err}"
    );
    assert!(err.contains("must be a writable folder"), "{err}");
}
