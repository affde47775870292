//! Crash safety: `dltrs load` is killed with SIGKILL at several instants of a run (extract,
//! normalize, load, bookkeeping); the next run must finish the interrupted package before its
//! own data, losing and duplicating nothing.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FIRST: u64 = 150_000;
const SECOND: u64 = 1_000;

/// Rides with ids `from..from+n`, each with two passengers and a nested dict.
fn write_rides(path: &Path, from: u64, n: u64) {
    let mut text = String::with_capacity(n as usize * 200);
    for id in from..from + n {
        writeln!(
            text,
            r#"{{"id": {id}, "vendor": "v{}", "time": {{"pickup": "2024-01-01T00:00:00Z", "fare": {}.5}}, "passengers": [{{"name": "a{id}", "rating": 4.5}}, {{"name": "b{id}", "rating": 3}}]}}"#,
            id % 7,
            id % 50
        )
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Setup {
            root: dir.path().to_path_buf(),
            _dir: dir,
        }
    }

    fn command(&self, file: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dltrs"));
        cmd.arg("load")
            .arg(file)
            .args(["--table", "rides", "--pipeline-name", "crash"])
            .arg("--pipelines-dir")
            .arg(self.root.join("pipelines"))
            .arg("--destination")
            .arg(format!(
                "duckdb:{}",
                self.root.join("crash.duckdb").display()
            ));
        cmd
    }

    fn packages(&self, stage: &str) -> usize {
        let dir = self.root.join("pipelines/crash/packages").join(stage);
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }
}

fn query_i64(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn a_killed_load_is_finished_by_the_next_run_without_loss_or_duplicates() {
    let data = tempfile::tempdir().unwrap();
    let first = data.path().join("first.jsonl");
    let second = data.path().join("second.jsonl");
    write_rides(&first, 0, FIRST);
    write_rides(&second, FIRST, SECOND);

    // how long an uninterrupted run takes, to spread the kills over it
    let reference = Setup::new();
    let started = Instant::now();
    let status = reference
        .command(&first)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let full = started.elapsed();

    let mut resumed_runs = 0;
    for fraction in [0.02, 0.15, 0.35, 0.55, 0.75, 0.9, 0.98] {
        let setup = Setup::new();
        let mut child = setup
            .command(&first)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * fraction));
        // SIGKILL: no destructor, no flush, no chance to clean up
        let _ = child.kill();
        let _ = child.wait();
        let pending = setup.packages("extracted") + setup.packages("normalized");

        let out = setup.command(&second).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kill at {fraction}: second run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if pending > 0 {
            resumed_runs += 1;
            assert!(
                stdout.contains("interrupted run"),
                "kill at {fraction}: the resumed package is not reported:\n{stdout}"
            );
            // and said up front, in one line, before the run's own work
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("unfinished package(s) of an interrupted run found"),
                "kill at {fraction}: no line about the pending package:\n{stderr}"
            );
        }
        assert_eq!(
            setup.packages("extracted") + setup.packages("normalized"),
            0
        );

        let conn = duckdb::Connection::open(setup.root.join("crash.duckdb")).unwrap();
        let first_rows = query_i64(
            &conn,
            &format!("SELECT count(*) FROM crash_dataset.rides WHERE id < {FIRST}"),
        );
        let distinct = query_i64(&conn, "SELECT count(DISTINCT id) FROM crash_dataset.rides");
        let total = query_i64(&conn, "SELECT count(*) FROM crash_dataset.rides");
        assert!(
            first_rows == 0 || first_rows == FIRST as i64,
            "kill at {fraction}: {first_rows} rows of the first file (a partial load)"
        );
        if pending > 0 {
            assert_eq!(
                first_rows, FIRST as i64,
                "kill at {fraction}: a pending package was lost"
            );
        }
        assert_eq!(total, distinct, "kill at {fraction}: duplicated rows");
        assert_eq!(
            total - first_rows,
            SECOND as i64,
            "kill at {fraction}: second file"
        );
        let passengers = query_i64(
            &conn,
            "SELECT count(*) FROM crash_dataset.rides__passengers",
        );
        assert_eq!(passengers, 2 * total, "kill at {fraction}: child rows");
        let orphans = query_i64(
            &conn,
            "SELECT count(*) FROM crash_dataset.rides__passengers p \
             WHERE NOT EXISTS (SELECT 1 FROM crash_dataset.rides r WHERE r._dlt_id = p._dlt_parent_id)",
        );
        assert_eq!(orphans, 0, "kill at {fraction}: orphan child rows");
        let unrecorded = query_i64(
            &conn,
            "SELECT count(*) FROM crash_dataset.rides r WHERE NOT EXISTS \
             (SELECT 1 FROM crash_dataset._dlt_loads l WHERE l.load_id = r._dlt_load_id)",
        );
        assert_eq!(
            unrecorded, 0,
            "kill at {fraction}: rows without a _dlt_loads row"
        );
    }
    // the kills must have hit a run that had a package on disk at least once
    assert!(
        resumed_runs > 0,
        "no kill landed after the extract; the test proves nothing"
    );
}

