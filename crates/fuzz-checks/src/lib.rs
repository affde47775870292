//! The invariants of dltrs's input parsers, as checks on one input each: the fuzz targets in
//! `fuzz/` call them on what libFuzzer generates, and this crate's tests call them on every
//! file of the committed corpora (`fuzz/corpus/<target>/`), so what the fuzzer learnt runs in
//! every `cargo test`.
//!
//! Why a crate of its own: the fuzz crate needs nightly (libfuzzer-sys), so the main workspace
//! cannot depend on it; `dltrs`'s own tests cannot replay the corpora without building DuckDB
//! (its dev-dependencies); and check code compiled into the published crates would be API that
//! only tests use. This crate depends on `dltrs` without its database features.
//!
//! Each check panics when an invariant breaks: that panic is what libFuzzer reports as a crash
//! and what fails the replay test.

// A broken invariant is reported by panicking, with the input in the message.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod csv;
mod datetime;
mod json;
mod json_items;
mod jsonpath;
mod link_header;
mod normalize;
mod pipeline_toml;

pub use csv::csv;
pub use datetime::datetime;
pub use json::json_parse;
pub use json_items::json_items;
pub use jsonpath::jsonpath;
pub use link_header::link_header;
pub use normalize::normalize;
pub use pipeline_toml::pipeline_toml;

/// A check: panics when an invariant breaks on the input.
pub type Check = fn(&[u8]);

/// Every target: its name (the fuzz target and corpus folder) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("json_parse", json_parse),
    ("json_items", json_items),
    ("csv", csv),
    ("datetime", datetime),
    ("jsonpath", jsonpath),
    ("link_header", link_header),
    ("pipeline_toml", pipeline_toml),
    ("normalize", normalize),
];

/// The input, for panic messages: text when it is UTF-8, bytes otherwise.
fn shown(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) => format!("{text:?}"),
        Err(_) => format!("{data:?}"),
    }
}
