// bot.js — a small help-desk bot written the ordinary grammY way; the only
// thing that points it at tgcrm's fake Telegram is `client.apiRoot`.
//
//   /start          greeting in the private chat
//   /help           a message with an inline "Close" button (callback)
//   any other text  relayed into a per-customer topic of the staff forum
//                   (createForumTopic once, copyMessage after), acknowledged;
//                   a deleted topic ("message thread not found") is re-created
//   agent text in a topic  copied back to the customer
//
// Env: API_ROOT (e.g. http://127.0.0.1:8081), BOT_TOKEN, STAFF_CHAT.
"use strict";
const { Bot, GrammyError } = require("grammy");

const bot = new Bot(process.env.BOT_TOKEN, {
  client: { apiRoot: process.env.API_ROOT },
});
const STAFF = Number(process.env.STAFF_CHAT);
const topicOf = new Map();   // customer id -> message_thread_id
const userOf = new Map();    // message_thread_id -> customer id

// Honour 429 retry_after once per call, as production bots do.
bot.api.config.use(async (prev, method, payload, signal) => {
  for (let attempt = 0; ; attempt++) {
    const res = await prev(method, payload, signal);
    const ra = res.ok ? 0 : (res.parameters && res.parameters.retry_after) || 0;
    if (!ra || attempt >= 3) return res;
    console.error(`bot: ${method} got 429, retrying after ${ra}s`);
    await new Promise((r) => setTimeout(r, ra * 1000));
  }
});

async function topicFor(user) {
  let t = topicOf.get(user.id);
  if (t === undefined) {
    const topic = await bot.api.createForumTopic(STAFF, `${user.first_name} #${user.id}`);
    t = topic.message_thread_id;
    topicOf.set(user.id, t);
    userOf.set(t, user.id);
  }
  return t;
}

async function relay(ctx) {
  const t = await topicFor(ctx.from);
  try {
    await ctx.copyMessage(STAFF, { message_thread_id: t });
  } catch (e) {
    if (e instanceof GrammyError && e.description === "Bad Request: message thread not found") {
      topicOf.delete(ctx.from.id);
      userOf.delete(t);
      const t2 = await topicFor(ctx.from);
      await ctx.copyMessage(STAFF, { message_thread_id: t2 });
    } else {
      throw e;
    }
  }
}

bot.command("start", (ctx) => ctx.reply("Welcome! Send us your question."));
bot.command("help", (ctx) =>
  ctx.reply("Need anything else?", {
    reply_markup: { inline_keyboard: [[{ text: "Close", callback_data: "close" }]] },
  }));
bot.callbackQuery("close", async (ctx) => {
  await ctx.answerCallbackQuery({ text: "Closed" });
  await ctx.editMessageText("Ticket closed.");
});

bot.on("message:text", async (ctx) => {
  if (ctx.chat.type === "private") {
    await relay(ctx);
    await ctx.reply(`Got it: ${ctx.message.text}`);
    return;
  }
  if (ctx.chat.id === STAFF && ctx.message.is_topic_message && !ctx.from.is_bot) {
    const uid = userOf.get(ctx.message.message_thread_id);
    if (uid !== undefined) await ctx.copyMessage(uid);
  }
});

bot.on("message:forum_topic_created", (ctx) =>
  console.error(`bot: topic ${ctx.message.message_thread_id} created`));

bot.catch((err) => console.error("bot error:", err.error && err.error.description || err.error));

const stop = () => bot.stop();
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
bot.start({ drop_pending_updates: true, onStart: (me) => console.error(`bot: @${me.username} polling`) });
