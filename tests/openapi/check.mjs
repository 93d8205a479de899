// check.mjs — the running tgcrm REST API checked against docs/openapi.yaml.
//
// Usage: node check.mjs BASE_URL TOKEN SPEC_PATH
//
// Drives a scripted session through every documented operation (including
// the error responses), and for every response checks, with ajv (an
// independent JSON Schema 2020-12 validator):
//   - the path and method are documented,
//   - the status code is documented for that operation,
//   - the body validates against the documented schema for that status.
// At the end every documented operation must have been exercised, so the
// document cannot describe endpoints the server does not have.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const [base, token, specPath] = process.argv.slice(2);
const spec = YAML.parse(readFileSync(specPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, 'spec');

let passed = 0, failed = 0;
const exercised = new Set();
const fail = (msg) => { failed++; console.log(`[FAIL] ${msg}`); };

const ops = [];
for (const [tmpl, item] of Object.entries(spec.paths)) {
  const re = new RegExp('^' + tmpl.replace(/\{[^}]+\}/g, '[^/]+') + '$');
  for (const m of ['get', 'post', 'patch', 'put', 'delete']) {
    if (item[m]) ops.push({ tmpl, method: m.toUpperCase(), re, op: item[m] });
  }
}

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

async function call(method, path, body, opts = {}) {
  const headers = {};
  if (opts.auth !== false) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = opts.contentType || 'application/json';
  Object.assign(headers, opts.headers || {});
  const res = await fetch(base + path, {
    method, headers,
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  const pathOnly = path.split('?')[0];
  const op = ops.find((o) => o.method === method && o.re.test(pathOnly));
  const label = `${method} ${path} → ${res.status}`;
  if (opts.expect !== undefined && res.status !== opts.expect) {
    fail(`${label}: expected ${opts.expect}: ${text.slice(0, 300)}`);
  }
  if (!op) {
    if (!opts.undocumented) fail(`${label}: operation not documented`);
    return { status: res.status, json: null };
  }
  exercised.add(`${op.method} ${op.tmpl}`);
  const responses = op.op.responses || {};
  const key = String(res.status) in responses ? String(res.status) : 'default';
  let resp = responses[key];
  let respPtr = `spec#/paths/${esc(op.tmpl)}/${op.method.toLowerCase()}/responses/${key}`;
  if (resp && resp.$ref) {   // shared responses live under components/responses
    respPtr = 'spec' + resp.$ref;
    resp = resp.$ref.slice(2).split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  if (!resp) { fail(`${label}: status not documented (documented: ${Object.keys(responses).join(', ')})`); return { status: res.status }; }
  const ctype = (res.headers.get('content-type') || '').split(';')[0].trim();
  const content = resp.content || {};
  let json = null;
  if (Object.keys(content).length > 0) {
    if (!content[ctype]) { fail(`${label}: content-type ${ctype} not documented`); return { status: res.status }; }
    if (ctype === 'application/json') {
      try { json = JSON.parse(text); } catch { fail(`${label}: body is not JSON`); return { status: res.status }; }
      const validate = ajv.compile({ $ref: `${respPtr}/content/${esc(ctype)}/schema` });
      if (!validate(json)) {
        fail(`${label}: body does not match the documented schema: ${ajv.errorsText(validate.errors)}\n  body: ${text.slice(0, 400)}`);
        return { status: res.status, json };
      }
    }
  }
  passed++;
  return { status: res.status, json };
}

// ---- the session -------------------------------------------------------------

await call('GET', '/healthz', undefined, { auth: false, expect: 200 });
await call('GET', '/metrics', undefined, { auth: false, expect: 200 });
await call('GET', '/v1/tickets', undefined, { auth: false, expect: 401 });

const created = await call('POST', '/v1/customer-messages',
  { customer: { telegram_user_id: 42, first_name: 'Ann', username: 'ann', language: 'en', tier: 'vip' }, text: 'My invoice is wrong' },
  { expect: 201 });
const id = created.json?.ticket?.id ?? 1;
await call('POST', '/v1/customer-messages', { customer: { telegram_user_id: 42 }, text: 'Any news?' }, { expect: 200 });
await call('POST', '/v1/customer-messages', '{"customer": {', { expect: 400 });
await call('POST', '/v1/customer-messages', { customer: { telegram_user_id: 42 }, text: 'x', extra: 1 }, { expect: 400 });
await call('POST', '/v1/customer-messages', 'hello', { contentType: 'text/plain', expect: 415 });
await call('POST', '/v1/customer-messages', { customer: { telegram_user_id: 42 }, text: 'x'.repeat(2 * 1024 * 1024) }, { expect: 413 });

await call('GET', '/v1/tickets?status=open&limit=10', undefined, { expect: 200 });
await call('GET', '/v1/tickets?limit=0', undefined, { expect: 400 });
await call('GET', `/v1/tickets/${id}`, undefined, { expect: 200 });
await call('GET', '/v1/tickets/999999', undefined, { expect: 404 });
await call('GET', '/v1/tickets/abc', undefined, { expect: 400 });
await call('GET', `/v1/tickets/${id}/thread`, undefined, { expect: 200 });
await call('GET', '/v1/tickets/999999/thread', undefined, { expect: 404 });

await call('PATCH', `/v1/tickets/${id}`, { status: 'resolved' }, { expect: 409 });
await call('PATCH', `/v1/tickets/${id}`, { group: 'nowhere' }, { expect: 422 });
await call('PATCH', `/v1/tickets/${id}`, { colour: 'red' }, { expect: 400 });
await call('PATCH', `/v1/tickets/${id}`, { priority: 'high', group: 'billing', assignee: 'alice', reason: 'vip' }, { expect: 200 });
await call('PATCH', '/v1/tickets/999999', { priority: 'high' }, { expect: 404 });

await call('POST', `/v1/tickets/${id}/replies`, { agent: 'alice', text: 'On it' }, { expect: 201 });
await call('POST', `/v1/tickets/${id}/replies`, { agent: 'zed', text: 'x' }, { expect: 422 });
await call('POST', `/v1/tickets/${id}/replies`, { agent: 'alice', template: 'hello' }, { expect: 201 });
await call('POST', `/v1/tickets/${id}/replies`, { agent: 'alice', template: 'surname' }, { expect: 422 });
await call('POST', `/v1/tickets/${id}/replies`, { agent: 'alice', template: 'nope' }, { expect: 422 });
await call('POST', `/v1/tickets/${id}/replies`, { agent: 'alice', template: 'hello', text: 'x' }, { expect: 400 });
await call('POST', '/v1/tickets/999999/replies', { agent: 'alice', text: 'x' }, { expect: 404 });
await call('POST', `/v1/tickets/${id}/notes`, { agent: 'alice', text: 'internal' }, { expect: 201 });
await call('POST', `/v1/tickets/${id}/notes`, { agent: 'alice' }, { expect: 400 });
await call('POST', `/v1/tickets/${id}/escalations`, { policy: null, reason: 'angry' }, { expect: 200 });
await call('POST', `/v1/tickets/${id}/escalations`, {}, { expect: 409 });
await call('POST', `/v1/tickets/${id}/escalations`, { policy: 'nope' }, { expect: 422 });
await call('POST', `/v1/tickets/${id}/escalations`, { reason: 5 }, { expect: 400 });
await call('POST', '/v1/tickets/999999/escalations', {}, { expect: 404 });

await call('GET', '/v1/agents', undefined, { expect: 200 });
await call('GET', '/v1/agents/alice', undefined, { expect: 200 });
await call('GET', '/v1/agents/zed', undefined, { expect: 404 });
await call('PATCH', '/v1/agents/alice', { availability: 'away' }, { expect: 200 });
await call('PATCH', '/v1/agents/alice', { availability: 'busy' }, { expect: 400 });
await call('GET', '/v1/queues', undefined, { expect: 200 });

await call('GET', '/v1/test/clock', undefined, { expect: 200 });
await call('POST', '/v1/test/clock', { advance: '5m' }, { expect: 200 });
await call('POST', '/v1/test/clock', { advance: 'soon' }, { expect: 400 });
await call('POST', '/v1/test/clock', { advance: '1s', wait_ms: 2000 }, { expect: 200 });
await call('POST', '/v1/test/clock', { advance: '1s', wait_ms: -1 }, { expect: 400 });
await call('POST', '/v1/test/clock', { advance: '1s', wait_ms: '2s' }, { expect: 400 });
await call('GET', '/v1/test/idle?wait_ms=2000', undefined, { expect: 200 });
await call('GET', '/v1/test/idle?wait_ms=forever', undefined, { expect: 400 });

// Outbound webhooks: the endpoint is a closed port without retries, so the
// deliveries of the tickets above end up dead.
await call('GET', '/v1/webhooks/endpoints', undefined, { expect: 200 });
await call('GET', '/v1/webhooks/endpoints/helpdesk', undefined, { expect: 200 });
await call('GET', '/v1/webhooks/endpoints/nope', undefined, { expect: 404 });
let dead = null;
for (let i = 0; i < 100 && !dead; i++) {
  const r = await call('GET', '/v1/webhooks/deliveries?endpoint=helpdesk&state=dead&limit=5', undefined, { expect: 200 });
  dead = r.json?.deliveries?.[0] ?? null;
  if (!dead) await new Promise((res) => setTimeout(res, 50));
}
if (!dead) fail('no dead webhook delivery appeared');
const did = dead?.id ?? 1;
await call('GET', '/v1/webhooks/deliveries?state=failed&ticket=1', undefined, { expect: 200 });
await call('GET', '/v1/webhooks/deliveries?state=bogus', undefined, { expect: 400 });
await call('GET', '/v1/webhooks/deliveries?colour=red', undefined, { expect: 400 });
await call('GET', `/v1/webhooks/deliveries/${did}`, undefined, { expect: 200 });
await call('GET', '/v1/webhooks/deliveries/999999', undefined, { expect: 404 });
await call('GET', '/v1/webhooks/deliveries/abc', undefined, { expect: 400 });
await call('POST', '/v1/webhooks/endpoints/helpdesk/disable', { reason: 'maintenance' }, { expect: 200 });
await call('POST', '/v1/webhooks/endpoints/helpdesk/disable', { colour: 'red' }, { expect: 400 });
await call('POST', '/v1/webhooks/endpoints/nope/disable', undefined, { expect: 404 });
await call('POST', `/v1/webhooks/deliveries/${did}/replay`, undefined, { expect: 200 });
await call('POST', `/v1/webhooks/deliveries/${did}/replay`, undefined, { expect: 409 });
await call('POST', '/v1/webhooks/deliveries/999999/replay', undefined, { expect: 404 });
await call('POST', '/v1/webhooks/endpoints/helpdesk/replay-dead', undefined, { expect: 200 });
await call('POST', '/v1/webhooks/endpoints/nope/replay-dead', undefined, { expect: 404 });
await call('POST', '/v1/webhooks/endpoints/helpdesk/enable', 'x', { contentType: 'text/plain', expect: 415 });
await call('POST', '/v1/webhooks/endpoints/helpdesk/enable', undefined, { expect: 200 });
await call('POST', '/v1/webhooks/endpoints/nope/enable', undefined, { expect: 404 });

// Not in webhook mode here: the route answers 404 like an unknown path.
await call('POST', '/telegram/webhook', { update_id: 1 }, { auth: false, expect: 404 });

// Inbound webhooks, signed (Standard Webhooks) with run.sh's "helpdesk" secret at the
// daemon's (manual) clock; no bearer token.
const clock = await call('GET', '/v1/test/clock', undefined, { expect: 200 });
const inboundTs = String(Math.floor((clock.json?.now_ms ?? Date.now()) / 1000));
const inboundKey = Buffer.from('C2FVsBQIhrscChlQIMV+b5sSYspob7oD', 'base64');
let inboundSeq = 0;
const inbound = (endpoint, body, expect, sign = true) => {
  const id = `msg_oas_${++inboundSeq}`;
  const raw = JSON.stringify(body);
  const sig = createHmac('sha256', inboundKey).update(`${id}.${inboundTs}.${raw}`).digest('base64');
  const headers = sign ? { 'webhook-id': id, 'webhook-timestamp': inboundTs, 'webhook-signature': `v1,${sig}` } : {};
  return call('POST', `/v1/inbound/${endpoint}`, raw, { auth: false, headers, expect });
};
await inbound('helpdesk', { type: 'ticket.note', ticket_id: id, agent: 'alice', text: 'from the help desk' }, 200);
await inbound('helpdesk', { type: 'ticket.update', ticket_id: id, priority: 'urgent' }, 200);
await inbound('helpdesk', { type: 'ticket.update', ticket_id: id }, 400);
await inbound('helpdesk', { type: 'ticket.note', ticket_id: id, agent: 'alice', text: 'x' }, 401, false);
await inbound('zendesk', { type: 'ticket.note', ticket_id: id, agent: 'alice', text: 'x' }, 404);
await inbound('helpdesk', { type: 'ticket.update', ticket_id: id, status: 'open' }, 409);
await inbound('helpdesk', { type: 'ticket.reply', ticket_id: 999999, agent: 'alice', text: 'x' }, 422);

for (const o of ops) {
  if (!exercised.has(`${o.method} ${o.tmpl}`)) fail(`${o.method} ${o.tmpl}: documented but never exercised by this check`);
}
console.log(`openapi: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
