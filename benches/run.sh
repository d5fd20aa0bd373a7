#!/usr/bin/env bash
# cognito-vcr replay benchmark: replay vs a bare-hyper baseline, record mode, and
# (with --scale) cassette sizes of 10, 10k and 1M interactions. Results: stdout,
# benches/RESULTS.md (the marked sections) and benches/replay.svg.
#
#   bash benches/run.sh            # default run, about 5 minutes after the build
#   bash benches/run.sh --scale    # also the cassette-size runs (1M needs ~0.5 GB RAM, ~1 min)
#   bash benches/run.sh --quick    # 1 s runs, one round: a smoke test
#
# Settings are environment variables (BENCH_SECS, BENCH_CONCURRENCY, BENCH_SCALE=10,100000...),
# listed at the top of benches/replay/main.rs. The load generator is Rust (benches/replay/
# loadgen.rs): nothing is downloaded, and only 127.0.0.1 is ever contacted.
# The first build compiles the dev-dependencies too (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  case "$arg" in
    --scale) export BENCH_SCALE="${BENCH_SCALE:-10,10000,1000000}" ;;
    --quick)
      export BENCH_SECS="${BENCH_SECS:-1}" BENCH_WARMUP="${BENCH_WARMUP:-0.3}" \
        BENCH_ROUNDS="${BENCH_ROUNDS:-1}" BENCH_RECORD_SECS="${BENCH_RECORD_SECS:-1}"
      ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
exec cargo bench --bench replay
