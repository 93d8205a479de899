/*
 * fake_tg_text.c — text rules of the fake Telegram: UTF-8 checks, UTF-16
 * lengths (entity offsets and the 4096 limit are in UTF-16 code units),
 * auto-detected entities of user messages (bot_command, mention, hashtag,
 * url), topic-name cleaning, and the parse_mode parsers (HTML, MarkdownV2,
 * legacy Markdown) with Telegram's error texts.
 *
 * Pure functions: no state, no locking.
 */
#include "check/fake_tg_impl.h"

#include "base/mem.h"
#include "desk/text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fake_tg_text_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= k)
            return false;
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += k + 1;
    }
    return true;
}

int64_t fake_tg_text_utf16_len(const char *s, size_t n)
{
    return (int64_t)text_utf16_len_n(s, n);   /* one definition of Telegram's count */
}

char *fake_tg_text_trim(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return mem_strndup(s, n);
}

static void add_entity(json_t **arr, const char *type, const char *text, size_t off,
                       size_t len)
{
    if (*arr == NULL)
        *arr = json_array();
    json_t *o = json_object();
    json_object_set_new(o, "offset", json_integer(fake_tg_text_utf16_len(text, off)));
    json_object_set_new(o, "length", json_integer(fake_tg_text_utf16_len(text + off, len)));
    json_object_set_new(o, "type", json_string(type));
    json_array_append_new(*arr, o);
}

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

json_t *fake_tg_text_entities(const char *text)
{
    json_t *arr = NULL;
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        bool start = i == 0 || isspace((unsigned char)text[i - 1]);
        unsigned char c = (unsigned char)text[i];
        size_t j = i + 1;
        if (start && c == '/' && j < n && word_char((unsigned char)text[j])) {
            while (j < n && (isalnum((unsigned char)text[j]) || text[j] == '_'))
                j++;
            if (j < n && text[j] == '@') {
                size_t k = j + 1;
                while (k < n && (isalnum((unsigned char)text[k]) || text[k] == '_'))
                    k++;
                if (k > j + 1)
                    j = k;
            }
            add_entity(&arr, "bot_command", text, i, j - i);
        } else if (start && c == '@' && j < n && word_char((unsigned char)text[j])) {
            while (j < n && (isalnum((unsigned char)text[j]) || text[j] == '_'))
                j++;
            if (j - i >= 5)
                add_entity(&arr, "mention", text, i, j - i);
        } else if (start && c == '#' && j < n && word_char((unsigned char)text[j])) {
            while (j < n && word_char((unsigned char)text[j]))
                j++;
            add_entity(&arr, "hashtag", text, i, j - i);
        } else if (start && (strncmp(text + i, "http://", 7) == 0 ||
                             strncmp(text + i, "https://", 8) == 0)) {
            while (j < n && !isspace((unsigned char)text[j]))
                j++;
            add_entity(&arr, "url", text, i, j - i);
        }
        i = j;
    }
    return arr;
}

char *fake_tg_text_clean_name(const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    bool space = false;
    size_t cps = 0;
    while (*s && isspace((unsigned char)*s))
        s++;
    for (; *s && cps < 128; s++) {
        unsigned char c = (unsigned char)*s;
        if (isspace(c)) {
            space = true;
            continue;
        }
        if (space) {
            buf_putc(&b, ' ');
            cps++;
            space = false;
            if (cps >= 128)
                break;
        }
        if ((c & 0xc0) != 0x80)
            cps++;
        if (cps > 128)
            break;
        buf_putc(&b, (char)c);
        /* copy the continuation bytes of this code point too */
        while ((((unsigned char)s[1]) & 0xc0) == 0x80) {
            s++;
            buf_putc(&b, *s);
        }
    }
    return b.p ? buf_detach(&b) : mem_strdup("");
}

/* ---- parse modes ------------------------------------------------------------ */

struct open_ent {
    const char *type;          /* entity type */
    const char *tag;           /* html tag name or markdown marker */
    size_t out_off;            /* byte offset in the output where it starts */
    size_t src_off;            /* byte offset in the source */
    char *url;                 /* text_link url, owned */
};

struct parser {
    struct buf out;
    json_t *ents;
    struct open_ent st[32];
    size_t depth;
    char *desc;
    size_t descn;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(p->desc, p->descn, "Bad Request: can't parse entities: %s", detail);
    return -1;
}

