#!/usr/bin/env bash
# Remake cassettes/demo.json: moto on loopback, seeded by seed.py (150 users, a group of 70,
# 5 pools), then session.py through cognito-vcr in record mode. Nothing leaves 127.0.0.1.
#
#   usage: tests/interop/record_demo.sh [CASSETTE]   (default: cassettes/demo.json)
#   COGNITO_VCR_BIN: the cognito-vcr binary to record with (default: a release build)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
cassette="${1:-cassettes/demo.json}"

py="$(bash .ci/setup-python | tail -n 1)"
vcr="${COGNITO_VCR_BIN:-}"
if [ -z "$vcr" ]; then
    cargo build --release --locked --quiet
    vcr=target/release/cognito-vcr
fi
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fakesecret
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
# The seeded pools are made outside the recording, so they keep their real ids: ids moto derives
# from the pool (not random ones) make them the same on every remake.
export MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH
# One instant for every date moto gives (see moto_server.py): whether a seeded pool's two dates
# are equal shows in its stored modification date, and must not depend on the machine's speed.
export MOTO_CLOCK=frozen

coproc MOTO { "$py" tests/interop/moto_server.py; }
read -r line <&"${MOTO[0]}"
moto="${line#listening on }"
# moto's random ids (each user's sub) from a fixed seed: a remake stores the same bytes.
"$py" -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1] + "/moto-api/seed?a=2024", method="POST"))' "$moto"
pool="$("$py" tests/interop/seed.py "$moto" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["pool_id"])')"

# The recording date the shipped demo carries (its scope's "recorded"): a remake is the same
# bytes on any day.
export SOURCE_DATE_EPOCH=1796515200   # 2026-12-06
coproc VCR { exec "$vcr" serve --mode record --cassette "$cassette" --upstream "$moto"; }
vcr_pid=$VCR_PID
read -r line <&"${VCR[0]}"
proxy="${line#listening on }"
"$py" tests/interop/session.py "$proxy" "$pool" > /dev/null

kill -TERM "$vcr_pid"
wait "$vcr_pid"
exec {MOTO[1]}>&-
wait
echo "recorded $("$vcr" ls "$cassette" | tail -n 1) into $cassette" >&2
