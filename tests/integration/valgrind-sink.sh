#!/usr/bin/env bash
# valgrind-sink.sh — `tgcrm sink` under valgrind: deliveries with every verdict,
# each fault, a delayed answer released by the manual clock, one still held at
# shutdown, a replay, queries with near misses, eviction, then SIGTERM; require
# a clean exit with no leaks and no memory errors.
#
# Usage: valgrind-sink.sh /abs/path/to/tgcrm
set -uo pipefail
BIN=${1:?usage: valgrind-sink.sh BIN}
tmp=$(mktemp -d /tmp/tgcrm-vgs-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
KEY=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
  --error-exitcode=99 --log-file="$tmp/vg.log" \
  "$BIN" sink --listen 127.0.0.1:0 --port-file "$tmp/port" --test-clock --clock-start 2026-01-05T09:00:00Z \
  --secret "desk=$KEY" --max-requests 20 > "$tmp/sink.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "valgrind-sink: sink did not start"; cat "$tmp/sink.log" "$tmp/vg.log"; exit 1; }
B="http://127.0.0.1:$(cat "$tmp/port")"
# a correctly signed delivery (the Standard Webhooks known-answer vector: stale on this clock)
curl -s "$B/hooks/desk?x=1" -H 'webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek' -H 'webhook-timestamp: 1614265330' \
  -H 'webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' -d '{"test": 2432232314}' >/dev/null
curl -s "$B/hooks/desk" -H 'webhook-id: a' -H 'webhook-timestamp: 1767603600' -H 'webhook-signature: v1,bad' \
  -d '{"type":"ticket.created","ticket":{"id":1}}' >/dev/null
curl -s "$B/hooks/crm" --data-binary $'\xff\x00not json' >/dev/null
curl -s "$B/elsewhere" -d '{}' >/dev/null
for f in drop reset truncate; do
  curl -s -XPOST "$B/control/behaviours" -d "{\"endpoint\":\"desk\",\"fault\":\"$f\"}" >/dev/null
  curl -s -m 5 "$B/hooks/desk" -d '{}' >/dev/null
done
curl -s -XPOST "$B/control/behaviours" -d '{"endpoint":"desk","fault":"down","for":"1m"}' >/dev/null
curl -s -m 5 "$B/hooks/desk" -d '{}' >/dev/null
curl -s -XPOST "$B/control/behaviours" -d '{"endpoint":"crm","status":429,"retry_after":30,"times":2}' >/dev/null
curl -s -XPOST "$B/control/behaviours" -d '{"endpoint":"crm","delay":"30s"}' >/dev/null
curl -s -XPOST "$B/control/behaviours" -d '{"endpoint":"crm","default":true,"delay":"1h"}' >/dev/null
curl -s "$B/hooks/crm" -d '{}' >/dev/null; curl -s "$B/hooks/crm" -d '{}' >/dev/null
curl -s -m 60 "$B/hooks/crm" -d '{"type":"held"}' >/dev/null &
c1=$!
curl -s -m 60 "$B/hooks/crm" -d '{"type":"held at shutdown"}' >/dev/null &
c2=$!
for _ in $(seq 1 200); do curl -s "$B/control/stats" | grep -q '"held":2' && break; sleep 0.1; done
curl -s -XPOST "$B/control/clock" -d '{"advance":"30s"}' >/dev/null
wait "$c1"
curl -s -XPOST "$B/control/replay/2" -d "{\"url\":\"$B/hooks/copy\"}" >/dev/null
curl -s -XPOST "$B/control/replay/2" -d '{"url":"http://127.0.0.1:1/x","timeout":"1s"}' >/dev/null
curl -s -XPOST "$B/control/requests/find" -d '{"type":"ticket.resolved","ticket":1,"where":[{"path":"$.ticket.x"}],"count":1,"wait":"50ms"}' >/dev/null
curl -s "$B/control/requests?since=abc" >/dev/null
curl -s "$B/control/requests/1" >/dev/null
curl -s "$B/control/behaviours" >/dev/null
curl -s -XPUT "$B/control/secrets/crm" -d "{\"secrets\":[\"$KEY\"]}" >/dev/null
for i in $(seq 1 25); do curl -s "$B/hooks/desk" -d "{\"n\":$i}" >/dev/null; done
curl -s "$B/control/stats" | grep -q '"evicted":[1-9]' || { echo "valgrind-sink: nothing was evicted"; exit 1; }
curl -s -XDELETE "$B/control/behaviours" >/dev/null
curl -s -XDELETE "$B/control/requests" >/dev/null
kill -TERM "$pid"; wait "$pid"; rc=$?
wait "$c2" 2>/dev/null
if [ "$rc" -ne 0 ]; then
  echo "valgrind-sink: sink exited $rc"; grep -E "definitely|indirectly|possibly|Invalid|uninitialised|ERROR SUMMARY" "$tmp/vg.log" | head -20
  tail -5 "$tmp/sink.log"; exit 1
fi
grep -E "ERROR SUMMARY|in use at exit" "$tmp/vg.log"
echo "valgrind-sink: 1 passed, 0 failed"
