//! dltrs: load data from anywhere into well-structured, typed, relational datasets, the way
//! Python's dlt does, in one Rust library.
//!
//! A [`Pipeline`] takes [`Resource`]s (named streams of JSON-like items), normalizes nested
//! items into relational tables and loads them into a destination (DuckDB by default), with
//! load packages on disk between the steps so an interrupted run is finished by the next.
//!
//! ```no_run
//! use dltrs::{Pipeline, Resource, WriteDisposition};
//!
//! let orders = vec![serde_json::json!({"id": 1, "items": [{"sku": "a"}, {"sku": "b"}]})];
//! let mut pipeline = Pipeline::builder("shop").build()?;
//! let info = pipeline.run([Resource::new("orders", orders)
//!     .write_disposition(WriteDisposition::Merge)
//!     .primary_key(["id"])])?;
//! println!("{info}");
//! # Ok::<(), dltrs::Error>(())
//! ```

pub mod alerts;
mod columns;
pub mod config;
pub mod declarative;
pub mod destinations;
#[cfg(feature = "filesystem-source")]
pub mod filesystem;
pub mod http;
pub mod incremental;
pub mod init;
pub mod inspect;
pub mod jsonpath;
mod load_info;
mod pipeline;
pub mod preview;
pub mod progress;
mod resource;
mod resource_state;
#[cfg(feature = "rest-api-source")]
pub mod rest_api;
mod run_error;
pub mod secret;
pub mod source;
#[cfg(feature = "sql-database-source")]
pub mod sql_database;
pub mod table_hints;
pub mod trace;

pub use columns::columns_of;
pub use dltrs_core::*;
#[cfg(feature = "duckdb")]
pub use dltrs_duckdb::DuckDb;
#[cfg(feature = "filesystem-destination")]
pub use dltrs_filesystem::{
    BucketUrl, Filesystem, Layout, LoaderFileFormat, S3Credentials, TableFormat,
};
#[cfg(feature = "postgres")]
pub use dltrs_postgres::{Postgres, PostgresCredentials};
pub use incremental::Incremental;
pub use load_info::{JobInfo, LoadInfo, PackageInfo, PackageStatus};
pub use pipeline::{ExtractInfo, Interrupt, PIPELINES_DIR_ENV, Pipeline, PipelineBuilder};
pub use resource::{JsonItem, Pulled, Resource};
pub use resource_state::ResourceState;
pub use run_error::{BoxError, Error, Result};
pub use secret::Secret;

/// The README's quickstart, compiled and run as a doc test.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeQuickstart;
