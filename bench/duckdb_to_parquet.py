"""The filesystem benchmark's anchor: DuckDB's own JSON reader and Parquet writer on all
cores, `COPY (SELECT * FROM read_json(FILE)) TO OUT (FORMAT parquet)`, nested values kept as
STRUCT/LIST (no flattening, no child tables). The `duckdb` package from PyPI (the Rust crate's
bundled build has no Parquet extension). usage: duckdb_to_parquet.py FILE.jsonl OUT.parquet"""

import sys
import time

import duckdb

source, target = sys.argv[1], sys.argv[2]
conn = duckdb.connect()
started = time.perf_counter()
conn.execute(
    "COPY (SELECT * FROM read_json(?, format = 'newline_delimited')) TO '"
    + target.replace("'", "''")
    + "' (FORMAT parquet)",
    [source],
)
seconds = time.perf_counter() - started
rows = conn.execute("SELECT count(*) FROM read_parquet(?)", [target]).fetchall()[0][0]
print(f"seconds {seconds:.2f} rows {rows}")
