#!/usr/bin/env bash
# run.sh — `make bench`: build and run every benchmark; each prints one
# "bench <name> <metric>=<value> ..." line, ceilings measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/tgcrm}
CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -Ibuild/gen -O2 -g"
LIBS="$(pkg-config --libs libmicrohttpd libcurl jansson sqlite3 libfyaml libpcre2-8 libcrypto libpq) -lpthread -lm"
mkdir -p build/bench
# Every benchmark runs even when one fails; the exit status says whether any did.
failed=()
for src in bench/bench_engine.c bench/bench_ingest.c bench/bench_deliver.c bench/bench_suites.c; do
  name=$(basename "$src" .c)
  cc $CFLAGS -Ibench -o "build/bench/$name" "$src" bench/bench_common.c build/libtgcrm.a $LIBS
  "build/bench/$name" "$BIN" || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
