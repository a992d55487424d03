#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (if needed) and fuzzes each one for a bounded
# time, starting from a copy of its seed corpus in fuzz/corpus/<target>/; new inputs go
# to a temporary directory, never into the repository.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     # default: 60 seconds, every target
#
# Prints one summary line per target and exits non-zero if any target crashed (or an
# invariant failed, or a sanitizer reported an error). A crashing input is kept as
# $IPLUS_FUZZ_BUILD_DIR/crashes/<target>/crash-<sha1>, with the target's log next to it;
# reproduce it with `$IPLUS_FUZZ_BUILD_DIR/<target>_fuzz <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
ALL_TARGETS=(credit_code region industry period registry_request ingest_request
  evaluation_request funds_request)
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then TARGETS=("${ALL_TARGETS[@]}"); fi

BUILD_DIR=${IPLUS_FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S fuzz -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$BUILD_DIR" >/dev/null

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

failed=()
for t in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/${t}_fuzz"
  if [ ! -x "$bin" ]; then
    echo "fuzz: unknown target $t (known: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
  corpus="$WORK/$t"
  mkdir -p "$corpus"
  cp fuzz/corpus/"$t"/* "$corpus"/
  crashes="$BUILD_DIR/crashes/$t"
  rm -rf "$crashes"
  mkdir -p "$crashes"
  log="$crashes/fuzz.log"
  rc=0
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  ft=$( (grep -o 'ft: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  size=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    status=ok
    rm -rf "$crashes"
  else
    status="CRASH (exit $rc; input and log in $crashes)"
    failed+=("$t")
  fi
  printf 'fuzz %-17s %3ss  execs %-9s cov %-5s ft %-6s corpus %-5s %s\n' \
    "$t" "$SECONDS_PER_TARGET" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$size" "$status"
  if [ "$rc" -ne 0 ]; then
    (grep -E 'ERROR: |invariant failed|runtime error|SUMMARY' "$log" || true) | head -5 |
      sed 's/^/    /'
  fi
done

total=${#TARGETS[@]}
echo "fuzz: $((total - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
