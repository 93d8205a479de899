/*
 * kb.c — the knowledge-base index and BM25F ranking (see kb.h).
 *
 * Building: every article's fields are tokenised into one list of (term,
 * article, field) entries, sorted, and folded into a sorted vocabulary,
 * each term with its postings (article, term frequency per field) and its
 * idf. Searching: the ticket's distinct terms are looked up by binary
 * search and their postings scored into one accumulator per article.
 */
#include "desk/kb.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "desk/fold.h"

#define K1 1.2
#define B 0.75
#define TOKEN_MAX 64            /* longer "words" are ids, hashes or noise: not indexed */
#define KB_RELATIVE 0.4         /* a suggestion scores at least this share of the best */

enum field { F_TITLE, F_KEYWORDS, F_BODY, NFIELDS };
static const double weight[NFIELDS] = { 3.0, 2.0, 1.0 };

struct term {
    size_t off;                 /* of its text in ix->strings */
    uint32_t df;                /* articles containing it */
    uint32_t first;             /* its postings: post[first .. first + df) */
    double idf;                 /* divided by the index's largest idf */
};

struct posting {
    uint32_t doc;
    uint16_t tf[NFIELDS];
};

struct article {
    char *id, *title, *url;     /* owned */
    uint32_t len[NFIELDS];      /* terms in each field */
    double wn[NFIELDS];         /* field weight / BM25 length normalisation */
};

struct kb_index {
    struct article *a;
    size_t n;
    double avg[NFIELDS];        /* mean field length, at least 1 */
    struct term *terms;         /* sorted by text */
    size_t nterms;
    struct posting *post;
    char *strings;              /* the terms' texts, NUL-separated; owned */
    double min_score;
};

/* --- words ------------------------------------------------------------------- */

/* English stop words and chat filler, apostrophes dropped; sorted (the unit
 * test checks), searched with bsearch. */
static const char *const stop_words[] = {
    "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
    "are", "arent", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "cannot", "cant", "could", "couldnt", "did",
    "didnt", "do", "does", "doesnt", "doing", "dont", "down", "during", "each", "few", "for",
    "from", "further", "had", "hadnt", "has", "hasnt", "have", "havent", "having", "he", "hed",
    "hell", "hello", "her", "here", "heres", "hers", "herself", "hes", "hey", "hi", "him",
    "himself", "his", "how", "hows", "id", "if", "ill", "im", "in", "into", "is", "isnt", "it",
    "its", "itself", "ive", "just", "lets", "me", "more", "most", "mustnt", "my", "myself",
    "no", "nor", "not", "of", "off", "ok", "okay", "on", "once", "only", "or", "other", "ought",
    "our", "ours", "ourselves", "out", "over", "own", "please", "pls", "plz", "same", "shant",
    "she", "shed", "shell", "shes", "should", "shouldnt", "so", "some", "such", "than",
    "thank", "thanks", "that", "thats", "the", "their", "theirs", "them", "themselves", "then",
    "there", "theres", "these", "they", "theyd", "theyll", "theyre", "theyve", "this",
    "those", "through", "thx", "to", "too", "under", "until", "up", "very", "was", "wasnt",
    "we", "wed", "well", "were", "werent", "weve", "what", "whats", "when", "whens", "where",
    "wheres", "which", "while", "who", "whom", "whos", "why", "whys", "will", "with", "wont",
    "would", "wouldnt", "you", "youd", "youll", "your", "youre", "yours", "yourself",
    "yourselves", "youve",
};
#define NSTOP (sizeof stop_words / sizeof stop_words[0])

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static bool is_stop(const char *w)
{
    return bsearch(&w, stop_words, NSTOP, sizeof stop_words[0], cmp_str) != NULL;
}

/* Letters and digits of any script; not punctuation, symbols or emoji. */
static bool word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (cp < 0xc0)
        return cp == 0xaa || cp == 0xb5 || cp == 0xba;
    return cp != 0xd7 && cp != 0xf7 && cp != 0x37e && cp != 0x387 && cp != 0xfffd &&
           !(cp >= 0x2000 && cp <= 0x2bff) &&          /* punctuation, arrows, maths, shapes */
           !(cp >= 0x3000 && cp <= 0x303f) &&          /* CJK punctuation */
           !(cp >= 0xfe30 && cp <= 0xfe4f) && !(cp >= 0xff00 && cp <= 0xff0f) &&
           !(cp >= 0xff1a && cp <= 0xff20) && !(cp >= 0x1f000 && cp <= 0x1faff);   /* emoji */
}

