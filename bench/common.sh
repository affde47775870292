# What the benchmark scripts share (sourced, from the repository's root): the build, the work
# folder (`BENCH_DIR`, kept; else a temporary one, removed at exit), the rides input of N
# records (`$file`), and `measure NAME COMMAND...`, which runs the command under
# `/usr/bin/time -v` and appends "NAME wall_seconds peak_rss_mb" to `$work/results`.
shared=../shared/bench
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dltrs-target}
bin=$CARGO_TARGET_DIR/release
cargo build --release --workspace --bins >/dev/null 2>&1
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$work"' EXIT
file=$work/rides$n.jsonl
[ -s "$file" ] || "$bin/gen_rides" "$n" "$file"
rm -f "$work/results"

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
