#!/usr/bin/env bash
# Installs what building, running and testing iplus need, from Debian's repositories,
# then configures and builds. Used by run.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libhiredis-dev libcivetweb-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  golang-github-gogo-googleapis-dev
  redis-server prometheus
  python3 python3-grpcio python3-protobuf
  openssl libssl-dev
  clang-format
  # libFuzzer targets (fuzz/): clang, its sanitizer and libFuzzer runtimes (only recommended
  # by clang, so listed), and llvm-symbolizer for readable sanitizer stack traces
  clang libclang-rt-14-dev llvm
  # chart checks without helm (../shared/tools/chart-check) and the deploy tests
  golang-go golang-github-masterminds-sprig-dev golang-github-masterminds-semver-dev
  golang-k8s-sigs-yaml-dev golang-github-burntsushi-toml-dev
  python3-yaml python3-kubernetes python3-jsonschema
  # the funds benchmark's PostgreSQL baseline (bench/funds/funds_grpc_bench)
  postgresql-15 libpq-dev
  # the report page's browser test (tests/interop/report_browser_test.py)
  chromium chromium-driver python3-selenium
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${IPLUS_BUILD_DIR:-build}
BUILD_TYPE=${IPLUS_BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
ninja -C "$BUILD_DIR" "$@"
