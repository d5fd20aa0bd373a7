#!/usr/bin/env bash
# Instructions per request of the replay server against the bare hyper baseline, counted by
# callgrind: unlike CPU time, the count does not move with the machine's load, so it shows a
# hot-path change of a few percent in one run, and where it went (the functions it grew in).
#
#   bash benches/instructions.sh                        # 2.7 KB page, c8, our load generator
#   INSTR_BEFORE=path/to/old/cognito-vcr bash benches/instructions.sh   # an older build beside
#   INSTR_USERS=60 INSTR_TOP=25 bash benches/instructions.sh            # 23 KB page, longer list
#
# Each server runs under `valgrind --tool=callgrind` (about 50x slower); after a warm-up its
# counters are zeroed, our load generator runs INSTR_SECS (4) seconds at c INSTR_CONNECTIONS (8),
# and the count is dumped and divided by the requests answered. User space only: the kernel's
# share (about 3/4 of the CPU per request here) is the same for every server (see hotpath.sh).
# Needs valgrind. Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
users="${INSTR_USERS:-7}"
secs="${INSTR_SECS:-4}"
c="${INSTR_CONNECTIONS:-8}"
top="${INSTR_TOP:-12}"
work="target/bench-work/instructions"
rm -rf "$work"; mkdir -p "$work"
echo "instructions.sh: building (release)" >&2
cargo build --release --locked --quiet --bin cognito-vcr
bench="$(cargo bench --locked --bench replay --no-run 2>&1 | grep -o 'target/release/deps/replay-[0-9a-f]*' | head -n 1)"
export BENCH_USERS="$users"
"$bench" cassette "$work/page.json"
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benches Cargo.toml Cargo.lock || echo -dirty)"

# count NAME CMD...: the server under callgrind; prints "NAME instructions-per-request requests".
# Run in a subshell ($(...)): the server is stopped when it ends, whatever happened.
count() {
  local name="$1"; shift
  local out="$work/$name"
  valgrind --tool=callgrind --callgrind-out-file="$out.cg" "$@" >"$out.out" 2>"$out.log" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true' EXIT
  local url=""
  for _ in $(seq 1 600); do
    url="$(head -n 1 "$out.out" 2>/dev/null | sed -n 's/^listening on //p')"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$out.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "instructions.sh: $name did not start" >&2; exit 1; }
  BENCH_CLIENT_THREADS=1 BENCH_WARMUP=0 "$bench" load "${url#http://}" "$c" 1 >/dev/null
  callgrind_control -z "$pid" >/dev/null
  local load requests
  load="$(BENCH_CLIENT_THREADS=1 BENCH_WARMUP=0 "$bench" load "${url#http://}" "$c" "$secs")"
  requests="$(echo "$load" | sed -n 's/.*(\([0-9]*\) requests, \([0-9]*\) errors).*/\1 \2/p')"
  [ "${requests#* }" = 0 ] || { echo "instructions.sh: $name answered with errors: $load" >&2; exit 1; }
  requests="${requests% *}"
  callgrind_control -d "$pid" >/dev/null
  for _ in $(seq 1 100); do grep -qs '^totals:' "$out".cg.* && break; sleep 0.2; done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  local total
  total="$(grep -h '^totals:' "$out".cg.* | head -n 1 | awk '{ print $2 }')"
  echo "$name $((total / requests)) $requests"
}

echo "instructions.sh at $commit, $(date -u '+%Y-%m-%d %H:%M UTC'); page of $users users, c$c, ${secs}s under callgrind"
# valgrind runs the binaries themselves (under `env` it would follow only `env`): the baseline
# at warn level, the proxies at their default (info, as users run them).
results=("$(export RUST_LOG=warn; count baseline "$bench" serve-baseline)")
results+=("$(unset RUST_LOG; count replay target/release/cognito-vcr serve --cassette "$work/page.json")")
for b in ${INSTR_BEFORE:-}; do
  [[ "$b" == *=* ]] || b="before=$b"
  results+=("$(unset RUST_LOG; count "${b%%=*}" "${b#*=}" serve --cassette "$work/page.json")")
done
base="${results[0]#baseline }"; base="${base% *}"
printf '%-10s %14s %10s %8s\n' server "instr/request" requests "× base"
for r in "${results[@]}"; do
  read -r name per requests <<<"$r"
  awk -v n="$name" -v p="$per" -v q="$requests" -v b="$base" 'BEGIN { printf "%-10s %14d %10d %8.2f\n", n, p, q, p / b }'
done
echo
echo "== replay: the functions with the most instructions of their own, per request =="
callgrind_annotate --threshold=100 --inclusive=no "$work"/replay.cg.* 2>/dev/null |
  grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS' |
  awk -v q="$(echo "${results[1]}" | awk '{ print $3 }')" -v top="$top" '{
      # The frames every request runs under (the worker loop, the task) are not its own cost.
      line = $0; sub(/^ *[0-9,]+ +\( */, "", line); share = line + 0; if (share > 50) next
      sub(/^[0-9.]+%\) +/, "", line)
      gsub(",", "", $1); n = $1 / q; $0 = line
      sub(/ \[[^]]*\]$/, ""); sub(/^.*\/(registry\/src\/[^\/]+\/|rustc\/[0-9a-f]+\/|sysdeps\/)/, "")
      if (++shown <= top) printf "%8.0f  %s\n", n, substr($0, 1, 140) }'
