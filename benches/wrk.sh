#!/usr/bin/env bash
# Replay against the bare-hyper baseline with wrk, an independent load generator: the proxy at
# its default settings (RUST_LOG unset, so logging as users have it), keep-alive, the same
# 23 KB ListUsers page. Rounds alternate baseline / replay / scoped replay / HTTPS replay.
# Prints req/s, p99 and server CPU per request (from /proc) for each, and the ratios.
#
#   bash benches/wrk.sh                # c16 and c64, 5 s runs, 3 rounds (~4 min after the build)
#   WRK_SECS=2 WRK_ROUNDS=1 bash benches/wrk.sh      # a quick look
#   WRK_PROCS=8 bash benches/wrk.sh    # also 8 replay processes on one cassette vs 8 baselines
#   WRK_PIN=1 bash benches/wrk.sh      # servers on CPU 0, wrk (1 thread) on CPU 1: the server's
#                                      # own latency, without the load generator preempting it
#
# Installs wrk from Debian's packages when it is missing (as root). Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${WRK_SECS:-5}"
rounds="${WRK_ROUNDS:-3}"
conns="${WRK_CONNECTIONS:-16 64}"
procs="${WRK_PROCS:-0}"
threads="${WRK_THREADS:-2}"
pin="${WRK_PIN:-0}"
on_server=()
on_client=()
if [ "$pin" = 1 ]; then
  command -v taskset >/dev/null || { echo "wrk.sh: WRK_PIN=1 needs taskset (util-linux)" >&2; exit 1; }
  on_server=(taskset -c 0)
  on_client=(taskset -c 1)
  threads="${WRK_THREADS:-1}"
fi
work="target/bench-work/wrk"
mkdir -p "$work"

if ! command -v wrk >/dev/null; then
  echo "wrk.sh: installing wrk (Debian package)" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >&2
fi

me=wrk.sh
source benches/lib.sh
build

"$bench" cassette "$work/replay.json"
"$bench" cassette "$work/scoped.json" bench

post_lua

# CPU seconds (user + system) a process has used so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.4f", ($14 + $15) / t }' "/proc/$1/stat"; }

# measure PID URL C: one wrk run; prints "req/s p99_ms cpu_us_per_request".
measure() {
  local pid="$1" url="$2" c="$3"
  local before after out
  before="$(cpu "$pid")"
  out="$("${on_client[@]}" wrk -t"$threads" -c"$c" -d"${secs}s" --latency -s "$work/post.lua" "$url")"
  after="$(cpu "$pid")"
  echo "$out" | awk -v b="$before" -v a="$after" '
    /^ +99%/ { v = $2; if (v ~ /us$/) p = v / 1000; else if (v ~ /ms$/) p = v + 0; else p = v * 1000 }
    /requests in/ { n = $1 }
    /^Requests\/sec/ { r = $2 }
    /Non-2xx|Socket errors/ { bad = bad " " $0 }
    END { if (bad != "") { print "wrk.sh: errors:" bad > "/dev/stderr" }
          printf "%.0f %.2f %.2f\n", r, p, (a - b) * 1e6 / n }'
}

start baseline "${on_server[@]}" env RUST_LOG=warn "$bench" serve-baseline
start replay "${on_server[@]}" env -u RUST_LOG "$vcr" serve --cassette "$work/replay.json"
start scoped "${on_server[@]}" env -u RUST_LOG "$vcr" serve --cassette "$work/scoped.json"
start https "${on_server[@]}" env -u RUST_LOG "$vcr" serve --cassette "$work/replay.json" --tls-auto --state-dir "$work/state"
URL_scoped="$URL_scoped/scope/bench"

