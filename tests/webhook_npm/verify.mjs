// verify.mjs — check tgcrm's webhook signatures with the Standard Webhooks
// reference library (npm "standardwebhooks", pinned in package.json).
//
// Reads JSON lines {secrets: [...], id, timestamp, body, signature, expect}
// on stdin (sign_cases.c prints them). A case passes when the library's
// Webhook(secret).verify(body, headers) accepts it under EVERY listed secret
// (rotation: one signature per secret) and expect is true, or rejects it
// under every secret and expect is false.
// Prints "webhook-npm: N passed, M failed"; exit status 1 on any failure.
import { createInterface } from "node:readline";
import { Webhook } from "standardwebhooks";

let passed = 0, failed = 0;
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === "") continue;
  const c = JSON.parse(line);
  const headers = {
    "webhook-id": c.id,
    "webhook-timestamp": c.timestamp,
    "webhook-signature": c.signature,
  };
  const results = c.secrets.map((secret) => {
    try {
      new Webhook(secret).verify(c.body, headers, { jsonParse: false });
      return true;
    } catch (err) {
      return err.message;
    }
  });
  const ok = c.expect
    ? results.every((r) => r === true)
    : results.every((r) => r !== true);
  if (ok) {
    passed++;
  } else {
    failed++;
    console.log(`webhook-npm: FAIL ${c.id} (expect ${c.expect}, ${c.body.length} chars): ` +
                results.map(String).join("; "));
  }
}
console.log(`webhook-npm: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
