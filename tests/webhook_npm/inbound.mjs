// inbound.mjs — an independent help desk for POST /v1/inbound/{endpoint}:
// requests signed by the Standard Webhooks reference library (npm
// "standardwebhooks", pinned in package.json) and posted to a real
// `tgcrm serve` on loopback (real clock: the library signs with Date).
//
// Checks that tgcrm accepts what the reference library signs (updates,
// replies, notes; the previous secret of a rotating endpoint) and refuses
// what it must (another secret, a tampered body, stale and future
// timestamps); that a repeated webhook-id is answered with the first
// answer and applied once; and that docs/inbound-payload.schema.json and
// the server agree: every generated body the schema (ajv) rejects is
// refused with 400, every body it accepts gets past the parser (200, or
// 409/422 for what only the ticket's state can refuse).
//
// Usage: node inbound.mjs BIN SCHEMA_PATH
// Prints "webhook-inbound: N passed, M failed"; exit status 1 on any failure.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Ajv2020 from "ajv/dist/2020.js";
import { Webhook } from "standardwebhooks";

const [bin, schemaPath] = process.argv.slice(2);
const TOKEN = "inbound-npm-token-0123456789";
const SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const PREVIOUS = "whsec_Tm90IGEgcmVhbCBzZWNyZXQgYnV0IDMyIGJ5dGVzISE=";
const OTHER = "whsec_b3RoZXIgc2VjcmV0IG9mIDMyIGJ5dGVzIGxvbmcgISE=";

let passed = 0, failed = 0;
const check = (ok, what) => {
  if (ok) passed++;
  else { failed++; console.log(`webhook-inbound: FAIL ${what}`); }
};

// ---- a serve of our own ------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "tgcrm-inbound-npm-"));
writeFileSync(join(dir, "tgcrm.yaml"), `store: {path: ${dir}/tgcrm.db}
http:
  listen: 127.0.0.1:0
  max_body: 64KiB
  api_tokens: [{name: npm, token: ${TOKEN}}]
groups: [{name: general}, {name: billing}]
agents:
  - {id: alice, name: Alice, telegram_user_id: 1, groups: [general, billing]}
  - {id: bob, name: Bob, telegram_user_id: 2, groups: [general]}
webhooks:
  - {name: helpdesk, url: "http://127.0.0.1:9/unused", secret: "${SECRET}", events: [customer.blocked]}
  - {name: rotating, url: "http://127.0.0.1:9/unused", secret: "${OTHER}",
     previous_secret: "${PREVIOUS}", events: [customer.blocked]}
`);
const serve = spawn(bin, ["serve", "--config", join(dir, "tgcrm.yaml"), "--port-file",
                          join(dir, "port")], { stdio: ["ignore", "ignore", "pipe"] });
let serveLog = "";
serve.stderr.on("data", (d) => { serveLog += d; });
let base = null;
for (let i = 0; i < 200 && base === null; i++) {
  const f = join(dir, "port");
  if (existsSync(f) && readFileSync(f, "utf8").trim() !== "") {
    base = `http://127.0.0.1:${readFileSync(f, "utf8").trim()}`;
  } else {
    await sleep(50);
  }
}
const finish = (code) => {
  serve.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
  console.log(`webhook-inbound: ${passed} passed, ${failed} failed`);
  process.exit(code);
};
if (base === null) {
  console.log(`webhook-inbound: serve did not start\n${serveLog}`);
  finish(1);
}

const rest = async (method, path, body) => {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
};

let seq = 0;
// Sign `raw` (a string, sent as is) with the reference library and post it.
const send = async (endpoint, raw, { secret = SECRET, id = `msg_npm_${++seq}`, at = new Date(),
                                     sendBody = raw } = {}) => {
  const headers = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, at, raw),
  };
  const res = await fetch(`${base}/v1/inbound/${endpoint}`, { method: "POST", headers, body: sendBody });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported by the caller */ }
  return { status: res.status, text, json, replayed: res.headers.get("idempotent-replayed") };
};
const threadTexts = async (id) =>
  (await rest("GET", `/v1/tickets/${id}/thread`)).json.entries.map((e) => e.text);

// ---- accepted ----------------------------------------------------------------

const opened = await rest("POST", "/v1/customer-messages",
  { customer: { telegram_user_id: 77, first_name: "Ann" }, text: "My invoice is wrong" });
const ticket = opened.json.ticket.id;

let r = await send("helpdesk", JSON.stringify({ type: "ticket.update", ticket_id: ticket,
  status: "in_progress", priority: "high", assignee: "alice", reason: "from npm" }));
check(r.status === 200 && r.json?.ticket_id === ticket && r.json?.seq > 0, `update: ${r.status} ${r.text}`);
const t = (await rest("GET", `/v1/tickets/${ticket}`)).json;
check(t.status === "in_progress" && t.priority === "high" && t.assignee === "alice",
  `update applied: ${JSON.stringify(t)}`);

