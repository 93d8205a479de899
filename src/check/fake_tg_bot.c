/*
 * fake_tg_bot.c — the Bot API half of the fake Telegram: `/bot<token>/<method>`.
 *
 * Follows the official server (tdlib/telegram-bot-api) where the reference
 * (shared/docs/reference/telegram-bot-api.md) describes it: path and token
 * rules, case-insensitive method names, parameters from the query string
 * first, then a form or JSON body (non-string JSON values kept as raw JSON
 * text), integers clamped rather than refused, booleans true/yes/1, the
 * envelope and error strings byte for byte, the validation order of
 * sendMessage. Injected faults (fake_tg.h) are applied here, before the
 * method runs, since they model the network and Telegram's front end.
 *
 * Each request: parse → faults → lock → method → unlock → answer. Only
 * getUpdates (long poll) and the partition/slow faults wait, on f->cv.
 */
#include "check/fake_tg_impl.h"

#include "base/jx.h"
#include "base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_PARAMS 1000
#define TEXT_MAX_UTF16 4096
#define TEXT_RAW_MAX 32768
#define LONG_POLL_MAX_S 50
#define HANG_MAX_MS 120000
#define RESULT_MAX (4u * 1024u * 1024u)
#define DEFAULT_ICON_COLOR 7322096

struct kv {
    const char *k, *v;
};

/* One Bot API call being served. */
struct call {
    struct fake_tg *f;
    struct http_req *req;
    struct http_resp *resp;
    struct ftg_bot *bot;
    char method[64];           /* lower-case */
    struct kv *p;              /* request arena */
    size_t np, cap;
    bool too_many;
    bool failed;
};

/* ---- answers ----------------------------------------------------------------- */

static void answer_ok(struct call *c, json_t *result, const char *description)
{
    struct buf *b = &c->resp->body;
    c->resp->status = 200;
    c->resp->content_type = "application/json";
    buf_puts(b, "{\"ok\":true,\"result\":");
    jx_dump(result, b);
    json_decref(result);
    if (description != NULL) {
        buf_puts(b, ",\"description\":\"");
        buf_json_escape(b, description, strlen(description));
        buf_putc(b, '"');
    }
    buf_putc(b, '}');
}

/* The error envelope; retry_after > 0 adds parameters and Retry-After. */
static void answer_err(struct call *c, int code, const char *desc, int retry_after)
{
    struct buf *b = &c->resp->body;
    buf_release(b);
    c->resp->status = code;
    c->resp->content_type = "application/json";
    buf_printf(b, "{\"ok\":false,\"error_code\":%d,\"description\":\"", code);
    buf_json_escape(b, desc, strlen(desc));
    buf_putc(b, '"');
    if (retry_after > 0) {
        buf_printf(b, ",\"parameters\":{\"retry_after\":%d}", retry_after);
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after);
        http_resp_header(c->resp, "Retry-After", v);
    }
    buf_putc(b, '}');
    c->failed = true;
}

/* Shorthand for the common case; returns -1 so methods can `return bad(...)`. */
static int bad(struct call *c, int code, const char *desc)
{
    answer_err(c, code, desc, 0);
    return -1;
}

/* ---- parameters ------------------------------------------------------------------ */

static void add_param(struct call *c, const char *k, const char *v)
{
    if (c->np >= MAX_PARAMS) {
        c->too_many = true;
        return;
    }
    if (c->np == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct kv *p = arena_alloc(c->req->arena, cap * sizeof *p);
        if (p == NULL) {
            c->too_many = true;
            return;
        }
        if (c->np)
            memcpy(p, c->p, c->np * sizeof *p);
        c->p = p;
        c->cap = cap;
    }
    c->p[c->np].k = k;
    c->p[c->np].v = v;
    c->np++;
}

static int query_cb(const char *key, const char *value, void *ud)
{
    struct call *c = ud;
    add_param(c, key, value ? value : "");
    return 0;
}

static int hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

/* Percent-decode n bytes of s ('+' is a space) into the arena. */
static char *form_decode(struct arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    if (out == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return out;
}

static void parse_form(struct call *c, const char *body, size_t n)
{
    const char *p = body, *end = body + n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            const char *kend = eq ? eq : stop;
            char *k = form_decode(c->req->arena, p, (size_t)(kend - p));
            char *v = eq ? form_decode(c->req->arena, eq + 1, (size_t)(stop - eq - 1))
                         : arena_strdup(c->req->arena, "");
            if (k != NULL && v != NULL)
                add_param(c, k, v);
        }
        p = stop + 1;
    }
}

/* JSON body: strings unescaped, other values kept as their JSON text. */
static int parse_json(struct call *c, const char *body, size_t n)
{
    const char *s = body;
    while (s < body + n && isspace((unsigned char)*s))
        s++;
    if (s == body + n)
        return 0;
    json_error_t je;
    json_t *v = json_loadb(body, n, JSON_DECODE_ANY, &je);
    if (v == NULL)
        return bad(c, 400, *s == '{' ? "Bad Request: expected next field or object end"
                                     : "Bad Request: JSON object expected");
    if (json_is_string(v)) {             /* a top-level string is "content" */
        add_param(c, "content", arena_strdup(c->req->arena, json_string_value(v)));
        json_decref(v);
        return 0;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return bad(c, 400, "Bad Request: JSON object expected");
    }
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        const char *sv;
        if (json_is_string(val)) {
            sv = arena_strdup(c->req->arena, json_string_value(val));
        } else {
            char *d = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
            sv = arena_strdup(c->req->arena, d ? d : "");
            free(d);
        }
        add_param(c, arena_strdup(c->req->arena, key), sv);
    }
    json_decref(v);
    return 0;
}

/* Case-insensitive substring test (strcasestr is a GNU extension). */
static bool ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static int parse_params(struct call *c)
{
    http_req_query_each(c->req, query_cb, c);
    const char *ct = http_req_header(c->req, "Content-Type");
    if (ct != NULL && c->req->body_len > 0) {
        if (ci_contains(ct, "application/x-www-form-urlencoded"))
            parse_form(c, c->req->body, c->req->body_len);
        else if (ci_contains(ct, "application/json") &&
                 parse_json(c, c->req->body, c->req->body_len) != 0)
            return -1;
        else if (ci_contains(ct, "multipart/form-data"))
            return bad(c, 400, "Bad Request: multipart/form-data (file uploads) is not "
                       "supported by the fake server");
    }
    if (c->too_many)
        return bad(c, 413, "Request Entity Too Large: too many parameters");
    return 0;
}

/* The first value of a parameter (query string wins), or NULL. */
static const char *prm(const struct call *c, const char *name)
{
    for (size_t i = 0; i < c->np; i++)
        if (strcmp(c->p[i].k, name) == 0)
            return c->p[i].v;
    return NULL;
}

/* An integer parameter: empty → def; otherwise parsed and clamped. */
static int64_t prm_int(const struct call *c, const char *name, int64_t def, int64_t lo,
                       int64_t hi)
{
    const char *v = prm(c, name);
    if (v == NULL || *v == '\0')
        return def;
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (end == v)
        x = 0;
    if (errno == ERANGE)
        x = *v == '-' ? lo : hi;
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
}

