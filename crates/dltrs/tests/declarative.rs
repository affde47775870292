//! Declarative pipeline files: the README's examples parse, and build their resources.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dltrs::declarative::Declared;

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
    let examples = readme_examples();
    assert_eq!(examples.len(), 5);
    let dir = tempfile::tempdir().unwrap();
    for (i, example) in examples.iter().enumerate() {
        let file = dir.path().join(format!("example{i}.toml"));
        // secrets come from the environment, which a test cannot set: give them a value
        let example = example.replace("\"${HELPDESK_TOKEN}\"", "\"token\"");
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
