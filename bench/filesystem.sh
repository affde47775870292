#!/usr/bin/env bash
# The filesystem destination's benchmark: N rides (default 1,000,000) loaded by `dltrs load`
# into a local folder and into moto's S3 server, as Parquet, as JSON Lines and as Delta tables
# (and a merge of the same rides into Delta tables), against DuckDB's
# own `read_json` + `COPY ... (FORMAT parquet)` of the same file in the same run. Prints wall
# time, peak RSS and ratios.
#
# usage: bench/filesystem.sh [N]   (moto_server from the test tools' venv: bash python/venv.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
source bench/common.sh
venv=${DLTRS_VENV:-$HOME/.cache/dltrs-venv}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; [ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port" >/dev/null && break; sleep 0.1; done
curl -s -X PUT "http://127.0.0.1:$port/bench" >/dev/null
mb=$(du -m "$file" | cut -f1)
rm -rf "$work/pipelines" "$work"/lake_*
load() { # NAME DESTINATION FORMAT [args...]
  local name=$1 destination=$2 format=$3; shift 3
  measure "$name" "$bin/dltrs" load "$file" --table rides -q --pipeline-name "$name" \
    --pipelines-dir "$work/pipelines" --destination "$destination" --loader-file-format "$format" "$@"
}
measure duckdb_to_parquet "$venv/bin/python" bench/duckdb_to_parquet.py "$file" "$work/native.parquet"
load local_parquet "filesystem:$work/lake_parquet" parquet
load local_jsonl "filesystem:$work/lake_jsonl" jsonl
load local_delta "filesystem:$work/lake_delta" parquet --table-format delta
# the same rides again, merged on their key: every row replaced (copy-on-write)
load local_delta_merge_base "filesystem:$work/lake_delta_merge" parquet --table-format delta \
  --write-disposition merge --primary-key record_hash --dataset-name merged
load local_delta_merge "filesystem:$work/lake_delta_merge" parquet --table-format delta \
  --write-disposition merge --primary-key record_hash --dataset-name merged
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
load s3_parquet "filesystem:s3://bench/parquet" parquet
load s3_jsonl "filesystem:s3://bench/jsonl" jsonl
load s3_delta "filesystem:s3://bench/delta" parquet --table-format delta

echo "$n records, $mb MB ($(basename "$file")), $(nproc) cores"
echo
echo "| run | wall s | records/s | peak RSS MB | wall vs DuckDB read_json + COPY parquet |"
echo "|---|---|---|---|---|"
base=$(awk '$1 == "duckdb_to_parquet" {print $2}' "$work/results")
awk -v base="$base" -v n="$n" '{
  printf "| %s | %s | %.0f | %s | %.2fx |\n", $1, $2, n / $2, $3, $2 / base }' "$work/results"
