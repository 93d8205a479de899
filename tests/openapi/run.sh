#!/usr/bin/env bash
# run.sh — start `tgcrm serve --test-clock` on a temporary store and check
# it against docs/openapi.yaml (check.mjs). Installs the checker's npm
# packages on first use (package-lock.json pins them).
#
# Usage: tests/openapi/run.sh /abs/path/to/tgcrm
set -uo pipefail
BIN=${1:?usage: run.sh BIN}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || { echo "openapi: npm ci failed"; exit 1; }
fi
tmp=$(mktemp -d /tmp/tgcrm-oas-XXXXXX)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
TOKEN=openapi-check-token-0123456789
cat > "$tmp/tgcrm.yaml" <<YAML
store: {path: $tmp/tgcrm.db}
http:
  listen: 127.0.0.1:0
  max_body: 1MiB
  api_tokens: [{name: oas, token: $TOKEN}]
groups: [{name: general}, {name: billing}]
agents:
  - {id: alice, name: Alice, telegram_user_id: 1, groups: [general, billing]}
templates:
  - {name: hello, text: "Hi {{customer.first_name | default: 'there'}}, this is {{agent.name}}."}
  - {name: surname, text: "Dear {{customer.last_name}}."}
kb:
  articles:
    - {id: KB-001, title: Invoices explained, url: "https://help.example.com/invoices", keywords: [invoice]}
webhooks:
  # a closed port and no retries: every delivery goes straight to the dead-letter list
  - {name: helpdesk, url: "http://127.0.0.1:9/hooks", secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", retry: []}
YAML
"$BIN" serve --config "$tmp/tgcrm.yaml" --port-file "$tmp/port" --test-clock > "$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "openapi: serve did not start"; cat "$tmp/serve.log"; exit 1; }
node "$here/check.mjs" "http://127.0.0.1:$(cat "$tmp/port")" "$TOKEN" "$root/docs/openapi.yaml"
