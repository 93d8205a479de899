#!/usr/bin/env bash
# run-check.sh — run tgcrm's integration suites the way CI does, on any CI
# system or by hand (docs/regression.md).
#
#   bash examples/ci/run-check.sh            fresh Debian 12 container: build, then both runs
#   bash examples/ci/run-check.sh both       both runs on this machine (build/tgcrm built)
#   bash examples/ci/run-check.sh baseline   compare with the baseline (fixed seed)
#   bash examples/ci/run-check.sh random     three runs with a random seed, printed
#   bash examples/ci/run-check.sh record     record a new baseline (review it, then commit it)
#
# With no argument it starts a fresh debian:12 container (docker or podman)
# with the repository mounted, copies the sources (not build/), installs the
# dependencies, builds, runs "baseline" then "random", and copies the
# reports back. The other commands expect a built tree (build/tgcrm).
#
# Reports land in ci-reports/<run>/ (junit.xml, ctrf.json, report.html) for
# the CI system to publish: GitHub Actions (examples/ci/github-actions.yml),
# GitLab (artifacts:reports:junit: ci-reports/*/junit.xml), Jenkins
# (junit 'ci-reports/*/junit.xml').
#
# Environment: BASELINE (default baseline.json), BASELINE_SEED (default
# 20260105), FAIL_ON_CHANGE=1 (a change in behaviour fails the run), SUITES
# (default suites/), IMAGE (default debian:12).
#
# Exit status: that of tgcrm check (0 passed, 1 a check failed or, with
# FAIL_ON_CHANGE=1, behaviour changed, 2 a suite or usage error).
set -euo pipefail

SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/../.."
BASELINE=${BASELINE:-baseline.json}
BASELINE_SEED=${BASELINE_SEED:-20260105}
FAIL_ON_CHANGE=${FAIL_ON_CHANGE:-0}
SUITES=${SUITES:-suites/}
IMAGE=${IMAGE:-debian:12}
OUT=ci-reports

# Both runs; the worse exit status wins.
both() {
  local rc=0 r=0
  bash "$SELF" baseline || rc=$?
  bash "$SELF" random || r=$?
  [ "$r" -gt "$rc" ] && rc=$r
  return "$rc"
}

# Outside: a fresh debian:12 container with the repository mounted at /src.
fresh() {
  local engine
  engine=$(command -v docker || command -v podman || true)
  if [ -z "$engine" ]; then
    echo "run-check.sh: neither docker nor podman found; on a Debian 12 machine run:" >&2
    echo "  bash scripts/install-deps.sh && make all && bash $0 baseline && bash $0 random" >&2
    return 2
  fi
  "$engine" run --rm -e BASELINE -e BASELINE_SEED -e FAIL_ON_CHANGE -e SUITES \
    -v "$PWD":/src -w /src "$IMAGE" bash examples/ci/run-check.sh inside
}

# Inside the container: build from a copy of the sources (never the host's
# build/, compiled elsewhere), run, and hand the reports back to /src.
inside() {
  local tree=/tmp/tgcrm rc=0
  mkdir -p "$tree"
  tar -C /src --exclude=./build --exclude=./build-asan --exclude=./ci-reports \
    --exclude=./node_modules -cf - . | tar -C "$tree" -xf -
  cd "$tree"
  SELF="$tree/examples/ci/run-check.sh"
  bash scripts/install-deps.sh
  make -j"$(nproc)" all
  both || rc=$?
  rm -rf /src/ci-reports
  cp -r "$tree/ci-reports" /src/ci-reports
  return "$rc"
}

baseline() {
  if [ ! -f "$BASELINE" ]; then
    echo "run-check.sh: no baseline at $BASELINE; record one with: bash $0 record" >&2
    return 2
  fi
  local args=(--seed "$BASELINE_SEED" --baseline "$BASELINE" --report "$OUT/baseline")
  [ "$FAIL_ON_CHANGE" = 1 ] && args+=(--fail-on-change)
  build/tgcrm check "${args[@]}" "$SUITES"
}

random() {
  # the seed is chosen here so that it is in the CI log even if check dies early
  local seed
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
  echo "run-check.sh: random run, seed $seed (replay: build/tgcrm check --seed $seed --repeat 3 $SUITES)"
  build/tgcrm check --seed "$seed" --repeat 3 --shuffle --report "$OUT/random" "$SUITES"
}

record() {
  build/tgcrm check --seed "$BASELINE_SEED" --record-baseline "$BASELINE" \
    --report "$OUT/record" "$SUITES"
  echo "run-check.sh: recorded $BASELINE; review it (git diff $BASELINE) and commit it"
}

mkdir -p "$OUT"
case "${1:-fresh}" in
  fresh) fresh ;;
  inside) inside ;;
  both) both ;;
  baseline) baseline ;;
  random) random ;;
  record) record ;;
  *) echo "usage: $0 [fresh|both|baseline|random|record]" >&2; exit 2 ;;
esac