static bool ends(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}

static bool vowel(char ch)
{
    return ch == 'a' || ch == 'e' || ch == 'i' || ch == 'o' || ch == 'u' || ch == 'y';
}

static bool has_vowel(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vowel(w[i]))
            return true;
    return false;
}

/* "resett" → "reset"; not l, s, z ("fall", "pass", "buzz" keep theirs). */
static size_t undouble(const char *w, size_t n)
{
    if (n >= 2 && w[n - 1] == w[n - 2] && !vowel(w[n - 1]) && w[n - 1] != 'l' &&
        w[n - 1] != 's' && w[n - 1] != 'z')
        return n - 1;
    return n;
}

/*
 * A light English stemmer for lower-case a-z words: plurals (Harman's
 * S-stemmer), then -ing and -ed when a vowel stays in the stem, then a
 * final -e, so "charge", "charges", "charged" and "charging" all meet at
 * "charg". Returns the new length.
 */
static size_t stem(char *w, size_t n)
{
    if (n <= 3)
        return n;
    if (ends(w, n, "ies") && !ends(w, n, "eies") && !ends(w, n, "aies")) {
        w[n - 3] = 'y';
        n -= 2;
    } else if (ends(w, n, "s") && !ends(w, n, "us") && !ends(w, n, "ss")) {
        n -= 1;                 /* Harman's "es" → "e" is the same cut */
    }
    if (n > 5 && ends(w, n, "ing") && has_vowel(w, n - 3))
        n = undouble(w, n - 3);
    else if (n > 4 && ends(w, n, "ed") && !ends(w, n, "eed") && has_vowel(w, n - 2))
        n = undouble(w, n - 2);
    if (n > 4 && w[n - 1] == 'e')
        n--;
    return n;
}

typedef void (*emit_fn)(void *ctx, const char *term, size_t len);

/* A finished word: drop it, or stem it and hand it on. */
static void word_done(char *w, size_t n, size_t chars, bool ascii, emit_fn emit, void *ctx)
{
    if (chars < 2 || n > TOKEN_MAX)
        return;
    w[n] = '\0';
    if (ascii) {
        if (is_stop(w))
            return;
        n = stem(w, n);
    }
    emit(ctx, w, n);
}

/* Split s into terms (see kb.h) and emit each. */
static void tokenize(const char *s, emit_fn emit, void *ctx)
{
    char w[TOKEN_MAX + 8];
    size_t n = 0, chars = 0;
    bool ascii = true;
    while (*s) {
        size_t len;
        uint32_t cp = fold_decode(s, &len);
        if (word_cp(cp)) {
            if (cp < 0x300 || cp > 0x36f) {         /* combining accents are dropped */
                uint32_t f = fold_search(cp);
                if (n + 4 <= TOKEN_MAX)
                    n += fold_encode(f, w + n);
                else
                    n = TOKEN_MAX + 1;              /* too long: dropped at its end */
                chars++;
                ascii = ascii && f >= 'a' && f <= 'z';
            }
            s += len;
            continue;
        }
        if ((cp == '\'' || cp == 0x2019) && n > 0 && s[len] != '\0') {
            size_t nl;
            if (word_cp(fold_decode(s + len, &nl))) {   /* inside a word: "don't" */
                s += len;
                continue;
            }
        }
        if (n > 0)
            word_done(w, n, chars, ascii, emit, ctx);
        n = chars = 0;
        ascii = true;
        s += len;
    }
    if (n > 0)
        word_done(w, n, chars, ascii, emit, ctx);
}

/* --- collecting terms ----------------------------------------------------------- */

/*
 * The distinct terms of some text, each with an id in order of first
 * appearance: a pool of their texts and an open-addressing hash table.
 * Interning as words arrive keeps building linear in the size of the text.
 */
struct vocab {
    struct buf pool;            /* the terms' texts, NUL-terminated */
    size_t *off;                /* per id: its text's offset in pool */
    size_t n, cap;
    uint32_t *slot;             /* id + 1 per slot, 0 = free; under half full */
    size_t nslots;              /* a power of two */
};