static bool prm_bool(const struct call *c, const char *name)
{
    const char *v = prm(c, name);
    if (v == NULL)
        return false;
    while (isspace((unsigned char)*v))
        v++;
    size_t n = strlen(v);
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    return (n == 4 && strncasecmp(v, "true", 4) == 0) ||
           (n == 3 && strncasecmp(v, "yes", 3) == 0) || (n == 1 && v[0] == '1');
}

/* ---- faults ---------------------------------------------------------------------- */

static bool fault_matches(const struct ftg_fault *x, const char *method)
{
    if (x->f.nmethods == 0)
        return true;
    for (size_t i = 0; i < x->f.nmethods; i++)
        if (strcmp(x->methods[i], method) == 0)
            return true;
    return false;
}

/* Drop expired and used-up faults. f->mu held. */
static void faults_gc(struct fake_tg *f, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < f->nfaults; i++) {
        struct ftg_fault *x = &f->faults[i];
        if ((x->until_ms && now >= x->until_ms) || x->left == 0) {
            for (size_t j = 0; j < x->f.nmethods; j++)
                mem_free(x->methods[j]);
            mem_free(x->methods);
        } else {
            f->faults[k++] = *x;
        }
    }
    f->nfaults = k;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (mutex held) until the clock passes until_ms (0 = no end), faults
 * are cleared (fault_gen moves), the real bound passes, or stop. A fault
 * used up by this very call (calls: N) does not end its own hang. */
static void hold(struct fake_tg *f, int64_t until_ms, int64_t bound_ms)
{
    int64_t end = mono_ms() + bound_ms;
    uint64_t gen = f->fault_gen;
    while (!f->stopping && f->fault_gen == gen && mono_ms() < end &&
           (until_ms == 0 || clock_now_ms(f->clock) < until_ms)) {
        int64_t step = mono_ms() + 50;  /* re-check the (possibly manual) clock */
        if (!fake_tg_wait_until(f, step * 1000000LL))
            break;
    }
}

static const char *html_5xx(int status)
{
    switch (status) {
    case 502: return "Bad Gateway";
    case 503: return "Service Temporarily Unavailable";
    case 504: return "Gateway Time-out";
    default: return "Internal Server Error";
    }
}

/*
 * Apply the faults that match this call. Returns 0 to go on, 1 when the
 * call was answered or dropped by a fault.
 */
