#!/usr/bin/env bash
# Golden renders of the iplus chart: one ci/<case>.golden.yaml per values file.
#
#   helm/iplus/ci/update-golden.sh                  # re-render every case, rewrite the goldens
#   helm/iplus/ci/update-golden.sh --check [CASE]   # validate and compare (what the tests run)
#   helm/iplus/ci/update-golden.sh --list           # print the case names
#   helm/iplus/ci/update-golden.sh --render CASE [ARGS]  # print one render (ARGS: --set ...)
#
# Cases: `default` (values.yaml alone), every values-*.yaml next to values.yaml (the region
# and national files) and every ci/*-values.yaml (feature coverage). Release and namespace
# follow the case: values-region-44 -> iplus-44 in region-44, values-national ->
# iplus-national in national, ci/full-values.yaml -> iplus-full in full, default -> iplus.
#
# Renderer: `helm` when it is on PATH (helm lint --strict, then helm template); otherwise
# chart-check from the shared tools (../shared/tools/chart-check/chart-check next to the
# repository, or $CHART_CHECK), which validates every object too. Neither: failure.
# The generated Redis password differs on every render; it is written as "<generated>".
set -euo pipefail

chart=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(cd "$chart/../.." && pwd)
kube_version=1.29.0

mode=update
case "${1:-}" in
  --check) mode=check; shift ;;
  --list) mode=list; shift ;;
  --render) mode=render; shift ;;
  -h|--help) sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  -*) echo "update-golden.sh: unknown option $1" >&2; exit 2 ;;
esac

# case name -> values file (empty for default), release, namespace
all_cases() {
  echo default
  local f
  for f in "$chart"/values-*.yaml; do [ -e "$f" ] && basename "$f" .yaml; done
  for f in "$chart"/ci/*-values.yaml; do [ -e "$f" ] && basename "$f" .yaml; done
  return 0
}
case_values() {
  case "$1" in
    default) echo "" ;;
    values-*) echo "$chart/$1.yaml" ;;
    *-values) echo "$chart/ci/$1.yaml" ;;
    *) return 1 ;;
  esac
}
case_release() {
  case "$1" in
    default) echo "iplus iplus" ;;
    values-region-*) echo "iplus-${1#values-region-} region-${1#values-region-}" ;;
    values-*) echo "iplus-${1#values-} ${1#values-}" ;;
    *-values) echo "iplus-${1%-values} ${1%-values}" ;;
  esac
}

if [ "$mode" = list ]; then all_cases; exit 0; fi

tool=""
if command -v helm >/dev/null 2>&1; then
  tool=helm
else
  chart_check=${CHART_CHECK:-$root/../shared/tools/chart-check/chart-check}
  if [ -x "$chart_check" ]; then
    tool=chart-check
  else
    echo "update-golden.sh: FAIL: neither helm (on PATH) nor chart-check ($chart_check) is available, so the chart cannot be rendered" >&2
    exit 1
  fi
fi

# render CASE [ARGS]: the chart's manifests on stdout.
render() {
  local values rel ns args=()
  values=$(case_values "$1") || { echo "update-golden.sh: unknown case $1" >&2; return 1; }
  read -r rel ns <<<"$(case_release "$1")"
  [ -z "$values" ] || args+=(-f "$values")
  args+=("${@:2}")
  if [ "$tool" = helm ]; then
    helm template "$rel" "$chart" --namespace "$ns" --kube-version "$kube_version" "${args[@]}"
  else
    "$chart_check" --render-only "$chart" --release "$rel" --namespace "$ns" \
      --kube-version "v$kube_version" "${args[@]}"
  fi | sed 's/^\(  redis-password: \)".*"$/\1"<generated>"/'
}

# validate CASE: lint/validate every object; non-zero on any problem.
validate() {
  local values rel ns args=()
  values=$(case_values "$1")
  read -r rel ns <<<"$(case_release "$1")"
  [ -z "$values" ] || args+=(-f "$values")
  if [ "$tool" = helm ]; then
    helm lint --strict "$chart" --namespace "$ns" "${args[@]}"
  else
    "$chart_check" "$chart" --release "$rel" --namespace "$ns" --kube-version "v$kube_version" "${args[@]}"
  fi
}

if [ "$mode" = render ]; then
  [ $# -ge 1 ] || { echo "update-golden.sh: --render needs a case" >&2; exit 2; }
  set -o pipefail
  render "$@"
  exit $?
fi

if [ $# -gt 0 ]; then cases=("$@"); else mapfile -t cases < <(all_cases); fi
status=0
for c in "${cases[@]}"; do
  golden="$chart/ci/$c.golden.yaml"
  if [ "$mode" = update ]; then
    tmp=$(mktemp)
    if render "$c" >"$tmp"; then
      mv "$tmp" "$golden"
      echo "wrote ${golden#"$root"/} ($tool)"
    else
      rm -f "$tmp"; echo "update-golden.sh: rendering $c failed" >&2; status=1
    fi
    continue
  fi
  echo "== $c ($tool)"
  if ! validate "$c"; then
    echo "FAIL $c: the chart does not validate" >&2; status=1; continue
  fi
  if [ ! -f "$golden" ]; then
    echo "FAIL $c: ${golden#"$root"/} is missing; run helm/iplus/ci/update-golden.sh" >&2
    status=1; continue
  fi
  tmp=$(mktemp)
  if ! render "$c" >"$tmp"; then
    rm -f "$tmp"; echo "FAIL $c: rendering failed" >&2; status=1; continue
  fi
  if ! diff -u --label "golden/$c" --label "rendered/$c" "$golden" "$tmp"; then
    echo "FAIL $c: the render differs from ${golden#"$root"/}; if the change is intended," \
         "run helm/iplus/ci/update-golden.sh and review the diff" >&2
    status=1
  else
    echo "ok $c: matches ${golden#"$root"/}"
  fi
  rm -f "$tmp"
done
exit "$status"
