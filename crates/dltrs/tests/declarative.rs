//! Declarative pipeline files: the README's examples parse, and build their resources.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dltrs::declarative::Declared;
use dltrs::rest_api::RestApiConfig;

/// The ```toml blocks of the README.
fn readme_examples() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next().map(str::to_owned))
        .collect()
}

#[test]
fn readme_examples_are_valid_pipelines() {
    let examples: Vec<String> = readme_examples()
        .into_iter()
        .filter(|e| e.contains("[pipeline]"))
        .collect();
    assert_eq!(examples.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    // the sql_database example reads a database: the test server, with its tables
    let mut pg = dltrs_testkit::pg::TestSchema::new("readme");
    let s = format!("\"{}\"", pg.name);
    pg.client
        .batch_execute(&format!(
            "CREATE SCHEMA {s};
             CREATE TABLE {s}.customers (id int PRIMARY KEY, name text);
             CREATE TABLE {s}.orders (id int PRIMARY KEY, total numeric(12,2), updated_at timestamptz);"
        ))
        .unwrap();
    for (i, example) in examples.iter().enumerate() {
        let file = dir.path().join(format!("example{i}.toml"));
        // secrets come from the environment, which a test cannot set: give them a value
        let example = example
            .replace("\"${HELPDESK_TOKEN}\"", "\"token\"")
            .replace(
                "\"postgresql://reader@db:5432/shop\"",
                &format!("\"{}\"", dltrs_testkit::pg::url()),
            )
            .replace("schema = \"public\"", &format!("schema = \"{}\"", pg.name))
            .replace("FROM orders", &format!("FROM {}.orders", pg.name));
        std::fs::write(&file, example).unwrap();
        let mut declared = Declared::load(&file).unwrap_or_else(|e| panic!("example {i}: {e}"));
        declared.file.pipeline.pipelines_dir = Some(dir.path().join("p").display().to_string());
        let pipeline = declared.pipeline().unwrap();
        let resources = declared
            .resources()
            .unwrap_or_else(|e| panic!("example {i}: {e}"));
        assert!(!resources.is_empty());
        assert!(!pipeline.name().is_empty());
    }
}

/// The README's secrets file completes a pipeline file that leaves the token out.
#[test]
fn readme_secrets_example_completes_a_pipeline() {
    let secrets = readme_examples()
        .into_iter()
        .find(|e| e.starts_with("# .dltrs/secrets.toml"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".dltrs")).unwrap();
    std::fs::write(dir.path().join(".dltrs/secrets.toml"), secrets).unwrap();
    let file = dir.path().join("pipeline.toml");
    std::fs::write(
        &file,
        r#"
[pipeline]
name = "gh"
[sources.github]
type = "rest_api"
resources = ["issues"]
[sources.github.client]
base_url = "https://api.github.com/repos/dlt-hub/dlt/"
auth = {type = "bearer"}
"#,
    )
    .unwrap();
    let mut declared = Declared::load(&file).unwrap();
    declared.file.pipeline.pipelines_dir = Some(dir.path().join("p").display().to_string());
    let source = &declared.file.sources["github"];
    let client = &source.config.get::<RestApiConfig>().unwrap().client;
    let auth = format!("{:?}", client.auth);
    assert!(auth.contains("Bearer"), "{auth}");
    assert!(
        !auth.contains("ghp_"),
        "Debug never shows the token: {auth}"
    );
    let location = declared.pipeline().unwrap().destination().location();
    assert!(location.ends_with("data/github.duckdb"), "{location}");
}
