/*
 * test_store.c — the store API against a real SQLite file.
 *
 * Every test gets a fresh directory from mkdtemp under /tmp with one
 * database in it, opened read-write (which applies the embedded
 * migrations); tests that need more connections open them on the same
 * file. The directory is removed afterwards.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "desk/sla.h"
#include "store/migrate.h"
#include "store/store.h"

/*
 * To fake a database written by a newer binary the test writes the file
 * behind the store's back. Only store_sqlite.c may include sqlite3.h, so
 * the three calls needed are declared here (same signatures as sqlite3.h).
 */
struct sqlite3;
int sqlite3_open(const char *filename, struct sqlite3 **db);
int sqlite3_exec(struct sqlite3 *db, const char *sql,
                 int (*cb)(void *, int, char **, char **), void *arg, char **errmsg);
int sqlite3_close(struct sqlite3 *db);

static char dir[64];
static char path[128];
static struct cfg_store cfg;
static struct store *s;        /* the RW connection of the test */
static struct arena *a;
static struct err e;

static void open_rw(void)
{
    err_clear(&e);
    int rc = store_open(&cfg, STORE_RW, &s, &e);
    cr_assert_eq(rc, 0, "open: %s", e.msg);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tgcrm-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/test.db", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.driver = "sqlite";
    cfg.path = path;
    cfg.synchronous = "normal";
    cfg.busy_timeout_ms = 2000;
    cfg.read_connections = 2;
    a = arena_new(0);
    open_rw();
}

static void teardown(void)
{
    store_close(&s);
    arena_free(&a);
    char p[160];
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------------ */

#define OK(call)                                                         \
    do {                                                                 \
        err_clear(&e);                                                   \
        int rc_ = (call);                                                \
        cr_assert_eq(rc_, 0, "%s: %s (%s)", #call, e.msg, err_name(rc_)); \
    } while (0)

#define FAILS(code, call)                                                \
    do {                                                                 \
        err_clear(&e);                                                   \
        int rc_ = (call);                                                \
        cr_assert_eq(rc_, (code), "%s: got %s (%s), want %s", #call,     \
                     err_name(rc_), e.msg, err_name(code));              \
    } while (0)

static int64_t add_customer(int64_t tg_user_id)
{
    struct customer c = {.tg_user_id = tg_user_id, .first_name = "Ann",
                         .tier = "standard", .created_at = 1000};
    OK(store_customer_insert(s, &c, &e));
    return c.id;
}

static int64_t add_ticket(int64_t customer_id, enum ticket_status status,
                          const char *group, const char *assignee, int64_t created_at)
{
    struct ticket t = {.customer_id = customer_id, .status = status,
                       .priority = PRIORITY_NORMAL, .group = group,
                       .assignee = assignee, .subject = "help",
                       .created_at = created_at, .updated_at = created_at};
    OK(store_ticket_insert(s, &t, &e));
    return t.id;
}

static int latest_migration(void)
{
    int v = 0;
    for (int i = 0; i < store_migrations_count; i++)
        if (store_migrations[i].version > v)
            v = store_migrations[i].version;
    return v;
}

/* ---- lifecycle and schema --------------------------------------------------------- */

Test(store, migrations_applied_and_version_reported)
{
    cr_assert_gt(store_migrations_count, 0);
    int v = -1;
    OK(store_schema_version(s, &v, &e));
    cr_assert_eq(v, latest_migration());
    cr_assert_geq(v, 1);
}

Test(store, reopen_keeps_data_and_does_not_migrate_again)
{
    int64_t cid = add_customer(42);
    OK(store_meta_set(s, "tg_offset", "1234", &e));
    store_close(&s);

    open_rw();
    struct customer *c;
    OK(store_customer_get(s, cid, a, &c, &e));
    cr_assert_eq(c->tg_user_id, 42);
    const char *v;
    OK(store_meta_get(s, "tg_offset", a, &v, &e));
    cr_assert_str_eq(v, "1234");
    int ver;
    OK(store_schema_version(s, &ver, &e));
    cr_assert_eq(ver, latest_migration());

    /* read-only after everything was closed (no -wal/-shm files left) */
    store_close(&s);
    struct store *ro;
    OK(store_open(&cfg, STORE_RO, &ro, &e));
    OK(store_customer_get_by_tg(ro, 42, a, &c, &e));
    cr_assert_eq(c->id, cid);
    store_close(&ro);
    open_rw();   /* teardown closes s */
}

Test(store, newer_schema_is_refused)
{
    store_close(&s);
    struct sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), 0);
    cr_assert_eq(sqlite3_exec(db, "INSERT INTO schema_version (version, name) "
                                  "VALUES (999, 'future')", NULL, NULL, NULL), 0);
    sqlite3_close(db);

    FAILS(ERR_SCHEMA, store_open(&cfg, STORE_RW, &s, &e));
    cr_assert_null(s);
    char want[128];
    snprintf(want, sizeof want, "database schema version 999 is newer than this binary (%d)",
             latest_migration());
    cr_assert_str_eq(e.msg, want);

    struct store *ro = NULL;
    FAILS(ERR_SCHEMA, store_open(&cfg, STORE_RO, &ro, &e));
    cr_assert_null(ro);
}

Test(store, failed_migration_is_rolled_back_and_reported)
{
    OK(store_meta_set(s, "k", "v", &e));
    store_close(&s);
    /* forget the version: 001 runs again and fails on the existing tables */
    struct sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), 0);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE saved_versions AS SELECT * FROM schema_version;"
                                  "DELETE FROM schema_version", NULL, NULL, NULL), 0);
    sqlite3_close(db);

    FAILS(ERR_DB, store_open(&cfg, STORE_RW, &s, &e));
    cr_assert_null(s);
    cr_assert(strstr(e.msg, "migration 001_init: ") == e.msg, "%s", e.msg);
    struct store *ro = NULL;
    FAILS(ERR_SCHEMA, store_open(&cfg, STORE_RO, &ro, &e));   /* version 0 */

    /* nothing of the failed attempt remains: restore the rows and the data is there */
    cr_assert_eq(sqlite3_open(path, &db), 0);
    cr_assert_eq(sqlite3_exec(db, "INSERT INTO schema_version SELECT * FROM saved_versions",
                              NULL, NULL, NULL), 0);
    sqlite3_close(db);
    open_rw();
    const char *v;
    OK(store_meta_get(s, "k", a, &v, &e));
    cr_assert_str_eq(v, "v");
}

Test(store, read_only_needs_a_migrated_database)
{
    struct cfg_store c2 = cfg;
    char other[160];
    snprintf(other, sizeof other, "%s/missing.db", dir);
    c2.path = other;
    struct store *ro = NULL;
    FAILS(ERR_SCHEMA, store_open(&c2, STORE_RO, &ro, &e));
    cr_assert_null(ro);
    unlink(other);
}