static uint32_t hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;           /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static const char *vocab_str(const struct vocab *v, uint32_t id)
{
    return v->pool.p + v->off[id];
}

static void vocab_grow(struct vocab *v)
{
    size_t nslots = v->nslots ? v->nslots * 2 : 1024;
    uint32_t *slot = mem_alloc(nslots * sizeof *slot);
    for (uint32_t id = 0; id < v->n; id++) {
        const char *s = vocab_str(v, id);
        size_t k = hash(s, strlen(s)) & (nslots - 1);
        while (slot[k] != 0)
            k = (k + 1) & (nslots - 1);
        slot[k] = id + 1;
    }
    mem_free(v->slot);
    v->slot = slot;
    v->nslots = nslots;
}

/* The id of term (len bytes), added if new. */
static uint32_t vocab_intern(struct vocab *v, const char *term, size_t len)
{
    if (2 * (v->n + 1) > v->nslots)
        vocab_grow(v);
    size_t k = hash(term, len) & (v->nslots - 1);
    for (; v->slot[k] != 0; k = (k + 1) & (v->nslots - 1)) {
        const char *s = vocab_str(v, v->slot[k] - 1);
        if (strncmp(s, term, len) == 0 && s[len] == '\0')
            return v->slot[k] - 1;
    }
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->off = mem_realloc(v->off, v->cap * sizeof *v->off);
    }
    v->off[v->n] = v->pool.len;
    (void)buf_append(&v->pool, term, len);
    (void)buf_putc(&v->pool, '\0');
    v->slot[k] = (uint32_t)v->n + 1;
    return (uint32_t)v->n++;
}

static void vocab_release(struct vocab *v)
{
    buf_release(&v->pool);
    mem_free(v->off);
    mem_free(v->slot);
}

static void vocab_term(void *ctx, const char *term, size_t len)
{
    (void)vocab_intern(ctx, term, len);
}

/* One occurrence of a term in an article's field, in article order. */
struct hit {
    uint32_t term;
    uint32_t doc;
    uint8_t field;
};

struct collect {
    struct vocab v;
    struct hit *h;
    size_t n, cap;
    uint32_t doc;
    uint8_t field;
    uint32_t *len;              /* terms per (doc, field) */
};

static void collect_term(void *ctx, const char *term, size_t len)
{
    struct collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->h = mem_realloc(c->h, c->cap * sizeof *c->h);
    }
    c->h[c->n++] = (struct hit){
        .term = vocab_intern(&c->v, term, len), .doc = c->doc, .field = c->field,
    };
    c->len[c->doc * NFIELDS + c->field]++;
}

static void collect_text(struct collect *c, const char *text, uint32_t doc, uint8_t field)
{
    c->doc = doc;
    c->field = field;
    if (text != NULL)
        tokenize(text, collect_term, c);
}

/* --- the index ------------------------------------------------------------------ */

struct by_text {
    const char *s;
    uint32_t id;
};

static int cmp_text(const void *x, const void *y)
{
    return strcmp(((const struct by_text *)x)->s, ((const struct by_text *)y)->s);
}

/*
 * The sorted vocabulary and the postings from the collected hits: document
 * frequencies first, then each term's postings laid out in article order
 * (the order the hits come in).
 */
