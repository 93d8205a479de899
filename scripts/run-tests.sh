#!/usr/bin/env bash
# run-tests.sh — run test binaries one after another, report totals.
#
# Usage: run-tests.sh LABEL BIN...
# Each binary is a Criterion test program; its own summary line is kept and
# a final "N passed, N failed" line sums them up. Exit 1 if any failed.
set -uo pipefail
label=$1; shift
total_pass=0; total_fail=0; failed_bins=()
for b in "$@"; do
  out=$("$b" --jobs 2 2>&1); rc=$?
  summary=$(printf '%s\n' "$out" | grep -E '^\[====\] Synthesis' | tail -1)
  printf '%s\n' "$out" | grep -E '^\[(FAIL|----)\]' | head -50
  p=$(printf '%s' "$summary" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
  f=$(printf '%s' "$summary" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
  c=$(printf '%s' "$summary" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
  p=${p:-0}; f=${f:-0}; c=${c:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$c" -eq 0 ]; then f=1; printf '%s\n' "$out" | tail -20; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f + c))
  [ "$rc" -ne 0 ] && failed_bins+=("$(basename "$b")")
  echo "$label $(basename "$b"): $summary"
done
echo "$label: $total_pass passed, $total_fail failed"
if [ ${#failed_bins[@]} -gt 0 ]; then
  echo "$label: failing: ${failed_bins[*]}" >&2
  exit 1
fi
