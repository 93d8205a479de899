// receiver.mjs — a webhook receiving process for the integration tests
// (tests/integration/test_webhooks.c), independent of tgcrm's C code.
//
// Usage: node receiver.mjs PORT_FILE SCHEMA_PATH
//
// Listens on 127.0.0.1 (ephemeral port, written to PORT_FILE once ready).
// Every request outside /control/ is a delivery: it is recorded when it
// arrives — headers, raw body, whether the Standard Webhooks reference
// library (npm "standardwebhooks") verifies its signature, and whether the
// body is valid against docs/webhook-payload.schema.json (ajv) — and then
// answered the way the test configured for its path.
//
// Control API (JSON):
//   POST /control/config {path?, status?, delay_ms?, retry_after?, body?,
//                         reset?, queue?: [{status, delay_ms, ...}...],
//                         fail_ids?: [...], fail_status?,
//                         secrets?: [...], now_ms?}
//        Sets how deliveries to `path` (default: every path) are answered;
//        `queue` entries are used once each, first. `reset: true` drops the
//        connection without answering (an endpoint that is down).
//        Deliveries whose webhook-id is in `fail_ids` get `fail_status`
//        (default 500) whatever the rest says. `secrets` are the endpoint
//        secrets to verify with (any one may match); `now_ms` is a time of
//        the tgcrm test clock, used as "now" for the timestamp tolerance:
//        the last four given are all accepted, so a test can announce the
//        time it is about to move the clock to while requests signed at the
//        old time may still arrive.
//   GET  /control/received[?path=/x]  {"received": [...]} in arrival order
//   POST /control/reset               forget what was received
//
// A delivery held by delay_ms whose client gives up (timeout) is recorded
// with "aborted": true and never answered.
import { createServer } from "node:http";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [portFile, schemaPath] = process.argv.slice(2);
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));

const defaults = { status: 200, delay_ms: 0, retry_after: null, body: "ok", reset: false };
let failIds = new Set();
let failStatus = 500;
const behaviour = new Map();   // path → {status, delay_ms, retry_after, body, queue}
let secrets = [];
let clocks = [];          // recent test-clock times, newest last
let received = [];
let seq = 0;

function behaviourFor(path) {
  const b = behaviour.get(path) || behaviour.get("*") || { ...defaults, queue: [] };
  if (b.queue && b.queue.length > 0) return { ...defaults, ...b, ...b.queue.shift() };
  return b;
}

function verify(raw, headers) {
  if (secrets.length === 0) return { verified: false, verify_error: "no secret configured" };
  const realNow = Date.now;
  let error = null;
  try {
    for (const now of clocks.length > 0 ? [...clocks].reverse() : [null]) {
      if (now !== null) Date.now = () => now;
      for (const s of secrets) {
        try {
          new Webhook(s).verify(raw, headers);
          return { verified: true, verify_error: null };
        } catch (err) {
          error = err.message;
        }
      }
    }
  } finally {
    Date.now = realNow;
  }
  return { verified: false, verify_error: error };
}

function json(res, status, v) {
  const text = JSON.stringify(v);
  res.writeHead(status, { "content-type": "application/json" });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function control(req, res, url, raw) {
  if (req.method === "POST" && url.pathname === "/control/config") {
    const c = JSON.parse(raw || "{}");
    if (c.secrets) secrets = c.secrets;
    if (c.now_ms !== undefined) clocks = [...clocks, c.now_ms].slice(-4);
    if (c.fail_ids) failIds = new Set(c.fail_ids);
    if (c.fail_status) failStatus = c.fail_status;
    const key = c.path || "*";
    const prev = behaviour.get(key) || { ...defaults, queue: [] };
    const next = { ...prev };
    for (const k of ["status", "delay_ms", "retry_after", "body", "reset"]) if (k in c) next[k] = c[k];
    if (c.queue) next.queue = c.queue.slice();
    behaviour.set(key, next);
    return json(res, 200, { ok: true });
  }
  if (req.method === "GET" && url.pathname === "/control/received") {
    const p = url.searchParams.get("path");
    return json(res, 200, { received: p ? received.filter((r) => r.path === p) : received });
  }
  if (req.method === "POST" && url.pathname === "/control/reset") {
    received = [];
    return json(res, 200, { ok: true });
  }
  return json(res, 404, { error: "unknown control path" });
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const raw = await readBody(req);
  if (url.pathname.startsWith("/control/")) return control(req, res, url, raw);

  const headers = {
    "webhook-id": req.headers["webhook-id"],
    "webhook-timestamp": req.headers["webhook-timestamp"],
    "webhook-signature": req.headers["webhook-signature"],
  };
  let body = null, schemaOk = false, schemaErrors = null;
  try {
    body = JSON.parse(raw);
    schemaOk = validate(body);
    if (!schemaOk) schemaErrors = ajv.errorsText(validate.errors);
  } catch (err) {
    schemaErrors = `not JSON: ${err.message}`;
  }
  let b = behaviourFor(url.pathname);
  if (headers["webhook-id"] && failIds.has(headers["webhook-id"]))
    b = { ...defaults, status: failStatus, body: "failing on purpose" };
  const rec = {
    seq: ++seq, path: url.pathname, method: req.method, id: headers["webhook-id"] || null,
    timestamp: headers["webhook-timestamp"] || null,
    signature: headers["webhook-signature"] || null,
    content_type: req.headers["content-type"] || null,
    ...verify(raw, headers),
    schema_ok: schemaOk, schema_errors: schemaErrors,
    body, answered: null, aborted: false, arrived_ms: Date.now(),
  };
  received.push(rec);
  if (b.reset) {
    rec.aborted = true;
    req.socket.destroy();
    return;
  }
  const answer = () => {
    if (res.destroyed || res.writableEnded) { rec.aborted = true; return; }
    const h = { "content-type": "text/plain" };
    if (b.retry_after !== null && b.retry_after !== undefined) h["retry-after"] = String(b.retry_after);
    rec.answered = b.status;
    res.writeHead(b.status, h);
    res.end(b.body ?? "");
  };
  res.on("close", () => { if (rec.answered === null) rec.aborted = true; });
  if (b.delay_ms > 0) setTimeout(answer, b.delay_ms); else answer();
});

server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => {
  writeFileSync(portFile + ".tmp", `${server.address().port}\n`);
  renameSync(portFile + ".tmp", portFile);
});
process.on("SIGTERM", () => process.exit(0));
