//! Benchmark tools for `bench/run.sh`: `gen_rides` writes nested taxi-ride records shaped like
//! `../shared/bench/gen_rides.py`'s (same keys, nesting, value ranges and size), so a fresh
//! clone can make its own inputs; `duckdb_read_json` loads a file with DuckDB's own
//! multi-threaded JSON reader, the speed limit we compare with.
