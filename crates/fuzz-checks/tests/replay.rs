//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and the inputs of the bugs
//! fuzzing found (`fuzz/regressions/<target>/`) through the checks the fuzz targets run, on
//! stable Rust and without libFuzzer: what fuzzing learnt is tested on every `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

/// The fewest corpus files a target must have: a corpus that went missing or was emptied
/// fails the replay instead of passing on nothing.
const MIN_CORPUS: usize = 10;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let check = dltrs_fuzz_checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, check)| *check)
        .unwrap_or_else(|| panic!("no check for {target}"));
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    assert!(
        corpus.len() >= MIN_CORPUS,
        "fuzz/corpus/{target} has {} files",
        corpus.len()
    );
    let regressions = files(&fuzz_dir().join("regressions").join(target));
    let mut failed = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: the checks fail on {failed:#?}"
    );
}

#[test]
fn every_target_has_a_check_and_a_corpus() {
    for (target, _) in dltrs_fuzz_checks::TARGETS {
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file()
        );
        assert!(fuzz_dir().join("corpus").join(target).is_dir(), "{target}");
    }
}

#[test]
fn json_parse_corpus_passes() {
    replay("json_parse");
}

#[test]
fn json_items_corpus_passes() {
    replay("json_items");
}

#[test]
fn csv_corpus_passes() {
    replay("csv");
}

#[test]
fn datetime_corpus_passes() {
    replay("datetime");
}

#[test]
fn jsonpath_corpus_passes() {
    replay("jsonpath");
}

#[test]
fn link_header_corpus_passes() {
    replay("link_header");
}

#[test]
fn pipeline_toml_corpus_passes() {
    replay("pipeline_toml");
}

#[test]
fn normalize_corpus_passes() {
    replay("normalize");
}
