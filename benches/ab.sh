#!/usr/bin/env bash
# Two builds of cognito-vcr side by side (a restructure, a profile change): each replays a copy of
# the demo cassette at its default settings, and wrk (1 thread) asks ListUsers Limit 7 (a 2.9 KB
# page), alternating A / B for ROUNDS rounds. Prints req/s, p99 and server CPU per request (from
# /proc) for each run. Loopback only.
#
#   bash benches/ab.sh A_BIN B_BIN [ROUNDS] [CONNECTIONS] [SECONDS]   # default 3 rounds, c64, 4 s
#
# Installs wrk from Debian's packages when it is missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
a="$1"; b="$2"; rounds="${3:-3}"; conns="${4:-64}"; secs="${5:-4}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pool="$(grep -o '"UserPoolId": "[^"]*"' cassettes/demo.json | head -n 1 | cut -d'"' -f4)"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"Limit":7,"UserPoolId":"$pool"}'
wrk.headers["X-Amz-Target"] = "AWSCognitoIdentityProviderService.ListUsers"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
LUA
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq 1 "$rounds"); do
    for side in A B; do
        bin="$a"; [ "$side" = B ] && bin="$b"
        cp cassettes/demo.json "$work/$side.json"
        coproc SERVER { exec "$bin" serve --mode replay --cassette "$work/$side.json" 2>/dev/null; }
        pid=$SERVER_PID
        read -r line <&"${SERVER[0]}"
        url="${line#listening on }"
        wrk -t1 -c"$conns" -d1s -s "$work/post.lua" "$url/" >/dev/null   # warm up
        before="$(ticks "$pid")"
        out="$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$url/")"
        after="$(ticks "$pid")"
        kill "$pid"; wait "$pid" 2>/dev/null || true
        requests="$(awk '/requests in/ {print $1}' <<<"$out")"
        rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
        p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
        errors="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
        cpu="$(awk -v t="$((after - before))" -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
        echo "round $round $side c$conns: $rps req/s, p99 $p99, server CPU $cpu us/request, non-2xx ${errors:-0}"
    done
done
