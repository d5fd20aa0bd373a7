#!/usr/bin/env bash
# The replay hot path against a bare hyper server, in one command: every figure as a ratio
# against the same run's baseline, and where the CPU goes (user/kernel, top crates).
#
#   bash benches/hotpath.sh               # ~3 KB and ~23 KB pages at c1/c8/c16/c64, wrk and our
#                                         # own load generator, 3 rounds, profile, record mode
#   HOT_PIN=1 bash benches/hotpath.sh     # servers on CPU 0, the load generators on CPU 1
#   HOT_BEFORE=path/to/old/cognito-vcr bash benches/hotpath.sh   # also an older build, same run
#   HOT_BEFORE="before=old/cognito-vcr step1=other/cognito-vcr" ...   # several, named
#
# After the summary, the TLS floor (benches/tls_floor.rs): what rustls alone takes to seal and
# frame each page, as a share of plain replay's CPU per request.
# Settings (environment): HOT_SECS (4) per run, HOT_ROUNDS (3), HOT_CONNECTIONS (1 8 16 64),
# HOT_USERS ("7 60": users per ListUsers page, 7 ≈ 2.7 KB, 60 ≈ 23 KB), HOT_LOADGENS (wrk own),
# HOT_HTTPS (16 64: concurrencies with an HTTPS replay run; empty: none), HOT_PROFILE (1: a
# `perf record` of baseline, replay and HTTPS replay at c64 on the first page), HOT_RECORD (1:
# record mode at c1/c64 through benches/replay, which also rewrites its section of
# benches/RESULTS.md).
# Rounds alternate the servers; a figure is the median of its rounds (the least-disturbed round
# in brackets: this VM has spells in which every process runs slower). Server CPU is user +
# system time from /proc/PID/stat over the run, per answered request. Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${HOT_SECS:-4}"
rounds="${HOT_ROUNDS:-3}"
conns="${HOT_CONNECTIONS:-1 8 16 64}"
pages="${HOT_USERS:-7 60}"
loadgens="${HOT_LOADGENS:-wrk own}"
https_at="${HOT_HTTPS-16 64}"
profile="${HOT_PROFILE:-1}"
record="${HOT_RECORD:-1}"
before="${HOT_BEFORE:-}"
on_server=()
on_client=()
placement="servers and load generators share all cores"
if [ "${HOT_PIN:-0}" = 1 ]; then
  on_server=(taskset -c 0)
  on_client=(taskset -c 1)
  placement="servers pinned to CPU 0, load generators to CPU 1"
fi
work="target/bench-work/hotpath"
mkdir -p "$work"
command -v wrk >/dev/null || loadgens="${loadgens//wrk/}"

me=hotpath.sh
source benches/lib.sh
build
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benches Cargo.toml Cargo.lock || echo -dirty)"

post_lua

# User and system CPU seconds a process has used so far: "user system".
cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.4f %.4f\n", $14 / t, $15 / t }' "/proc/$1/stat"; }

