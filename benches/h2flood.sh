#!/usr/bin/env bash
# Memory under an HTTP/2 flood: a build replays a copy of the demo cassette, and h2load sends
# 3200 requests with 1 MB bodies over 8 connections, 200 streams each at once: once over h2c,
# once over TLS (h2 by ALPN, `--tls-auto`). Prints h2load's status counts and the proxy's peak
# and final resident memory (VmHWM, VmRSS) for each. Loopback only; about two minutes.
#
#   bash benches/h2flood.sh [BIN]        # default: target/release/cognito-vcr (built if missing)
#
# Installs h2load (Debian's nghttp2-client) when it is missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/cognito-vcr}"
[ -x "$bin" ] || cargo build --release --locked --quiet --bin cognito-vcr
command -v h2load >/dev/null || { apt-get update -qq && apt-get install -y -qq nghttp2-client; } >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -c 1000000 /dev/zero | tr '\0' 'a' > "$work/body"
cp cassettes/demo.json "$work/demo.json"
# One flood: the proxy started with "$@" after the common flags; h2load at the URL it prints.
flood() {
  coproc SERVER { exec "$bin" serve --mode replay --cassette "$work/demo.json" "$@" 2>/dev/null; }
  local pid=$SERVER_PID line url
  read -r line <&"${SERVER[0]}"
  url="${line#listening on }"
  echo "== $url"
  h2load -c 8 -m 200 -n 3200 -d "$work/body" \
      -H 'X-Amz-Target: AWSCognitoIdentityProviderService.ListUsers' "$url/" | grep -E 'requests:|status codes'
  grep -E 'VmHWM|VmRSS' "/proc/$pid/status"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}
flood                                                  # h2c (cleartext HTTP/2)
flood --tls-auto --state-dir "$work/state"             # h2 over TLS (ALPN)