Test(store, read_only_handle_cannot_write)
{
    struct store *ro;
    OK(store_open(&cfg, STORE_RO, &ro, &e));
    err_clear(&e);
    int rc = store_meta_set(ro, "k", "v", &e);
    cr_assert(rc == ERR_DB || rc == ERR_BUSY, "got %s", err_name(rc));
    cr_assert_neq(e.msg[0], '\0');
    struct customer c = {.tg_user_id = 7, .first_name = "x", .tier = "vip"};
    err_clear(&e);
    cr_assert_lt(store_customer_insert(ro, &c, &e), 0);
    /* the RW connection is unaffected and the RO one sees its commits */
    OK(store_meta_set(s, "k", "v", &e));
    const char *v;
    OK(store_meta_get(ro, "k", a, &v, &e));
    cr_assert_str_eq(v, "v");
    store_close(&ro);
}

Test(store, driver_and_config_errors)
{
    struct cfg_store c2 = cfg;
    struct store *x = NULL;
    c2.driver = "postgres";
    FAILS(ERR_CONFIG, store_open(&c2, STORE_RW, &x, &e));
    cr_assert_str_eq(e.msg, "postgres backend not built yet");
    c2.driver = "mysql";
    FAILS(ERR_CONFIG, store_open(&c2, STORE_RW, &x, &e));
    c2.driver = "sqlite";
    c2.synchronous = "sometimes";
    FAILS(ERR_CONFIG, store_open(&c2, STORE_RW, &x, &e));
    cr_assert_null(x);
}

/* ---- meta -------------------------------------------------------------------------- */

Test(store, meta_get_set)
{
    const char *v;
    FAILS(ERR_NOTFOUND, store_meta_get(s, "nope", a, &v, &e));
    OK(store_meta_set(s, "a", "1", &e));
    OK(store_meta_set(s, "a", "2", &e));
    OK(store_meta_get(s, "a", a, &v, &e));
    cr_assert_str_eq(v, "2");
}

/* ---- customers ----------------------------------------------------------------------- */

Test(store, customer_insert_get_update)
{
    struct customer c = {.tg_user_id = 1001, .first_name = "Анна", .last_name = NULL,
                         .username = "anna", .language = "ru", .tier = "vip",
                         .blocked = false, .created_at = 5000};
    OK(store_customer_insert(s, &c, &e));
    cr_assert_gt(c.id, 0);

    struct customer *g;
    OK(store_customer_get(s, c.id, a, &g, &e));
    cr_assert_eq(g->tg_user_id, 1001);
    cr_assert_str_eq(g->first_name, "Анна");
    cr_assert_null(g->last_name);
    cr_assert_str_eq(g->username, "anna");
    cr_assert_str_eq(g->language, "ru");
    cr_assert_str_eq(g->tier, "vip");
    cr_assert_not(g->blocked);
    cr_assert_eq(g->created_at, 5000);

    OK(store_customer_get_by_tg(s, 1001, a, &g, &e));
    cr_assert_eq(g->id, c.id);

    struct customer dup = {.tg_user_id = 1001, .first_name = "Other", .tier = "standard"};
    FAILS(ERR_CONFLICT, store_customer_insert(s, &dup, &e));
    cr_assert_str_eq(e.msg, "customer with tg_user_id 1001 exists");

    FAILS(ERR_NOTFOUND, store_customer_get(s, 999999, a, &g, &e));
    FAILS(ERR_NOTFOUND, store_customer_get_by_tg(s, 5, a, &g, &e));

    c.blocked = true;
    c.last_name = "Иванова";
    c.created_at = 1;   /* not updated */
    OK(store_customer_update(s, &c, &e));
    OK(store_customer_get(s, c.id, a, &g, &e));
    cr_assert(g->blocked);
    cr_assert_str_eq(g->last_name, "Иванова");
    cr_assert_eq(g->created_at, 5000);

    struct customer ghost = {.id = 424242, .tg_user_id = 9, .first_name = "", .tier = "x"};
    FAILS(ERR_NOTFOUND, store_customer_update(s, &ghost, &e));
}

Test(store, customer_defaults_for_missing_names)
{
    struct customer c = {.tg_user_id = 77, .created_at = 1};
    OK(store_customer_insert(s, &c, &e));
    struct customer *g;
    OK(store_customer_get(s, c.id, a, &g, &e));
    cr_assert_str_eq(g->first_name, "");
    cr_assert_str_eq(g->tier, "standard");
}

/* ---- tickets ------------------------------------------------------------------------- */

Test(store, ticket_insert_update_get)
{
    int64_t cid = add_customer(1);
    struct ticket t = {.customer_id = cid, .status = TICKET_OPEN,
                       .priority = PRIORITY_HIGH, .group = "billing",
                       .rule = "vip-rule", .subject = "Refund",
                       .topic_id = 0, .created_at = 100, .updated_at = 100,
                       .last_customer_msg_at = 100, .thread_len = 1};
    OK(store_ticket_insert(s, &t, &e));
    cr_assert_gt(t.id, 0);

    struct ticket *g;
    OK(store_ticket_get(s, t.id, a, &g, &e));
    cr_assert_eq(g->customer_id, cid);
    cr_assert_eq(g->status, TICKET_OPEN);
    cr_assert_eq(g->priority, PRIORITY_HIGH);
    cr_assert_str_eq(g->group, "billing");
    cr_assert_null(g->assignee);
    cr_assert_str_eq(g->rule, "vip-rule");
    cr_assert_str_eq(g->subject, "Refund");
    cr_assert_eq(g->nfields, 0);
    cr_assert_eq(g->ntags, 0);
    cr_assert_eq(g->topic_id, 0);
    cr_assert_eq(g->first_response_at, 0);
    cr_assert_eq(g->last_customer_msg_at, 100);
    cr_assert_eq(g->thread_len, 1);

    t.status = TICKET_IN_PROGRESS;
    t.priority = PRIORITY_URGENT;
    t.assignee = "alice";
    t.group = "level2";
    t.topic_id = 555;
    t.first_response_at = 150;
    t.last_agent_msg_at = 150;
    t.updated_at = 150;
    t.thread_len = 2;
    t.reopen_count = 1;
    t.created_at = 1;       /* not updated */
    t.customer_id = 12345;  /* not updated */
    OK(store_ticket_update(s, &t, &e));
    OK(store_ticket_get(s, t.id, a, &g, &e));
    cr_assert_eq(g->status, TICKET_IN_PROGRESS);
    cr_assert_eq(g->priority, PRIORITY_URGENT);
    cr_assert_str_eq(g->assignee, "alice");
    cr_assert_str_eq(g->group, "level2");
    cr_assert_eq(g->topic_id, 555);
    cr_assert_eq(g->first_response_at, 150);
    cr_assert_eq(g->last_agent_msg_at, 150);
    cr_assert_eq(g->updated_at, 150);
    cr_assert_eq(g->created_at, 100);
    cr_assert_eq(g->customer_id, cid);
    cr_assert_eq(g->thread_len, 2);
    cr_assert_eq(g->reopen_count, 1);

    FAILS(ERR_NOTFOUND, store_ticket_get(s, 99999, a, &g, &e));
    t.id = 99999;
    FAILS(ERR_NOTFOUND, store_ticket_update(s, &t, &e));
}

