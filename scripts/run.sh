#!/usr/bin/env bash
# run.sh — the main job behind `make run`: start the CRM daemon on the
# example configuration, in build/run/, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p build/run
export TGCRM_BOT_TOKEN=${TGCRM_BOT_TOKEN:-123456:demo-bot-token}
export TGCRM_API_TOKEN=${TGCRM_API_TOKEN:-demo-api-token-change-me}
export TGCRM_WEBHOOK_SECRET=${TGCRM_WEBHOOK_SECRET:-whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
echo "tgcrm: starting the CRM daemon on examples/tgcrm.yaml (store: build/run/tgcrm.db)"
echo "tgcrm: API token for this demo: $TGCRM_API_TOKEN"
echo "tgcrm: try   curl http://127.0.0.1:8080/healthz   — Ctrl-C stops"
cd build/run
exec "$root/build/tgcrm" serve --config "$root/examples/tgcrm.yaml" --log-format text