static int apply_faults(struct call *c)
{
    struct fake_tg *f = c->f;
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    int64_t now = clock_now_ms(f->clock);
    faults_gc(f, now);
    /* slow faults first: they delay, then the others still apply */
    for (size_t i = 0; i < f->nfaults; i++) {
        struct ftg_fault *x = &f->faults[i];
        if (x->f.kind != FAKE_TG_SLOW || !fault_matches(x, c->method))
            continue;
        if (x->left > 0)
            x->left--;
        x->hits++;
        f->n_faulted++;
        int64_t delay = x->f.delay_ms;
        hold(f, clock_now_ms(f->clock) + delay, delay);
        now = clock_now_ms(f->clock);
        faults_gc(f, now);
        break;
    }
    for (size_t i = 0; i < f->nfaults && rc == 0; i++) {
        struct ftg_fault *x = &f->faults[i];
        if (x->f.kind == FAKE_TG_SLOW || !fault_matches(x, c->method))
            continue;
        if (x->f.kind == FAKE_TG_RATE_LIMIT && x->f.rate > 0) {
            int64_t chat = prm_int(c, "chat_id", 0, INT64_MIN, INT64_MAX);
            size_t slot = (size_t)((uint64_t)chat % 64u);
            if (x->win[slot].chat != chat || now - x->win[slot].start >= x->f.window_ms) {
                x->win[slot].chat = chat;
                x->win[slot].start = now;
                x->win[slot].n = 0;
            }
            if (++x->win[slot].n <= x->f.rate)
                continue;
            int64_t wait_ms = x->win[slot].start + x->f.window_ms - now;
            int ra = (int)((wait_ms + 999) / 1000);
            char d[64];
            snprintf(d, sizeof d, "Too Many Requests: retry after %d", ra < 1 ? 1 : ra);
            answer_err(c, 429, d, ra < 1 ? 1 : ra);
            rc = 1;
        } else if (x->f.kind == FAKE_TG_RATE_LIMIT) {
            char d[64];
            snprintf(d, sizeof d, "Too Many Requests: retry after %d", x->f.retry_after);
            answer_err(c, 429, d, x->f.retry_after);
            rc = 1;
        } else if (x->f.kind == FAKE_TG_HTTP_ERROR) {
            if (x->f.status == 500) {
                answer_err(c, 500, "Internal Server Error", 0);
            } else {                     /* what nginx in front of the API sends */
                answer_err(c, x->f.status, "", 0);
                buf_release(&c->resp->body);
                c->resp->content_type = "text/html";
                buf_printf(&c->resp->body,
                           "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                           "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx/1.18.0"
                           "</center>\r\n</body>\r\n</html>\r\n",
                           x->f.status, html_5xx(x->f.status), x->f.status,
                           html_5xx(x->f.status));
            }
            rc = 1;
        } else if (x->f.kind == FAKE_TG_PARTITION) {
            if (x->f.hang) {
                int64_t bound = x->until_ms ? x->until_ms - now : HANG_MAX_MS;
                if (bound > HANG_MAX_MS)
                    bound = HANG_MAX_MS;
                int64_t until = x->until_ms;
                if (x->left > 0)
                    x->left--;
                x->hits++;
                f->n_faulted++;
                hold(f, until, bound);
                c->resp->drop = true;
                pthread_mutex_unlock(&f->mu);
                return 1;
            }
            c->resp->drop = true;
            rc = 1;
        }
        if (rc != 0) {
            if (x->left > 0)
                x->left--;
            x->hits++;
            f->n_faulted++;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* ---- shared validation (f->mu held) ---------------------------------------------- */

/* The chat a bot addresses with chat_id (int or @username). */
static int find_chat(struct call *c, const char *param, struct ftg_chat **out)
{
    const char *v = prm(c, param);
    if (v == NULL || *v == '\0') {
        char d[64];
        snprintf(d, sizeof d, "Bad Request: %s is empty", param);
        return bad(c, 400, d);
    }
    struct fake_tg *f = c->f;
    if (v[0] == '@') {
        for (size_t i = 0; i < f->nchats; i++) {
            struct ftg_chat *ch = f->chats[i];
            if (ch->type != FTG_PRIVATE && ch->username &&
                strcasecmp(ch->username, v + 1) == 0) {
                *out = ch;
                return 0;
            }
        }
        return bad(c, 400, "Bad Request: chat not found");
    }
    char *end;
    errno = 0;
    long long id = strtoll(v, &end, 10);
    if (*end != '\0' || errno != 0 || id == 0)
        return bad(c, 400, "Bad Request: chat not found");
    if (id > 0) {
        const struct ftg_user *u = fake_tg_st_user(f, id);
        if (u == NULL)
            return bad(c, 400, "Bad Request: chat not found");
        if (u->is_bot)
            return bad(c, 403, "Forbidden: bot can't send messages to bots");
        struct ftg_chat *ch = fake_tg_st_private(f, id, c->bot, false);
        if (ch == NULL)
            return bad(c, 403, "Forbidden: bot can't initiate conversation with a user");
        *out = ch;
        return 0;
    }
    struct ftg_chat *ch = fake_tg_st_chat(f, id, 0);
    if (ch == NULL)
        return bad(c, 400, "Bad Request: chat not found");
    *out = ch;
    return 0;
}

/* May the bot write to chat ch? */
static int can_write(struct call *c, const struct ftg_chat *ch)
{
    if (ch->type == FTG_PRIVATE && ch->blocked)
        return bad(c, 403, "Forbidden: bot was blocked by the user");
    return 0;
}

/* message_thread_id of a send: 0 when absent or not a forum. */
static int check_thread(struct call *c, struct ftg_chat *ch, int64_t *thread)
{
    *thread = 0;
    int64_t t = prm_int(c, "message_thread_id", 0, INT32_MIN, INT32_MAX);
    if (t == 0 || !ch->is_forum)
        return 0;                        /* silently ignored outside forums */
    const struct ftg_topic *tp = t > 1 ? fake_tg_st_topic(ch, t) : NULL;
    if (tp == NULL || tp->deleted)
        return bad(c, 400, "Bad Request: message thread not found");
    if (tp->closed && !ch->bot_is_admin && tp->creator != c->bot->u.id)
        return bad(c, 400, "Bad Request: TOPIC_CLOSED");
    *thread = t;
    return 0;
}

/* reply_parameters / reply_to_message_id → *reply (0 = none). JSON checked
 * first (before the chat), the target later by check_reply. */
struct reply_req {
    int64_t id;
    bool allow_without;
};

static int parse_reply(struct call *c, struct reply_req *r)
{
    memset(r, 0, sizeof *r);
    const char *rp = prm(c, "reply_parameters");
    if (rp != NULL && *rp != '\0') {
        json_error_t je;
        json_t *o = json_loads(rp, JSON_DECODE_ANY, &je);
        if (o == NULL)
            return bad(c, 400, "Bad Request: can't parse reply parameters JSON object");
        if (!json_is_object(o)) {
            json_decref(o);
            return bad(c, 400, "Bad Request: object expected as reply parameters");
        }
        json_t *mid = json_object_get(o, "message_id");
        if (json_is_integer(mid))
            r->id = json_integer_value(mid);
        else if (json_is_string(mid))
            r->id = strtoll(json_string_value(mid), NULL, 10);
        r->allow_without = json_is_true(json_object_get(o, "allow_sending_without_reply"));
        json_decref(o);
        return 0;
    }
    r->id = prm_int(c, "reply_to_message_id", 0, 0, INT32_MAX);
    r->allow_without = prm_bool(c, "allow_sending_without_reply");
    return 0;
}

static int check_reply(struct call *c, struct ftg_chat *ch, struct reply_req *r)
{
    if (r->id == 0)
        return 0;
    if (fake_tg_st_msg(ch, r->id) != NULL)
        return 0;
    if (r->allow_without) {
        r->id = 0;
        return 0;
    }
    return bad(c, 400, "Bad Request: message to be replied not found");
}

/* reply_markup → *out (inline keyboards only are echoed; NULL otherwise). */
static int parse_markup(struct call *c, json_t **out)
{
    *out = NULL;
    const char *v = prm(c, "reply_markup");
    if (v == NULL || *v == '\0')
        return 0;
    json_error_t je;
    json_t *o = json_loads(v, JSON_DECODE_ANY, &je);
    if (o == NULL)
        return bad(c, 400, "Bad Request: can't parse reply keyboard markup JSON object");
    if (!json_is_object(o)) {
        json_decref(o);
        return bad(c, 400, "Bad Request: object expected as reply markup");
    }
    json_t *kb = json_object_get(o, "inline_keyboard");
    if (kb == NULL) {
        json_decref(o);                  /* reply keyboards are accepted, not echoed */
        return 0;
    }
    size_t i, j;
    json_t *row, *btn;
    if (!json_is_array(kb))
        goto bad_rows;
    json_array_foreach(kb, i, row) {
        if (!json_is_array(row))
            goto bad_rows;
        json_array_foreach(row, j, btn) {
            if (!json_is_object(btn) || !json_is_string(json_object_get(btn, "text"))) {
                json_decref(o);
                return bad(c, 400, "Bad Request: can't parse inline keyboard button: "
                           "InlineKeyboardButton must be an Object");
            }
            json_t *cd = json_object_get(btn, "callback_data");
            if (cd != NULL) {
                const char *d = json_string_value(cd);
                if (d == NULL || *d == '\0' || strlen(d) > 64) {
                    json_decref(o);
                    return bad(c, 400, "Bad Request: BUTTON_DATA_INVALID");
                }
                continue;
            }
            static const char *const actions[] = {
                "url", "web_app", "login_url", "switch_inline_query",
                "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                "copy_text", "callback_game", "pay", NULL};
            bool any = false;
            for (const char *const *a = actions; *a && !any; a++)
                any = json_object_get(btn, *a) != NULL;
            if (!any) {
                json_decref(o);
                return bad(c, 400, "Bad Request: can't parse inline keyboard button: Text "
                           "buttons are unallowed in the inline keyboard");
            }
        }
    }
    *out = json_pack("{s:O}", "inline_keyboard", kb);
    json_decref(o);
    return 0;
bad_rows:
    json_decref(o);
    return bad(c, 400, "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup "
               "must be an Array of Arrays");
}

/*
 * The text of sendMessage/editMessageText: checks, parse_mode, trimming.
 * *text (heap) and *ents (new ref or NULL) on success. The length limit is
 * checked later by check_len (after the chat, as the server does).
 */
static int parse_text(struct call *c, const char *param, char **text, json_t **ents)
{
    *text = NULL;
    *ents = NULL;
    const char *raw = prm(c, param);
    if (raw == NULL || *raw == '\0')
        return bad(c, 400, "Bad Request: message text is empty");
    if (strlen(raw) > TEXT_RAW_MAX)
        return bad(c, 400, "Bad Request: text is too long");
    if (!fake_tg_text_utf8_ok(raw, strlen(raw)))
        return bad(c, 400, "Bad Request: strings must be encoded in UTF-8");
    const char *pm = prm(c, "parse_mode");
    char mode[16] = "";
    if (pm != NULL) {
        snprintf(mode, sizeof mode, "%s", pm);
        for (char *p = mode; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (strlen(pm) >= sizeof mode ||
            (mode[0] && strcmp(mode, "none") != 0 && strcmp(mode, "html") != 0 &&
             strcmp(mode, "markdown") != 0 && strcmp(mode, "markdownv2") != 0))
            return bad(c, 400, "Bad Request: unsupported parse_mode");
    }
    char *plain = NULL;
    json_t *e = NULL;
    if (mode[0] && strcmp(mode, "none") != 0) {
        char desc[400];
        if (fake_tg_text_parse(raw, mode, &plain, &e, desc, sizeof desc) != 0)
            return bad(c, 400, desc);
    } else {
        plain = mem_strdup(raw);
        const char *ev = prm(c, "entities");
        if (ev != NULL && *ev != '\0') {
            json_error_t je;
            e = json_loads(ev, JSON_DECODE_ANY, &je);
            if (e == NULL || !json_is_array(e)) {
                json_decref(e);
                mem_free(plain);
                return bad(c, 400, "Bad Request: can't parse entities JSON object");
            }
            if (json_array_size(e) == 0) {
                json_decref(e);
                e = NULL;
            }
        }
    }
    /* leading whitespace is cut; entities move left with the text */
    size_t lead = 0;
    while (plain[lead] && isspace((unsigned char)plain[lead]))
        lead++;
    char *t = fake_tg_text_trim(plain);
    int64_t shift = fake_tg_text_utf16_len(plain, lead);
    mem_free(plain);
    if (*t == '\0') {
        mem_free(t);
        json_decref(e);
        return bad(c, 400, "Bad Request: text must be non-empty");
    }
    size_t i;
    json_t *en;
    json_array_foreach(e, i, en) {
        json_int_t off = json_integer_value(json_object_get(en, "offset")) - shift;
        json_object_set_new(en, "offset", json_integer(off < 0 ? 0 : off));
    }
    *text = t;
    *ents = e;
    return 0;
}

static int check_len(struct call *c, const char *text)
{
    if (fake_tg_text_utf16_len(text, strlen(text)) > TEXT_MAX_UTF16)
        return bad(c, 400, "Bad Request: message is too long");
    return 0;
}

/* Record a bot's new message in the sent log. */
static void log_msg_sent(struct call *c, const char *method, struct ftg_chat *ch,
                         const struct ftg_msg *m, json_t *extra)
{
    json_t *o = json_object();
    json_object_set_new(o, "message_id", json_integer(m->id));
    if (m->text)
        json_object_set_new(o, "text", json_string(m->text));
    if (m->entities)
        json_object_set(o, "entities", m->entities);
    if (m->reply_to)
        json_object_set_new(o, "reply_to_message_id", json_integer(m->reply_to));
    if (m->reply_markup)
        json_object_set(o, "reply_markup", m->reply_markup);
    if (m->service)
        json_object_update(o, m->service);
    if (extra != NULL) {
        json_object_update(o, extra);
        json_decref(extra);
    }
    fake_tg_st_log_sent(c->f, c->bot, method, ch->id, ch->is_forum ? m->thread_id : 0, o);
}

/* ---- methods: each runs with f->mu held and answers the call ------------------------ */

static int m_getme(struct call *c)
{
    json_t *u = fake_tg_st_user_json(&c->bot->u);
    json_object_set_new(u, "can_join_groups", json_true());
    json_object_set_new(u, "can_read_all_group_messages", json_false());
    json_object_set_new(u, "supports_inline_queries", json_false());
    json_object_set_new(u, "can_connect_to_business", json_false());
    json_object_set_new(u, "has_main_web_app", json_false());
    answer_ok(c, u, NULL);
    return 0;
}

/* allowed_updates: NULL/unparsable = unchanged, [] or nothing known = default. */
static void set_allowed(struct call *c)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"message", FTG_U_MESSAGE}, {"edited_message", FTG_U_EDITED_MESSAGE},
        {"callback_query", FTG_U_CALLBACK_QUERY}, {"my_chat_member", FTG_U_MY_CHAT_MEMBER},
        {"chat_member", FTG_U_CHAT_MEMBER}, {"message_reaction", FTG_U_MESSAGE_REACTION},
        {"message_reaction_count", FTG_U_MESSAGE_REACTION_COUNT},
        {"channel_post", FTG_U_OTHER}, {"edited_channel_post", FTG_U_OTHER},
        {"inline_query", FTG_U_OTHER}, {"chosen_inline_result", FTG_U_OTHER},
        {"shipping_query", FTG_U_OTHER}, {"pre_checkout_query", FTG_U_OTHER},
        {"poll", FTG_U_OTHER}, {"poll_answer", FTG_U_OTHER},
        {"chat_join_request", FTG_U_OTHER}, {"chat_boost", FTG_U_OTHER},
        {"removed_chat_boost", FTG_U_OTHER}, {"business_connection", FTG_U_OTHER},
        {"business_message", FTG_U_OTHER}, {"edited_business_message", FTG_U_OTHER},
        {"deleted_business_messages", FTG_U_OTHER}, {"purchased_paid_media", FTG_U_OTHER},
    };
    const char *v = prm(c, "allowed_updates");
    if (v == NULL || *v == '\0')
        return;
    json_error_t je;
    json_t *a = json_loads(v, JSON_DECODE_ANY, &je);
    if (a == NULL || !json_is_array(a)) {
        json_decref(a);
        return;
    }
    unsigned mask = 0;
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) {
        const char *s = json_string_value(x);
        for (size_t k = 0; s != NULL && k < sizeof names / sizeof names[0]; k++)
            if (strcasecmp(s, names[k].name) == 0)
                mask |= names[k].bit;
    }
    json_decref(a);
    c->bot->allowed = mask ? mask : FTG_U_DEFAULT;
    c->bot->allowed_custom = mask != 0 && mask != FTG_U_DEFAULT;
}

static int m_getupdates(struct call *c)
{
    struct fake_tg *f = c->f;
    struct ftg_bot *b = c->bot;
    if (b->wh_url != NULL)
        return bad(c, 409, "Conflict: can't use getUpdates method while webhook is active; "
                   "use deleteWebhook to delete the webhook first");
    int64_t offset = prm_int(c, "offset", 0, INT64_MIN / 2, INT64_MAX / 2);
    int64_t limit = prm_int(c, "limit", 100, 1, 100);
    int64_t timeout = prm_int(c, "timeout", 0, 0, LONG_POLL_MAX_S);
    set_allowed(c);
    if (offset < 0) {                    /* keep only the last -offset updates */
        while ((int64_t)b->qlen > -offset)
            fake_tg_st_confirm(b, b->q[b->qhead].id + 1);
        offset = 0;
    } else if (offset > b->next_update_id + 10) {
        offset = 0;                      /* far in the future: back to the head */
    } else if (offset > 0) {
        fake_tg_st_confirm(b, offset);
    }
    uint64_t gen = ++b->poll_gen;
    pthread_cond_broadcast(&f->cv);      /* a parked older poll gets its 409 */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t deadline = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + timeout * 1000000000LL;
    for (;;) {
        size_t start = 0;
        while (start < b->qlen && b->q[b->qhead + start].id < offset)
            start++;
        if (start < b->qlen || timeout == 0)
            break;
        if (!fake_tg_wait_until(f, deadline))
            break;
        if (b->poll_gen != gen)
            return bad(c, 409, b->wh_url != NULL
                                   ? "Conflict: terminated by setWebhook request"
                                   : "Conflict: terminated by other getUpdates request; make "
                                     "sure that only one bot instance is running");
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec >= deadline)
            break;
    }
    struct buf *o = &c->resp->body;
    c->resp->status = 200;
    c->resp->content_type = "application/json";
    buf_puts(o, "{\"ok\":true,\"result\":[");
    int64_t n = 0;
    for (size_t i = 0; i < b->qlen && n < limit; i++) {
        const struct ftg_update *u = &b->q[b->qhead + i];
        if (u->id < offset)
            continue;
        if (n > 0 && o->len + strlen(u->json) > RESULT_MAX)
            break;                       /* ~4 MiB per answer, the rest next time */
        if (n > 0)
            buf_putc(o, ',');
        buf_puts(o, u->json);
        n++;
    }
    buf_puts(o, "]}");
    return 0;
}