static void close_ent(struct parser *p, const struct open_ent *o)
{
    size_t len = p->out.len - o->out_off;
    if (len == 0 || o->type[0] == '\0')
        return;
    const char *txt = buf_str(&p->out);
    if (p->ents == NULL)
        p->ents = json_array();
    json_t *e = json_object();
    json_object_set_new(e, "offset", json_integer(fake_tg_text_utf16_len(txt, o->out_off)));
    json_object_set_new(e, "length",
                        json_integer(fake_tg_text_utf16_len(txt + o->out_off, len)));
    json_object_set_new(e, "type", json_string(o->type));
    if (o->url)
        json_object_set_new(e, "url", json_string(o->url));
    json_array_append_new(p->ents, e);
}

static int push_ent(struct parser *p, const char *type, const char *tag, size_t src,
                    char *url)
{
    if (p->depth >= sizeof p->st / sizeof p->st[0]) {
        mem_free(url);
        return fail(p, "Too many nested entities");
    }
    struct open_ent *o = &p->st[p->depth++];
    o->type = type;
    o->tag = tag;
    o->out_off = p->out.len;
    o->src_off = src;
    o->url = url;
    return 0;
}

static void pop_ent(struct parser *p)
{
    struct open_ent *o = &p->st[--p->depth];
    close_ent(p, o);
    mem_freep(&o->url);
}

static const struct {
    const char *tag;
    const char *type;
} html_tags[] = {
    {"b", "bold"}, {"strong", "bold"}, {"i", "italic"}, {"em", "italic"},
    {"u", "underline"}, {"ins", "underline"}, {"s", "strikethrough"},
    {"strike", "strikethrough"}, {"del", "strikethrough"}, {"code", "code"},
    {"pre", "pre"}, {"a", "text_link"}, {"tg-spoiler", "spoiler"}, {"span", "spoiler"},
    {"blockquote", "blockquote"}, {"tg-emoji", "custom_emoji"},
};

static const char *html_type(const char *tag)
{
    for (size_t i = 0; i < sizeof html_tags / sizeof html_tags[0]; i++)
        if (strcmp(html_tags[i].tag, tag) == 0)
            return html_tags[i].type;
    return NULL;
}

/* Value of attribute `name` inside a start tag's attribute text; heap or NULL. */
static char *html_attr(const char *attrs, const char *name)
{
    const char *a = strstr(attrs, name);
    if (a == NULL)
        return NULL;
    a += strlen(name);
    while (*a == ' ')
        a++;
    if (*a != '=')
        return NULL;
    a++;
    while (*a == ' ')
        a++;
    char q = (*a == '"' || *a == '\'') ? *a++ : ' ';
    const char *end = a;
    while (*end && *end != q && !(q == ' ' && *end == '>'))
        end++;
    return mem_strndup(a, (size_t)(end - a));
}

static void html_entity(struct parser *p, const char *s, size_t *i)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}};
    for (size_t k = 0; k < 4; k++) {
        size_t n = strlen(named[k].name);
        if (strncmp(s + *i, named[k].name, n) == 0) {
            buf_putc(&p->out, named[k].c);
            *i += n;
            return;
        }
    }
    if (s[*i + 1] == '#') {
        const char *q = s + *i + 2;
        int base = 10;
        if (*q == 'x' || *q == 'X') {
            base = 16;
            q++;
        }
        char *end;
        unsigned long cp = strtoul(q, &end, base);
        if (end != q && *end == ';' && cp > 0 && cp <= 0x10ffff) {
            char u[5] = {0};
            if (cp < 0x80) {
                u[0] = (char)cp;
            } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | (cp >> 6));
                u[1] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | (cp >> 12));
                u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
            } else {
                u[0] = (char)(0xf0 | (cp >> 18));
                u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[3] = (char)(0x80 | (cp & 0x3f));
            }
            buf_puts(&p->out, u);
            *i = (size_t)(end - s) + 1;
            return;
        }
    }
    buf_putc(&p->out, '&');              /* unknown entities stay literal */
    (*i)++;
}