static void build_terms(struct kb_index *ix, struct collect *c)
{
    size_t nt = c->v.n, npost = 0;
    struct by_text *order = mem_alloc((nt + 1) * sizeof *order);
    uint32_t *rank = mem_alloc((nt + 1) * sizeof *rank);
    uint32_t *last = mem_alloc((nt + 1) * sizeof *last);
    uint32_t *next = mem_alloc((nt + 1) * sizeof *next);
    ix->terms = mem_alloc((nt + 1) * sizeof *ix->terms);
    ix->nterms = nt;
    for (uint32_t id = 0; id < nt; id++)
        order[id] = (struct by_text){ .s = vocab_str(&c->v, id), .id = id };
    if (nt > 1)
        qsort(order, nt, sizeof *order, cmp_text);
    for (uint32_t r = 0; r < nt; r++) {
        rank[order[r].id] = r;
        ix->terms[r].off = c->v.off[order[r].id];
        last[r] = UINT32_MAX;
    }
    for (size_t i = 0; i < c->n; i++) {
        uint32_t r = rank[c->h[i].term];
        if (last[r] != c->h[i].doc) {
            last[r] = c->h[i].doc;
            ix->terms[r].df++;
            npost++;
        }
    }
    ix->post = mem_alloc((npost + 1) * sizeof *ix->post);
    for (uint32_t r = 0, at = 0; r < nt; r++) {
        ix->terms[r].first = at;
        next[r] = at;
        at += ix->terms[r].df;
        last[r] = UINT32_MAX;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct hit *h = &c->h[i];
        uint32_t r = rank[h->term];
        if (last[r] != h->doc) {
            last[r] = h->doc;
            ix->post[next[r]++].doc = h->doc;
        }
        struct posting *p = &ix->post[next[r] - 1];
        if (p->tf[h->field] < UINT16_MAX)
            p->tf[h->field]++;
    }
    mem_free(order);
    mem_free(rank);
    mem_free(last);
    mem_free(next);
    ix->strings = buf_detach(&c->v.pool);
    /* Lucene's BM25 idf (never negative), scaled so the rarest term is 1 */
    double n = (double)ix->n, top = log(1.0 + (n - 1.0 + 0.5) / (1.0 + 0.5));
    for (size_t i = 0; i < ix->nterms; i++) {
        double df = ix->terms[i].df;
        ix->terms[i].idf = log(1.0 + (n - df + 0.5) / (df + 0.5)) / top;
    }
}

int kb_index_new(const struct cfg_kb_article *articles, size_t n, double min_score,
                 struct kb_index **out, struct err *e)
{
    *out = NULL;
    if (!(min_score >= 0))
        return err_set(e, ERR_INVAL, "kb min_score must not be negative");
    if (n > UINT32_MAX / NFIELDS)
        return err_set(e, ERR_INVAL, "too many kb articles (%zu)", n);
    struct kb_index *ix = mem_alloc(sizeof *ix);
    ix->n = n;
    ix->min_score = min_score;
    ix->a = mem_alloc((n + 1) * sizeof *ix->a);
    struct collect c = { .len = mem_alloc((n + 1) * NFIELDS * sizeof *c.len) };
    buf_init(&c.v.pool, 0);
    for (size_t i = 0; i < n; i++) {
        const struct cfg_kb_article *src = &articles[i];
        struct article *a = &ix->a[i];
        a->id = mem_strdup(src->id);
        a->title = mem_strdup(src->title);
        a->url = mem_strdup(src->url);
        collect_text(&c, src->title, (uint32_t)i, F_TITLE);
        for (size_t k = 0; k < src->nkeywords; k++)
            collect_text(&c, src->keywords[k], (uint32_t)i, F_KEYWORDS);
        collect_text(&c, src->body, (uint32_t)i, F_BODY);
    }
    for (int f = 0; f < NFIELDS; f++) {
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            ix->a[i].len[f] = c.len[i * NFIELDS + (size_t)f];
            total += ix->a[i].len[f];
        }
        ix->avg[f] = n > 0 && total > 0 ? total / (double)n : 1.0;
        for (size_t i = 0; i < n; i++)
            ix->a[i].wn[f] = weight[f] / (1.0 - B + B * ix->a[i].len[f] / ix->avg[f]);
    }
    build_terms(ix, &c);
    vocab_release(&c.v);
    mem_free(c.h);
    mem_free(c.len);
    *out = ix;
    return 0;
}

int kb_index_from_cfg(const struct cfg *c, struct kb_index **out, struct err *e)
{
    return kb_index_new(c->kb, c->nkb, c->kb_min_score, out, e);
}

void kb_index_free(struct kb_index **ip)
{
    if (ip == NULL || *ip == NULL)
        return;
    struct kb_index *ix = *ip;
    *ip = NULL;
    for (size_t i = 0; i < ix->n; i++) {
        mem_free(ix->a[i].id);
        mem_free(ix->a[i].title);
        mem_free(ix->a[i].url);
    }
    mem_free(ix->a);
    mem_free(ix->terms);
    mem_free(ix->post);
    mem_free(ix->strings);
    mem_free(ix);
}