static bool secret_ok(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

static int m_setwebhook(struct call *c)
{
    struct ftg_bot *b = c->bot;
    const char *url = prm(c, "url");
    if (url == NULL || *url == '\0') {
        bool had = b->wh_url != NULL;
        if (prm_bool(c, "drop_pending_updates"))
            fake_tg_st_clear_queue(b);
        mem_freep(&b->wh_url);
        mem_freep(&b->wh_secret);
        b->wh_gen++;
        answer_ok(c, json_true(), had ? "Webhook was deleted" : "Webhook is already deleted");
        return 0;
    }
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return bad(c, 400, "Bad Request: invalid webhook URL specified");
    const char *secret = prm(c, "secret_token");
    if (secret != NULL && strlen(secret) > 256)
        return bad(c, 400, "Bad Request: secret token is too long");
    if (secret != NULL && !secret_ok(secret))
        return bad(c, 400, "Bad Request: secret token contains unallowed characters");
    int max_conn = (int)prm_int(c, "max_connections", 40, 1, 100);
    bool same = b->wh_url != NULL && strcmp(b->wh_url, url) == 0 &&
                strcmp(b->wh_secret ? b->wh_secret : "", secret ? secret : "") == 0 &&
                b->wh_max_conn == max_conn && prm(c, "allowed_updates") == NULL;
    int64_t now = clock_now_ms(c->f->clock);
    if (!same && b->wh_set_ms != 0 && now - b->wh_set_ms < 1000) {
        answer_err(c, 429, "Too Many Requests: retry after 1", 1);
        return -1;
    }
    set_allowed(c);
    if (prm_bool(c, "drop_pending_updates"))
        fake_tg_st_clear_queue(b);
    if (!same) {
        mem_free(b->wh_url);
        b->wh_url = mem_strdup(url);
        mem_free(b->wh_secret);
        b->wh_secret = secret && *secret ? mem_strdup(secret) : NULL;
        b->wh_max_conn = max_conn;
        b->wh_set_ms = now;
        b->wh_err_date = 0;
        mem_freep(&b->wh_err_msg);
        b->wh_gen++;
        b->poll_gen++;                   /* a parked getUpdates ends with 409 */
        for (size_t i = 0; i < b->qlen; i++)
            b->q[b->qhead + i].next_try_ms = 0;
    }
    answer_ok(c, json_true(), same ? "Webhook is already set" : "Webhook was set");
    return 0;
}

static int m_deletewebhook(struct call *c)
{
    struct ftg_bot *b = c->bot;
    bool had = b->wh_url != NULL;
    if (prm_bool(c, "drop_pending_updates"))
        fake_tg_st_clear_queue(b);
    if (had) {
        mem_freep(&b->wh_url);
        mem_freep(&b->wh_secret);
        b->wh_gen++;
    }
    answer_ok(c, json_true(), had ? "Webhook was deleted" : "Webhook is already deleted");
    return 0;
}

static int m_getwebhookinfo(struct call *c)
{
    const struct ftg_bot *b = c->bot;
    json_t *o = json_object();
    json_object_set_new(o, "url", json_string(b->wh_url ? b->wh_url : ""));
    json_object_set_new(o, "has_custom_certificate", json_false());
    json_object_set_new(o, "pending_update_count", json_integer((json_int_t)b->qlen));
    if (b->wh_err_date) {
        json_object_set_new(o, "last_error_date", json_integer(b->wh_err_date));
        json_object_set_new(o, "last_error_message",
                            json_string(b->wh_err_msg ? b->wh_err_msg : ""));
    }
    if (b->wh_url) {
        json_object_set_new(o, "max_connections", json_integer(b->wh_max_conn));
        json_object_set_new(o, "ip_address", json_string("127.0.0.1"));
    }
    if (b->allowed_custom) {
        json_t *a = json_array();
        static const char *const nm[] = {"message", "edited_message", "callback_query",
                                         "my_chat_member", "chat_member", "message_reaction",
                                         "message_reaction_count"};
        for (unsigned i = 0; i < 7; i++)
            if (b->allowed & (1u << i))
                json_array_append_new(a, json_string(nm[i]));
        json_object_set_new(o, "allowed_updates", a);
    }
    answer_ok(c, o, NULL);
    return 0;
}

static int m_sendmessage(struct call *c)
{
    char *text = NULL;
    json_t *ents = NULL, *markup = NULL;
    struct ftg_chat *ch = NULL;
    struct reply_req rr;
    int64_t thread = 0;
    int rc = parse_text(c, "text", &text, &ents);
    if (rc != 0)
        return rc;
    if ((rc = parse_reply(c, &rr)) != 0 || (rc = parse_markup(c, &markup)) != 0 ||
        (rc = find_chat(c, "chat_id", &ch)) != 0 || (rc = can_write(c, ch)) != 0 ||
        (rc = check_thread(c, ch, &thread)) != 0 || (rc = check_reply(c, ch, &rr)) != 0 ||
        (rc = check_len(c, text)) != 0)
        goto out;
    if (thread == 0 && rr.id != 0 && ch->is_forum) {
        const struct ftg_msg *r = fake_tg_st_msg(ch, rr.id);
        thread = r && r->thread_id > 1 ? r->thread_id : 0;
    }
    struct ftg_msg m = {.from = c->bot->u.id, .thread_id = thread, .reply_to = rr.id,
                        .text = text, .entities = ents, .reply_markup = markup};
    text = NULL;
    ents = markup = NULL;
    struct ftg_msg *sm = fake_tg_st_add_msg(c->f, ch, &m);
    log_msg_sent(c, "sendMessage", ch, sm, NULL);
    answer_ok(c, fake_tg_st_msg_json(c->f, ch, sm, true), NULL);
out:
    mem_free(text);
    json_decref(ents);
    json_decref(markup);
    return rc;
}

/* copyMessage (copy = true) and forwardMessage. */
static int m_copy_or_forward(struct call *c, bool copy)
{
    struct ftg_chat *src = NULL, *ch = NULL;
    json_t *markup = NULL;
    struct reply_req rr = {0};
    int64_t thread = 0;
    int rc = find_chat(c, "from_chat_id", &src);
    if (rc != 0)
        return rc;
    int64_t mid = prm_int(c, "message_id", 0, 0, INT32_MAX);
    const struct ftg_msg *om = mid ? fake_tg_st_msg(src, mid) : NULL;
    if (om == NULL)
        return bad(c, 400, copy ? "Bad Request: message to copy not found"
                                : "Bad Request: message to forward not found");
    if (om->text == NULL)
        return bad(c, 400, copy ? "Bad Request: message can't be copied"
                                : "Bad Request: message can't be forwarded");
    if ((copy && ((rc = parse_reply(c, &rr)) != 0 || (rc = parse_markup(c, &markup)) != 0)) ||
        (rc = find_chat(c, "chat_id", &ch)) != 0 || (rc = can_write(c, ch)) != 0 ||
        (rc = check_thread(c, ch, &thread)) != 0 || (rc = check_reply(c, ch, &rr)) != 0)
        goto out;
    struct ftg_msg m = {.from = c->bot->u.id, .thread_id = thread, .reply_to = rr.id,
                        .reply_markup = markup};
    markup = NULL;
    m.text = mem_strdup(om->text);
    m.entities = om->entities ? json_deep_copy(om->entities) : NULL;
    if (!copy) {
        const struct ftg_user *ou = fake_tg_st_user(c->f, om->from);
        m.forward_origin = json_object();
        json_object_set_new(m.forward_origin, "type", json_string("user"));
        json_object_set_new(m.forward_origin, "date", json_integer(om->date));
        if (ou != NULL)
            json_object_set_new(m.forward_origin, "sender_user", fake_tg_st_user_json(ou));
        m.fwd_from = om->from;
        m.fwd_date = om->date;
    }
    int64_t src_id = src->id;
    struct ftg_msg *sm = fake_tg_st_add_msg(c->f, ch, &m);   /* may move om */
    json_t *extra = json_object();
    json_object_set_new(extra, "from_chat_id", json_integer(src_id));
    json_object_set_new(extra, "from_message_id", json_integer(mid));
    log_msg_sent(c, copy ? "copyMessage" : "forwardMessage", ch, sm, extra);
    if (copy)
        answer_ok(c, json_pack("{s:I}", "message_id", (json_int_t)sm->id), NULL);
    else
        answer_ok(c, fake_tg_st_msg_json(c->f, ch, sm, true), NULL);
out:
    json_decref(markup);
    return rc;
}

static int m_copymessage(struct call *c)
{
    return m_copy_or_forward(c, true);
}

static int m_forwardmessage(struct call *c)
{
    return m_copy_or_forward(c, false);
}

static int m_editmessagetext(struct call *c)
{
    char *text = NULL;
    json_t *ents = NULL, *markup = NULL;
    struct ftg_chat *ch = NULL;
    if (prm(c, "inline_message_id") != NULL)
        return bad(c, 400, "Bad Request: MESSAGE_ID_INVALID");
    int rc = parse_text(c, "text", &text, &ents);
    if (rc != 0)
        return rc;
    if ((rc = parse_markup(c, &markup)) != 0 || (rc = find_chat(c, "chat_id", &ch)) != 0)
        goto out;
    struct ftg_msg *m = fake_tg_st_msg(ch, prm_int(c, "message_id", 0, 0, INT32_MAX));
    if (m == NULL) {
        rc = bad(c, 400, "Bad Request: message to edit not found");
        goto out;
    }
    if (m->from != c->bot->u.id || m->text == NULL) {
        rc = bad(c, 400, "Bad Request: message can't be edited");
        goto out;
    }
    if ((rc = check_len(c, text)) != 0)
        goto out;
    bool same_markup = (m->reply_markup == NULL && markup == NULL) ||
                       (m->reply_markup && markup && json_equal(m->reply_markup, markup));
    if (strcmp(m->text, text) == 0 && same_markup) {
        rc = bad(c, 400, "Bad Request: message is not modified: specified new message content "
                 "and reply markup are exactly the same as a current content and reply markup "
                 "of the message");
        goto out;
    }
    mem_free(m->text);
    m->text = text;
    json_decref(m->entities);
    m->entities = ents;
    json_decref(m->reply_markup);
    m->reply_markup = markup;            /* omitted markup removes the keyboard */
    text = NULL;
    ents = markup = NULL;
    m->edit_date = fake_tg_st_now_s(c->f);
    log_msg_sent(c, "editMessageText", ch, m, NULL);
    answer_ok(c, fake_tg_st_msg_json(c->f, ch, m, false), NULL);
out:
    mem_free(text);
    json_decref(ents);
    json_decref(markup);
    return rc;
}

static int m_deletemessage(struct call *c)
{
    struct ftg_chat *ch = NULL;
    int rc = find_chat(c, "chat_id", &ch);
    if (rc != 0)
        return rc;
    struct ftg_msg *m = fake_tg_st_msg(ch, prm_int(c, "message_id", 0, 0, INT32_MAX));
    if (m == NULL)
        return bad(c, 400, "Bad Request: message to delete not found");
    if (m->service && json_object_get(m->service, "forum_topic_created"))
        return bad(c, 400, "Bad Request: message can't be deleted");
    if (m->from != c->bot->u.id && (ch->type == FTG_PRIVATE ? false : !ch->bot_is_admin))
        return bad(c, 400, "Bad Request: message can't be deleted");
    m->deleted = true;
    json_t *extra = json_pack("{s:I}", "message_id", (json_int_t)m->id);
    fake_tg_st_log_sent(c->f, c->bot, "deleteMessage", ch->id, ch->is_forum ? m->thread_id : 0,
                        extra);
    answer_ok(c, json_true(), NULL);
    return 0;
}

static int m_answercallbackquery(struct call *c)
{
    const char *qs = prm(c, "callback_query_id");
    struct ftg_cbq *q = qs && *qs ? fake_tg_st_cbq(c->f, strtoll(qs, NULL, 10)) : NULL;
    int64_t now = clock_now_ms(c->f->clock);
    if (q == NULL || q->answered || q->bot_id != c->bot->u.id ||
        now - q->created_ms > c->f->o.callback_ttl_ms)
        return bad(c, 400, "Bad Request: query is too old and response timeout expired or "
                   "query ID is invalid");
    q->answered = true;
    json_t *o = json_object();
    json_object_set_new(o, "callback_query_id", json_string(qs));
    const char *t = prm(c, "text");
    if (t != NULL)
        json_object_set_new(o, "text", json_string(t));
    json_object_set_new(o, "show_alert", json_boolean(prm_bool(c, "show_alert")));
    fake_tg_st_log_sent(c->f, c->bot, "answerCallbackQuery", q->chat_id, 0, o);
    answer_ok(c, json_true(), NULL);
    return 0;
}

static int m_getchat(struct call *c)
{
    struct ftg_chat *ch = NULL;
    const char *v = prm(c, "chat_id");
    if (v == NULL || *v == '\0')
        return bad(c, 400, "Bad Request: chat_id is empty");
    if (find_chat(c, "chat_id", &ch) != 0) {
        buf_release(&c->resp->body);     /* getChat always says "chat not found" */
        c->resp->nheaders = 0;
        return bad(c, 400, "Bad Request: chat not found");
    }
    json_t *o = fake_tg_st_chat_json(c->f, ch);
    json_object_set_new(o, "accent_color_id", json_integer(0));
    json_object_set_new(o, "max_reaction_count", json_integer(11));
    json_object_set_new(o, "accepted_gift_types",
                        json_pack("{s:b,s:b,s:b,s:b,s:b}", "unlimited_gifts", 0,
                                  "limited_gifts", 0, "unique_gifts", 0,
                                  "premium_subscription", 0, "gifts_from_channels", 0));
    if (ch->type != FTG_PRIVATE)
        json_object_set_new(o, "permissions",
                            json_pack("{s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "can_send_messages", 1,
                                      "can_send_polls", 1, "can_send_other_messages", 1,
                                      "can_add_web_page_previews", 1, "can_invite_users", 1,
                                      "can_pin_messages", 0, "can_manage_topics", 0));
    answer_ok(c, o, NULL);
    return 0;
}

static json_t *admin_json(const struct ftg_user *u, bool creator)
{
    json_t *o = json_object();
    json_object_set_new(o, "user", fake_tg_st_user_json(u));
    json_object_set_new(o, "status", json_string(creator ? "creator" : "administrator"));
    if (creator) {
        json_object_set_new(o, "is_anonymous", json_false());
        return o;
    }
    static const char *const rights[] = {
        "can_manage_chat", "can_change_info", "can_delete_messages", "can_invite_users",
        "can_restrict_members", "can_pin_messages", "can_manage_topics",
        "can_promote_members", "can_manage_video_chats", "can_post_stories",
        "can_edit_stories", "can_delete_stories", NULL};
    json_object_set_new(o, "can_be_edited", json_false());
    for (const char *const *r = rights; *r; r++)
        json_object_set_new(o, *r, json_boolean(strcmp(*r, "can_promote_members") != 0));
    json_object_set_new(o, "is_anonymous", json_false());
    json_object_set_new(o, "can_manage_voice_chats", json_true());
    return o;
}

static int m_getchatmember(struct call *c)
{
    struct ftg_chat *ch = NULL;
    int rc = find_chat(c, "chat_id", &ch);
    if (rc != 0)
        return rc;
    int64_t uid = prm_int(c, "user_id", 0, 0, INT64_MAX);
    if (uid == 0)
        return bad(c, 400, "Bad Request: invalid user_id specified");
    const struct ftg_user *u = fake_tg_st_user(c->f, uid);
    if (u == NULL)
        return bad(c, 400, "Bad Request: user not found");
    json_t *o;
    if (ch->type == FTG_PRIVATE) {
        if (uid != ch->id && uid != c->bot->u.id)
            return bad(c, 400, "Bad Request: user not found");
        o = json_pack("{s:o,s:s}", "user", fake_tg_st_user_json(u), "status",
                      uid == c->bot->u.id && ch->blocked ? "kicked" : "member");
    } else if (fake_tg_st_bot(c->f, uid) != NULL) {
        o = ch->bot_is_admin ? admin_json(u, false)
                             : json_pack("{s:o,s:s}", "user", fake_tg_st_user_json(u),
                                         "status", "member");
    } else {
        const struct ftg_member *m = fake_tg_st_member(ch, uid);
        if (m != NULL && m->admin)
            o = admin_json(u, false);
        else
            o = json_pack("{s:o,s:s}", "user", fake_tg_st_user_json(u), "status",
                          m ? "member" : "left");
    }
    answer_ok(c, o, NULL);
    return 0;
}

static int m_sendchataction(struct call *c)
{
    struct ftg_chat *ch = NULL;
    int64_t thread = 0;
    int rc = find_chat(c, "chat_id", &ch);
    if (rc == 0)
        rc = can_write(c, ch);
    if (rc == 0)
        rc = check_thread(c, ch, &thread);
    if (rc == 0)
        answer_ok(c, json_true(), NULL);
    return rc;
}

static int m_true(struct call *c)
{
    answer_ok(c, json_true(), NULL);
    return 0;
}

static int m_getmycommands(struct call *c)
{
    answer_ok(c, json_array(), NULL);
    return 0;
}

/* ---- forum topics ------------------------------------------------------------------- */

static json_t *forum_topic_json(const struct ftg_topic *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "message_thread_id", json_integer(t->id));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "icon_color", json_integer(t->icon_color));
    if (t->icon_emoji && *t->icon_emoji)
        json_object_set_new(o, "icon_custom_emoji_id", json_string(t->icon_emoji));
    return o;
}

