/*
 * tz.c — TZif files and POSIX TZ rules → one table of offset changes.
 *
 * A TZif file (RFC 8536) holds explicit transitions and, in its version 2+
 * footer, a POSIX TZ string that describes every later year. Both become one
 * sorted array of (UTC second, offset) pairs: the explicit transitions as
 * read, then the footer rule expanded year by year up to TZ_RULE_LAST_YEAR.
 * Consecutive entries with the same offset are merged (a change of name or
 * of the DST flag alone does not move the clock). Only the 64-bit data of
 * version 2+ files is read; version 1 files and leap-second ("right/")
 * zones are refused rather than half-understood.
 */
#include "base/tz.h"
#include "base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TZ_FILE_MAX (1u << 20)           /* TZif files are a few KiB */
#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"
#define RFC_UTOFF_MIN (-89999)           /* RFC 8536 3.2: utoff range */
#define RFC_UTOFF_MAX 93599
#define SEARCH_WINDOW_S (27 * 3600)      /* wider than any offset */

struct tz {
    char *name;          /* owned */
    int32_t first_off;   /* seconds east, before the first transition */
    size_t n;
    int64_t *at;         /* owned: UTC seconds, strictly ascending */
    int32_t *off;        /* owned: seconds east in effect from at[i] on */
};

/* --- civil calendar (H. Hinnant's algorithms) --------------------------------- */

int64_t tz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int tz_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7;         /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_month_days(int64_t y, int m)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12)
        return 0;
    return len[m - 1] + (m == 2 && leap(y));
}

/* --- the table ---------------------------------------------------------------- */

/* Append a change; ignored when it does not change the offset. An entry at
 * the same instant as the last one replaces it (the later rule wins). */
static void push(struct tz *z, size_t *cap, int64_t at, int32_t off)
{
    if (z->n > 0 && z->at[z->n - 1] == at) {
        z->n--;
    }
    int32_t cur = z->n > 0 ? z->off[z->n - 1] : z->first_off;
    if (off == cur)
        return;
    if (z->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        z->at = mem_realloc(z->at, *cap * sizeof *z->at);
        z->off = mem_realloc(z->off, *cap * sizeof *z->off);
    }
    z->at[z->n] = at;
    z->off[z->n] = off;
    z->n++;
}

/* Number of transitions at or before UTC second s: the index of the
 * segment that holds s (segment 0 is before the first transition). */
static size_t segment(const struct tz *z, int64_t s)
{
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int32_t seg_off(const struct tz *z, size_t j)
{
    return j == 0 ? z->first_off : z->off[j - 1];
}

const char *tz_name(const struct tz *z)
{
    return z->name;
}

int64_t tz_offset_at(const struct tz *z, int64_t utc_ms)
{
    return (int64_t)seg_off(z, segment(z, tz_floor_div(utc_ms, 1000))) * 1000;
}

int64_t tz_to_local(const struct tz *z, int64_t utc_ms)
{
    return utc_ms + tz_offset_at(z, utc_ms);
}

/* Whether UTC ms u lies in segment j. Compared in seconds: transitions are
 * whole seconds, and far-past sentinels would overflow as milliseconds. */
static bool in_segment(const struct tz *z, size_t j, int64_t u)
{
    int64_t s = tz_floor_div(u, 1000);
    return (j == 0 || z->at[j - 1] <= s) && (j == z->n || s < z->at[j]);
}

int64_t tz_to_utc(const struct tz *z, int64_t local_ms)
{
    int64_t ls = tz_floor_div(local_ms, 1000);
    size_t first = segment(z, ls - SEARCH_WINDOW_S);
    size_t last = segment(z, ls + SEARCH_WINDOW_S);
    int64_t best = INT64_MAX;
    for (size_t j = first; j <= last; j++) {
        int64_t u = local_ms - (int64_t)seg_off(z, j) * 1000;
        if (in_segment(z, j, u) && u < best)
            best = u;
    }
    if (best != INT64_MAX)
        return best;
    /* In a gap: read the wall time with the offset before the change,
     * which lands the same distance past the change. */
    for (size_t j = first + 1; j <= last; j++) {
        int64_t before = local_ms - (int64_t)seg_off(z, j - 1) * 1000;
        if (in_segment(z, j, before))
            return before;
    }
    return local_ms - tz_offset_at(z, local_ms);     /* not reached for sane data */
}

void tz_free(struct tz **zp)
{
    if (zp == NULL || *zp == NULL)
        return;
    struct tz *z = *zp;
    mem_free(z->name);
    mem_free(z->at);
    mem_free(z->off);
    mem_free(z);
    *zp = NULL;
}

/* --- POSIX TZ strings ----------------------------------------------------------- */

struct rule_date {
    char kind;           /* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' (month.week.day) */
    int a, b, c;         /* J/D: day; M: month, week (5 = last), weekday */
    int32_t secs;        /* local time of the change, -167h..167h */
};

struct posix {
    int32_t std_off;     /* seconds east */
    int32_t dst_off;
    bool has_dst;
    struct rule_date start, end;   /* to DST, back to standard */
};

static bool parse_name(const char **pp)
{
    const char *p = *pp;
    size_t n = 0;
    if (*p == '<') {
        p++;
        while (isalnum((unsigned char)p[n]) || p[n] == '+' || p[n] == '-')
            n++;
        if (p[n] != '>' || n < 3)
            return false;
        *pp = p + n + 1;
        return true;
    }
    while (isalpha((unsigned char)p[n]))
        n++;
    if (n < 3)
        return false;
    *pp = p + n;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; seconds in *out (sign applied). */
static bool parse_hms(const char **pp, int max_h, int32_t *out)
{
    const char *p = *pp;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int part[3] = { 0, 0, 0 };
    for (int k = 0; k < 3; k++) {
        if (k > 0) {
            if (*p != ':')
                break;
            p++;
        }
        int digits = 0, v = 0;
        while (isdigit((unsigned char)*p) && digits < 3) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0 || (k > 0 && (digits != 2 || v > 59)))
            return false;
        part[k] = v;
    }
    if (part[0] > max_h)
        return false;
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    *pp = p;
    return true;
}

static bool parse_int_in(const char **pp, int lo, int hi, int *out)
{
    const char *p = *pp;
    int v = 0, digits = 0;
    while (isdigit((unsigned char)*p) && digits < 4) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || v < lo || v > hi)
        return false;
    *out = v;
    *pp = p;
    return true;
}