Test(store, ticket_needs_an_existing_customer_and_a_group)
{
    struct ticket t = {.customer_id = 31337, .group = "general", .created_at = 1};
    FAILS(ERR_CONFLICT, store_ticket_insert(s, &t, &e));   /* foreign key */
    t.customer_id = add_customer(3);
    t.group = NULL;
    FAILS(ERR_INVAL, store_ticket_insert(s, &t, &e));
    t.group = "general";
    t.status = (enum ticket_status)42;
    FAILS(ERR_INVAL, store_ticket_insert(s, &t, &e));
}

Test(store, fields_and_tags_round_trip_with_unicode)
{
    int64_t cid = add_customer(2);
    struct kv fields[] = {
        {"email", "a@example.com"},
        {"имя", "Пётр \"Великий\" \\ 🚀"},
        {"order", "42"},
        {"empty", ""},
        {"nothing", NULL},
    };
    const char *tags[] = {"vip", "日本語", "emoji 😀", "quote\"tag"};
    struct ticket t = {.customer_id = cid, .group = "general", .fields = fields,
                       .nfields = 5, .tags = tags, .ntags = 4, .created_at = 1};
    OK(store_ticket_insert(s, &t, &e));

    struct ticket *g;
    OK(store_ticket_get(s, t.id, a, &g, &e));
    cr_assert_eq(g->nfields, 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_str_eq(g->fields[i].key, fields[i].key);   /* order kept */
        if (fields[i].value)
            cr_assert_str_eq(g->fields[i].value, fields[i].value);
        else
            cr_assert_null(g->fields[i].value);
    }
    cr_assert_str_eq(ticket_field(g, "имя"), "Пётр \"Великий\" \\ 🚀");
    cr_assert_eq(g->ntags, 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(g->tags[i], tags[i]);

    /* replaced as a whole; emptied */
    t.nfields = 1;
    t.ntags = 0;
    OK(store_ticket_update(s, &t, &e));
    OK(store_ticket_get(s, t.id, a, &g, &e));
    cr_assert_eq(g->nfields, 1);
    cr_assert_eq(g->ntags, 0);
    cr_assert_null(g->tags);

    /* invalid UTF-8 is refused, not stored */
    const char *bad[] = {"ok", "\xff\xfe"};
    t.tags = bad;
    t.ntags = 2;
    FAILS(ERR_INVAL, store_ticket_update(s, &t, &e));
}

Test(store, latest_for_customer_and_by_topic)
{
    int64_t c1 = add_customer(10), c2 = add_customer(11);
    struct ticket *g;
    FAILS(ERR_NOTFOUND, store_ticket_latest_for_customer(s, c1, a, &g, &e));
    int64_t t1 = add_ticket(c1, TICKET_CLOSED, "general", NULL, 1);
    int64_t t2 = add_ticket(c1, TICKET_OPEN, "general", NULL, 2);
    int64_t t3 = add_ticket(c2, TICKET_OPEN, "general", NULL, 3);
    OK(store_ticket_latest_for_customer(s, c1, a, &g, &e));
    cr_assert_eq(g->id, t2);
    OK(store_ticket_latest_for_customer(s, c2, a, &g, &e));
    cr_assert_eq(g->id, t3);

    OK(store_ticket_get(s, t1, a, &g, &e));
    g->topic_id = 777;
    OK(store_ticket_update(s, g, &e));
    OK(store_ticket_get_by_topic(s, 777, a, &g, &e));
    cr_assert_eq(g->id, t1);
    FAILS(ERR_NOTFOUND, store_ticket_get_by_topic(s, 778, a, &g, &e));
    FAILS(ERR_NOTFOUND, store_ticket_get_by_topic(s, 0, a, &g, &e));
}

Test(store, ticket_list_filters_and_paging)
{
    int64_t c1 = add_customer(20), c2 = add_customer(21);
    OK(store_begin(s, &e));
    int64_t ids[12];
    /* i%3: status open/in_progress/closed; i%2: group general/billing;
     * assignee alice for i%4==0, bob for i%4==1, none else; customer c1 for i<6 */
    for (int i = 0; i < 12; i++) {
        enum ticket_status st = i % 3 == 0 ? TICKET_OPEN
                              : i % 3 == 1 ? TICKET_IN_PROGRESS : TICKET_CLOSED;
        const char *grp = i % 2 ? "billing" : "general";
        const char *who = i % 4 == 0 ? "alice" : i % 4 == 1 ? "bob" : NULL;
        ids[i] = add_ticket(i < 6 ? c1 : c2, st, grp, who, 100 + i);
    }
    OK(store_commit(s, &e));

    struct ticket **out;
    size_t n;
    struct ticket_filter f = {0};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 12);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(out[i]->id, ids[i]);

    f = (struct ticket_filter){.has_status = true, .status = TICKET_OPEN};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 4);                                  /* 0,3,6,9 */
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(out[i]->status, TICKET_OPEN);

    f = (struct ticket_filter){.group = "billing"};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 6);
    cr_assert_eq(out[0]->id, ids[1]);

    f = (struct ticket_filter){.assignee = "alice"};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 3);                                  /* 0,4,8 */
    cr_assert_eq(out[2]->id, ids[8]);

    f = (struct ticket_filter){.unassigned = true};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 6);
    for (size_t i = 0; i < n; i++)
        cr_assert_null(out[i]->assignee);

    f = (struct ticket_filter){.customer_id = c2};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 6);
    cr_assert_eq(out[0]->id, ids[6]);

    /* combined: general + open + customer c1 → 0 only (3 is billing) */
    f = (struct ticket_filter){.has_status = true, .status = TICKET_OPEN,
                               .group = "general", .customer_id = c1};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0]->id, ids[0]);

    /* nothing matches */
    f = (struct ticket_filter){.assignee = "nobody"};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 0);
    cr_assert_null(out);

    /* paging: pages of 5 by the after_id cursor */
    f = (struct ticket_filter){.limit = 5};
    size_t seen = 0;
    for (int page = 0; page < 4; page++) {
        OK(store_ticket_list(s, &f, a, &out, &n, &e));
        cr_assert_eq(n, page < 2 ? 5u : page == 2 ? 2u : 0u);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(out[i]->id, ids[seen++]);
        if (n > 0)
            f.after_id = out[n - 1]->id;
    }
    cr_assert_eq(seen, 12);

    /* paging with a filter */
    f = (struct ticket_filter){.group = "general", .limit = 2, .after_id = ids[2]};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0]->id, ids[4]);
    cr_assert_eq(out[1]->id, ids[6]);
}

Test(store, ticket_list_default_and_maximum_limit)
{
    int64_t c = add_customer(30);
    OK(store_begin(s, &e));
    for (int i = 0; i < 60; i++)
        add_ticket(c, TICKET_OPEN, "general", NULL, i);
    OK(store_commit(s, &e));
    struct ticket **out;
    size_t n;
    struct ticket_filter f = {0};
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 50);
    f.limit = 10000;
    OK(store_ticket_list(s, &f, a, &out, &n, &e));
    cr_assert_eq(n, 60);
}

