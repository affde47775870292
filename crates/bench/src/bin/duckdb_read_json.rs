//! `duckdb_read_json FILE.jsonl DB_FILE`: the speed limit. DuckDB's own multi-threaded JSON
//! reader loads FILE into one table (nested values kept as STRUCT/LIST: no flattening, no
//! child tables), as `../shared/bench/duckdb_native.py` does, without needing Python.
//! Prints `seconds S rows N`.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(db)) = (args.first(), args.get(1)) else {
        eprintln!("usage: duckdb_read_json FILE.jsonl DB_FILE");
        return ExitCode::from(2);
    };
    match run(file, db) {
        Ok((secs, rows)) => {
            println!("seconds {secs:.2} rows {rows}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("duckdb_read_json: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(file: &str, db: &str) -> duckdb::Result<(f64, i64)> {
    let conn = duckdb::Connection::open(db)?;
    let started = Instant::now();
    conn.execute(
        "CREATE OR REPLACE TABLE rides AS SELECT * FROM read_json(?, format = 'newline_delimited')",
        [file],
    )?;
    let rows: i64 = conn.query_row("SELECT count(*) FROM rides", [], |r| r.get(0))?;
    Ok((started.elapsed().as_secs_f64(), rows))
}
