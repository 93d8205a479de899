#!/usr/bin/env bash
# run.sh — the main job behind `make run`: the CRM daemon on the example
# configuration, talking to a local fake Telegram (no machine here reaches
# the real one), in build/run/, until Ctrl-C.
#
# The fake gets the example's agents (Telegram users 1001-1004) in a staff
# forum group, and a customer (5001) you can make write through its control
# API — the lines printed at start show how.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p build/run
export TGCRM_BOT_TOKEN=${TGCRM_BOT_TOKEN:-123456:demo-bot-token}
export TGCRM_API_TOKEN=${TGCRM_API_TOKEN:-demo-api-token-change-me}
export TGCRM_WEBHOOK_SECRET=${TGCRM_WEBHOOK_SECRET:-whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
FAKE=http://127.0.0.1:8081

"$root/build/tgcrm" fake-telegram --listen 127.0.0.1:8081 --bot "$TGCRM_BOT_TOKEN" \
    --port-file build/run/fake.port > build/run/fake-telegram.log 2>&1 &
fake=$!
trap 'kill $fake 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s build/run/fake.port ] && break; sleep 0.05; done
[ -s build/run/fake.port ] || { echo "run: fake-telegram did not start (port 8081 busy?)"; cat build/run/fake-telegram.log; exit 1; }
post() { curl -fsS -o /dev/null -XPOST "$FAKE$1" -d "$2"; }
for id in 1001 1002 1003 1004; do post /control/users "{\"id\":$id,\"first_name\":\"Agent$id\"}"; done
post /control/users '{"id":5001,"first_name":"Ann","username":"ann"}'
post /control/groups '{"id":-1001000000001,"title":"Support","is_forum":true,"members":[1001,1002,1003,1004]}'

cat <<TXT
tgcrm: fake Telegram on $FAKE (log: build/run/fake-telegram.log)
tgcrm: CRM API on http://127.0.0.1:8080, token: $TGCRM_API_TOKEN
tgcrm: try, from another terminal:
  curl http://127.0.0.1:8080/healthz
  curl -XPOST $FAKE/control/messages -d '{"from":5001,"text":"My invoice is wrong"}'
  curl '$FAKE/control/sent?chat_id=5001'    # the bot asks the example's intake form first;
                                             # answer with more messages, a ticket opens at the end
  curl -H 'Authorization: Bearer $TGCRM_API_TOKEN' http://127.0.0.1:8080/v1/tickets
  curl '$FAKE/control/sent?chat_id=-1001000000001'
tgcrm: Ctrl-C stops both.
TXT
cd build/run
"$root/build/tgcrm" serve --config "$root/examples/tgcrm.yaml" --log-format text
