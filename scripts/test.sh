#!/usr/bin/env bash
# Installs, builds and runs every test: unit, integration (private redis-server on a free
# port), e2e (services over loopback gRPC, promtool, a real Prometheus scrape) and interop
# (a Python client), then fuzzes every libFuzzer target (fuzz/) for a bounded time.
# Prints ctest's summary and one line per fuzz target; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BUILD_DIR=${IPLUS_BUILD_DIR:-build}
# Unit tests first: they are fast and need no server.
ctest --test-dir "$BUILD_DIR" -L unit --output-on-failure -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" -LE unit --output-on-failure
# Each libFuzzer target for IPLUS_FUZZ_SECONDS (default 40) from its seed corpus;
# fuzz/run.sh builds them with clang into build-fuzz/ first. 0 skips fuzzing.
FUZZ_SECONDS=${IPLUS_FUZZ_SECONDS:-40}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  ./fuzz/run.sh "$FUZZ_SECONDS"
fi