/* Post a service message (from the bot) into topic thread of ch; every bot gets it. */
static struct ftg_msg *service_msg(struct call *c, struct ftg_chat *ch, int64_t thread,
                                   const char *field, json_t *val)
{
    struct ftg_msg m = {.from = c->bot->u.id, .thread_id = thread};
    m.service = json_object();
    json_object_set_new(m.service, field, val);
    struct ftg_msg *sm = fake_tg_st_add_msg(c->f, ch, &m);
    fake_tg_st_fanout(c->f, ch, sm, false, true, NULL);
    return sm;
}

static int m_createforumtopic(struct call *c)
{
    struct ftg_chat *ch = NULL;
    int rc = find_chat(c, "chat_id", &ch);
    if (rc != 0)
        return rc;
    if (!ch->is_forum)
        return bad(c, 400, "Bad Request: the chat is not a forum");
    if (!ch->bot_is_admin)
        return bad(c, 400, "Bad Request: not enough rights to create a topic");
    const char *nm = prm(c, "name");
    char *name = fake_tg_text_clean_name(nm ? nm : "");
    if (*name == '\0') {
        mem_free(name);
        return bad(c, 400, "Bad Request: name must be non-empty");
    }
    int64_t color = prm_int(c, "icon_color", 0, INT64_MIN / 2, INT64_MAX / 2);
    if (color < 0 || color > 0xFFFFFF) {
        mem_free(name);
        return bad(c, 400, "Bad Request: invalid icon color specified");
    }
    ch->topics = mem_realloc(ch->topics, (ch->ntopics + 1) * sizeof *ch->topics);
    struct ftg_topic *t = &ch->topics[ch->ntopics++];
    memset(t, 0, sizeof *t);
    t->id = ch->next_msg_id;             /* the id of its creation message */
    t->name = name;
    t->icon_color = color ? color : DEFAULT_ICON_COLOR;
    const char *emoji = prm(c, "icon_custom_emoji_id");
    t->icon_emoji = emoji && *emoji ? mem_strdup(emoji) : NULL;
    t->creator = c->bot->u.id;
    json_t *created = json_pack("{s:s,s:I}", "name", t->name, "icon_color",
                                (json_int_t)t->icon_color);
    if (t->icon_emoji)
        json_object_set_new(created, "icon_custom_emoji_id", json_string(t->icon_emoji));
    json_t *result = forum_topic_json(t);
    struct ftg_msg *sm = service_msg(c, ch, t->id, "forum_topic_created", created);
    log_msg_sent(c, "createForumTopic", ch, sm, NULL);
    answer_ok(c, result, NULL);
    return 0;
}

