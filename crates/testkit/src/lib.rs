//! Test support for dltrs: the canonical dataset dump of the conformance suite and the
//! conformance comparison.
//!
//! [`dump_dataset`] reads a dataset (a DuckDB schema written by dlt or dltrs) into the canonical
//! JSON form of `dump_dataset.py` (see `testdata/conformance/README.md`): the tables with their
//! columns and row counts, the system tables, and the root tables' rows rebuilt as documents.
//! [`compare`] tells whether an actual dump conforms to an expected one, and if not, how it
//! differs. [`suite`] runs every conformance case into a destination and compares the dumps: the
//! destination test suite, one line per destination ([`destination_suite!`]).

mod compare;
mod dump;
mod fs_dump;
mod pg_dump;
mod pyfmt;

pub use compare::compare;
pub use dump::dump_dataset;
pub use fs_dump::{delta_files, dump_filesystem, stored_schema};
pub use pg_dump::{canonical_json_columns, dump_postgres};

pub mod moto;
pub mod parquet;
pub mod pg;
pub mod server;
pub mod suite;
