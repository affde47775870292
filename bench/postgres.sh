#!/usr/bin/env bash
# PostgreSQL benchmarks (issue 9): N rides records (the project's own generator) loaded from
# JSONL into PostgreSQL (three tables: rides, rides__passengers, rides__stops), then the loaded
# `rides` table (N rows, 20 columns) extracted back out of PostgreSQL into DuckDB with the
# sql_database source. Prints wall time, rows/s and peak RSS (`/usr/bin/time -v`).
#
# usage: bench/postgres.sh [N] [POSTGRES_URL] [PYTHON]
#   N: records (default 1000000)
#   POSTGRES_URL: default postgresql://root:unused@127.0.0.1:5432/test (dlt insists on a
#   password; trust auth ignores it); schemas `bench_pg` and
#   `bench_dlt` are dropped and recreated in it.
#   PYTHON: an interpreter with `dlt[postgres]==1.31.0`, for the dlt anchor (skipped without).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
pg=${2:-postgresql://root:unused@127.0.0.1:5432/test}
py=${3:-python3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dltrs-target}
bin=$CARGO_TARGET_DIR/release
cargo build --release --workspace --bins >/dev/null 2>&1
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT
file=$work/rides$n.jsonl
[ -s "$file" ] || "$bin/gen_rides" "$n" "$file"
psql "$pg" -q -c 'DROP SCHEMA IF EXISTS bench_pg CASCADE; DROP SCHEMA IF EXISTS bench_pg_staging CASCADE'

seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"; }
measure() { # NAME ROWS command...
  local name=$1 rows=$2; shift 2
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>&1 || {
    echo "$name failed:"; cat "$work/$name.out"; return 1; }
  local wall rss
  wall=$(seconds "$(grep 'Elapsed (wall clock)' "$work/$name.time" | awk '{print $NF}')")
  rss=$(grep 'Maximum resident set size' "$work/$name.time" | awk '{printf "%.1f", $NF / 1024}')
  printf "| %s | %s | %s | %.0f | %s |\n" "$name" "$rows" "$wall" "$(echo "$rows / $wall" | bc -l)" "$rss"
}
echo "$n records ($(du -m "$file" | cut -f1) MB), $(nproc) cores"
echo
echo "| run | rows | wall s | rows/s | peak RSS MB |"
echo "|---|---|---|---|---|"
rm -rf "$work/pipelines"
measure jsonl_to_postgres "$n" "$bin/dltrs" load "$file" --table rides -q \
  --pipelines-dir "$work/pipelines" --pipeline-name to_pg --dataset-name bench_pg --destination "$pg"
cat >"$work/pg_to_duckdb.toml" <<TOML
[pipeline]
name = "from_pg"
dataset_name = "copied"
destination = "duckdb:$work/from_pg.duckdb"
pipelines_dir = "$work/pipelines"

[sources.bench]
type = "sql_database"
credentials = "$pg"
schema = "bench_pg"
tables = ["rides"]
TOML
measure postgres_to_duckdb "$n" "$bin/dltrs" run "$work/pg_to_duckdb.toml" -q
psql "$pg" -q -c 'DROP SCHEMA IF EXISTS bench_pg CASCADE'
if "$py" -c "import dlt, psycopg2" 2>/dev/null; then
  psql "$pg" -q -c 'DROP SCHEMA IF EXISTS bench_dlt CASCADE; DROP SCHEMA IF EXISTS bench_dlt_staging CASCADE'
  measure dlt_jsonl_to_postgres "$n" "$py" bench/dlt_postgres.py "$file" "$work/dlt" "$pg" bench_dlt
  psql "$pg" -q -c 'DROP SCHEMA IF EXISTS bench_dlt CASCADE; DROP SCHEMA IF EXISTS bench_dlt_staging CASCADE'
fi
