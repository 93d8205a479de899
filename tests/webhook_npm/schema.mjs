// schema.mjs — validate C-built webhook bodies against
// docs/webhook-payload.schema.json with ajv (JSON Schema 2020-12).
//
// Usage: node schema.mjs SCHEMA_PATH < bodies   (one JSON body a line, as
// payload_cases.c prints them). Besides the schema it checks that the
// parts of a split event come in order 1..parts with one id and that their
// threads join without gaps. Prints "webhook-schema: N passed, M failed";
// exit status 1 on any failure.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const schema = JSON.parse(readFileSync(process.argv[2], "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

let passed = 0, failed = 0;
let split = null;   // {id, next, parts, lastSeq} while reading a split event
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === "") continue;
  const body = JSON.parse(line);
  const problems = [];
  if (!validate(body)) problems.push(ajv.errorsText(validate.errors));
  if (body.part !== undefined) {
    if (body.part === 1) split = { id: body.id, next: 1, parts: body.parts, lastSeq: 0 };
    if (!split || split.id !== body.id || split.next !== body.part || split.parts !== body.parts) {
      problems.push(`part ${body.part}/${body.parts} of ${body.id} out of order`);
    } else {
      for (const en of body.thread) {
        if (en.seq !== split.lastSeq + 1) problems.push(`thread gap before seq ${en.seq}`);
        split.lastSeq = en.seq;
      }
      split.next++;
    }
  }
  if (problems.length === 0) {
    passed++;
  } else {
    failed++;
    console.log(`webhook-schema: FAIL ${body.id} ${body.type}` +
                (body.part ? ` part ${body.part}` : "") + `: ${problems.join("; ")}`);
  }
}
if (split && split.next !== split.parts + 1) {
  failed++;
  console.log(`webhook-schema: FAIL ${split.id}: only ${split.next - 1} of ${split.parts} parts`);
}
console.log(`webhook-schema: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