/// Appends rides with ids `from..from+n` to `path`.
fn append_rides(path: &Path, from: u64, n: u64) {
    let extra = path.with_extension("extra");
    write_rides(&extra, from, n);
    let mut text = std::fs::read(path).unwrap();
    text.extend(std::fs::read(&extra).unwrap());
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_killed_incremental_run_leaves_no_duplicate_and_no_gap() {
    let pipeline_file = |root: &Path| {
        let file = root.join("pipeline.toml");
        std::fs::write(
            &file,
            r#"
[pipeline]
name = "crash"
destination = "duckdb:crash.duckdb"
pipelines_dir = "pipelines"

[sources.files]
type = "filesystem"

[[sources.files.resources]]
name = "rides"
path = "rides.jsonl"
incremental = { cursor_path = "id" }
"#,
        )
        .unwrap();
        file
    };
    let run = |root: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dltrs"));
        cmd.arg("run").arg(pipeline_file(root));
        cmd
    };
    // the time of an uninterrupted run, to spread the kills over it
    let reference = Setup::new();
    write_rides(&reference.root.join("rides.jsonl"), 0, FIRST);
    let started = Instant::now();
    assert!(
        run(&reference.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let full = started.elapsed();

    for fraction in [0.1, 0.4, 0.7, 0.95] {
        let setup = Setup::new();
        let data = setup.root.join("rides.jsonl");
        write_rides(&data, 0, FIRST);
        let mut child = run(&setup.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * fraction));
        let _ = child.kill();
        let _ = child.wait();
        // the source grows between the runs
        append_rides(&data, FIRST, SECOND);
        let out = run(&setup.root).output().unwrap();
        assert!(
            out.status.success(),
            "kill at {fraction}: the next run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // and a third run finds nothing new
        let out = run(&setup.root).output().unwrap();
        assert!(out.status.success());
        let conn = duckdb::Connection::open(setup.root.join("crash.duckdb")).unwrap();
        let total = FIRST + SECOND;
        assert_eq!(
            (
                query_i64(&conn, "SELECT count(*) FROM crash_dataset.rides"),
                query_i64(&conn, "SELECT count(DISTINCT id) FROM crash_dataset.rides"),
                query_i64(&conn, "SELECT max(id) FROM crash_dataset.rides"),
            ),
            (total as i64, total as i64, total as i64 - 1),
            "kill at {fraction}: rows lost or loaded twice"
        );
    }
}

/// `dltrs load FILE` as `command` builds it for a setup, killed at each fraction of an
/// uninterrupted run's time, then run again on `second`, which must succeed; `check` looks at
/// the result (the setup, the fraction, whether a package was pending). Returns how many
/// kills left a package pending.
fn kill_and_resume(
    command: impl Fn(&Setup, &Path) -> Command,
    first: &Path,
    second: &Path,
    fractions: &[f64],
    check: impl Fn(&Setup, f64, bool),
) -> usize {
    let reference = Setup::new();
    let started = Instant::now();
    let status = command(&reference, first)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let full = started.elapsed();
    let mut resumed_runs = 0;
    for &fraction in fractions {
        let setup = Setup::new();
        let mut child = command(&setup, first)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * fraction));
        let _ = child.kill();
        let _ = child.wait();
        let pending = setup.packages("extracted") + setup.packages("normalized") > 0;
        let out = command(&setup, second).output().unwrap();
        assert!(
            out.status.success(),
            "kill at {fraction}: second run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        resumed_runs += usize::from(pending);
        check(&setup, fraction, pending);
    }
    resumed_runs
}

/// `dltrs load` into a filesystem destination under the setup's root.
fn load_into_files(setup: &Setup, file: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dltrs"));
    cmd.arg("load")
        .arg(file)
        .args(["--table", "rides", "--pipeline-name", "crash"])
        .arg("--pipelines-dir")
        .arg(setup.root.join("pipelines"))
        .arg("--destination")
        .arg(format!("filesystem:{}", setup.root.join("lake").display()))
        .args(args);
    cmd
}

/// The Parquet files of a table folder of the lake (the current ones of a Delta table) as
/// table `name` of `conn`, read by arrow-rs (this DuckDB build has no Parquet extension).
fn lake_table(conn: &duckdb::Connection, folder: &Path, name: &str, delta: bool) {
    let mut files: Vec<PathBuf> = match delta {
        true => dltrs_testkit::delta_files(folder)
            .unwrap()
            .iter()
            .map(|f| folder.join(f))
            .collect(),
        // as a reader's `*.parquet` glob finds them: a killed upload into a local folder may
        // leave its staging file (`<name>#<n>`), never a partial `.parquet`
        false => std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect(),
    };
    files.sort();
    dltrs_testkit::parquet::parquet_table(conn, name, &files).unwrap();
}

/// `dltrs load` into Parquet files, killed at several instants: the next run finishes the
/// package, and the files hold every ride once, each file of a load whose marker is written.
#[test]
fn a_killed_load_into_files_is_finished_without_loss_or_duplicates() {
    let data = tempfile::tempdir().unwrap();
    let first = data.path().join("first.jsonl");
    let second = data.path().join("second.jsonl");
    write_rides(&first, 0, FIRST);
    write_rides(&second, FIRST, SECOND);
    let command = |setup: &Setup, file: &Path| {
        load_into_files(setup, file, &["--loader-file-format", "parquet"])
    };
    let check = |setup: &Setup, fraction: f64, pending: bool| {
        let lake = setup.root.join("lake/crash_dataset");
        // the resumed load removed what its killed attempt was writing
        for table in ["rides", "rides__passengers"] {
            let staging: Vec<String> = std::fs::read_dir(lake.join(table))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains('#'))
                .collect();
            assert!(
                staging.is_empty(),
                "kill at {fraction}: staging files left: {staging:?}"
            );
        }
        let conn = duckdb::Connection::open_in_memory().unwrap();
        lake_table(&conn, &lake.join("rides"), "rides", false);
        lake_table(&conn, &lake.join("rides__passengers"), "passengers", false);
        let first_rows = query_i64(
            &conn,
            &format!("SELECT count(*) FROM rides WHERE id < {FIRST}"),
        );
        let total = query_i64(&conn, "SELECT count(*) FROM rides");
        let distinct = query_i64(&conn, "SELECT count(DISTINCT id) FROM rides");
        if pending {
            assert_eq!(first_rows, FIRST as i64, "kill at {fraction}: lost rows");
        }
        assert!(
            first_rows == 0 || first_rows == FIRST as i64,
            "kill at {fraction}: {first_rows} rows of the first file"
        );
        assert_eq!(total, distinct, "kill at {fraction}: duplicated rows");
        assert_eq!(total - first_rows, SECOND as i64, "kill at {fraction}");
        assert_eq!(
            query_i64(&conn, "SELECT count(*) FROM passengers"),
            2 * total,
            "kill at {fraction}: child rows"
        );
        // every row's load has its marker
        let markers: Vec<String> = std::fs::read_dir(lake.join("_dlt_loads"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut stmt = conn
            .prepare("SELECT DISTINCT _dlt_load_id FROM rides")
            .unwrap();
        let loads: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for load in loads {
            assert!(
                markers.contains(&format!("crash__{load}.jsonl")),
                "kill at {fraction}: rows of load {load} without its marker ({markers:?})"
            );
        }
    };
    let fractions = [0.05, 0.3, 0.5, 0.7, 0.85, 0.95];
    let resumed = kill_and_resume(command, &first, &second, &fractions, check);
    assert!(
        resumed > 0,
        "no kill landed after the extract; the test proves nothing"
    );
}

/// A merge into Delta tables killed at several instants: the next run (whose rides overlap
/// the first's) finishes it, and every table holds each ride once, with no orphan child rows.
#[test]
fn a_killed_merge_into_delta_tables_is_finished_without_loss_or_duplicates() {
    const OVERLAP: u64 = 500;
    let data = tempfile::tempdir().unwrap();
    let first = data.path().join("first.jsonl");
    let second = data.path().join("second.jsonl");
    write_rides(&first, 0, FIRST);
    write_rides(&second, FIRST - OVERLAP, SECOND);
    let command = |setup: &Setup, file: &Path| {
        load_into_files(
            setup,
            file,
            &[
                "--write-disposition",
                "merge",
                "--primary-key",
                "id",
                "--table-format",
                "delta",
            ],
        )
    };
    let check = |setup: &Setup, fraction: f64, pending: bool| {
        let lake = setup.root.join("lake/crash_dataset");
        let conn = duckdb::Connection::open_in_memory().unwrap();
        lake_table(&conn, &lake.join("rides"), "rides", true);
        lake_table(&conn, &lake.join("rides__passengers"), "passengers", true);
        let total = query_i64(&conn, "SELECT count(*) FROM rides");
        let distinct = query_i64(&conn, "SELECT count(DISTINCT id) FROM rides");
        assert_eq!(total, distinct, "kill at {fraction}: duplicated rides");
        let kept = (FIRST - OVERLAP) as i64;
        let first_rows = query_i64(
            &conn,
            &format!("SELECT count(*) FROM rides WHERE id < {kept}"),
        );
        if pending {
            assert_eq!(first_rows, kept, "kill at {fraction}: lost rides");
        }
        assert!(
            first_rows == 0 || first_rows == kept,
            "kill at {fraction}: {first_rows} rides of the first file"
        );
        assert_eq!(
            query_i64(
                &conn,
                &format!("SELECT count(*) FROM rides WHERE id >= {kept}")
            ),
            SECOND as i64,
            "kill at {fraction}: the second file's rides"
        );
        assert_eq!(
            query_i64(&conn, "SELECT count(*) FROM passengers"),
            2 * total,
            "kill at {fraction}: passengers"
        );
        assert_eq!(
            query_i64(
                &conn,
                "SELECT count(*) FROM passengers p WHERE NOT EXISTS (SELECT 1 FROM rides r WHERE r._dlt_id = p._dlt_parent_id)"
            ),
            0,
            "kill at {fraction}: orphan passengers"
        );
    };
    let fractions = [0.1, 0.4, 0.6, 0.8, 0.95];
    let resumed = kill_and_resume(command, &first, &second, &fractions, check);
    assert!(
        resumed > 0,
        "no kill landed after the extract; the test proves nothing"
    );
}
