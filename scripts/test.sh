#!/usr/bin/env bash
# Installs, builds and runs every test: unit, integration (private redis-server on a free
# port), e2e (services over loopback gRPC, promtool, a real Prometheus scrape) and interop
# (a Python client). Prints ctest's summary; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BUILD_DIR=${IPLUS_BUILD_DIR:-build}
# Unit tests first: they are fast and need no server.
ctest --test-dir "$BUILD_DIR" -L unit --output-on-failure -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" -LE unit --output-on-failure