# measure LOADGEN PID URL C: one run; prints "req/s p99_ms cpu_us user_us sys_us" per request.
measure() {
  local gen="$1" pid="$2" url="$3" c="$4" out
  read -r u0 s0 < <(cpu "$pid")
  case "$gen" in
    wrk) out="$("${on_client[@]}" wrk -t1 -c"$c" -d"${secs}s" --latency -s "$work/post.lua" "$url")" ;;
    own) out="$(BENCH_CLIENT_THREADS=1 BENCH_WARMUP=0 BENCH_CA="$work/state/ca.pem" \
      "${on_client[@]}" "$bench" load "${url#http://}" "$c" "$secs")" ;;
  esac
  read -r u1 s1 < <(cpu "$pid")
  echo "$out" | awk -v u0="$u0" -v s0="$s0" -v u1="$u1" -v s1="$s1" '
    # wrk
    /^ +99%/ { v = $2; if (v ~ /us$/) p = v / 1000; else if (v ~ /ms$/) p = v + 0; else p = v * 1000 }
    /requests in/ { n = $1 }
    /^Requests\/sec/ { r = $2 }
    /Non-2xx|Socket errors/ { bad = bad " " $0 }
    # benches/replay load: "load c=64 90000 req/s p50 600.0 µs p99 2600.0 µs ... (N requests, E errors)"
    / req\/s / && /requests, / {
      for (i = 1; i <= NF; i++) {
        if ($(i + 1) == "req/s") r = $i
        if ($i == "p99") p = $(i + 1) / 1000
        if ($(i + 1) == "requests,") { n = substr($i, 2) }
        if ($(i + 1) ~ /^errors/ && $i + 0 > 0) bad = bad " " $i " errors"
      }
    }
    END { if (bad != "") { print "hotpath.sh: errors:" bad > "/dev/stderr" }
          if (n == 0) n = 1
          printf "%.0f %.3f %.2f %.2f %.2f\n", r, p, (u1 - u0 + s1 - s0) * 1e6 / n, (u1 - u0) * 1e6 / n, (s1 - s0) * 1e6 / n }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
highest() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -n 1; }
lowest() { tr ' ' '\n' | grep -v '^$' | sort -g | head -n 1; }

