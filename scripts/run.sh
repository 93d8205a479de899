#!/usr/bin/env bash
# run.sh — the main job behind `make run`: every built-in suite (suites/)
# run three times in the sandbox with randomized sequences (a fresh seed,
# printed, with --shuffle: scenario order and every `unordered` block
# change between runs), the article's production checklist printed, and the
# HTML, JUnit and CTRF reports written to a folder named at the end.
#
# Replay a run exactly with the seed it printed:
#   build/tgcrm check --seed S --repeat 3 --shuffle suites/
set -euo pipefail
cd "$(dirname "$0")/.."
out="build/reports/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
rc=0
build/tgcrm check --repeat 3 --shuffle -j 2 --report-dir "$out" suites/ || rc=$?
echo
echo "reports: $out/report.html  $out/junit.xml  $out/ctrf.json"
exit "$rc"