enum topic_op { T_EDIT, T_CLOSE, T_REOPEN, T_DELETE };

static int topic_lookup(struct call *c, enum topic_op op, struct ftg_chat **chp,
                        struct ftg_topic **tp)
{
    static const char *const rights[] = {
        "Bad Request: not enough rights to edit the topic",
        "Bad Request: not enough rights to close or open the topic",
        "Bad Request: not enough rights to close or open the topic",
        "Bad Request: not enough rights to delete the topic"};
    int rc = find_chat(c, "chat_id", chp);
    if (rc != 0)
        return rc;
    struct ftg_chat *ch = *chp;
    if (!ch->is_forum)
        return bad(c, 400, "Bad Request: the chat is not a forum");
    int64_t id = prm_int(c, "message_thread_id", 0, 0, INT32_MAX);
    *tp = id > 1 ? fake_tg_st_topic(ch, id) : NULL;
    if (*tp == NULL || (*tp)->deleted)
        return bad(c, 400, "Bad Request: message thread not found");
    if (!ch->bot_is_admin && (*tp)->creator != c->bot->u.id)
        return bad(c, 400, rights[op]);
    return 0;
}

static int m_editforumtopic(struct call *c)
{
    struct ftg_chat *ch;
    struct ftg_topic *t;
    int rc = topic_lookup(c, T_EDIT, &ch, &t);
    if (rc != 0)
        return rc;
    const char *nm = prm(c, "name");
    const char *emoji = prm(c, "icon_custom_emoji_id");
    char *name = nm ? fake_tg_text_clean_name(nm) : NULL;
    bool new_name = name && *name && strcmp(name, t->name) != 0;
    bool new_emoji = emoji && strcmp(emoji, t->icon_emoji ? t->icon_emoji : "") != 0;
    if (!new_name && !new_emoji) {
        mem_free(name);
        return bad(c, 400, "Bad Request: TOPIC_NOT_MODIFIED");
    }
    json_t *edited = json_object();
    if (new_name) {
        mem_free(t->name);
        t->name = name;
        name = NULL;
        json_object_set_new(edited, "name", json_string(t->name));
    }
    if (new_emoji) {
        mem_free(t->icon_emoji);
        t->icon_emoji = *emoji ? mem_strdup(emoji) : NULL;
        json_object_set_new(edited, "icon_custom_emoji_id", json_string(emoji));
    }
    mem_free(name);
    int64_t tid = t->id;
    struct ftg_msg *sm = service_msg(c, ch, tid, "forum_topic_edited", edited);
    log_msg_sent(c, "editForumTopic", ch, sm, NULL);
    answer_ok(c, json_true(), NULL);
    return 0;
}