static int parse_html(struct parser *p, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        if (s[i] == '&') {
            html_entity(p, s, &i);
            continue;
        }
        if (s[i] != '<') {
            buf_putc(&p->out, s[i++]);
            continue;
        }
        size_t at = i;
        bool end_tag = s[i + 1] == '/';
        const char *nm = s + i + (end_tag ? 2 : 1);
        size_t nl = 0;
        while (isalnum((unsigned char)nm[nl]) || nm[nl] == '-')
            nl++;
        if (nl == 0 && !end_tag)
            return fail(p, "Unsupported start tag \"\" at byte offset %zu", at);
        const char *gt = strchr(nm + nl, '>');
        if (gt == NULL)
            return fail(p, "Unclosed start tag at byte offset %zu", at);
        char tag[32];
        snprintf(tag, sizeof tag, "%.*s", (int)(nl < 31 ? nl : 31), nm);
        for (char *t = tag; *t; t++)
            *t = (char)tolower((unsigned char)*t);
        i = (size_t)(gt - s) + 1;
        if (end_tag) {
            if (p->depth == 0)
                return fail(p, "Unexpected end tag at byte offset %zu", at);
            const char *want = p->st[p->depth - 1].tag;
            if (strcmp(want, tag) != 0)
                return fail(p, "Unmatched end tag at byte offset %zu, expected \"</%s>\", "
                            "found \"</%s>\"", at, want, tag);
            pop_ent(p);
            continue;
        }
        const char *type = html_type(tag);
        if (type == NULL)
            return fail(p, "Unsupported start tag \"%s\" at byte offset %zu", tag, at);
        char *attrs = mem_strndup(nm + nl, (size_t)(gt - nm - (ptrdiff_t)nl));
        char *url = NULL;
        if (strcmp(tag, "a") == 0) {
            url = html_attr(attrs, "href");
            if (url == NULL)
                type = NULL;             /* <a> without href: plain text */
        } else if (strcmp(tag, "span") == 0) {
            char *cls = html_attr(attrs, "class");
            bool spoiler = cls != NULL && strcmp(cls, "tg-spoiler") == 0;
            mem_free(cls);
            if (!spoiler) {
                mem_free(attrs);
                return fail(p, "Tag \"span\" must have class \"tg-spoiler\" at byte offset %zu",
                            at);
            }
        }
        mem_free(attrs);
        /* the tag name lives in html_tags (static), needed at the end tag */
        const char *stag = NULL;
        for (size_t k = 0; k < sizeof html_tags / sizeof html_tags[0]; k++)
            if (strcmp(html_tags[k].tag, tag) == 0)
                stag = html_tags[k].tag;
        if (push_ent(p, type ? type : "", stag, at, url) != 0)
            return -1;
    }
    if (p->depth > 0)
        return fail(p, "Can't find end tag corresponding to start tag \"%s\"",
                    p->st[p->depth - 1].tag);
    return 0;
}

static const char *md2_type(const char *s, size_t *len)
{
    *len = 2;
    if (strncmp(s, "__", 2) == 0)
        return "underline";
    if (strncmp(s, "||", 2) == 0)
        return "spoiler";
    *len = 1;
    switch (*s) {
    case '*': return "bold";
    case '_': return "italic";
    case '~': return "strikethrough";
    default: return NULL;
    }
}

static const char *md_name(const char *type)
{
    if (strcmp(type, "bold") == 0) return "Bold";
    if (strcmp(type, "italic") == 0) return "Italic";
    if (strcmp(type, "underline") == 0) return "Underline";
    if (strcmp(type, "strikethrough") == 0) return "Strikethrough";
    if (strcmp(type, "spoiler") == 0) return "Spoiler";
    if (strcmp(type, "code") == 0) return "Code";
    if (strcmp(type, "pre") == 0) return "Pre";
    return "TextUrl";
}

