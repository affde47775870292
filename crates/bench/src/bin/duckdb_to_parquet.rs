//! `duckdb_to_parquet FILE.jsonl OUT.parquet`: the anchor of the filesystem destination's
//! benchmark. DuckDB's own JSON reader and Parquet writer, `COPY (SELECT * FROM read_json(...))
//! TO ... (FORMAT parquet)` on all cores, nested values kept as STRUCT/LIST (no flattening, no
//! child tables). Prints `seconds S rows N`.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, out] = args.as_slice() else {
        eprintln!("usage: duckdb_to_parquet FILE.jsonl OUT.parquet");
        return ExitCode::from(2);
    };
    match run(file, out) {
        Ok((secs, rows)) => {
            println!("seconds {secs:.2} rows {rows}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("duckdb_to_parquet: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(file: &str, out: &str) -> duckdb::Result<(f64, i64)> {
    let conn = duckdb::Connection::open_in_memory()?;
    let started = Instant::now();
    // COPY takes its target as a literal, not a parameter
    let target = out.replace('\'', "''");
    conn.execute(
        &format!(
            "COPY (SELECT * FROM read_json(?, format = 'newline_delimited')) TO '{target}' (FORMAT parquet)"
        ),
        [file],
    )?;
    let secs = started.elapsed().as_secs_f64();
    let rows: i64 = conn.query_row("SELECT count(*) FROM read_parquet(?)", [out], |r| r.get(0))?;
    Ok((secs, rows))
}
