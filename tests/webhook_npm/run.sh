#!/usr/bin/env bash
# run.sh — independent checks of the outbound webhook core with npm tools:
#   1. sign_cases.c signs 50 cases with src/webhook/hook_sign.c (random
#      bodies incl. multi-byte UTF-8 and 100,000-character ones, rotation,
#      tampered ones) and verify.mjs verifies them with the Standard
#      Webhooks reference library (npm "standardwebhooks");
#   2. payload_cases.c builds delivery bodies with src/webhook/hook_payload.c
#      from a temporary store and schema.mjs validates them against
#      docs/webhook-payload.schema.json with ajv.
# Needs build/libtgcrm.a (`make all`); installs the pinned npm packages on
# first use (package-lock.json). Prints "webhook-npm: N passed, M failed"
# and "webhook-schema: N passed, M failed"; exits non-zero on any failure.
#
# Usage: tests/webhook_npm/run.sh [NCASES [SEED]]   (default 50 cases, seed 1)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ncases=${1:-50}
seed=${2:-1}
cd "$root" || exit 1
[ -f build/libtgcrm.a ] || { echo "webhook-npm: build/libtgcrm.a missing (run make all)"; exit 1; }
if [ ! -d "$here/node_modules/standardwebhooks" ] || [ ! -d "$here/node_modules/ajv" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || { echo "webhook-npm: npm ci failed"; exit 1; }
fi
CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -Ibuild/gen -Wall -Wextra -Werror -O2 -g"
LIBS="$(pkg-config --libs libmicrohttpd libcurl jansson sqlite3 libfyaml libpcre2-8 libcrypto libpq) -lpthread -lm"
mkdir -p build/webhook_npm
tmp=$(mktemp -d /tmp/tgcrm-whnpm-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0
for prog in sign_cases payload_cases; do
  # shellcheck disable=SC2086
  cc $CFLAGS -o "build/webhook_npm/$prog" "$here/$prog.c" build/libtgcrm.a $LIBS \
    || { echo "webhook-npm: cannot build $prog"; exit 1; }
done

build/webhook_npm/sign_cases "$ncases" "$seed" > "$tmp/cases.jsonl" || { echo "webhook-npm: sign_cases failed"; exit 1; }
node "$here/verify.mjs" < "$tmp/cases.jsonl" || status=1

build/webhook_npm/payload_cases "$tmp/payload.db" > "$tmp/bodies.jsonl" || { echo "webhook-schema: payload_cases failed"; exit 1; }
node "$here/schema.mjs" "$root/docs/webhook-payload.schema.json" < "$tmp/bodies.jsonl" || status=1
node "$here/inbound.mjs" "$root/build/tgcrm" "$root/docs/inbound-payload.schema.json" || status=1
exit $status