/* MarkdownV2 (v2 = true) or legacy Markdown. */
static int parse_md(struct parser *p, const char *s, bool v2)
{
    static const char reserved[] = "_*[]()~`>#+-=|{}.!";
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '\\' && v2 && i + 1 < n && (unsigned char)s[i + 1] < 127) {
            buf_putc(&p->out, s[i + 1]);
            i += 2;
            continue;
        }
        if (c == '`') {                  /* code / pre: no nesting inside */
            bool pre = strncmp(s + i, "```", 3) == 0;
            size_t open = pre ? 3 : 1;
            const char *end = strstr(s + i + open, pre ? "```" : "`");
            if (end == NULL)
                return v2 ? fail(p, "Can't find end of %s entity at byte offset %zu",
                                 pre ? "Pre" : "Code", i)
                          : fail(p, "Can't find end of the entity starting at byte offset %zu",
                                 i);
            struct open_ent o = {.type = pre ? "pre" : "code", .out_off = p->out.len};
            const char *body = s + i + open;
            if (pre) {                   /* optional language line */
                const char *nl = memchr(body, '\n', (size_t)(end - body));
                if (nl != NULL)
                    body = nl + 1;
            }
            for (const char *q = body; q < end; q++) {
                if (*q == '\\' && v2 && q + 1 < end)
                    q++;
                buf_putc(&p->out, *q);
            }
            close_ent(p, &o);
            i = (size_t)(end - s) + open;
            continue;
        }
        if (c == '[') {                  /* [text](url) */
            const char *rb = strchr(s + i, ']');
            if (rb == NULL || rb[1] != '(' || strchr(rb, ')') == NULL) {
                if (v2)
                    return fail(p, "Character '[' is reserved and must be escaped with the "
                                "preceding '\\'");
                buf_putc(&p->out, c);
                i++;
                continue;
            }
            const char *rp = strchr(rb, ')');
            char *url = mem_strndup(rb + 2, (size_t)(rp - rb - 2));
            struct open_ent o = {.type = "text_link", .out_off = p->out.len, .url = url};
            for (const char *q = s + i + 1; q < rb; q++) {
                if (*q == '\\' && v2 && q + 1 < rb)
                    q++;
                buf_putc(&p->out, *q);
            }
            close_ent(p, &o);
            mem_free(url);
            i = (size_t)(rp - s) + 1;
            continue;
        }
        size_t ml = 0;
        const char *type = v2 ? md2_type(s + i, &ml)
                              : (c == '*' ? "bold" : c == '_' ? "italic" : NULL);
        if (!v2 && type != NULL)
            ml = 1;
        if (type != NULL) {
            if (p->depth > 0 && strcmp(p->st[p->depth - 1].type, type) == 0) {
                pop_ent(p);
            } else if (push_ent(p, type, type, i, NULL) != 0) {
                return -1;
            }
            i += ml;
            continue;
        }
        if (v2 && strchr(reserved, c) != NULL)
            return fail(p, "Character '%c' is reserved and must be escaped with the "
                        "preceding '\\'", c);
        buf_putc(&p->out, c);
        i++;
    }
    if (p->depth > 0) {
        const struct open_ent *o = &p->st[p->depth - 1];
        return v2 ? fail(p, "Can't find end of %s entity at byte offset %zu", md_name(o->type),
                         o->src_off)
                  : fail(p, "Can't find end of the entity starting at byte offset %zu",
                         o->src_off);
    }
    return 0;
}

/* Telegram lists entities by offset (outer before inner at the same offset);
 * the parsers close inner ones first. Insertion sort: lists are short. */
static void sort_entities(json_t *arr)
{
    size_t n = json_array_size(arr);
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(arr, j - 1), *b = json_array_get(arr, j);
            json_int_t ao = json_integer_value(json_object_get(a, "offset"));
            json_int_t bo = json_integer_value(json_object_get(b, "offset"));
            json_int_t al = json_integer_value(json_object_get(a, "length"));
            json_int_t bl = json_integer_value(json_object_get(b, "length"));
            if (ao < bo || (ao == bo && al >= bl))
                break;
            json_incref(a);
            json_array_set(arr, j - 1, b);
            json_array_set_new(arr, j, a);
        }
    }
}

int fake_tg_text_parse(const char *text, const char *mode, char **plain, json_t **entities,
                       char *desc, size_t descn)
{
    struct parser p = {.desc = desc, .descn = descn};
    buf_init(&p.out, 0);
    *plain = NULL;
    *entities = NULL;
    int rc;
    if (strcmp(mode, "html") == 0)
        rc = parse_html(&p, text);
    else
        rc = parse_md(&p, text, strcmp(mode, "markdownv2") == 0);
    while (p.depth > 0)
        mem_freep(&p.st[--p.depth].url);
    if (rc != 0) {
        buf_release(&p.out);
        json_decref(p.ents);
        return -1;
    }
    *plain = p.out.p ? buf_detach(&p.out) : mem_strdup("");
    sort_entities(p.ents);
    *entities = p.ents;
    return 0;
}
