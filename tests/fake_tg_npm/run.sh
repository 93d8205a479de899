#!/usr/bin/env bash
# run.sh — proof that a bot built on a mainstream npm library (grammY, pinned
# in package.json / package-lock.json) runs unchanged against
# `tgcrm fake-telegram`: only its apiRoot points at the fake.
#
# Usage: tests/fake_tg_npm/run.sh [/abs/path/to/tgcrm]   (default: build/tgcrm)
#
# Starts the fake on a free port, installs the npm dependencies when
# node_modules is missing (`npm ci`), starts bot.js (long polling), runs
# drive.js (plays the customer and the agent via /control, checks
# /control/sent), stops both, and prints "fake-tg-npm: N passed, M failed".
# Exit 0 only when everything passed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${1:-$ROOT/build/tgcrm}
TOKEN=123456:TEST-TOKEN
STAFF=-1001234567890
tmp=$(mktemp -d /tmp/fake-tg-npm-XXXXXX)
fake_pid=; bot_pid=

cleanup() {
  [ -n "$bot_pid" ] && kill "$bot_pid" 2>/dev/null && wait "$bot_pid" 2>/dev/null
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -x "$BIN" ]; then
  echo "fake-tg-npm: $BIN not built"; echo "fake-tg-npm: 0 passed, 1 failed"; exit 1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "fake-tg-npm: node/npm missing"; echo "fake-tg-npm: 0 passed, 1 failed"; exit 1
fi
if [ ! -d "$HERE/node_modules/grammy" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund >"$tmp/npm.log" 2>&1) || {
    cat "$tmp/npm.log"; echo "fake-tg-npm: 0 passed, 1 failed"; exit 1; }
fi

"$BIN" fake-telegram --listen 127.0.0.1:0 --port-file "$tmp/port" --bot "$TOKEN" \
  >"$tmp/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
if [ ! -s "$tmp/port" ]; then
  cat "$tmp/fake.log"; echo "fake-tg-npm: 0 passed, 1 failed"; exit 1
fi
API_ROOT="http://127.0.0.1:$(cat "$tmp/port")"
export API_ROOT BOT_TOKEN=$TOKEN STAFF_CHAT=$STAFF

node "$HERE/bot.js" >"$tmp/bot.log" 2>&1 &
bot_pid=$!

node "$HERE/drive.js"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "--- bot.log"; tail -30 "$tmp/bot.log"
  echo "--- fake.log"; tail -30 "$tmp/fake.log"
fi
exit "$rc"
