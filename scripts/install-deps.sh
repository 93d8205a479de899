#!/usr/bin/env bash
# install-deps.sh — installs the Debian packages tgcrm needs to build and test.
#
# Idempotent: packages already present are not fetched again, so `make run`
# and `make test` can call it every time at almost no cost. Works as root and
# through sudo; prints what it installs.
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev
  libpq-dev libfyaml-dev libpcre2-dev libssl-dev libcriterion-dev
  sqlite3 curl valgrind cppcheck clang-tidy
  tzdata chromium
)

# tzdata: the IANA time zones (/usr/share/zoneinfo) that SLA business hours
# are computed in; base/tz.c reads them at config load. Minimal Debian
# images leave it out.

# chromium: Debian's headless browser; tests/integration/test_report_html.c
# renders the HTML report of `tgcrm check` in it and checks the screenshot.

# Node.js runs the independent checkers (OpenAPI conformance, and later
# npm client libraries against the fake Telegram); any node >= 18 will do,
# so an existing one is kept.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 2
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
