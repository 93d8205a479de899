// drive.js — plays the humans against tgcrm fake-telegram through its control
// API while bot.js (grammY) runs against the same fake, and checks what the bot
// sent. Prints "fake-tg-npm: N passed, M failed"; exit 1 on any failure.
//
// Env: API_ROOT (the fake's base URL), STAFF_CHAT.
"use strict";
const ROOT = process.env.API_ROOT;
const STAFF = Number(process.env.STAFF_CHAT);
const ANN = 1001, AGENT = 2001;
let passed = 0, failed = 0, since = 0;

async function ctl(method, path, body) {
  const res = await fetch(ROOT + "/control/" + path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// Wait (up to ms) for a sent entry matching pred, scanning entries after `since`.
async function waitSent(pred, ms = 10000) {
  const end = Date.now() + ms;
  let from = since;
  while (Date.now() < end) {
    const r = await ctl("GET", `sent?since=${from}&wait_ms=1000`);
    for (const e of r.sent) {
      from = e.seq;
      if (pred(e)) return e;
    }
  }
  return null;
}

function check(name, ok, detail) {
  if (ok) { passed++; console.log(`[ok]   ${name}`); }
  else { failed++; console.log(`[FAIL] ${name}${detail ? ": " + detail : ""}`); }
}

async function step(name, fn) {
  try { await fn(); } catch (e) { check(name, false, e.message); }
}

async function main() {
  await ctl("POST", "users", { id: ANN, first_name: "Ann", username: "ann", language_code: "en" });
  await ctl("POST", "users", { id: AGENT, first_name: "Bob", username: "agent_bob" });
  await ctl("POST", "groups", { id: STAFF, title: "Support staff", is_forum: true,
                                members: [AGENT], admins: [AGENT], bot_is_admin: true });
  // wait until the bot polls (getMe + deleteWebhook + getUpdates seen)
  for (let i = 0; i < 100; i++) {
    const s = await ctl("GET", "stats");
    if (s.methods.getupdates) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  await step("/start gets the greeting", async () => {
    await ctl("POST", "messages", { from: ANN, text: "/start" });
    const e = await waitSent((x) => x.chat_id === ANN && x.method === "sendMessage");
    check("/start gets the greeting", e && e.text === "Welcome! Send us your question.",
          JSON.stringify(e));
    since = e ? e.seq : since;
  });

  let thread = 0;
  await step("first question opens a topic", async () => {
    await ctl("POST", "messages", { from: ANN, text: "My invoice is wrong" });
    const topic = await waitSent((x) => x.method === "createForumTopic");
    check("first question opens a topic", topic && topic.chat_id === STAFF &&
          topic.forum_topic_created.name === `Ann #${ANN}`, JSON.stringify(topic));
    thread = topic ? topic.message_thread_id : 0;
    const copy = await waitSent((x) => x.method === "copyMessage");
    check("question copied into the topic", copy && copy.chat_id === STAFF &&
          copy.message_thread_id === thread && copy.text === "My invoice is wrong",
          JSON.stringify(copy));
    const ack = await waitSent((x) => x.chat_id === ANN && x.method === "sendMessage");
    check("customer gets an acknowledgement", ack && ack.text === "Got it: My invoice is wrong",
          JSON.stringify(ack));
    since = ack ? ack.seq : since;
  });

  await step("agent reply reaches the customer", async () => {
    await ctl("POST", "messages", { from: AGENT, chat_id: STAFF, message_thread_id: thread,
                                   text: "Hello Ann, which invoice?" });
    const e = await waitSent((x) => x.chat_id === ANN && x.method === "copyMessage");
    check("agent reply reaches the customer", e && e.text === "Hello Ann, which invoice?",
          JSON.stringify(e));
    since = e ? e.seq : since;
  });

  await step("inline button round trip", async () => {
    await ctl("POST", "messages", { from: ANN, text: "/help" });
    const m = await waitSent((x) => x.chat_id === ANN && x.method === "sendMessage" &&
                                    x.reply_markup);
    check("/help sends an inline keyboard", m &&
          m.reply_markup.inline_keyboard[0][0].callback_data === "close", JSON.stringify(m));
    since = m ? m.seq : since;
    await ctl("POST", "callbacks", { from: ANN, message_id: m.message_id, data: "close" });
    const ans = await waitSent((x) => x.method === "answerCallbackQuery");
    check("callback answered", ans && ans.text === "Closed", JSON.stringify(ans));
    const ed = await waitSent((x) => x.method === "editMessageText");
    check("message edited", ed && ed.message_id === m.message_id && ed.text === "Ticket closed.",
          JSON.stringify(ed));
    since = ed ? ed.seq : since;
  });

  await step("429 is honoured via retry_after", async () => {
    const f = await ctl("POST", "faults", { kind: "rate_limit", retry_after: 1, calls: 1,
                                           methods: ["sendMessage"] });
    await ctl("POST", "messages", { from: ANN, text: "Still there?" });
    const e = await waitSent((x) => x.chat_id === ANN && x.method === "sendMessage", 15000);
    check("429 is honoured via retry_after", e && e.text === "Got it: Still there?",
          JSON.stringify(e));
    const s = await ctl("GET", "stats");
    check("the 429 was really served", s.faulted >= 1, JSON.stringify(s));
    await ctl("DELETE", `faults/${f.id}`).catch(() => {});
    since = e ? e.seq : since;
  });

  await step("deleted topic is re-created", async () => {
    await ctl("DELETE", `topics/${STAFF}/${thread}`);
    await ctl("POST", "messages", { from: ANN, text: "Hello again" });
    const t = await waitSent((x) => x.method === "createForumTopic");
    check("deleted topic is re-created", t && t.message_thread_id !== thread, JSON.stringify(t));
    const c = await waitSent((x) => x.method === "copyMessage" && x.chat_id === STAFF);
    check("message lands in the new topic", c && t && c.message_thread_id === t.message_thread_id,
          JSON.stringify(c));
    const topics = await ctl("GET", `topics?chat_id=${STAFF}`);
    check("old topic marked deleted", topics.topics.some((x) => x.message_thread_id === thread
                                                         && x.deleted), JSON.stringify(topics));
  });
}

main()
  .catch((e) => check("driver", false, e.stack))
  .finally(() => {
    console.log(`fake-tg-npm: ${passed} passed, ${failed} failed`);
    process.exit(failed || !passed ? 1 : 0);
  });