static bool parse_rule_date(const char **pp, struct rule_date *r)
{
    const char *p = *pp;
    bool ok;
    if (*p == 'J') {
        p++;
        r->kind = 'J';
        ok = parse_int_in(&p, 1, 365, &r->a);
    } else if (*p == 'M') {
        p++;
        r->kind = 'M';
        ok = parse_int_in(&p, 1, 12, &r->a) && *p++ == '.' &&
             parse_int_in(&p, 1, 5, &r->b) && *p++ == '.' &&
             parse_int_in(&p, 0, 6, &r->c);
    } else {
        r->kind = 'D';
        ok = parse_int_in(&p, 0, 365, &r->a);
    }
    if (!ok)
        return false;
    r->secs = 2 * 3600;
    if (*p == '/') {
        p++;
        if (!parse_hms(&p, 167, &r->secs))
            return false;
    }
    *pp = p;
    return true;
}

static int posix_parse(const char *spec, struct posix *x, struct err *e)
{
    const char *p = spec;
    int32_t west;
    memset(x, 0, sizeof *x);
    if (!parse_name(&p) || !parse_hms(&p, 24, &west))
        return err_set(e, ERR_INVAL, "invalid TZ string '%s': expected a zone name and "
                       "an offset, e.g. CET-1", spec);
    x->std_off = -west;
    if (*p == '\0')
        return 0;
    if (!parse_name(&p))
        return err_set(e, ERR_INVAL, "invalid TZ string '%s': bad daylight-saving name", spec);
    x->has_dst = true;
    x->dst_off = x->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (!parse_hms(&p, 24, &west))
            return err_set(e, ERR_INVAL, "invalid TZ string '%s': bad daylight-saving offset",
                           spec);
        x->dst_off = -west;
    }
    if (*p != ',')
        return err_set(e, ERR_INVAL, "invalid TZ string '%s': daylight saving without "
                       "rules (',start,end') is not supported", spec);
    p++;
    if (!parse_rule_date(&p, &x->start) || *p++ != ',' || !parse_rule_date(&p, &x->end) ||
        *p != '\0')
        return err_set(e, ERR_INVAL, "invalid TZ string '%s': bad transition rule", spec);
    return 0;
}

