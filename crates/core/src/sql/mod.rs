//! SQL dialect knowledge that needs no driver: how each destination names dlt's types.

pub mod duckdb;
pub mod postgres;