size_t kb_index_articles(const struct kb_index *ix)
{
    return ix != NULL ? ix->n : 0;
}

size_t kb_index_terms(const struct kb_index *ix)
{
    return ix != NULL ? ix->nterms : 0;
}

/* --- searching ------------------------------------------------------------------ */

static const struct term *find_term(const struct kb_index *ix, const char *s)
{
    size_t lo = 0, hi = ix->nterms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s, ix->strings + ix->terms[mid].off);
        if (c == 0)
            return &ix->terms[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* BM25F: field frequencies weighted and length-normalised, then saturated once. */
static double term_score(const struct kb_index *ix, const struct term *t, const struct posting *p)
{
    const struct article *a = &ix->a[p->doc];
    double tf = 0;
    for (int f = 0; f < NFIELDS; f++)
        tf += a->wn[f] * p->tf[f];
    return t->idf * tf / (K1 + tf);
}

struct ranked {
    uint32_t doc;
    double score;
    const char *id;
};

/* a ranks before b: higher score, then smaller id. */
static bool before(const struct ranked *a, const struct ranked *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    return strcmp(a->id, b->id) < 0;
}

size_t kb_suggest(const struct kb_index *ix, const char *const *texts, size_t n, size_t k,
                  struct kb_hit *out)
{
    if (ix == NULL || ix->n == 0 || k == 0)
        return 0;
    struct vocab q = {0};               /* each distinct term once, first seen first */
    buf_init(&q.pool, 0);
    for (size_t i = 0; i < n; i++)
        if (texts[i] != NULL)
            tokenize(texts[i], vocab_term, &q);
    double *score = mem_alloc(ix->n * sizeof *score);
    for (uint32_t id = 0; id < q.n; id++) {
        const struct term *t = find_term(ix, vocab_str(&q, id));
        for (uint32_t j = 0; t != NULL && j < t->df; j++) {
            const struct posting *p = &ix->post[t->first + j];
            score[p->doc] += term_score(ix, t, p);
        }
    }
    vocab_release(&q);
    /* the best k, kept in order by insertion: k is small, the articles many */
    struct ranked *r = mem_alloc((k + 1) * sizeof *r);
    size_t nr = 0;
    for (size_t i = 0; i < ix->n; i++) {
        if (!(score[i] > 0 && score[i] >= ix->min_score))
            continue;
        struct ranked c = { .doc = (uint32_t)i, .score = score[i], .id = ix->a[i].id };
        size_t at = nr < k ? nr : k;
        while (at > 0 && before(&c, &r[at - 1]))
            at--;
        if (at >= k)
            continue;
        memmove(&r[at + 1], &r[at], ((nr < k ? nr : k - 1) - at) * sizeof *r);
        r[at] = c;
        if (nr < k)
            nr++;
    }
    while (nr > 1 && r[nr - 1].score < KB_RELATIVE * r[0].score)
        nr--;
    size_t m = nr;
    for (size_t i = 0; i < m; i++) {
        const struct article *a = &ix->a[r[i].doc];
        out[i] = (struct kb_hit){ .id = a->id, .title = a->title, .url = a->url,
                                  .score = r[i].score };
    }
    mem_free(r);
    mem_free(score);
    return m;
}

/* --- terms, for tests and explanations ---------------------------------------------- */

struct arena_terms {
    struct arena *a;
    const char **v;
    size_t n, cap;
};

static void arena_term(void *ctx, const char *term, size_t len)
{
    struct arena_terms *t = ctx;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        const char **v = arena_alloc(t->a, cap * sizeof *v);
        if (v == NULL)
            return;                     /* the arena is exhausted: reported by the caller */
        if (t->n > 0)
            memcpy(v, t->v, t->n * sizeof *v);
        t->v = v;
        t->cap = cap;
    }
    const char *s = arena_strndup(t->a, term, len);
    if (s != NULL)
        t->v[t->n++] = s;
}

int kb_terms(const char *text, struct arena *a, const char ***out, size_t *n, struct err *e)
{
    struct arena_terms t = { .a = a };
    tokenize(text ? text : "", arena_term, &t);
    if (a->exhausted)
        return err_set(e, ERR_TOOBIG, "out of request memory splitting text into terms");
    *out = t.v;
    *n = t.n;
    return 0;
}