placement="servers and wrk share all cores"
[ "$pin" = 1 ] && placement="servers pinned to CPU 0, wrk to CPU 1"
echo "wrk $(wrk --version 2>&1 | head -n 1 | awk '{print $2}'), $threads threads, ${secs}s runs, $rounds rounds; $(nproc) cores, $placement; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %4s %10s %9s %12s\n' server c "req/s" "p99 ms" "CPU µs/req"
declare -A sum
for c in $conns; do
  for r in $(seq 1 "$rounds"); do
    for name in baseline replay scoped https; do
      url_var="URL_$name"; pid_var="PID_$name"
      read -r rps p99 cpu_us < <(measure "${!pid_var}" "${!url_var}" "$c")
      printf '%-8s %4s %10s %9s %12s\n' "$name" "$c" "$rps" "$p99" "$cpu_us"
      sum[$name,$c,rps]="${sum[$name,$c,rps]:-} $rps"
      sum[$name,$c,p99]="${sum[$name,$c,p99]:-} $p99"
      sum[$name,$c,cpu]="${sum[$name,$c,cpu]:-} $cpu_us"
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
highest() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -n 1; }
lowest() { tr ' ' '\n' | grep -v '^$' | sort -g | head -n 1; }
# table UP DOWN TITLE: each figure reduced over the rounds, req/s by UP, p99 and CPU by DOWN.
table() {
  local up="$1" down="$2"
  echo
  echo "$3; ratios against the same run's baseline (https CPU against plain replay's)"
  printf '%-8s %4s %10s %9s %12s %10s %10s %10s\n' server c "req/s" "p99 ms" "CPU µs/req" "req/s ×" "p99 ×" "CPU ×"
  for c in $conns; do
    b_rps="$(echo "${sum[baseline,$c,rps]}" | $up)"
    b_p99="$(echo "${sum[baseline,$c,p99]}" | $down)"
    b_cpu="$(echo "${sum[baseline,$c,cpu]}" | $down)"
    r_cpu="$(echo "${sum[replay,$c,cpu]}" | $down)"
    for name in baseline replay scoped https; do
      rps="$(echo "${sum[$name,$c,rps]}" | $up)"
      p99="$(echo "${sum[$name,$c,p99]}" | $down)"
      cpu_us="$(echo "${sum[$name,$c,cpu]}" | $down)"
      base_cpu="$b_cpu"; [ "$name" = https ] && base_cpu="$r_cpu"
      awk -v n="$name" -v c="$c" -v r="$rps" -v p="$p99" -v u="$cpu_us" -v br="$b_rps" -v bp="$b_p99" -v bu="$base_cpu" \
        'BEGIN { printf "%-8s %4s %10.0f %9.2f %12.2f %10.2f %10.2f %10.2f\n", n, c, r, p, u, r / br, p / bp, u / bu }'
    done
  done
}
table median median "medians of $rounds rounds"
# This VM has spells where every process runs slower; they only ever add time, so each server's
# least-disturbed round is the steadier comparison.
table highest lowest "best of $rounds rounds (each figure from its least-disturbed round)"

if [ "$procs" -gt 0 ]; then
  echo
  echo "== $procs replay processes on one cassette vs $procs baselines, one wrk per process (c8 each) =="
  for i in $(seq 1 "$procs"); do
    start "b$i" env RUST_LOG=warn "$bench" serve-baseline
    start "r$i" env -u RUST_LOG "$vcr" serve --cassette "$work/replay.json"
  done
  for kind in b r; do
    total=0
    tmp="$work/multi-$kind"
    rm -f "$tmp".*
    for i in $(seq 1 "$procs"); do
      url_var="URL_$kind$i"
      wrk -t1 -c8 -d"${secs}s" -s "$work/post.lua" "${!url_var}" >"$tmp.$i" &
    done
    wait $(jobs -p | tail -n "$procs")
    total="$(cat "$tmp".* | awk '/^Requests\/sec/ { s += $2 } END { printf "%.0f", s }')"
    echo "$kind: aggregate $total req/s"
    printf -v "TOTAL_$kind" '%s' "$total"
  done
  awk -v b="$TOTAL_b" -v r="$TOTAL_r" 'BEGIN { printf "replay / baseline, %s processes: %.2f\n", '"$procs"', r / b }'
fi
