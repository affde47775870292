//! `conformance-check CASE.json DB_FILE DATASET`: dumps a DuckDB dataset canonically and
//! compares it with what the conformance case expects (dlt's dump, or a `beyond` case's
//! documents), for loaders outside the Rust tests (the Python package's pytest suite).
//! Exits 0 when the dataset conforms, 1 with the differences, 2 on bad arguments.

#![allow(missing_docs)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [case, db, dataset] = args.as_slice() else {
        eprintln!("usage: conformance-check CASE.json DB_FILE DATASET");
        return ExitCode::from(2);
    };
    let (expected, documents_only) = dltrs_testkit::suite::expectation(Path::new(case));
    let conn = match duckdb::Connection::open(db) {
        Ok(conn) => conn,
        Err(e) => {
            eprintln!("cannot open {db}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut actual = match dltrs_testkit::dump_dataset(&conn, dataset) {
        Ok(dump) => dump,
        Err(e) => {
            eprintln!("cannot dump dataset {dataset} of {db}: {e}");
            return ExitCode::from(1);
        }
    };
    if documents_only {
        actual = serde_json::json!({ "documents": actual["documents"] });
    }
    match dltrs_testkit::compare(&expected, &actual) {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) => {
            eprintln!("{report}");
            ExitCode::from(1)
        }
    }
}