/* The day (since the epoch) on which rule date r falls in year y. */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    switch (r->kind) {
    case 'J':
        return jan1 + r->a - 1 + (leap(y) && r->a >= 60);
    case 'D':
        return jan1 + r->a;
    default: {
        int64_t first = tz_days_from_civil(y, r->a, 1);
        int64_t day = first + (r->c - tz_weekday(first) + 7) % 7 + (int64_t)(r->b - 1) * 7;
        while (day >= first + tz_month_days(y, r->a))
            day -= 7;
        return day;
    }
    }
}

struct change {
    int64_t at;
    int32_t off;
    int seq;             /* generation order: ties keep it */
};

static int change_cmp(const void *a, const void *b)
{
    const struct change *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq - y->seq;
}

/* Append the rule's changes for years from..TZ_RULE_LAST_YEAR that come
 * after UTC second `after`. */
static void expand(struct tz *z, size_t *cap, const struct posix *x, int64_t from,
                   int64_t after)
{
    if (!x->has_dst)
        return;             /* the offset of the last transition (or std) holds */
    if (from < 1800)
        from = 1800;
    if (from > TZ_RULE_LAST_YEAR)
        return;
    size_t count = (size_t)(TZ_RULE_LAST_YEAR - from + 1) * 2;
    struct change *c = mem_alloc(count * sizeof *c);
    size_t k = 0;
    for (int64_t y = from; y <= TZ_RULE_LAST_YEAR; y++) {
        c[k] = (struct change){ rule_day(&x->start, y) * 86400 + x->start.secs - x->std_off,
                                x->dst_off, (int)k };
        k++;
        c[k] = (struct change){ rule_day(&x->end, y) * 86400 + x->end.secs - x->dst_off,
                                x->std_off, (int)k };
        k++;
    }
    qsort(c, k, sizeof *c, change_cmp);
    for (size_t i = 0; i < k; i++)
        if (c[i].at > after)
            push(z, cap, c[i].at, c[i].off);
    mem_free(c);
}

int tz_from_posix(const char *spec, struct tz **out, struct err *e)
{
    struct posix x;
    *out = NULL;
    int rc = posix_parse(spec, &x, e);
    if (rc)
        return rc;
    struct tz *z = mem_alloc(sizeof *z);
    size_t cap = 0;
    z->name = mem_strdup(spec);
    z->first_off = x.std_off;
    expand(z, &cap, &x, 1800, INT64_MIN);
    *out = z;
    return 0;
}

/* --- TZif ------------------------------------------------------------------------ */

