#!/usr/bin/env bash
# The demo run.sh shows once every service is up: generates a data set (every province,
# the 31 manufacturing divisions, 2015-2018), loads it through iplusctl, sets up two funds
# with projects and conditioned milestones, and prints the national scorecard, a province
# league table and the funds' statements, then writes the HTML report.
#
#   scripts/demo.sh BUILD_DIR RUN_DIR
#
# Environment: IPLUS_DEMO_ENTERPRISES (default 20000: with seed 1 the generator places
# enterprises in all 31 provinces; 10000 reaches 30), IPLUS_DEMO_SEED (default 1). Running
# it again is harmless: the data set is loaded once per size and seed, and every funds
# call carries a fixed request id, so a second run creates nothing.
set -euo pipefail
BUILD_DIR=$1
RUN_DIR=$2
ENTERPRISES=${IPLUS_DEMO_ENTERPRISES:-20000}
SEED=${IPLUS_DEMO_SEED:-1}
DATA="$RUN_DIR/data/$ENTERPRISES-$SEED"
CTL="$BUILD_DIR/tools/iplusctl/iplusctl"
DATAGEN="$BUILD_DIR/bench/datagen/iplus-datagen"
DEV=product_dev_cycle_days

ctl() { "$CTL" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ iplusctl'; printf ' %q' "$@"; printf '\n'; "$CTL" "$@"; }

mkdir -p "$DATA"
if [ ! -f "$DATA/loaded" ]; then
  step "Generating $ENTERPRISES enterprises and their reports for 2015-2018 (seed $SEED)"
  "$DATAGEN" --enterprises "$ENTERPRISES" --seed "$SEED" --out_dir "$DATA"
  step "Loading them through iplusctl (resumable imports: rows already in are skipped)"
  show enterprise import "$DATA/enterprises.csv" --rejects "$DATA/enterprises.rejects.csv"
  show observation import "$DATA/observations.csv" --rejects "$DATA/observations.rejects.csv"
  touch "$DATA/loaded"
else
  step "The data set of $ENTERPRISES enterprises (seed $SEED) is already loaded"
fi

# Evaluation follows ingest's changes; wait until two scorecards a second apart agree.
step "Waiting for evaluation to take in the data"
prev=""
for _ in $(seq 1 120); do
  cur=$(ctl target scorecard --period 2018 --output csv 2>/dev/null || true)
  if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then break; fi
  prev=$cur
  sleep 1
done

step "The national scorecard for 2018"
show target scorecard --period 2018
step "Province league table: product development cycle (dev-cycle), 2018"
show target breakdown dev-cycle --period 2018 --dimension province

# Two Guangdong manufacturers from the data: one whose development cycle fell by at least
# 12 % from 2015 to 2018, one whose cycle fell by less.
read -r MEETS MISSES < <(awk -F, -v dev="$DEV" '
  $3 == dev && substr($2, 3, 2) == "44" { v[$2, $4] = $5; codes[$2] = 1 }
  END {
    for (c in codes) {
      b = v[c, "2015"]; n = v[c, "2018"]
      if (b == "" || n == "" || b + 0 <= 0) continue
      r = n / b
      if (r <= 0.85 && (meets == "" || c < meets)) meets = c
      if (r >= 0.95 && (misses == "" || c < misses)) misses = c
    }
    print meets, misses
  }' "$DATA/observations.csv")

step "Two funds, three projects, conditioned milestones"
show fund create gd-intelligent-manufacturing --name "Guangdong intelligent manufacturing fund" \
  --sponsor region:440000 --focus intelligent-manufacturing,pilot-projects
show fund create national-industrial-internet --name "National industrial Internet platform fund" \
  --sponsor national --focus platforms,industry-cloud
show fund capitalise gd-intelligent-manufacturing 50000000 --memo "provincial budget 2018" \
  --request-id demo-capitalise-gd
show fund capitalise national-industrial-internet 120000000 --memo "central budget 2018" \
  --request-id demo-capitalise-national

rule="indicator=$DEV,baseline=2015,current=2018,change=-12%"
show project create gd-pilot-meets --fund gd-intelligent-manufacturing --beneficiary "$MEETS" \
  --kind pilot-project --title "Networked R&D pilot" --budget 5000000 \
  --milestone "m1:2000000:platform live" --milestone "m2:3000000:cycle cut by 12 %:$rule"
show project create gd-pilot-misses --fund gd-intelligent-manufacturing --beneficiary "$MISSES" \
  --kind pilot-project --title "Digital workshop pilot" --budget 4000000 \
  --milestone "m1:1500000:workshop live" --milestone "m2:2500000:cycle cut by 12 %:$rule"
show project create national-cloud-platform --fund national-industrial-internet \
  --beneficiary "$MEETS" --kind platform --title "Industry cloud platform" --budget 20000000 \
  --milestone "m1:20000000:platform in service"

# A commitment's pending transfer is named after its request id: commit:<request id>.
show project commit gd-pilot-meets 5000000 --request-id demo-commit-meets
show project post gd-pilot-meets commit:demo-commit-meets --request-id demo-post-meets
show project commit gd-pilot-misses 4000000 --request-id demo-commit-misses
show project post gd-pilot-misses commit:demo-commit-misses --request-id demo-post-misses
show project commit national-cloud-platform 20000000 --expire-after 90d --request-id demo-commit-cloud

step "Disbursing milestones; m2 pays only if the evaluation service finds the cycle cut by 12 %"
show project disburse gd-pilot-meets m1 --request-id demo-disburse-meets-m1
show project disburse gd-pilot-meets m2 --request-id demo-disburse-meets-m2
show project disburse gd-pilot-misses m1 --request-id demo-disburse-misses-m1
if show project disburse gd-pilot-misses m2 --request-id demo-disburse-misses-m2; then
  echo "(unexpected: the condition was met)"
else
  echo "(refused as it should be: nothing moved)"
fi

step "Fund statements and the journal"
show fund statement gd-intelligent-manufacturing
show fund statement national-industrial-internet
show journal verify

step "The scorecard report"
show report --html "$RUN_DIR/scorecard.html"
