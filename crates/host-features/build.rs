//! Nothing to build: the crate exists for its build-dependencies (see Cargo.toml).

fn main() {}
