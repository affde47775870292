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
source bench/common.sh
# each run works in a folder of its own, fresh
run() { local name=$1; shift; rm -rf "$work/$name"; mkdir -p "$work/$name"; measure "$name" "$@"; }
run dltrs_python "$pyrs" bench/python_load.py "$file" "$work/dltrs_python"
run dltrs_load "$bin/dltrs" load "$file" --table rides -q --pipeline-name rides_cli \
  --pipelines-dir "$work/dltrs_load/pipelines" --destination "duckdb:$work/dltrs_load/cli.duckdb"
if [ -z "${SKIP_DLT:-}" ] && "$pydlt" -c "import dlt" 2>/dev/null; then
  run dlt_tuned "$pydlt" "$shared/dlt_tuned.py" "$file" "$work/dlt_tuned"
  run dlt "$pydlt" "$shared/dlt_load.py" "$file" "$work/dlt" append
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