# profile NAME PID URL: perf samples of one server at c64 (wrk), split into kernel and user
# space and by crate, in µs per request.
profile_one() {
  local name="$1" pid="$2" url="$3" data="$work/$1.perf"
  perf record -q -e cpu-clock -F 2999 -p "$pid" -o "$data" -- sleep "$secs" >/dev/null 2>&1 &
  local perf_pid=$!
  read -r rps _ cpu_us _ < <(measure wrk "$pid" "$url" 64)
  wait "$perf_pid" || true
  perf report -i "$data" --no-children --sort sym -F overhead,sym --stdio 2>/dev/null |
    awk -v who="$name" -v cpu="$cpu_us" '
      /^ *[0-9.]+%/ {
        share = $1; sub(/%/, "", share)
        kernel = ($2 == "[k]")
        $1 = ""; $2 = ""; sym = $0; sub(/^ +/, "", sym)
        if (kernel) group = "kernel"
        else if (sym ~ /^(__)?(malloc|free|cfree|realloc|calloc|_int_|_mid_memalign|tcache|unlink_chunk|malloc_consolidate|alloc_perturb|sysmalloc)/) group = "malloc/free"
        else if (sym ~ /^__(memmove|memcpy|memset|memcmp)/) group = "memcpy/memset/memcmp"
        else if (sym ~ /^ring_core/) group = "TLS"
        else if (sym ~ /^(__GI_|__libc_|__vdso|__pthread|epoll_wait|syscall)/) group = "libc (syscalls, clock)"
        else if (sym ~ /^0x/) group = "unknown"
        else {
          s = sym
          gsub(/^[<&* ]+/, "", s); sub(/^(dyn |impl |mut )+/, "", s)
          split(s, part, "::")
          group = part[1]
          if (group !~ /^[a-z_0-9]+$/) group = "other"
          if (group ~ /^(core|std|alloc)$/) group = "std/core"
          if (group ~ /^(http|http_body|http_body_util|bytes|httparse)$/) group = "http/bytes/httparse"
          if (group ~ /^(tracing|tracing_core|tracing_subscriber)$/) group = "tracing"
          if (group ~ /^(rustls|ring|aws_lc_rs|tokio_rustls)$/) group = "TLS"
        }
        by[group] += share; total += share
        if (kernel) k += share; else u += share
      }
      END {
        printf "%-9s CPU %.2f µs/req: kernel %.2f µs (%.0f%%), user %.2f µs (%.0f%%); user by crate (µs/req):", who, cpu, cpu * k / total, 100 * k / total, cpu * u / total, 100 * u / total
        n = 0
        for (g in by) order[++n] = g
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (by[order[j]] > by[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
        for (i = 1; i <= n; i++) if (order[i] != "kernel" && by[order[i]] / total * cpu >= 0.03) printf " %s %.2f", order[i], cpu * by[order[i]] / total
        printf "\n"
      }'
}

echo "hotpath.sh at $commit, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $placement; ${secs}s runs, $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A sum
servers=(baseline replay)
declare -A builds
for b in $before; do
  [[ "$b" == *=* ]] || b="before=$b"
  servers+=("${b%%=*}")
  builds[${b%%=*}]="${b#*=}"
done
for users in $pages; do
  export BENCH_USERS="$users"
  "$bench" cassette "$work/page$users.json"
  start "baseline$users" "${on_server[@]}" env RUST_LOG=warn "$bench" serve-baseline
  start "replay$users" "${on_server[@]}" env -u RUST_LOG "$vcr" serve --cassette "$work/page$users.json"
  for name in "${!builds[@]}"; do
    start "$name$users" "${on_server[@]}" env -u RUST_LOG "${builds[$name]}" serve --cassette "$work/page$users.json"
  done
  [ -n "$https_at" ] && start "https$users" "${on_server[@]}" env -u RUST_LOG "$vcr" serve --cassette "$work/page$users.json" --tls-auto --state-dir "$work/state"
  page_bytes="$(curl -s -X POST -H 'X-Amz-Target: AWSCognitoIdentityProviderService.ListUsers' \
    -d '{"UserPoolId":"us-east-1_Bench","Limit":60}' "$(eval echo "\$URL_replay$users")" | wc -c)"
  base_bytes="$(curl -s -X POST -d x "$(eval echo "\$URL_baseline$users")" | wc -c)"
  [ "$page_bytes" = "$base_bytes" ] || { echo "hotpath.sh: replay answers $page_bytes bytes, the baseline $base_bytes" >&2; exit 1; }
  printf -v "BYTES_$users" '%s' "$page_bytes"
  echo
  echo "== page of $users users ($page_bytes bytes) =="
  printf '%-4s %-8s %4s %10s %9s %10s %8s %8s\n' gen server c "req/s" "p99 ms" "CPU µs/r" "user" "system"
  for c in $conns; do
    for gen in $loadgens; do
      for _ in $(seq 1 "$rounds"); do
        names=("${servers[@]}")
        [[ " $https_at " == *" $c "* ]] && names+=(https)
        for name in "${names[@]}"; do
          url_var="URL_$name$users"; pid_var="PID_$name$users"
          read -r rps p99 cpu_us user_us sys_us < <(measure "$gen" "${!pid_var}" "${!url_var}" "$c")
          printf '%-4s %-8s %4s %10s %9s %10s %8s %8s\n' "$gen" "$name" "$c" "$rps" "$p99" "$cpu_us" "$user_us" "$sys_us"
          for f in rps p99 cpu_us user_us sys_us; do
            sum[$users,$gen,$c,$name,$f]="${sum[$users,$gen,$c,$name,$f]:-} ${!f}"
          done
        done
      done
    done
  done
  if [ "$profile" = 1 ] && [ -z "${profiled:-}" ] && command -v perf >/dev/null; then
    profiled=1
    echo
    echo "== where the CPU goes: perf record -e cpu-clock, wrk c64, page of $users users =="
    for name in baseline replay https; do
      pid_var="PID_$name$users"; url_var="URL_$name$users"
      [ -n "${!pid_var:-}" ] && profile_one "$name" "${!pid_var}" "${!url_var}"
    done
  fi
  for name in "${servers[@]}" https; do
    pid_var="PID_$name$users"
    [ -n "${!pid_var:-}" ] && kill "${!pid_var}" 2>/dev/null || true
  done
done

# The summary: each figure as the median of its rounds (best round in brackets) and its ratio
# against the same run's baseline (HTTPS CPU against plain replay's).
echo
echo "== summary at $commit: median (best) of $rounds rounds; ratios against the same run's baseline, HTTPS against plain replay =="
printf '%-6s %-4s %4s %-8s %17s %17s %19s %15s %15s %15s\n' page gen c server "req/s" "p99 ms" "CPU µs/req (u+s)" "req/s ×" "p99 ×" "CPU ×"
for users in $pages; do
  bytes_var="BYTES_$users"
  for c in $conns; do
    for gen in $loadgens; do
      names=("${servers[@]}")
      [[ " $https_at " == *" $c "* ]] && names+=(https)
      for name in "${names[@]}"; do
        k="$users,$gen,$c"
        ref=baseline; [ "$name" = https ] && ref=replay
        awk -v page="${!bytes_var}B" -v gen="$gen" -v c="$c" -v n="$name" \
          -v r="$(echo "${sum[$k,$name,rps]}" | median)" -v rb="$(echo "${sum[$k,$name,rps]}" | highest)" \
          -v p="$(echo "${sum[$k,$name,p99]}" | median)" -v pb="$(echo "${sum[$k,$name,p99]}" | lowest)" \
          -v u="$(echo "${sum[$k,$name,cpu_us]}" | median)" -v ub="$(echo "${sum[$k,$name,cpu_us]}" | lowest)" \
          -v uu="$(echo "${sum[$k,$name,user_us]}" | median)" -v us="$(echo "${sum[$k,$name,sys_us]}" | median)" \
          -v br="$(echo "${sum[$k,baseline,rps]}" | median)" -v brb="$(echo "${sum[$k,baseline,rps]}" | highest)" \
          -v bp="$(echo "${sum[$k,baseline,p99]}" | median)" -v bpb="$(echo "${sum[$k,baseline,p99]}" | lowest)" \
          -v bu="$(echo "${sum[$k,$ref,cpu_us]}" | median)" -v bub="$(echo "${sum[$k,$ref,cpu_us]}" | lowest)" \
          'BEGIN { printf "%-6s %-4s %4s %-8s %8.0f (%6.0f) %7.3f (%7.3f) %5.2f=%.2f+%.2f (%5.2f) %6.2f (%5.2f) %6.2f (%5.2f) %6.2f (%5.2f)\n",
                   page, gen, c, n, r, rb, p, pb, u, uu, us, ub, r / br, rb / brb, p / bp, pb / bpb, u / bu, ub / bub }'
      done
    done
  done
done

# The least HTTPS can add: rustls alone sealing and framing each page in memory (no socket, no
# HTTP), against plain replay's CPU per request at the highest HTTPS concurrency.
if [ -n "$https_at" ]; then
  floor="$(cargo bench --locked --bench tls_floor --no-run 2>&1 | grep -o 'target/release/deps/tls_floor-[0-9a-f]*' | head -n 1)"
  echo
  echo "== the TLS floor: rustls (ring, TLS 1.3 AES-128-GCM) alone, in memory, per page =="
  top_c="${https_at##* }"
  gen="${loadgens%% *}"
  for users in $pages; do
    bytes_var="BYTES_$users"
    plain="$(echo "${sum[$users,$gen,$top_c,replay,cpu_us]}" | median)"
    "${on_server[@]}" "$floor" "${!bytes_var}" | awk -v plain="$plain" -v c="$top_c" -v gen="$gen" '
      { printf "%6sB: %.2f µs to seal and frame = %.2f× of plain replay'"'"'s CPU per request (%s µs, c%s %s): HTTPS replay costs at least about %.2f× plain\n",
               $2, $3, $3 / plain, plain, c, gen, 1 + $3 / plain }'
  done
fi

if [ "$record" = 1 ]; then
  echo
  echo "== record mode (benches/replay, c1 and c64; rewrites its section of benches/RESULTS.md) =="
  BENCH_USERS=60 BENCH_CONCURRENCY= BENCH_HTTPS=0 BENCH_RECORD_SECS="$secs" "$bench" | grep -E 'record|direct|c=' || true
fi
