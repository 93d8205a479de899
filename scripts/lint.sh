#!/usr/bin/env bash
# lint.sh — static analysis the build must pass with zero findings:
# cppcheck and clang-tidy over src/ with the checks enabled below.
set -euo pipefail
cd "$(dirname "$0")/.."
INC=(-Isrc -Ibuild/gen)
DEFS=(-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE)
mapfile -t FILES < <(find src -name '*.c' | sort)

cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
  --inline-suppr --suppress=missingIncludeSystem "${INC[@]}" "${DEFS[@]}" "${FILES[@]}"
echo "lint: cppcheck clean (${#FILES[@]} files)"

CHECKS='-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-assignment-in-if-condition,'\
'-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-implicit-widening-of-multiplication-result,'\
'cert-err34-c,cert-flp30-c,cert-str34-c,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,'\
'misc-redundant-expression,performance-*,'\
'-clang-analyzer-valist.Uninitialized'
# valist.Uninitialized is off: clang-tidy 14 reports every va_start/vsnprintf
# pair as uninitialized under glibc's headers (a known analyzer false positive).
CFL=$(pkg-config --cflags libmicrohttpd libcurl jansson sqlite3 libfyaml libpcre2-8 libcrypto libpq)
out=$(clang-tidy --quiet --checks="$CHECKS" --warnings-as-errors='*' "${FILES[@]}" -- -std=c11 "${INC[@]}" "${DEFS[@]}" $CFL 2>&1) || {
  printf '%s\n' "$out" | grep -v "warnings generated" | head -60; echo "lint: clang-tidy found problems"; exit 1; }
echo "lint: clang-tidy clean"
