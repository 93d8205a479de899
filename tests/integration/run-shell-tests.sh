#!/usr/bin/env bash
# run-shell-tests.sh — the CLI contract of the real binary: subcommands,
# --help, exit codes, and configuration errors reported as file:line:column.
#
# Usage: run-shell-tests.sh /abs/path/to/tgcrm
set -uo pipefail
BIN=${1:?usage: run-shell-tests.sh BIN}
cd "$(dirname "$0")/../.."
pass=0; fail=0
tmp=$(mktemp -d /tmp/tgcrm-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# expect NAME WANT_EXIT PATTERN -- CMD...
expect() {
  local name=$1 want=$2 pattern=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "[FAIL] $name: exit $rc, want $want"; printf '%s\n' "$out" | head -5; fail=$((fail+1)); return
  fi
  if [ -n "$pattern" ] && ! printf '%s' "$out" | grep -Eq -- "$pattern"; then
    echo "[FAIL] $name: output lacks /$pattern/"; printf '%s\n' "$out" | head -5; fail=$((fail+1)); return
  fi
  pass=$((pass+1))
}

expect "no args is usage" 2 "usage: tgcrm" -- "$BIN"
expect "help" 0 "sandbox +CRM" -- "$BIN" help
expect "--help" 0 "usage: tgcrm" -- "$BIN" --help
expect "version" 0 "^tgcrm [0-9]" -- "$BIN" version
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$BIN" frobnicate
for cmd in serve check sandbox fake-telegram sink version; do
  expect "$cmd --help" 0 "usage: tgcrm $cmd" -- "$BIN" "$cmd" --help
done
for cmd in check sandbox; do
  expect "$cmd not built yet" 2 "not built yet" -- "$BIN" "$cmd"
done
expect "fake-telegram needs --listen" 2 "usage: tgcrm fake-telegram" -- "$BIN" fake-telegram

# tgcrm sink: every bad flag is refused with exit 2 and a message naming it,
# before anything listens; a secret is never echoed.
KEY=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
expect "sink needs --listen" 2 "--listen HOST:PORT is required" -- "$BIN" sink
expect "sink bad --listen" 2 "bad listen address 'nope'" -- "$BIN" sink --listen nope
expect "sink bad port" 2 "bad port in listen address" -- "$BIN" sink --listen 127.0.0.1:99999
expect "sink bad secret" 2 "--secret #2: not a webhook secret" -- "$BIN" sink --listen 127.0.0.1:0 --secret "$KEY" --secret "desk=whsec_!!!"
out=$("$BIN" sink --listen 127.0.0.1:0 --secret "desk=whsec_TOPSECRET!!" 2>&1)
case "$out" in *TOPSECRET*) echo "[FAIL] sink echoed a secret: $out"; fail=$((fail+1));; *) pass=$((pass+1));; esac
expect "sink bad endpoint" 2 "--secret #1: bad endpoint name" -- "$BIN" sink --listen 127.0.0.1:0 --secret "a/b=$KEY"
expect "sink unknown option" 2 "unknown option '--colour'" -- "$BIN" sink --listen 127.0.0.1:0 --colour blue
expect "sink bad --max-requests" 2 "--max-requests must be a positive integer" -- "$BIN" sink --listen 127.0.0.1:0 --max-requests 0
expect "sink bad --max-bytes" 2 "--max-bytes must be a size" -- "$BIN" sink --listen 127.0.0.1:0 --max-bytes lots
expect "sink body over bytes" 2 "max_body .* cannot exceed max_bytes" -- "$BIN" sink --listen 127.0.0.1:0 --max-bytes 1KiB --max-body 2KiB
expect "sink bad --tolerance" 2 "--tolerance must be a duration" -- "$BIN" sink --listen 127.0.0.1:0 --tolerance 0
expect "sink clock-start needs test-clock" 2 "needs --test-clock" -- "$BIN" sink --listen 127.0.0.1:0 --clock-start 2026-01-01T00:00:00Z
expect "sink bad clock-start" 2 "not an RFC 3339 time" -- "$BIN" sink --listen 127.0.0.1:0 --test-clock --clock-start tomorrow
"$BIN" sink --listen 127.0.0.1:0 --port-file "$tmp/sink-port" > "$tmp/sink.log" 2>&1 &
spid=$!
for _ in $(seq 1 200); do [ -s "$tmp/sink-port" ] && break; sleep 0.05; done
expect "sink port in use" 2 "cannot listen on" -- "$BIN" sink --listen "127.0.0.1:$(cat "$tmp/sink-port")"
if curl -fsS -XPOST "http://127.0.0.1:$(cat "$tmp/sink-port")/hooks/desk" -d '{}' | grep -q '"ok":true'; then
  pass=$((pass+1))
else
  echo "[FAIL] tgcrm sink did not answer a delivery"; tail -5 "$tmp/sink.log"; fail=$((fail+1))
