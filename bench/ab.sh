#!/usr/bin/env bash
# Interleaved A/B of two builds of dltrs on one file: `dltrs load FILE --table rides -q` of
# each build in turn, with DuckDB's own reader (the anchor) in every round, so both builds see
# the same machine load. Prints "<which> <wall s> <peak RSS KB>" per run.
#
# usage: bench/ab.sh BASE_RELEASE_DIR NEW_RELEASE_DIR FILE [ROUNDS]
#   *_RELEASE_DIR: a target directory's `release/` holding `dltrs` (and, for NEW,
#   `duckdb_read_json`); build the base in a worktree with a target dir of its own.
set -euo pipefail
base=$1 new=$2 file=$3 rounds=${4:-5}
for _ in $(seq "$rounds"); do
  for which in base new; do
    bin=$base
    [ "$which" = new ] && bin=$new
    d=$(mktemp -d)
    /usr/bin/time -f "%e %M" -o "$d/t" "$bin/dltrs" load "$file" --table rides -q \
      --pipelines-dir "$d/p" --destination "duckdb:$d/o.duckdb" >/dev/null 2>&1
    echo "$which $(cat "$d/t")"
    rm -rf "$d"
  done
  d=$(mktemp -d)
  /usr/bin/time -f "%e %M" -o "$d/t" "$new/duckdb_read_json" "$file" "$d/n.duckdb" >/dev/null 2>&1
  echo "duckdb_read_json $(cat "$d/t")"
  rm -rf "$d"
done
