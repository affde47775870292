#!/usr/bin/env bash
# Streamed download benchmark: `dltrs run` on a pipeline whose filesystem resource is FILE
# served over local HTTP, then on the same file read from disk. Prints wall time, peak RSS
# and the ratio (issue 4: at most 1.2x, under 300 MB for 1M rides).
#
# usage: bench/download.sh FILE.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
file=$(realpath "$1")
target=${CARGO_TARGET_DIR:-target}
cargo build --release --workspace >/dev/null 2>&1
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$(dirname "$file")" >/dev/null 2>&1 &
server=$!
trap 'kill $server; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"; }
measure() { # name, location key, location
  cat >"$work/$1.toml" <<TOML
[pipeline]
name = "$1"
destination = "duckdb:$work/$1.duckdb"
pipelines_dir = "$work/pipelines"

[sources.files]
type = "filesystem"

[[sources.files.resources]]
name = "rides"
$2 = "$3"
format = "jsonl"
TOML
  /usr/bin/time -v -o "$work/$1.time" "$target/release/dltrs" run "$work/$1.toml" \
    >"$work/$1.out" 2>&1 || { echo "$1 failed:"; cat "$work/$1.out"; return 1; }
  wall=$(seconds "$(grep 'Elapsed (wall clock)' "$work/$1.time" | awk '{print $NF}')")
  rss=$(grep 'Maximum resident set size' "$work/$1.time" | awk '{printf "%.1f", $NF / 1024}')
  echo "$1 $wall $rss" >>"$work/results"
}

measure disk path "$file"
measure http url "http://127.0.0.1:$port/$(basename "$file")"
echo "| source | wall s | peak RSS MB | wall vs disk |"
echo "|---|---|---|---|"
base=$(awk '$1 == "disk" {print $2}' "$work/results")
awk -v base="$base" '{ printf "| %s | %s | %s | %.2fx |\n", $1, $2, $3, $2 / base }' "$work/results"
