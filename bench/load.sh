#!/usr/bin/env bash
# End-to-end load benchmark, one tool after the other on the same file: `dltrs load` (this
# repo), the anchor Python dlt 1.31 (`../shared/bench/dlt_load.py`) and DuckDB's own JSON
# reader (`../shared/bench/duckdb_native.py`). Prints wall time, peak RSS and ratios.
#
# usage: bench/load.sh FILE.jsonl [PYTHON]
#   PYTHON: an interpreter with `dlt[duckdb]==1.31.0` installed (default: python3);
#   set SKIP_ANCHORS=1 to measure dltrs only.
set -euo pipefail
cd "$(dirname "$0")/.."
file=$(realpath "$1")
py=${2:-python3}
shared=../shared/bench
target=${CARGO_TARGET_DIR:-target}
cargo build --release -p dltrs-cli >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seconds() { # "h:mm:ss" or "m:ss.ss" -> seconds
  awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"
}
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>&1 || {
    echo "$name failed:"; cat "$work/$name.out"; return 1; }
  local wall rss
  wall=$(seconds "$(grep 'Elapsed (wall clock)' "$work/$name.time" | awk '{print $NF}')")
  rss=$(grep 'Maximum resident set size' "$work/$name.time" | awk '{printf "%.1f", $NF / 1024}')
  echo "$name $wall $rss" >>"$work/results"
}

measure dltrs "$target/release/dltrs" load "$file" --table rides \
  --pipelines-dir "$work/pipelines" --destination "duckdb:$work/dltrs.duckdb"
if [ -z "${SKIP_ANCHORS:-}" ]; then
  measure dlt "$py" "$shared/dlt_load.py" "$file" "$work/dlt" append
  measure duckdb_native "$py" "$shared/duckdb_native.py" "$file" "$work/native.duckdb"
fi

echo "| tool | wall s | peak RSS MB | wall vs dltrs |"
echo "|---|---|---|---|"
base=$(awk '$1 == "dltrs" {print $2}' "$work/results")
awk -v base="$base" '{ printf "| %s | %s | %s | %.2fx |\n", $1, $2, $3, $2 / base }' "$work/results"