struct hdr {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool read_hdr(const unsigned char *p, size_t len, struct hdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    h->version = (char)p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return true;
}

/* Bytes of a data block with times of `tsize` bytes; 0 when absurd. */
static size_t block_len(const struct hdr *h, size_t tsize)
{
    if (h->timecnt > 100000 || h->typecnt > 256 || h->charcnt > 100000 ||
        h->leapcnt > 100000 || h->isstdcnt > 256 || h->isutcnt > 256)
        return 0;
    return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int bad(struct err *e, const char *name, const char *why)
{
    return err_set(e, ERR_INVAL, "time zone '%s': %s", name, why);
}

int tz_parse(const char *name, const void *data, size_t len, struct tz **out, struct err *e)
{
    const unsigned char *p = data;
    struct hdr h1, h;
    *out = NULL;
    if (!read_hdr(p, len, &h1))
        return bad(e, name, "not a TZif file");
    if (h1.version == '\0')
        return bad(e, name, "TZif version 1 file (no 64-bit data); version 2 or later "
                   "is required (update tzdata)");
    size_t v1 = block_len(&h1, 4);
    if (v1 == 0 || 44 + v1 > len)
        return bad(e, name, "truncated TZif file");
    p += 44 + v1;
    len -= 44 + v1;
    if (!read_hdr(p, len, &h) || h.version == '\0')
        return bad(e, name, "corrupt TZif file (no version 2 header)");
    if (h.leapcnt > 0)
        return bad(e, name, "the zone counts leap seconds (a \"right/\" zone); use the "
                   "zone without the prefix");
    if (h.typecnt == 0 || h.charcnt == 0 ||
        (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) ||
        (h.isutcnt != 0 && h.isutcnt != h.typecnt))
        return bad(e, name, "corrupt TZif file (inconsistent counts)");
    size_t v2 = block_len(&h, 8);
    if (v2 == 0 || 44 + v2 > len)
        return bad(e, name, "truncated TZif file");
    const unsigned char *times = p + 44;
    const unsigned char *idx = times + (size_t)h.timecnt * 8;
    const unsigned char *types = idx + h.timecnt;
    const unsigned char *foot = p + 44 + v2;
    size_t footlen = len - 44 - v2;

    for (uint32_t i = 0; i < h.typecnt; i++) {
        int32_t off = (int32_t)be32(types + (size_t)i * 6);
        if (off < RFC_UTOFF_MIN || off > RFC_UTOFF_MAX || types[i * 6 + 5] >= h.charcnt)
            return bad(e, name, "corrupt TZif file (bad local time type)");
    }

    /* The footer: "\n" TZ-string "\n" (the string may be empty). */
    char spec[128] = "";
    if (footlen > 0) {
        const unsigned char *nl = footlen > 1 ? memchr(foot + 1, '\n', footlen - 1) : NULL;
        size_t sl = nl ? (size_t)(nl - foot - 1) : 0;
        if (foot[0] != '\n' || nl == NULL || sl >= sizeof spec)
            return bad(e, name, "corrupt TZif footer");
        memcpy(spec, foot + 1, sl);
        spec[sl] = '\0';
    }
    struct posix x = { 0 };
    if (spec[0] != '\0' && posix_parse(spec, &x, e) != 0)
        return ERR_INVAL;

    struct tz *z = mem_alloc(sizeof *z);
    size_t cap = 0;
    z->name = mem_strdup(name);
    z->first_off = (int32_t)be32(types);      /* RFC 8536: type 0 before the first */
    int64_t prev = INT64_MIN;
    for (uint32_t i = 0; i < h.timecnt; i++) {
        int64_t at = be64(times + (size_t)i * 8);
        if (i > 0 && at <= prev) {
            tz_free(&z);
            return bad(e, name, "corrupt TZif file (transitions out of order)");
        }
        if (idx[i] >= h.typecnt) {
            tz_free(&z);
            return bad(e, name, "corrupt TZif file (bad transition type)");
        }
        push(z, &cap, at, (int32_t)be32(types + (size_t)idx[i] * 6));
        prev = at;
    }
    if (spec[0] != '\0') {
        int64_t from = 1800;
        if (h.timecnt > 0) {
            int64_t y;
            int m, d;
            tz_civil_from_days(tz_floor_div(prev, 86400), &y, &m, &d);
            from = y;
        }
        expand(z, &cap, &x, from, h.timecnt > 0 ? prev : INT64_MIN);
    }
    *out = z;
    return 0;
}

/* A relative path of [A-Za-z0-9._+-] components, none of them "." or "..". */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TZ_NAME_MAX || s[0] == '/' || s[n - 1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(isalnum((unsigned char)c) || strchr("._+-/", c)))
            return false;
        bool start = i == 0 || s[i - 1] == '/';
        if (start && c == '.')
            return false;                   /* ".", "..", hidden files */
        if (c == '/' && s[i + 1] == '/')
            return false;
    }
    return true;
}

int tz_load(const char *name, struct tz **out, struct err *e)
{
    *out = NULL;
    if (name == NULL || !name_ok(name))
        return err_set(e, ERR_NOTFOUND, "unknown time zone '%s'", name ? name : "");
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = TZ_DIR_DEFAULT;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int err = errno;
        if (access(dir, F_OK) != 0)
            return err_set(e, ERR_NOTFOUND, "unknown time zone '%s': no time zone database "
                           "in %s (install the tzdata package)", name, dir);
        if (err == ENOENT || err == ENOTDIR)
            return err_set(e, ERR_NOTFOUND, "unknown time zone '%s'", name);
        return err_set(e, ERR_IO, "time zone '%s': cannot open %s: %s", name, path,
                       strerror(err));
    }
    unsigned char *buf = mem_alloc(TZ_FILE_MAX);
    size_t len = fread(buf, 1, TZ_FILE_MAX, f);
    int rc;
    if (ferror(f)) {
        /* a directory such as "Europe" opens but cannot be read */
        rc = errno == EISDIR ? err_set(e, ERR_NOTFOUND, "unknown time zone '%s'", name)
                             : err_set(e, ERR_IO, "time zone '%s': cannot read %s: %s",
                                       name, path, strerror(errno));
    } else if (len == TZ_FILE_MAX) {
        rc = bad(e, name, "file too large for a TZif file");
    } else if (len < 4 || memcmp(buf, "TZif", 4) != 0) {
        rc = err_set(e, ERR_NOTFOUND, "unknown time zone '%s' (%s is not a TZif file)",
                     name, path);
    } else {
        rc = tz_parse(name, buf, len, out, e);
    }
    mem_free(buf);
    fclose(f);
    return rc;
}
