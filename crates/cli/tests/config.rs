//! Configuration layering end to end: flags > environment > pipeline file > project
//! `.dltrs/` files > global `~/.dltrs/` files, credentials as a string or a table, missing
//! values, secrets never shown (even when the connection fails), logs and exit codes.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dltrs_testkit::server::TestServer;
use dltrs_testkit::server::axum::http::HeaderMap;
use dltrs_testkit::server::axum::routing::get;
use dltrs_testkit::server::axum::{Json, Router};
use serde_json::{Value, json};

/// A project folder and a home folder of its own, so no real `~/.dltrs` takes part.
struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let home = dir.path().join("home");
        std::fs::create_dir_all(root.join(".dltrs")).unwrap();
        std::fs::create_dir_all(home.join(".dltrs")).unwrap();
        std::fs::write(root.join("rides.jsonl"), "{\"id\": 1}\n{\"id\": 2}\n").unwrap();
        Project {
            _dir: dir,
            root,
            home,
        }
    }

    fn write(&self, path: &str, text: &str) {
        let path = if let Some(rest) = path.strip_prefix("~/") {
            self.home.join(rest)
        } else {
            self.root.join(path)
        };
        std::fs::write(path, text).unwrap();
    }

    fn dltrs(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dltrs"));
        cmd.args(args)
            .current_dir(&self.root)
            .env("HOME", &self.home)
            .env("DLTRS_PIPELINES_DIR", self.root.join("pipelines"))
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// `dltrs load` and the DuckDB file the load info names.
    fn load_location(&self, extra: &[&str], env: &[(&str, &str)]) -> String {
        let mut args = vec![
            "load",
            "rides.jsonl",
            "--table",
            "rides",
            "--pipeline-name",
            "my_pipe",
            "--json",
            "-q",
        ];
        args.extend(extra);
        let out = self.dltrs(&args, env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info: Value = serde_json::from_slice(&out.stdout).unwrap();
        let location = info["destination_location"].as_str().unwrap();
        let location = location
            .strip_prefix("duckdb:")
            .unwrap_or(location)
            .to_owned();
        Path::new(&location)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}

#[test]
fn destination_credentials_follow_flags_env_project_global() {
    let p = Project::new();
    assert_eq!(p.load_location(&[], &[]), "my_pipe.duckdb", "dlt's default");

    p.write(
        "~/.dltrs/config.toml",
        "[destination.duckdb]\ncredentials = \"global.duckdb\"\n",
    );
    assert_eq!(p.load_location(&[], &[]), "global.duckdb");

    // the table form, in the project's config over the global one
    p.write(
        ".dltrs/config.toml",
        "[destination.duckdb.credentials]\ndatabase = \"project_config.duckdb\"\n",
    );
    assert_eq!(p.load_location(&[], &[]), "project_config.duckdb");

    // secrets.toml over config.toml; the connection string form
    p.write(
        ".dltrs/secrets.toml",
        "[destination.duckdb]\ncredentials = \"duckdb:///project_secrets.duckdb\"\n",
    );
    assert_eq!(p.load_location(&[], &[]), "project_secrets.duckdb");

    // as in dlt, the environment comes first with every section path it may use, down to
    // the bare key
    let short = [("CREDENTIALS", "short.duckdb")];
    assert_eq!(p.load_location(&[], &short), "short.duckdb");
    let env = [
        ("CREDENTIALS", "short.duckdb"),
        ("DESTINATION__CREDENTIALS", "section.duckdb"),
    ];
    assert_eq!(p.load_location(&[], &env), "section.duckdb");

    let env = [("DESTINATION__DUCKDB__CREDENTIALS", "env.duckdb")];
    assert_eq!(p.load_location(&[], &env), "env.duckdb");

    // under the pipeline's name first, as dlt looks it up
    let env = [
        ("DESTINATION__DUCKDB__CREDENTIALS", "env.duckdb"),
        (
            "MY_PIPE__DESTINATION__DUCKDB__CREDENTIALS",
            "pipe_env.duckdb",
        ),
    ];
    assert_eq!(p.load_location(&[], &env), "pipe_env.duckdb");

    // the flag over everything
    assert_eq!(
        p.load_location(&["--destination", "duckdb:flag.duckdb"], &env),
        "flag.duckdb"
    );
    for file in [
        "global.duckdb",
        "project_config.duckdb",
        "project_secrets.duckdb",
        "short.duckdb",
        "section.duckdb",
        "env.duckdb",
        "pipe_env.duckdb",
        "flag.duckdb",
    ] {
        assert!(p.root.join(file).exists(), "{file} was not written");
    }
}

/// Answers with the `Authorization` header and the `api_key` query parameter it received.
fn echo_server() -> TestServer {
    TestServer::start(Router::new().route(
        "/api/who",
        get(
            |headers: HeaderMap, query: dltrs_testkit::server::axum::extract::RawQuery| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                Json(json!([{"auth": auth, "query": query.0.unwrap_or_default()}]))
            },
        ),
    ))
}

const REST_PIPELINE: &str = r#"
[pipeline]
name = "my_pipe"
destination = "duckdb:out.duckdb"

[sources.api]
type = "rest_api"
resources = [{name = "who", endpoint = {path = "who", paginator = "single_page"}}]

[sources.api.client]
base_url = "BASE_URL"
auth = {type = "bearer"}
"#;

fn seen_auth(p: &Project) -> String {
    let conn = duckdb::Connection::open(p.root.join("out.duckdb")).unwrap();
    conn.query_row(
        "SELECT auth FROM my_pipe_dataset.who ORDER BY _dlt_load_id DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn source_secrets_come_from_the_layers_and_the_file_sits_between_env_and_dltrs_files() {
    let server = echo_server();
    let p = Project::new();
    p.write(
        "pipeline.toml",
        &REST_PIPELINE.replace("BASE_URL", &server.url("/api")),
    );
    let run = |env: &[(&str, &str)]| {
        let out = p.dltrs(&["run", "pipeline.toml", "-q"], env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen_auth(&p)
    };

    p.write(
        "~/.dltrs/secrets.toml",
        "[sources.api.client.auth]\ntoken = \"global-token\"\n",
    );
    assert_eq!(run(&[]), "Bearer global-token");

    p.write(
        ".dltrs/secrets.toml",
        "[sources.api.client.auth]\ntoken = \"project-token\"\n",
    );
    assert_eq!(run(&[]), "Bearer project-token");

    p.write(
        ".dltrs/secrets.toml",
        "[my_pipe.sources.api.client.auth]\ntoken = \"pipeline-section-token\"\n[sources.api.client.auth]\ntoken = \"project-token\"\n",
    );
    assert_eq!(run(&[]), "Bearer pipeline-section-token");

    // numbers from the environment are read as numbers where a number is wanted
    let env = [
        ("SOURCES__API__CLIENT__AUTH__TOKEN", "env-token"),
        ("SOURCES__API__CLIENT__TIMEOUT", "30"),
        ("SOURCES__API__CLIENT__MAX_ATTEMPTS", "2"),
    ];
    assert_eq!(run(&env), "Bearer env-token");
    let env = [
        ("SOURCES__API__CLIENT__AUTH__TOKEN", "env-token"),
        (
            "MY_PIPE__SOURCES__API__CLIENT__AUTH__TOKEN",
            "pipe-env-token",
        ),
    ];
    assert_eq!(run(&env), "Bearer pipe-env-token");
    // a token of digits stays the same text, leading zeros and all
    let digits = [("SOURCES__API__CLIENT__AUTH__TOKEN", "0012345")];
    assert_eq!(run(&digits), "Bearer 0012345");
    let digits = [("SOURCES__API__CLIENT__AUTH__TOKEN", "12345")];
    assert_eq!(run(&digits), "Bearer 12345");

    // the pipeline file over the .dltrs files, the environment over the file
    p.write(
        ".dltrs/config.toml",
        "[sources.api.client]\nbase_url = \"http://127.0.0.1:1/never\"\n",
    );
    assert_eq!(run(&[]), "Bearer pipeline-section-token");
    let out = p.dltrs(
        &["run", "pipeline.toml", "-q"],
        &[("SOURCES__API__CLIENT__BASE_URL", "http://127.0.0.1:1/env")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:1/env/who"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_value_names_every_place_looked_at() {
    let p = Project::new();
    p.write(
        "pipeline.toml",
        &REST_PIPELINE.replace("BASE_URL", "http://127.0.0.1:1/api"),
    );
    let out = p.dltrs(&["run", "pipeline.toml"], &[]);
    assert_eq!(out.status.code(), Some(2), "a configuration error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`sources.api.client.auth.token` is not set"),
        "{err}"
    );
    for place in [
        "MY_PIPE__SOURCES__API__CLIENT__AUTH__TOKEN",
        "environment variable SOURCES__API__CLIENT__AUTH__TOKEN",
        "pipeline.toml",
        ".dltrs/secrets.toml",
        ".dltrs/config.toml",
        "home/.dltrs/secrets.toml",
        "home/.dltrs/config.toml",
    ] {
        assert!(err.contains(place), "{place} not listed: {err}");
    }
}

#[test]
fn secrets_never_show_even_when_the_connection_fails() {
    let p = Project::new();
    // nothing listens on port 1: every attempt is refused
    p.write(
        "pipeline.toml",
        r#"
[pipeline]
name = "leaky"
destination = "duckdb:out.duckdb"

[sources.api]
type = "rest_api"
resources = [{name = "who", endpoint = {path = "who", paginator = "single_page"}}]

[sources.api.client]
auth = {type = "api_key", location = "query", name = "api_key"}
max_attempts = 2
backoff_factor = 0.01
"#,
    );
    p.write(
        ".dltrs/secrets.toml",
        "[sources.api.client.auth]\napi_key = \"q-secret-4417\"\n",
    );
    let env = [(
        "SOURCES__API__CLIENT__BASE_URL",
        "http://loader:url-password-9931@127.0.0.1:1/api",
    )];
    let out = p.dltrs(&["run", "pipeline.toml", "-vv"], &env);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("127.0.0.1:1"),
        "the error names the server: {stderr}"
    );
    assert!(
        stderr.contains("http request"),
        "-vv logs requests: {stderr}"
    );
    let trace = p.dltrs(&["pipeline", "leaky", "trace", "--json"], &env);
    let trace_json =
        std::fs::read_to_string(p.root.join("pipelines/leaky/trace.json")).unwrap_or_default();
    assert!(trace_json.contains("127.0.0.1:1"), "{trace_json}");
    for shown in [
        stderr,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&trace.stdout).into_owned(),
        String::from_utf8_lossy(&trace.stderr).into_owned(),
        trace_json,
    ] {
        for secret in ["q-secret-4417", "url-password-9931"] {
            assert!(!shown.contains(secret), "{secret} shown in: {shown}");
        }
    }
}

#[test]
fn logs_help_and_exit_codes() {
    let p = Project::new();
    let out = p.dltrs(&["--help"], &[]);
    let help = String::from_utf8_lossy(&out.stdout);
    for part in [
        "Get started",
        "dltrs init",
        "DESTINATION__DUCKDB__CREDENTIALS",
        ".dltrs/secrets.toml",
        "Exit codes",
    ] {
        assert!(help.contains(part), "{part}: {help}");
    }

    let out = p.dltrs(
        &["load", "rides.jsonl", "--table", "rides", "-q", "-v"],
        &[],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("extracted") && err.contains("loaded"), "{err}");

    let out = p.dltrs(
        &["load", "rides.jsonl", "--table", "rides", "-q"],
        &[("RUST_LOG", "dltrs=info")],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("extracted"));
    let out = p.dltrs(&["load", "rides.jsonl", "--table", "rides", "-q"], &[]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("extracted"),
        "quiet without -v"
    );

    // usage error, configuration error, failed run
    assert_eq!(
        p.dltrs(&["load", "--no-such-flag"], &[]).status.code(),
        Some(2)
    );
    p.write(
        ".dltrs/config.toml",
        "[destination.duckdb]\ncredentials = true\n",
    );
    let out = p.dltrs(&["load", "rides.jsonl", "--table", "rides"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(".dltrs/config.toml"),
        "names the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(p.root.join(".dltrs/config.toml")).unwrap();
    std::fs::write(p.root.join("bad.jsonl"), "{\"id\": 1}\n{broken\n").unwrap();
    let out = p.dltrs(&["load", "bad.jsonl", "--table", "rides"], &[]);
    assert_eq!(out.status.code(), Some(1));
}