Test(store, count_by_status)
{
    int64_t c = add_customer(40);
    add_ticket(c, TICKET_OPEN, "general", NULL, 1);
    add_ticket(c, TICKET_OPEN, "general", NULL, 2);
    add_ticket(c, TICKET_ON_HOLD, "general", NULL, 3);
    add_ticket(c, TICKET_CLOSED, "general", NULL, 4);
    int64_t counts[TICKET_STATUS_COUNT];
    memset(counts, 0xff, sizeof counts);
    OK(store_ticket_count_by_status(s, counts, &e));
    cr_assert_eq(counts[TICKET_OPEN], 2);
    cr_assert_eq(counts[TICKET_IN_PROGRESS], 0);
    cr_assert_eq(counts[TICKET_ON_HOLD], 1);
    cr_assert_eq(counts[TICKET_RESOLVED], 0);
    cr_assert_eq(counts[TICKET_CLOSED], 1);
}

/* ---- thread ------------------------------------------------------------------------------ */

Test(store, thread_append_list_edit)
{
    int64_t tid = add_ticket(add_customer(50), TICKET_OPEN, "general", NULL, 1);
    struct kv data[] = {{"from", "open"}, {"to", "in_progress"}};
    struct thread_entry e3 = {.ticket_id = tid, .seq = 3, .kind = THREAD_EVENT,
                              .dir = DIR_INTERNAL, .author_type = AUTHOR_SYSTEM,
                              .author_id = "system", .text = "status changed",
                              .event = "status_changed", .data = data, .ndata = 2,
                              .at = 30};
    struct thread_entry e1 = {.ticket_id = tid, .seq = 1, .kind = THREAD_MESSAGE,
                              .dir = DIR_INBOUND, .author_type = AUTHOR_CUSTOMER,
                              .author_id = "1001", .author_name = "Ann",
                              .text = "Привет 👋", .tg_chat_id = 1001,
                              .tg_message_id = 5, .at = 10};
    struct thread_entry e2 = {.ticket_id = tid, .seq = 2, .kind = THREAD_NOTE,
                              .dir = DIR_INTERNAL, .author_type = AUTHOR_AGENT,
                              .author_id = "alice", .text = "internal", .at = 20};
    OK(store_thread_append(s, &e3, &e));
    OK(store_thread_append(s, &e1, &e));
    OK(store_thread_append(s, &e2, &e));
    cr_assert_gt(e1.id, 0);

    struct thread_entry dup = e2;
    FAILS(ERR_CONFLICT, store_thread_append(s, &dup, &e));

    struct thread_entry *out;
    size_t n;
    OK(store_thread_list(s, tid, a, &out, &n, &e));
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(out[i].seq, (int)i + 1);
    cr_assert_eq(out[0].id, e1.id);
    cr_assert_eq(out[0].kind, THREAD_MESSAGE);
    cr_assert_eq(out[0].dir, DIR_INBOUND);
    cr_assert_eq(out[0].author_type, AUTHOR_CUSTOMER);
    cr_assert_str_eq(out[0].text, "Привет 👋");
    cr_assert_str_eq(out[0].author_name, "Ann");
    cr_assert_eq(out[0].tg_chat_id, 1001);
    cr_assert_eq(out[0].tg_message_id, 5);
    cr_assert_eq(out[0].edited_at, 0);
    cr_assert_null(out[0].event);
    cr_assert_eq(out[0].ndata, 0);
    cr_assert_eq(out[1].kind, THREAD_NOTE);
    cr_assert_null(out[1].author_name);
    cr_assert_eq(out[2].kind, THREAD_EVENT);
    cr_assert_str_eq(out[2].event, "status_changed");
    cr_assert_eq(out[2].ndata, 2);
    cr_assert_str_eq(thread_data(&out[2], "to"), "in_progress");

    OK(store_thread_edit(s, tid, 1001, 5, "Привет, edited", 99, &e));
    OK(store_thread_list(s, tid, a, &out, &n, &e));
    cr_assert_str_eq(out[0].text, "Привет, edited");
    cr_assert_eq(out[0].edited_at, 99);
    FAILS(ERR_NOTFOUND, store_thread_edit(s, tid, 1001, 6, "x", 100, &e));

    OK(store_thread_list(s, tid + 1000, a, &out, &n, &e));
    cr_assert_eq(n, 0);
    cr_assert_null(out);
}

/* ---- agents and load ---------------------------------------------------------------------- */

