#!/usr/bin/env bash
# The fault suite as a soak: the kill -9 run under 8 recording clients and the
# malformed-request flood repeated ROUNDS times (default 50), with every other fault test once.
# Loopback only; several minutes; not part of CI (`bash .ci/test` runs each once).
#
#   bash benches/faults.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
COGNITO_VCR_PYTHON="$(bash .ci/setup-python | tail -n 1)"
export COGNITO_VCR_PYTHON COGNITO_VCR_SOAK="${1:-50}"
exec cargo test --release --locked --test integration faults -- --test-threads 1
