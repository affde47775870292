#!/usr/bin/env bash
# The benchmark harness: generates N rides records with the project's own generator, then runs,
# one after the other on the same file, `dltrs load` (append), a merge of N changed records
# into them, DuckDB's own JSON reader (the speed limit) and, where Python dlt 1.31 is
# installed, the dlt anchor (`../shared/bench/dlt_load.py`). Prints a table of wall time,
# records/s, MB/s, peak RSS and ratios.
#
# usage: bench/run.sh [N] [PYTHON]
#   N: records (default 200000; 1000000 for the DuckDB-reader and merge targets)
#   PYTHON: an interpreter with `dlt[duckdb]==1.31.0` (and `duckdb`) installed; without it
#   (or with SKIP_DLT=1) the Python anchors are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
py=${2:-python3}
source bench/common.sh
changed=$work/rides${n}_cancelled.jsonl
[ -s "$changed" ] || "$bin/gen_rides" "$n" "$changed" --status cancelled
mb=$(du -m "$file" | cut -f1)
dltrs_load() { # NAME FILE [args...]
  local name=$1 input=$2; shift 2
  measure "$name" "$bin/dltrs" load "$input" --table rides -q \
    --pipelines-dir "$work/pipelines" --destination "duckdb:$work/$name.duckdb" "$@"
}
rm -rf "$work/pipelines" "$work"/*.duckdb "$work"/*.duckdb.wal
dltrs_load dltrs_append "$file" --pipeline-name append
dltrs_load dltrs_merge_base "$file" --pipeline-name merge --write-disposition merge --primary-key record_hash
cp "$work/dltrs_merge_base.duckdb" "$work/dltrs_merge.duckdb"
dltrs_load dltrs_merge "$changed" --pipeline-name merge --write-disposition merge --primary-key record_hash
measure duckdb_read_json "$bin/duckdb_read_json" "$file" "$work/native.duckdb"
if [ -z "${SKIP_DLT:-}" ] && "$py" -c "import dlt, duckdb" 2>/dev/null; then
  rm -f "$work/native_py.duckdb"
  measure duckdb_native_py "$py" "$shared/duckdb_native.py" "$file" "$work/native_py.duckdb"
  measure dlt "$py" "$shared/dlt_load.py" "$file" "$work/dlt" append
fi

echo "$n records, $mb MB ($(basename "$file")), $(nproc) cores"
echo
echo "| run | wall s | records/s | MB/s | peak RSS MB | wall vs dltrs append |"
echo "|---|---|---|---|---|---|"
base=$(awk '$1 == "dltrs_append" {print $2}' "$work/results")
awk -v base="$base" -v n="$n" -v mb="$mb" '{
  printf "| %s | %s | %.0f | %.1f | %s | %.2fx |\n", $1, $2, n / $2, mb / $2, $3, $2 / base }' \
  "$work/results"
echo
awk '$1 == "dltrs_append" {a = $2} $1 == "dltrs_merge" {m = $2} $1 == "duckdb_read_json" {r = $2}
  $1 == "duckdb_native_py" {p = $2} $1 == "dlt" {d = $2}
  END {
    printf "merge vs append: %.2fx (target <= 2x)\n", m / a
    printf "dltrs vs DuckDB read_json: %.2fx (target <= 1.5x)\n", a / r
    if (p) printf "dltrs vs DuckDB read_json from Python: %.2fx\n", a / p
    if (d) printf "dlt vs dltrs: %.1fx faster (target >= 50x)\n", d / a
  }' "$work/results"
