#!/usr/bin/env bash
# Installs, builds, starts a private redis-server (AOF on, data under the build folder)
# and every iplus service on loopback, runs the demo (scripts/demo.sh: a generated data
# set loaded through iplusctl, two funds with projects and conditioned milestones, the
# national scorecard, a province league table and the HTML report), prints where
# everything listens and what to try next, and keeps running until Ctrl-C, which stops
# it all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${IPLUS_BUILD_DIR:-build}

# service  grpc-port  metrics-port  (one line per service that exists)
SERVICES=(
  "registry 50051 9464"
  "ingest 50052 9465"
  "evaluation 50053 9466"
  "funds 50054 9467"
)
# How the services find each other; a binary ignores IPLUS_ variables that are not its flags.
export IPLUS_REGISTRY_TARGET=127.0.0.1:50051
export IPLUS_INGEST_TARGET=127.0.0.1:50052
export IPLUS_EVALUATION_TARGET=127.0.0.1:50053
# Evaluation seeds the plan's targets on its first start (docs/evaluation.md).
export IPLUS_TARGETS_FILE="$ROOT/deploy/targets.json"
# Everything listens on loopback only, so the demo runs without TLS; deployments pass
# --tls_cert_file/--tls_key_file (see README, Configuration).
export IPLUS_PLAINTEXT=true
# and without bearer tokens: every caller is an anonymous admin (docs/security.md says how
# deployments pass --token_file).
export IPLUS_ALLOW_UNAUTHENTICATED=true

targets=()
for s in "${SERVICES[@]}"; do targets+=("iplus-${s%% *}"); done
targets+=(iplusctl iplus-datagen)
./scripts/setup.sh "${targets[@]}"

RUN_DIR="$ROOT/$BUILD_DIR/run"
REDIS_PORT=${IPLUS_RUN_REDIS_PORT:-6380}
mkdir -p "$RUN_DIR/redis" "$RUN_DIR/logs"

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped; logs are in $RUN_DIR/logs, Redis data in $RUN_DIR/redis"
}
trap stop_all INT TERM EXIT

# A crash can leave the append-only file cut inside a MULTI; redis-server 7.0 would cut it
# at the wrong place and replay the lost write later (docs/funds.md), so it refuses
# truncated files and redis-check-aof repairs them first.
if [ -f "$RUN_DIR/redis/appendonlydir/appendonly.aof.manifest" ]; then
  echo y | redis-check-aof --fix "$RUN_DIR/redis/appendonlydir/appendonly.aof.manifest" \
    >>"$RUN_DIR/logs/redis-check-aof.log" 2>&1
fi
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis" \
  --appendonly yes --appendfsync always --aof-load-truncated no --save '' \
  --hash-max-listpack-value 1024 \
  >"$RUN_DIR/logs/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

for s in "${SERVICES[@]}"; do
  read -r name grpc metrics <<<"$s"
  "$BUILD_DIR/services/$name/iplus-$name" \
    --grpc_address "127.0.0.1:$grpc" --metrics_address "127.0.0.1:$metrics" \
    --redis_address "127.0.0.1:$REDIS_PORT" \
    >"$RUN_DIR/logs/$name.log" 2>&1 &
  pids+=($!)
done

# Wait until every service answers its health check (the feed of evaluation loads first).
for s in "${SERVICES[@]}"; do
  read -r name grpc metrics <<<"$s"
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$metrics/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
done

# Python stubs for your own client (docs/quickstart.md), generated from the protos.
PY_DIR="$RUN_DIR/py"
GOOGLEAPIS=$(sed -n 's/^IPLUS_GOOGLEAPIS_DIR:PATH=//p' "$BUILD_DIR/CMakeCache.txt")
mkdir -p "$PY_DIR"
protoc --python_out="$PY_DIR" --grpc_python_out="$PY_DIR" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  -I proto -I "$GOOGLEAPIS" -I /usr/include \
  iplus/common/v1/common.proto iplus/registry/v1/registry.proto iplus/ingest/v1/ingest.proto \
  iplus/evaluation/v1/evaluation.proto iplus/funds/v1/funds.proto \
  google/rpc/status.proto google/rpc/error_details.proto

export IPLUS_PLAINTEXT=true
./scripts/demo.sh "$BUILD_DIR" "$RUN_DIR" || echo "the demo stopped with an error (above); the services keep running"

CTL="$BUILD_DIR/tools/iplusctl/iplusctl"
echo
echo "iplus is running on loopback, plaintext gRPC without tokens (IPLUS_PLAINTEXT=true, IPLUS_ALLOW_UNAUTHENTICATED=true):"
echo "  redis       127.0.0.1:$REDIS_PORT (AOF, appendfsync always; data in $RUN_DIR/redis)"
for s in "${SERVICES[@]}"; do
  read -r name grpc metrics <<<"$s"
  printf '  %-11s gRPC 127.0.0.1:%s   metrics http://127.0.0.1:%s/metrics\n' "$name" "$grpc" "$metrics"
done
echo "  logs        $RUN_DIR/logs"
echo "  report      $RUN_DIR/scorecard.html"
echo
echo "Try (docs/quickstart.md is the tour):"
echo "  export IPLUS_PLAINTEXT=true; alias iplusctl=$ROOT/$CTL"
echo "  iplusctl target scorecard --period 2018 --region 44        # Guangdong's scorecard"
echo "  iplusctl target breakdown platform-coverage --period 2018 --dimension industry"
echo "  iplusctl enterprise list --region 4403 --key-only --limit 5"
echo "  iplusctl project statement gd-pilot-meets"
echo "  iplusctl journal list --limit 5; iplusctl journal verify"
echo "  iplusctl report --html /tmp/guangdong.html --region 44"
echo "  iplusctl target watch --period 2018                        # then report an observation"
echo "  curl -s http://127.0.0.1:9467/metrics | grep iplus_funds_"
echo "Press Ctrl-C to stop everything."
wait "${pids[0]}"