fi
kill -TERM "$spid" 2>/dev/null; wait "$spid"; rc=$?
[ "$rc" -eq 0 ] && pass=$((pass+1)) || { echo "[FAIL] sink SIGTERM exit $rc"; fail=$((fail+1)); }
expect "serve needs --config" 2 "--config FILE is required" -- "$BIN" serve
expect "serve bad flag" 2 "usage: tgcrm serve" -- "$BIN" serve --bogus
expect "serve missing file" 2 "nope.yaml" -- "$BIN" serve --config "$tmp/nope.yaml"
expect "clock-start needs test-clock" 2 "needs --test-clock" -- "$BIN" serve --config x --clock-start 2026-01-01T00:00:00Z

# Bad configuration files: exit 2 with file:line:column, before anything starts.
printf 'http:\n  listen: 127.0.0.1:0\n  api_tokens:\n    - name: t\n      token: abcdefghijklmnopqrst\nstore:\n  path: %s/x.db\n  colour: blue\n' "$tmp" > "$tmp/unknown-key.yaml"
expect "config unknown key" 2 "unknown-key.yaml:8:[0-9]+: .*colour" -- "$BIN" serve --config "$tmp/unknown-key.yaml"
printf 'http:\n  listen: [oops\n' > "$tmp/syntax.yaml"
expect "config syntax error" 2 "syntax.yaml:[0-9]+:[0-9]+:" -- "$BIN" serve --config "$tmp/syntax.yaml"
printf 'http:\n  listen: 127.0.0.1:0\n  api_tokens:\n    - name: t\n      token: ${TGCRM_SURELY_UNSET_VAR}\n' > "$tmp/env.yaml"
expect "config unset env var" 2 "env.yaml:5:[0-9]+: .*TGCRM_SURELY_UNSET_VAR" -- env -u TGCRM_SURELY_UNSET_VAR "$BIN" serve --config "$tmp/env.yaml"
printf 'http:\n  listen: 127.0.0.1:0\n  api_tokens:\n    - name: t\n      token: abcdefghijklmnopqrst\nagents:\n  - id: a\n    telegram_user_id: 5\n    groups: [nowhere]\n' > "$tmp/badref.yaml"
expect "config unknown group" 2 "badref.yaml:9:[0-9]+: .*nowhere" -- "$BIN" serve --config "$tmp/badref.yaml"
# Template errors are config errors too, placed inside the text (desk/template.c via engine_check_cfg).
printf 'http:\n  listen: 127.0.0.1:0\n  api_tokens:\n    - name: t\n      token: abcdefghijklmnopqrst\nstore:\n  path: %s/x.db\ntemplates:\n  - name: hi\n    text: "Hi {{customer.frist_name}}"\n' "$tmp" > "$tmp/template.yaml"
expect "config template unknown variable" 2 "template.yaml:10:[0-9]+: template 'hi': .*frist_name" -- "$BIN" serve --config "$tmp/template.yaml"
printf 'http:\n  listen: 127.0.0.1:0\n  api_tokens:\n    - name: t\n      token: abcdefghijklmnopqrst\nstore:\n  path: %s/x.db\ntemplates:\n  - name: hi\n    text: |\n      Hello\n      {{ ticket.id\n' "$tmp" > "$tmp/template2.yaml"
expect "config template never closed" 2 "template2.yaml:12:[0-9]+: template 'hi': .*never closed" -- "$BIN" serve --config "$tmp/template2.yaml"
printf 'http:\n  listen: 127.0.0.1:0\n  api_tokens:\n    - name: t\n      token: abcdefghijklmnopqrst\nstore:\n  path: %s/x.db\nintake:\n  questions:\n    - {field: a, prompt: "Hi {{customer.username}}"}\n' "$tmp" > "$tmp/intake.yaml"
expect "config intake prompt without default" 2 "intake.yaml:10:[0-9]+: prompt of intake question 'a'" -- "$BIN" serve --config "$tmp/intake.yaml"
test ! -e "$tmp/x.db" && pass=$((pass+1)) || { echo "[FAIL] a refused config created the store"; fail=$((fail+1)); }

# The example configuration is complete and loads (checked by starting serve on it).
export TGCRM_BOT_TOKEN=123456:example-token-for-tests TGCRM_API_TOKEN=example-api-token-0123456789 \
       TGCRM_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
sed -e "s#^\(  path:\).*#\1 $tmp/example.db#" -e "s#^\(  listen:\).*#\1 127.0.0.1:0#" examples/tgcrm.yaml > "$tmp/example.yaml"
"$BIN" serve --config "$tmp/example.yaml" --port-file "$tmp/port" > "$tmp/example.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
if [ -s "$tmp/port" ] && curl -fsS "http://127.0.0.1:$(cat "$tmp/port")/healthz" | grep -q '"ok"'; then
  pass=$((pass+1))
else
  echo "[FAIL] serve on examples/tgcrm.yaml did not answer /healthz"; tail -5 "$tmp/example.log"; fail=$((fail+1))
fi
kill -TERM "$pid" 2>/dev/null; wait "$pid"; rc=$?
[ "$rc" -eq 0 ] && pass=$((pass+1)) || { echo "[FAIL] SIGTERM exit $rc"; fail=$((fail+1)); }

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