Test(store, agent_state_put_and_list)
{
    struct agent_state st = {.agent_id = "bob", .availability = AGENT_AWAY,
                             .changed_at = 10};
    OK(store_agent_state_put(s, &st, &e));
    st = (struct agent_state){.agent_id = "alice", .availability = AGENT_ONLINE,
                              .changed_at = 5, .last_assigned_at = 7};
    OK(store_agent_state_put(s, &st, &e));
    st.availability = AGENT_OFFLINE;   /* replace */
    st.changed_at = 20;
    OK(store_agent_state_put(s, &st, &e));

    struct agent_state *out;
    size_t n;
    OK(store_agent_state_list(s, a, &out, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_str_eq(out[0].agent_id, "alice");
    cr_assert_eq(out[0].availability, AGENT_OFFLINE);
    cr_assert_eq(out[0].changed_at, 20);
    cr_assert_eq(out[0].last_assigned_at, 7);
    cr_assert_str_eq(out[1].agent_id, "bob");
    cr_assert_eq(out[1].availability, AGENT_AWAY);
    cr_assert_eq(out[1].last_assigned_at, 0);
}

Test(store, load_by_group_and_agent)
{
    int64_t c = add_customer(60);
    add_ticket(c, TICKET_OPEN, "general", NULL, 300);
    add_ticket(c, TICKET_OPEN, "general", NULL, 200);
    add_ticket(c, TICKET_OPEN, "general", "alice", 100);
    add_ticket(c, TICKET_ON_HOLD, "general", "alice", 50);
    add_ticket(c, TICKET_CLOSED, "general", NULL, 10);        /* not active */
    add_ticket(c, TICKET_IN_PROGRESS, "billing", "bob", 400);
    add_ticket(c, TICKET_RESOLVED, "billing", "alice", 500);  /* not active */
    add_ticket(c, TICKET_ON_HOLD, "billing", NULL, 600);

    struct group_load *g;
    size_t n;
    OK(store_load_by_group(s, a, &g, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_str_eq(g[0].group, "billing");
    cr_assert_eq(g[0].by_status[TICKET_IN_PROGRESS], 1);
    cr_assert_eq(g[0].by_status[TICKET_RESOLVED], 1);
    cr_assert_eq(g[0].by_status[TICKET_ON_HOLD], 1);
    cr_assert_eq(g[0].by_status[TICKET_OPEN], 0);
    cr_assert_eq(g[0].unassigned_active, 1);
    cr_assert_eq(g[0].oldest_unassigned_at, 600);
    cr_assert_str_eq(g[1].group, "general");
    cr_assert_eq(g[1].by_status[TICKET_OPEN], 3);
    cr_assert_eq(g[1].by_status[TICKET_ON_HOLD], 1);
    cr_assert_eq(g[1].by_status[TICKET_CLOSED], 1);
    cr_assert_eq(g[1].unassigned_active, 2);
    cr_assert_eq(g[1].oldest_unassigned_at, 200);

    struct agent_load *l;
    OK(store_load_by_agent(s, a, &l, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_str_eq(l[0].agent_id, "alice");
    cr_assert_eq(l[0].active, 2);
    cr_assert_str_eq(l[1].agent_id, "bob");
    cr_assert_eq(l[1].active, 1);
}

Test(store, load_of_an_empty_store)
{
    struct group_load *g;
    struct agent_load *l;
    size_t n = 99;
    OK(store_load_by_group(s, a, &g, &n, &e));
    cr_assert_eq(n, 0);
    OK(store_load_by_agent(s, a, &l, &n, &e));
    cr_assert_eq(n, 0);
}

/* ---- outboxes, events, timers ---------------------------------------------------------------- */

Test(store, tg_outbox_push_and_count)
{
    struct tg_outbox_row r = {.chat_id = -100123, .thread_id = 5, .ticket_id = 0,
                              .method = "sendMessage",
                              .params = "{\"text\":\"hi\"}", .created_at = 1};
    OK(store_tg_outbox_push(s, &r, &e));
    cr_assert_gt(r.id, 0);
    int64_t first = r.id;
    r.state = "failed";
    r.last_error = "Forbidden: bot was blocked by the user";
    OK(store_tg_outbox_push(s, &r, &e));
    cr_assert_gt(r.id, first);
    r.state = NULL;
    OK(store_tg_outbox_push(s, &r, &e));

    int64_t cnt;
    OK(store_tg_outbox_count(s, "pending", &cnt, &e));
    cr_assert_eq(cnt, 2);
    OK(store_tg_outbox_count(s, "failed", &cnt, &e));
    cr_assert_eq(cnt, 1);
    OK(store_tg_outbox_count(s, "sent", &cnt, &e));
    cr_assert_eq(cnt, 0);
    OK(store_tg_outbox_count(s, NULL, &cnt, &e));
    cr_assert_eq(cnt, 3);

    r.method = NULL;
    FAILS(ERR_INVAL, store_tg_outbox_push(s, &r, &e));
}

Test(store, tg_outbox_pending_in_id_order_due_or_not)
{
    struct tg_outbox_row r = {.chat_id = 501, .ticket_id = 7, .method = "sendMessage",
                              .params = "{\"chat_id\":501,\"text\":\"one\"}",
                              .next_attempt_at = 5000, .created_at = 1};
    OK(store_tg_outbox_push(s, &r, &e));                  /* waiting for a retry */
    int64_t first = r.id;
    r.state = "sent";
    OK(store_tg_outbox_push(s, &r, &e));                  /* not pending */
    r.state = NULL;
    r.chat_id = -100123;
    r.method = "createForumTopic";
    r.params = "{\"chat_id\":-100123,\"name\":\"x\"}";
    r.next_attempt_at = 0;
    r.attempts = 2;
    r.last_error = "Internal Server Error";
    OK(store_tg_outbox_push(s, &r, &e));
    int64_t third = r.id;

    struct tg_outbox_row *rows = NULL;
    size_t n = 0;
    OK(store_tg_outbox_pending(s, 1000, 0, 10, a, &rows, &n, &e));
    cr_assert_eq(n, 2);
    cr_expect_eq(rows[0].id, first);
    cr_expect_eq(rows[0].chat_id, 501);
    cr_expect_eq(rows[0].ticket_id, 7);
    cr_expect_eq(rows[0].next_attempt_at, 5000);   /* in the future, still listed */
    cr_expect_str_eq(rows[0].method, "sendMessage");
    cr_expect_str_eq(rows[0].params, "{\"chat_id\":501,\"text\":\"one\"}");
    cr_expect_str_eq(rows[0].state, "pending");
    cr_expect_null(rows[0].last_error);
    cr_expect_eq(rows[1].id, third);
    cr_expect_eq(rows[1].attempts, 2);
    cr_expect_str_eq(rows[1].last_error, "Internal Server Error");

    OK(store_tg_outbox_pending(s, 1000, 0, 1, a, &rows, &n, &e));
    cr_expect_eq(n, 1);
    cr_expect_eq(rows[0].id, first);
    /* the tail after an id: what a reader that has the older rows reads */
    OK(store_tg_outbox_pending(s, 1000, first, 10, a, &rows, &n, &e));
    cr_assert_eq(n, 1);
    cr_expect_eq(rows[0].id, third);
    OK(store_tg_outbox_pending(s, 1000, third, 10, a, &rows, &n, &e));
    cr_expect_eq(n, 0);
    FAILS(ERR_INVAL, store_tg_outbox_pending(s, 1000, 0, 0, a, &rows, &n, &e));

    /* the change counter moves with each push and update, and only then */
    int64_t w0 = store_tg_outbox_writes(s);
    OK(store_tg_outbox_update(s, third, "sent", 3, 1000, NULL, NULL, &e));
    cr_expect_eq(store_tg_outbox_writes(s), w0 + 1);
    FAILS(ERR_NOTFOUND, store_tg_outbox_update(s, 999999, "sent", 1, 1000, NULL, NULL, &e));
    int64_t total = 0;
    OK(store_tg_outbox_count(s, NULL, &total, &e));
    cr_expect_eq(store_tg_outbox_writes(s), w0 + 1);
}

Test(store, events_push_list_count)
{
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        struct event_row r = {.type = i % 2 ? "ticket.updated" : "ticket.created",
                              .ticket_id = i, .occurred_at = 100 + i,
                              .data = "{\"n\":\"ü\"}"};
        OK(store_event_push(s, &r, &e));
        ids[i] = r.id;
        if (i > 0)
            cr_assert_gt(ids[i], ids[i - 1]);
    }
    struct event_row *out;
    size_t n;
    OK(store_event_list(s, 0, 3, a, &out, &n, &e));
    cr_assert_eq(n, 3);
    cr_assert_eq(out[0].id, ids[0]);
    cr_assert_str_eq(out[0].type, "ticket.created");
    cr_assert_str_eq(out[0].data, "{\"n\":\"ü\"}");
    cr_assert_eq(out[1].occurred_at, 101);
    OK(store_event_list(s, out[2].id, 100, a, &out, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0].id, ids[3]);
    cr_assert_eq(out[1].ticket_id, 4);
    OK(store_event_list(s, ids[4], 100, a, &out, &n, &e));
    cr_assert_eq(n, 0);
    int64_t cnt;
    OK(store_event_count(s, &cnt, &e));
    cr_assert_eq(cnt, 5);
    FAILS(ERR_INVAL, store_event_list(s, 0, 0, a, &out, &n, &e));
}

Test(store, timers_put_move_cancel_due_next)
{
    int64_t next;
    FAILS(ERR_NOTFOUND, store_timer_next(s, &next, &e));

    struct timer_row t1 = {.kind = "sla.first_response", .ticket_id = 1, .due_at = 500};
    struct timer_row t2 = {.kind = "sla.first_response", .ticket_id = 2, .due_at = 300,
                           .data = "{\"warn\":true}"};
    struct timer_row t3 = {.kind = "sla.resolution", .ticket_id = 1, .due_at = 900};
    OK(store_timer_put(s, &t1, &e));
    OK(store_timer_put(s, &t2, &e));
    OK(store_timer_put(s, &t3, &e));
    cr_assert(t1.id > 0 && t2.id > 0 && t3.id > 0);
    OK(store_timer_next(s, &next, &e));
    cr_assert_eq(next, 300);

    /* upsert moves t1 earlier and keeps its id */
    struct timer_row moved = {.kind = "sla.first_response", .ticket_id = 1, .due_at = 100};
    OK(store_timer_put(s, &moved, &e));
    cr_assert_eq(moved.id, t1.id);
    OK(store_timer_next(s, &next, &e));
    cr_assert_eq(next, 100);

    struct timer_row *out;
    size_t n;
    OK(store_timer_due(s, 50, 10, a, &out, &n, &e));
    cr_assert_eq(n, 0);
    OK(store_timer_due(s, 300, 10, a, &out, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0].id, t1.id);
    cr_assert_eq(out[0].due_at, 100);
    cr_assert_null(out[0].data);
    cr_assert_eq(out[1].ticket_id, 2);
    cr_assert_str_eq(out[1].data, "{\"warn\":true}");
    OK(store_timer_due(s, 10000, 1, a, &out, &n, &e));
    cr_assert_eq(n, 1);
    cr_assert_str_eq(out[0].kind, "sla.first_response");

    OK(store_timer_cancel(s, "sla.first_response", 1, &e));
    OK(store_timer_cancel(s, "sla.first_response", 1, &e));   /* again: harmless */
    OK(store_timer_due(s, 10000, 10, a, &out, &n, &e));
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0].id, t2.id);
    cr_assert_eq(out[1].id, t3.id);
    OK(store_timer_cancel(s, "sla.first_response", 2, &e));
    OK(store_timer_cancel(s, "sla.resolution", 1, &e));
    FAILS(ERR_NOTFOUND, store_timer_next(s, &next, &e));
}

/* ---- idempotency ---------------------------------------------------------------------------- */

Test(store, idempotency_get_put)
{
    int status;
    const char *body;
    FAILS(ERR_NOTFOUND, store_idem_get(s, "key-1", a, &status, &body, &e));
    OK(store_idem_put(s, "key-1", 201, "{\"id\":7}", 1000, &e));
    OK(store_idem_get(s, "key-1", a, &status, &body, &e));
    cr_assert_eq(status, 201);
    cr_assert_str_eq(body, "{\"id\":7}");
    FAILS(ERR_CONFLICT, store_idem_put(s, "key-1", 500, "{}", 2000, &e));
    OK(store_idem_get(s, "key-1", a, &status, &body, &e));
    cr_assert_eq(status, 201);
}

/* ---- transactions ---------------------------------------------------------------------------- */

Test(store, rollback_discards_and_is_harmless_without_transaction)
{
    OK(store_rollback(s, &e));                 /* nothing open: no-op */
    OK(store_begin(s, &e));
    OK(store_meta_set(s, "k", "inside", &e));
    add_customer(70);
    OK(store_rollback(s, &e));
    OK(store_rollback(s, &e));                 /* again: no-op */
    const char *v;
    struct customer *c;
    FAILS(ERR_NOTFOUND, store_meta_get(s, "k", a, &v, &e));
    FAILS(ERR_NOTFOUND, store_customer_get_by_tg(s, 70, a, &c, &e));

    OK(store_begin(s, &e));
    OK(store_meta_set(s, "k", "kept", &e));
    OK(store_commit(s, &e));
    OK(store_meta_get(s, "k", a, &v, &e));
    cr_assert_str_eq(v, "kept");
}

Test(store, savepoint_rollback_discards_only_the_inner_part)
{
    OK(store_begin(s, &e));
    OK(store_meta_set(s, "a", "1", &e));
    OK(store_savepoint(s, &e));
    OK(store_meta_set(s, "b", "2", &e));
    OK(store_meta_set(s, "a", "changed", &e));
    OK(store_rollback_savepoint(s, &e));
    OK(store_savepoint(s, &e));                /* the next event of the batch */
    OK(store_meta_set(s, "c", "3", &e));
    OK(store_release(s, &e));
    OK(store_commit(s, &e));

    const char *v;
    OK(store_meta_get(s, "a", a, &v, &e));
    cr_assert_str_eq(v, "1");
    FAILS(ERR_NOTFOUND, store_meta_get(s, "b", a, &v, &e));
    OK(store_meta_get(s, "c", a, &v, &e));
    cr_assert_str_eq(v, "3");
}

Test(store, failed_statement_keeps_the_transaction)
{
    add_customer(80);
    OK(store_begin(s, &e));
    OK(store_meta_set(s, "x", "1", &e));
    struct customer dup = {.tg_user_id = 80, .first_name = "d", .tier = "t"};
    FAILS(ERR_CONFLICT, store_customer_insert(s, &dup, &e));
    OK(store_commit(s, &e));
    const char *v;
    OK(store_meta_get(s, "x", a, &v, &e));
}

Test(store, second_writer_gets_busy)
{
    struct cfg_store c2 = cfg;
    c2.busy_timeout_ms = 50;
    struct store *w2;
    OK(store_open(&c2, STORE_RW, &w2, &e));
    OK(store_begin(s, &e));
    FAILS(ERR_BUSY, store_begin(w2, &e));
    OK(store_rollback(w2, &e));
    OK(store_commit(s, &e));
    OK(store_begin(w2, &e));
    OK(store_commit(w2, &e));
    store_close(&w2);
}

Test(store, reader_sees_committed_snapshot_only)
{
    struct store *ro;
    OK(store_open(&cfg, STORE_RO, &ro, &e));
    OK(store_begin(s, &e));
    OK(store_meta_set(s, "k", "uncommitted", &e));
    const char *v;
    FAILS(ERR_NOTFOUND, store_meta_get(ro, "k", a, &v, &e));   /* WAL: not blocked */
    OK(store_commit(s, &e));
    OK(store_meta_get(ro, "k", a, &v, &e));
    cr_assert_str_eq(v, "uncommitted");
    store_close(&ro);
}

/* ---- the read pool ------------------------------------------------------------------------------ */

struct worker {
    struct store_pool *pool;
    int ok;
};

static void *reader(void *arg)
{
    struct worker *w = arg;
    struct arena *wa = arena_new(0);
    for (int i = 0; i < 200; i++) {
        struct store *h = store_pool_get(w->pool);
        struct err we = {0};
        const char *v;
        int64_t cnt;
        if (store_meta_get(h, "shared", wa, &v, &we) == 0 && strcmp(v, "yes") == 0 &&
            store_event_count(h, &cnt, &we) == 0)
            w->ok++;
        store_pool_put(w->pool, h);
    }
    arena_free(&wa);
    return NULL;
}

Test(store, pool_get_put_from_two_threads)
{
    OK(store_meta_set(s, "shared", "yes", &e));
    for (int size = 1; size <= 2; size++) {
        struct store_pool *p;
        OK(store_pool_new(&cfg, size, &p, &e));
        struct worker w[2] = {{.pool = p}, {.pool = p}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            cr_assert_eq(pthread_create(&th[i], NULL, reader, &w[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        cr_assert_eq(w[0].ok, 200);
        cr_assert_eq(w[1].ok, 200);
        store_pool_free(&p);
        cr_assert_null(p);
    }
}

Test(store, pool_of_an_unmigrated_database_fails_cleanly)
{
    struct cfg_store c2 = cfg;
    char other[160];
    snprintf(other, sizeof other, "%s/none.db", dir);
    c2.path = other;
    struct store_pool *p = (struct store_pool *)1;
    FAILS(ERR_SCHEMA, store_pool_new(&c2, 3, &p, &e));
    cr_assert_null(p);
}

/* An update that leaves the indexed columns alone skips index upkeep
 * (ticket.stored); one that changes them, or changes them back within the
 * same transaction, must still reach every index. */
Test(store, ticket_updates_keep_indexes_true)
{
    int64_t cid = add_customer(4242);
    int64_t id = add_ticket(cid, TICKET_OPEN, "general", NULL, 1000);
    struct ticket *t = NULL;
    OK(store_ticket_get(s, id, a, &t, &e));
    cr_assert(t->stored.known);

    OK(store_begin(s, &e));
    t->thread_len = 5;                      /* no indexed column: the narrow update */
    OK(store_ticket_update(s, t, &e));
    t->status = TICKET_RESOLVED;            /* indexed: the full update */
    t->group = "billing";
    t->assignee = "alice";
    t->topic_id = 99;
    OK(store_ticket_update(s, t, &e));
    t->status = TICKET_OPEN;                /* all back as read, same transaction */
    t->group = "general";
    t->assignee = NULL;
    t->topic_id = 0;
    OK(store_ticket_update(s, t, &e));
    OK(store_commit(s, &e));
    struct ticket *g = NULL;
    FAILS(ERR_NOTFOUND, store_ticket_get_by_topic(s, 99, a, &g, &e));
    t->assignee = "alice";
    t->topic_id = 99;
    OK(store_ticket_update(s, t, &e));

    struct ticket_filter f = {.has_status = true, .status = TICKET_OPEN, .group = "general",
                              .assignee = "alice"};
    struct ticket **list = NULL;
    size_t n = 0;
    OK(store_ticket_list(s, &f, a, &list, &n, &e));
    cr_assert_eq(n, 1);
    cr_assert_eq(list[0]->thread_len, 5);
    f.status = TICKET_RESOLVED;
    OK(store_ticket_list(s, &f, a, &list, &n, &e));
    cr_assert_eq(n, 0, "the resolved index entry must be gone");
    OK(store_ticket_get_by_topic(s, 99, a, &g, &e));
    cr_assert_eq(g->id, id);
    /* a ticket built by hand (stored unknown) takes the full update */
    struct ticket h = *g;
    memset(&h.stored, 0, sizeof h.stored);
    h.topic_id = 100;
    OK(store_ticket_update(s, &h, &e));
    FAILS(ERR_NOTFOUND, store_ticket_get_by_topic(s, 99, a, &g, &e));
    OK(store_ticket_get_by_topic(s, 100, a, &g, &e));

    sqlite3 *db = NULL;                     /* and SQLite agrees the indexes match */
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- routing state (migration 003) --------------------------------------------------- */

static int64_t add_waiting(int64_t cid, enum ticket_priority p, const char *group,
                           const char *strategy, int64_t created_at)
{
    struct ticket t = {.customer_id = cid, .status = TICKET_OPEN, .priority = p,
                       .group = group, .strategy = strategy, .subject = "q",
                       .created_at = created_at, .updated_at = created_at};
    OK(store_ticket_insert(s, &t, &e));
    return t.id;
}

Test(store, queue_is_priority_then_age_then_id)
{
    int64_t cid = add_customer(5100);
    int64_t old_normal = add_waiting(cid, PRIORITY_NORMAL, "billing", "round_robin", 1000);
    int64_t urgent = add_waiting(cid, PRIORITY_URGENT, "billing", "least_loaded", 3000);
    int64_t same_age = add_waiting(cid, PRIORITY_NORMAL, "billing", NULL, 1000);
    int64_t low = add_waiting(cid, PRIORITY_LOW, "billing", "round_robin", 500);
    add_waiting(cid, PRIORITY_URGENT, "billing", "none", 100);          /* picked by hand */
    add_waiting(cid, PRIORITY_URGENT, "general", "round_robin", 100);   /* another queue */
    add_ticket(cid, TICKET_OPEN, "billing", "alice", 100);               /* taken */
    int64_t held = add_waiting(cid, PRIORITY_URGENT, "billing", "round_robin", 100);
    struct ticket *h = NULL;
    OK(store_ticket_get(s, held, a, &h, &e));
    h->status = TICKET_ON_HOLD;                                          /* not waiting */
    OK(store_ticket_update(s, h, &e));

    struct ticket **q = NULL;
    size_t n = 0;
    OK(store_ticket_queue(s, "billing", 10, a, &q, &n, &e));
    cr_assert_eq(n, 4);
    cr_expect_eq(q[0]->id, urgent);
    cr_expect_eq(q[1]->id, old_normal);
    cr_expect_eq(q[2]->id, same_age);
    cr_expect_eq(q[3]->id, low);
    cr_expect_str_eq(q[0]->strategy, "least_loaded");
    OK(store_ticket_queue(s, "billing", 2, a, &q, &n, &e));
    cr_expect_eq(n, 2, "limit");
    FAILS(ERR_INVAL, store_ticket_queue(s, "billing", 0, a, &q, &n, &e));

    /* a priority change moves it in the queue (priority is indexed) */
    struct ticket *t = NULL;
    OK(store_ticket_get(s, low, a, &t, &e));
    t->priority = PRIORITY_HIGH;
    OK(store_ticket_update(s, t, &e));
    OK(store_ticket_queue(s, "billing", 10, a, &q, &n, &e));
    cr_expect_eq(q[1]->id, low);

    /* the query is answered by the queue index, not by scanning tickets */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    const char *plan =
        "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE grp = 'billing' AND assignee IS NULL "
        "AND status IN ('open', 'in_progress') AND strategy IS NOT 'none' ORDER BY (CASE "
        "priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END), "
        "created_at, id LIMIT 5";
    cr_assert_eq(sqlite3_prepare_v2(db, plan, -1, &st, NULL), SQLITE_OK);
    bool index = false, sort = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        index |= strstr(d, "tickets_queue") != NULL;
        sort |= strstr(d, "TEMP B-TREE") != NULL;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    cr_expect(index, "the plan uses tickets_queue");
    cr_expect_not(sort, "in index order, no sort");
}

/* agent_load (kept by triggers) against a count over the tickets. */
static void check_load(const char *agent, int64_t want)
{
    struct agent_load *l = NULL;
    size_t n = 0;
    OK(store_load_by_agent(s, a, &l, &n, &e));
    int64_t got = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].agent_id, agent) == 0)
            got = l[i].active;
    cr_assert_eq(got, want, "%s: load %lld, want %lld", agent, (long long)got, (long long)want);
}

Test(store, agent_load_follows_every_ticket_write)
{
    int64_t cid = add_customer(5200);
    int64_t t1 = add_ticket(cid, TICKET_OPEN, "general", "alice", 1000);
    add_ticket(cid, TICKET_ON_HOLD, "general", "alice", 1000);
    add_ticket(cid, TICKET_RESOLVED, "general", "alice", 1000);      /* not active */
    add_ticket(cid, TICKET_OPEN, "general", NULL, 1000);
    check_load("alice", 2);
    struct ticket *t = NULL;
    OK(store_ticket_get(s, t1, a, &t, &e));
    t->assignee = "bob";                                            /* moved */
    OK(store_ticket_update(s, t, &e));
    check_load("alice", 1);
    check_load("bob", 1);
    t->status = TICKET_CLOSED;                                      /* no longer active */
    OK(store_ticket_update(s, t, &e));
    check_load("bob", 0);
    t->status = TICKET_OPEN;                                        /* reopened */
    t->thread_len = 3;
    OK(store_ticket_update(s, t, &e));
    check_load("bob", 1);
    t->thread_len = 4;                                              /* narrow update: no trigger */
    OK(store_ticket_update(s, t, &e));
    check_load("bob", 1);
    OK(store_begin(s, &e));                                         /* undone with the rollback */
    t->assignee = NULL;
    OK(store_ticket_update(s, t, &e));
    check_load("bob", 0);
    OK(store_rollback(s, &e));
    check_load("bob", 1);
}

Test(store, cursors_and_last_assignment)
{
    struct route_cursor_row *c = NULL;
    size_t n = 0;
    OK(store_route_cursor_list(s, a, &c, &n, &e));
    cr_assert_eq(n, 0);
    OK(store_route_cursor_put(s, "billing", "bob", &e));
    OK(store_route_cursor_put(s, "billing", "carol", &e));
    OK(store_route_cursor_put(s, "general", "alice", &e));
    OK(store_route_cursor_list(s, a, &c, &n, &e));
    cr_assert_eq(n, 2);
    cr_expect_str_eq(c[0].group, "billing");
    cr_expect_str_eq(c[0].agent_id, "carol");
    cr_expect_str_eq(c[1].agent_id, "alice");
    FAILS(ERR_INVAL, store_route_cursor_put(s, "general", NULL, &e));

    FAILS(ERR_NOTFOUND, store_agent_assigned(s, "alice", 5000, &e));
    struct agent_state st = {.agent_id = "alice", .availability = AGENT_AWAY, .changed_at = 10};
    OK(store_agent_state_put(s, &st, &e));
    OK(store_agent_assigned(s, "alice", 5000, &e));
    struct agent_state *all = NULL;
    OK(store_agent_state_list(s, a, &all, &n, &e));
    cr_assert_eq(n, 1);
    cr_expect_eq(all[0].last_assigned_at, 5000);
    cr_expect_eq(all[0].availability, AGENT_AWAY, "availability kept");
    cr_expect_eq(all[0].changed_at, 10);
}

Test(store, rules_state_round_trips_on_the_ticket)
{
    int64_t cid = add_customer(5300);
    struct sla_state clocks;
    sla_on_created(&clocks, NULL, PRIORITY_HIGH, 1000);
    const char *applied[] = {"urgent", "breach"};
    struct ticket t = {.customer_id = cid, .status = TICKET_OPEN, .priority = PRIORITY_HIGH,
                       .group = "general", .strategy = "least_loaded", .waiting_since = 1500,
                       .escalations = applied, .nescalations = 2, .sla = &clocks,
                       .created_at = 1000, .updated_at = 1000};
    OK(store_ticket_insert(s, &t, &e));
    struct ticket *g = NULL;
    OK(store_ticket_get(s, t.id, a, &g, &e));
    cr_expect_str_eq(g->strategy, "least_loaded");
    cr_expect_eq(g->waiting_since, 1500);
    cr_assert_eq(g->nescalations, 2);
    cr_expect_str_eq(g->escalations[1], "breach");
    cr_assert_not_null(g->sla);
    cr_expect(memcmp(g->sla->clock, clocks.clock, sizeof clocks.clock) == 0);
    g->sla = NULL;                          /* a ticket without clocks stays without */
    g->waiting_since = 0;
    g->nescalations = 0;
    OK(store_ticket_update(s, g, &e));
    OK(store_ticket_get(s, t.id, a, &g, &e));
    cr_expect_null(g->sla);
    cr_expect_eq(g->waiting_since, 0);
    cr_expect_eq(g->nescalations, 0);
}

Test(store, read_only_refuses_a_database_missing_a_migration)
{
    store_close(&s);
    struct sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), 0);
    cr_assert_eq(sqlite3_exec(db, "DELETE FROM schema_version WHERE version = 1", NULL, NULL,
                              NULL), 0);
    sqlite3_close(db);
    struct store *ro = NULL;
    FAILS(ERR_SCHEMA, store_open(&cfg, STORE_RO, &ro, &e));
    cr_assert(strstr(e.msg, "lacks migration 001_init") != NULL, "%s", e.msg);
    /* a read-write open would run 001 again, over its own tables: refused */
    FAILS(ERR_DB, store_open(&cfg, STORE_RW, &s, &e));
    cr_assert_eq(sqlite3_open(path, &db), 0);
    cr_assert_eq(sqlite3_exec(db, "INSERT INTO schema_version VALUES (1, 'init')", NULL, NULL,
                              NULL), 0);
    sqlite3_close(db);
    open_rw();
}

/* The writer's background checkpointer must really copy the WAL back: its
 * own connection had never read the database, so every PASSIVE checkpoint
 * it took was a successful no-op and the WAL grew until the writer's
 * inline checkpoint at 64,000 pages (256 MB). Past the 1,000-page mark the
 * database file itself must grow. */
Test(store, the_background_checkpoint_copies_the_wal_back)
{
    struct stat before, now;
    cr_assert_eq(stat(path, &before), 0);
    char *data = malloc(3001);
    memset(data, 'x', 3000);
    data[3000] = '\0';
    char *json = malloc(3100);
    snprintf(json, 3100, "{\"pad\":\"%s\"}", data);
    for (int batch = 0; batch < 12; batch++) {       /* ~1,500 pages in all */
        OK(store_begin(s, &e));
        for (int i = 0; i < 500; i++) {
            struct event_row r = {.type = "test.pad", .occurred_at = 1, .data = json};
            OK(store_event_push(s, &r, &e));
        }
        OK(store_commit(s, &e));
    }
    free(json);
    free(data);
    bool grew = false;
    for (int i = 0; i < 500 && !grew; i++) {         /* up to 5 s */
        cr_assert_eq(stat(path, &now), 0);
        grew = now.st_size > before.st_size + 1000 * 4096;
        if (!grew)
            usleep(10 * 1000);
    }
    cr_expect(grew, "the database file stayed at %lld bytes (was %lld)",
              (long long)now.st_size, (long long)before.st_size);
}