static int close_reopen(struct call *c, bool close)
{
    struct ftg_chat *ch;
    struct ftg_topic *t;
    int rc = topic_lookup(c, close ? T_CLOSE : T_REOPEN, &ch, &t);
    if (rc != 0)
        return rc;
    if (t->closed == close)
        return bad(c, 400, "Bad Request: TOPIC_NOT_MODIFIED");
    t->closed = close;
    int64_t tid = t->id;
    struct ftg_msg *sm = service_msg(c, ch, tid, close ? "forum_topic_closed"
                                                       : "forum_topic_reopened",
                                     json_object());
    log_msg_sent(c, close ? "closeForumTopic" : "reopenForumTopic", ch, sm, NULL);
    answer_ok(c, json_true(), NULL);
    return 0;
}

static int m_closeforumtopic(struct call *c)
{
    return close_reopen(c, true);
}

static int m_reopenforumtopic(struct call *c)
{
    return close_reopen(c, false);
}

static int m_deleteforumtopic(struct call *c)
{
    struct ftg_chat *ch;
    struct ftg_topic *t;
    int rc = topic_lookup(c, T_DELETE, &ch, &t);
    if (rc != 0)
        return rc;
    t->deleted = true;
    for (size_t i = 0; i < ch->mlen; i++)
        if (ch->msgs[ch->mhead + i].thread_id == t->id)
            ch->msgs[ch->mhead + i].deleted = true;
    fake_tg_st_log_sent(c->f, c->bot, "deleteForumTopic", ch->id, t->id, NULL);
    answer_ok(c, json_true(), NULL);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*fn)(struct call *c);
} methods[] = {
    {"getme", m_getme},
    {"getupdates", m_getupdates},
    {"setwebhook", m_setwebhook},
    {"deletewebhook", m_deletewebhook},
    {"getwebhookinfo", m_getwebhookinfo},
    {"sendmessage", m_sendmessage},
    {"copymessage", m_copymessage},
    {"forwardmessage", m_forwardmessage},
    {"editmessagetext", m_editmessagetext},
    {"deletemessage", m_deletemessage},
    {"answercallbackquery", m_answercallbackquery},
    {"getchat", m_getchat},
    {"getchatmember", m_getchatmember},
    {"sendchataction", m_sendchataction},
    {"createforumtopic", m_createforumtopic},
    {"editforumtopic", m_editforumtopic},
    {"closeforumtopic", m_closeforumtopic},
    {"reopenforumtopic", m_reopenforumtopic},
    {"deleteforumtopic", m_deleteforumtopic},
    {"setmycommands", m_true},
    {"deletemycommands", m_true},
    {"getmycommands", m_getmycommands},
    {"setmydescription", m_true},
    {"setmyshortdescription", m_true},
    {"setchatmenubutton", m_true},
};

