//! The conformance suite, for every destination: every case of `testdata/conformance/cases` and
//! `beyond` is run through the library into a fresh dataset, which is dumped canonically and
//! compared with what Python dlt 1.31 wrote (`expected/`), or with the documents a `beyond` case
//! names (`dltrs_testkit::suite`). A destination joins with one line.

#![allow(missing_docs)]

// a fresh DuckDB file per case, named like the dataset (names must be qualified with the catalog)
dltrs_testkit::destination_suite!(duckdb, dltrs_testkit::suite::DuckDbTarget);

// a fresh PostgreSQL schema per case, dumped by the same rules: dlt's PostgreSQL types map back
// to the DuckDB types of the expectations, JSON columns are compared with sorted keys
dltrs_testkit::destination_suite!(postgres, dltrs_testkit::suite::PostgresTarget);

// a fresh local folder per case, Parquet files read back by DuckDB into the expectations' types;
// plain files do not merge, so the cases with a merge run are left out; the system tables are
// dlt's system files (tests/filesystem_destination.rs checks them)
dltrs_testkit::destination_suite!(
    filesystem,
    dltrs_testkit::suite::FilesystemTarget,
    without_merge
);

// the same folder with Delta tables: every case, merges included, through the tables' logs (the
// strategy cases' hard deletes, dedup_sort and insert-only are not built for Delta tables yet)
dltrs_testkit::destination_suite!(delta, dltrs_testkit::suite::DeltaTarget, without_strategies);
