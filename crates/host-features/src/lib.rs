//! Not a library: built beside `dltrs` in a partial build, this crate's build-dependencies give
//! build-time crates (syn) the features the whole workspace gives them, so the partial build
//! reuses the workspace's libduckdb-sys build script output instead of building DuckDB again.
//! See its Cargo.toml.