const replyBody = JSON.stringify({ type: "ticket.reply", ticket_id: ticket, agent: "alice",
  text: "Исправлено ✅ — your invoice is corrected" });
const first = await send("helpdesk", replyBody, { id: "msg_npm_reply" });
check(first.status === 200 && first.replayed === null, `reply: ${first.status} ${first.text}`);
r = await send("helpdesk", JSON.stringify({ type: "ticket.note", ticket_id: ticket, agent: "bob",
  text: "internal" }));
check(r.status === 200, `note: ${r.status} ${r.text}`);

// the same webhook-id again, signed afresh a little later: the first answer, applied once
const again = await send("helpdesk", replyBody, { id: "msg_npm_reply", at: new Date(Date.now() + 5000) });
check(again.status === 200 && again.text === first.text && again.replayed === "true",
  `replay: ${again.status} ${again.text} replayed=${again.replayed}`);
const texts = await threadTexts(ticket);
check(texts.filter((x) => x === "Исправлено ✅ — your invoice is corrected").length === 1,
  "the replayed reply is in the thread once");

// rotation: the previous secret of a rotating endpoint works there, and only there
const note = (text) => JSON.stringify({ type: "ticket.note", ticket_id: ticket, agent: "bob", text });
r = await send("rotating", note("old secret"), { secret: PREVIOUS });
check(r.status === 200, `previous_secret accepted: ${r.status} ${r.text}`);
r = await send("rotating", note("new secret"), { secret: OTHER });
check(r.status === 200, `secret accepted: ${r.status} ${r.text}`);
r = await send("helpdesk", note("wrong endpoint"), { secret: PREVIOUS });
check(r.status === 401 && r.json?.error?.field === "webhook-signature", `other secret refused: ${r.status} ${r.text}`);

// ---- refused -------------------------------------------------------------------

const before = JSON.stringify(await threadTexts(ticket));
r = await send("helpdesk", note("tampered"), { sendBody: note("tampered!") });
check(r.status === 401 && /bad signature/.test(r.json?.error?.message), `tampered: ${r.status} ${r.text}`);
r = await send("helpdesk", note("stale"), { at: new Date(Date.now() - 10 * 60 * 1000) });
check(r.status === 401 && /stale timestamp/.test(r.json?.error?.message), `stale: ${r.status} ${r.text}`);
r = await send("helpdesk", note("future"), { at: new Date(Date.now() + 10 * 60 * 1000) });
check(r.status === 401 && /ahead of/.test(r.json?.error?.message), `future: ${r.status} ${r.text}`);
check(JSON.stringify(await threadTexts(ticket)) === before, "refused requests changed the thread");

// ---- the schema and the parser agree --------------------------------------------

const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
const valid = ajv.compile(schema);

// A second ticket to aim generated commands at (some of them apply).
const target = (await rest("POST", "/v1/customer-messages",
  { customer: { telegram_user_id: 78, first_name: "Bo" }, text: "Another one" })).json.ticket.id;
const good = [
  { type: "ticket.update", ticket_id: target, priority: "low" },
  { type: "ticket.update", ticket_id: target, assignee: null, reason: null },
  { type: "ticket.update", ticket_id: target, group: "billing", assignee: "alice" },
  { type: "ticket.update", ticket_id: target, status: "in_progress" },
  { type: "ticket.reply", ticket_id: target, agent: "alice", text: "hello" },
  { type: "ticket.note", ticket_id: target, agent: "bob", text: "note" },
];
const wrongValues = [null, true, 0, -1, 1.5, "", " \t", "x", "resolved", [], {}, ["a"]];
const bodies = [];
for (const g of good) {
  bodies.push(g);
  for (const key of Object.keys(g)) {
    const without = { ...g };
    delete without[key];
    bodies.push(without);
    for (const v of wrongValues) bodies.push({ ...g, [key]: v });
  }
  bodies.push({ ...g, extra: 1 });
  bodies.push({ ...g, type: g.type.replace(/\.(\w+)$/, ".$1d") });
}
bodies.push([], "text", 42, null);

let agreed = 0;
for (const body of bodies) {
  const raw = JSON.stringify(body);
  const res = await send("helpdesk", raw);
  const schemaOk = valid(body);
  const serverOk = res.status === 200 || res.status === 409 || res.status === 422;
  const ok = schemaOk ? serverOk : res.status === 400;
  if (ok) agreed++;
  check(ok, `schema ${schemaOk ? "accepts" : "rejects"} ${raw} but serve answered ${res.status} ${res.text}`);
}
console.log(`webhook-inbound: schema and server agree on ${agreed} of ${bodies.length} bodies`);
finish(failed === 0 && passed > 0 ? 0 : 1);
