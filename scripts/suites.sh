#!/usr/bin/env bash
# suites.sh — `make suites` (part of `make test` and so of CI): every
# built-in suite in the sandbox, once with a fixed seed (the same run every
# time: a failure here is reproducible as printed) and once with a random
# seed (printed at start and on every failure: replay with --seed).
#
# Usage: suites.sh /abs/path/to/tgcrm
set -euo pipefail
BIN=${1:?usage: suites.sh BIN}
cd "$(dirname "$0")/.."
out=build/suites
rm -rf "$out" && mkdir -p "$out/fixed" "$out/random"
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fail=0
echo "suites: fixed seed 20261203"
"$BIN" check --seed 20261203 -j 2 --quiet --report-dir "$out/fixed" suites/ || fail=1
echo "suites: random seed $seed"
"$BIN" check --seed "$seed" --shuffle -j 2 --quiet --report-dir "$out/random" suites/ || fail=1
if [ "$fail" -ne 0 ]; then
  echo "suites: FAILED (reports in $out)"; exit 1
fi
echo "suites: 2 passed, 0 failed"
