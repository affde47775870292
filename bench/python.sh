#!/usr/bin/env bash
# The Python benchmark (issue 18): N rides (default 200k) into DuckDB, one after the other in
# one run: dltrs from Python (a generator of 10k-ride pages parsed by Python's json, as the
# workshop's getter does: bench/python_load.py), `dltrs load` of the same file, and dlt 1.31
# as written (../shared/bench/dlt_load.py) and as a performance-minded user runs it
# (../shared/bench/dlt_tuned.py). Wall time and peak RSS by /usr/bin/time -v.
#
# usage: bench/python.sh [N] [DLTRS_PYTHON] [DLT_PYTHON]
#   DLTRS_PYTHON: an interpreter with dltrs installed (python/test.sh's virtualenv by default)
#   DLT_PYTHON: one with dlt[duckdb]==1.31.0 (skipped when it has none)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
pyrs=${2:-$HOME/.cache/dltrs-venv/bin/python}
pydlt=${3:-python3}
shared=../shared/bench
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dltrs-target}
bin=$CARGO_TARGET_DIR/release
cargo build --release --workspace --bins >/dev/null 2>&1
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
file=$work/rides$n.jsonl
[ -s "$file" ] || "$bin/gen_rides" "$n" "$file"
rm -f "$work/results"
seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"; }
measure() {
  local name=$1; shift
  rm -rf "$work/$name"; mkdir -p "$work/$name"
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>&1 || {
    echo "$name failed:"; cat "$work/$name.out"; return 1; }
  local wall rss
  wall=$(seconds "$(grep 'Elapsed (wall clock)' "$work/$name.time" | awk '{print $NF}')")
  rss=$(grep 'Maximum resident set size' "$work/$name.time" | awk '{printf "%.1f", $NF / 1024}')
  echo "$name $wall $rss" >>"$work/results"
}
measure dltrs_python "$pyrs" bench/python_load.py "$file" "$work/dltrs_python"
measure dltrs_load "$bin/dltrs" load "$file" --table rides -q --pipeline-name rides_cli \
  --pipelines-dir "$work/dltrs_load/pipelines" --destination "duckdb:$work/dltrs_load/cli.duckdb"
if [ -z "${SKIP_DLT:-}" ] && "$pydlt" -c "import dlt" 2>/dev/null; then
  measure dlt_tuned "$pydlt" "$shared/dlt_tuned.py" "$file" "$work/dlt_tuned"
  measure dlt "$pydlt" "$shared/dlt_load.py" "$file" "$work/dlt" append
fi
echo "$n records, $(du -m "$file" | cut -f1) MB, $(nproc) cores"
echo
echo "| run | wall s | peak RSS MB | vs dltrs from Python |"
echo "|---|---|---|---|"
base=$(awk '$1 == "dltrs_python" {print $2}' "$work/results")
awk -v base="$base" '{ printf "| %s | %s | %s | %.2fx |\n", $1, $2, $3, $2 / base }' "$work/results"
echo
awk '$1 == "dltrs_python" {p = $2} $1 == "dltrs_load" {l = $2} $1 == "dlt" {d = $2} $1 == "dlt_tuned" {t = $2}
  END {
    printf "dltrs from Python vs dltrs load: %.2fx (target <= 1.3x)\n", p / l
    if (d) printf "dlt as written vs dltrs from Python: %.1fx (target >= 30x)\n", d / p
    if (t) printf "dlt tuned vs dltrs from Python: %.1fx (target >= 10x)\n", t / p
  }' "$work/results"
