#!/usr/bin/env bash
# run.sh — mutation tests of the built-in suites (issue 7): build the CRM
# with one real defect planted, run the suite that should notice, and
# require that exactly the matching scenarios fail. A suite that passes a
# broken build proves nothing.
#
# Each mutation is one literal replacement in one source file, made in a
# copy of the tree (objects copied with their times, so only the mutated
# file is rebuilt). The replacement must apply exactly once, or the test
# fails: a mutation that silently stops applying would make this test lie.
#
# Usage: tests/mutation/run.sh  (from anywhere; needs build/tgcrm built)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/tgcrm-mutation-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# mutate NAME FILE FROM TO SUITE SCENARIO...
#   SCENARIO: a scenario of SUITE that must fail on the mutant
mutate() {
  local name=$1 file=$2 from=$3 to=$4 suite=$5; shift 5
  local dir="$tmp/$name"
  mkdir -p "$dir"
  (cd "$root" && git ls-files -z | xargs -0 cp --parents -a -t "$dir") || { echo "mutation $name: copy failed"; failed=$((failed+1)); return; }
  cp -a "$root/build" "$dir/build"
  local n
  n=$(FROM="$from" python3 -c 'import os,sys; print(open(sys.argv[1]).read().count(os.environ["FROM"]))' "$dir/$file")
  if [ "$n" != 1 ]; then
    echo "mutation $name: the text to replace occurs $n times in $file (want 1)"; failed=$((failed+1)); return
  fi
  FROM="$from" TO="$to" python3 -c 'import os,sys; p=sys.argv[1]; s=open(p).read(); open(p,"w").write(s.replace(os.environ["FROM"], os.environ["TO"]))' "$dir/$file"
  touch "$dir/$file"
  # a mutant may leave a variable unused: warnings are not the point here
  if ! make -C "$dir" -j2 EXTRA_CFLAGS=-Wno-error build/tgcrm > "$dir/build.log" 2>&1; then
    echo "mutation $name: the mutant does not build"; tail -5 "$dir/build.log"; failed=$((failed+1)); return
  fi
  local out="$dir/check.out" rc=0
  "$dir/build/tgcrm" check --seed 1 --quiet "$root/$suite" > "$out" 2>&1 || rc=$?
  if [ "$rc" != 1 ]; then
    echo "mutation $name: tgcrm check exited $rc on the mutant (want 1: a check failed)"; tail -20 "$out"; failed=$((failed+1)); return
  fi
  local s ok=1
  for s in "$@"; do
    if ! grep -qF "FAILED  " "$out" || ! grep -F "FAILED  " "$out" | grep -qF "› $s"; then
      echo "mutation $name: scenario '$s' passed on the mutant"; ok=0
    fi
  done
  if [ "$ok" = 1 ]; then
    echo "[ok]   mutation $name caught by: $*"; passed=$((passed+1))
  else
    grep -F "FAILED  " "$out" | sed 's/^/       failed: /'; failed=$((failed+1))
  fi
}

mutate routing-ignores-keywords src/desk/route.c \
  'int rc = t->kw ? rx_find(t->kw, text, len, &h, &e) : 0;' \
  'int rc = 0;' \
  suites/routing.yaml "Keyword-based routing"

mutate sla-ignores-on-hold src/desk/sla.c \
  'return (mask & (1u << s)) != 0;' \
  'return false;' \
  suites/sla.yaml "Timer pause"

echo "mutation: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