/* Count the call in /control/stats. f->mu held. */
static void count(struct call *c, bool known)
{
    struct fake_tg *f = c->f;
    const char *key = known ? c->method : "(unknown)";   /* bounded key set */
    f->n_requests++;
    json_t *n = json_object_get(f->per_method, key);
    json_object_set_new(f->per_method, key, json_integer(n ? json_integer_value(n) + 1 : 1));
}

static int (*find_method(const char *name))(struct call *)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, name) == 0)
            return methods[i].fn;
    return NULL;
}

void fake_tg_bot_handle(struct fake_tg *f, struct http_req *req, struct http_resp *resp)
{
    struct call c = {.f = f, .req = req, .resp = resp};
    const char *path = req->path;
    if (path[0] != '/') {
        answer_err(&c, 404, "Not Found: absolute URI is specified in the Request-Line", 0);
        return;
    }
    if (strncmp(path, "/bot", 4) != 0) {
        answer_err(&c, 404, "Not Found", 0);
        return;
    }
    const char *tok = path + 4;
    const char *slash = strchr(tok, '/');
    size_t toklen = slash ? (size_t)(slash - tok) : strlen(tok);
    char *token = arena_strndup(req->arena, tok, toklen);
    const char *mname = slash ? slash + 1 : "";
    if (strncmp(mname, "test/", 5) == 0)
        mname += 5;                      /* the test-DC segment */
    if (token == NULL) {
        answer_err(&c, 413, "Request Entity Too Large", 0);
        return;
    }
    /* token shape first (the server's ClientManager rules) */
    const char *colon = strchr(token, ':');
    bool shape = colon != NULL && token[0] != '0' && toklen <= 80 && colon != token;
    for (const char *p = token; shape && p < colon; p++)
        shape = *p >= '0' && *p <= '9';
    if (!shape) {
        answer_err(&c, 401, "Unauthorized: invalid token specified", 0);
        return;
    }
    if (parse_params(&c) != 0)
        return;
    if (*mname == '\0')
        mname = prm(&c, "method") ? prm(&c, "method") : "";
    snprintf(c.method, sizeof c.method, "%s", mname);
    for (char *p = c.method; *p; p++)
        *p = (char)tolower((unsigned char)*p);

    pthread_mutex_lock(&f->mu);
    c.bot = fake_tg_st_bot_by_token(f, token);
    pthread_mutex_unlock(&f->mu);
    int (*fn)(struct call *) = find_method(c.method);
    if (apply_faults(&c) != 0) {
        pthread_mutex_lock(&f->mu);
        count(&c, fn != NULL);
        f->n_errors++;
        pthread_mutex_unlock(&f->mu);
        return;
    }
    if (c.bot == NULL) {
        answer_err(&c, 401, "Unauthorized", 0);
        return;
    }
    pthread_mutex_lock(&f->mu);
    count(&c, fn != NULL);
    if (fn == NULL)
        answer_err(&c, 404, "Not Found: method not found", 0);
    else if (f->stopping)
        answer_err(&c, 500, "Internal Server Error: restart", 0);
    else
        fn(&c);
    if (c.failed)
        f->n_errors++;
    pthread_mutex_unlock(&f->mu);
}
