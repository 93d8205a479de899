/*
 * run.c — the runner of `tgcrm check` (see run.h): load, plan, run.
 *
 * Loading happens entirely before the first case: suites, the
 * configuration each tests (its agents are what steps may name), the
 * checklist. The plan is a flat list of cases in report order; workers
 * take the next case from an atomic counter, so -j changes only how many
 * run at once, never what a case does or where it appears in the report.
 * Each case fills its own check_report (its own arena): the shared report
 * only holds the case structs, all allocated before the workers start, so
 * no pointer moves while they run.
 */
#include "check/run.h"

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/arena.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/yml.h"
#include "check/env.h"
#include "check/fake_tg.h"
#include "check/progress.h"
#include "check/sandbox.h"
#include "check/sink.h"
#include "check/step.h"

#define LOG_TAIL_BYTES 8192
#define MAX_JOBS 64

/* ---- seeds -------------------------------------------------------------------------- */

uint64_t run_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t run_rand_below(uint64_t *state, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;   /* reject the uneven tail */
    uint64_t x;
    do
        x = run_rand(state);
    while (x >= limit);
    return x % n;
}

uint64_t run_case_seed(uint64_t seed, int repeat)
{
    if (repeat <= 1)
        return seed;
    uint64_t s = seed ^ ((uint64_t)repeat * 0xD1B54A32D192ED03ULL);
    return run_rand(&s);
}

/* FNV-1a: names into the stream. */
static uint64_t hash(uint64_t h, const char *s)
{
    for (; s != NULL && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ULL;
    return (h ^ 0xFF) * 0x100000001B3ULL;    /* "ab","c" differs from "a","bc" */
}

uint64_t run_case_stream(uint64_t case_seed, const char *suite, const char *scenario)
{
    uint64_t s = case_seed ^ hash(hash(0xCBF29CE484222325ULL, suite), scenario);
    return run_rand(&s);
}

void run_shuffle(uint64_t *state, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)run_rand_below(state, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* ---- loading ----------------------------------------------------------------------------- */

struct loaded {
    struct scenario_suite *suite;
    struct cfg *cfg;                 /* the configuration under test, as written */
};

struct plan {
    size_t suite, scenario;
    int repeat;
    uint64_t seed;
};

struct runner {
    const struct run_opts *o;
    struct loaded *suites;
    size_t nsuites;
    struct plan *plan;
    size_t nplan;
    struct run_result *res;
    struct progress *progress;
    atomic_size_t next;
    /* live target: one fake and one sink for the run */
    struct fake_tg *tg;
    struct sink *sink;
    struct clock *real;
};

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is this YAML file a suite (has a top-level `suite:`)? Configurations
 * and the checklist beside the suites are not. */
static bool is_suite(const char *path)
{
    struct yml_doc *d = NULL;
    struct err e = {0};
    if (yml_load_file(path, &d, &e) != 0)
        return true;                 /* let the loader report what is wrong */
    bool yes = d->root->kind == YML_MAP && yml_get(d->root, "suite") != NULL;
    yml_free(&d);
    return yes;
}

/* The suite files named by the paths, folders expanded (sorted). */
static int list_files(const struct run_opts *o, char ***out, size_t *n, struct err *e)
{
    char **files = NULL;
    size_t nf = 0;
    for (size_t i = 0; i < o->npaths; i++) {
        struct stat st;
        if (stat(o->paths[i], &st) != 0) {
            for (size_t k = 0; k < nf; k++)
                mem_free(files[k]);
            mem_free(files);
            return err_set(e, ERR_IO, "%s: no such file or folder", o->paths[i]);
        }
        if (!S_ISDIR(st.st_mode)) {
            files = mem_realloc(files, (nf + 1) * sizeof *files);
            files[nf++] = mem_strdup(o->paths[i]);
            continue;
        }
        DIR *d = opendir(o->paths[i]);
        const struct dirent *de;
        size_t first = nf;
        while (d != NULL && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || strcmp(de->d_name, "checklist.yaml") == 0 ||
                !(has_suffix(de->d_name, ".yaml") || has_suffix(de->d_name, ".yml")))
                continue;
            size_t len = strlen(o->paths[i]) + strlen(de->d_name) + 2;
            char *p = mem_alloc(len);
            snprintf(p, len, "%s%s%s", o->paths[i], has_suffix(o->paths[i], "/") ? "" : "/",
                     de->d_name);
            if (!is_suite(p)) {
                mem_free(p);
                continue;
            }
            files = mem_realloc(files, (nf + 1) * sizeof *files);
            files[nf++] = p;
        }
        if (d != NULL)
            closedir(d);
        if (nf > first)
            qsort(files + first, nf - first, sizeof *files, cmp_str);
    }
    *out = files;
    *n = nf;
    return 0;
}

/* The configuration a suite tests, loaded as serve would load it. */
static int load_cfg(const struct scenario_suite *s, struct cfg **out, struct err *e)
{
    if (s->config_path != NULL)
        return cfg_load(s->config_path, out, e);
    char *text = NULL;
    int rc = sandbox_config_text(s, "/tmp", 1, 1, &text, e);
    if (rc == 0)
        rc = cfg_load_string(s->path, text, strlen(text), out, e);
    mem_free(text);
    return rc;
}

static int load_suite(const char *path, struct loaded *l, struct err *e)
{
    int rc = scenario_load(path, NULL, &l->suite, e);
    if (rc != 0)
        return rc;
    if ((rc = load_cfg(l->suite, &l->cfg, e)) != 0) {
        scenario_suite_free(&l->suite);
        return rc == ERR_IO ? ERR_CONFIG : rc;
    }
    /* again, now that the agents are known: a step naming no agent is refused here */
    const char **agents = mem_alloc((l->cfg->nagents + 1) * sizeof *agents);
    for (size_t i = 0; i < l->cfg->nagents; i++)
        agents[i] = l->cfg->agents[i].id;
    scenario_suite_free(&l->suite);
    rc = scenario_load(path, agents, &l->suite, e);
    mem_free(agents);
    if (rc != 0)
        cfg_unref(&l->cfg);
    return rc;
}

/* The production checklist: items [{id, text}] in order. *found = false
 * when there is no checklist file. */
static int load_checklist(const char *path, struct check_report *rep, bool *found,
                          struct err *e)
{
    struct stat st;
    *found = false;
    if (stat(path, &st) != 0)
        return 0;
    struct yml_doc *d = NULL;
    int rc = yml_load_file(path, &d, e);
    if (rc != 0)
        return rc;
    const struct yml_node *items = yml_get(d->root, "items");
    if (items == NULL || items->kind != YML_SEQ) {
        rc = yml_fail(d, d->root->pos, e, "a checklist needs 'items': a list of {id, text}");
        yml_free(&d);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < items->n; i++) {
        const struct yml_node *id = yml_get(items->items[i], "id");
        const struct yml_node *text = yml_get(items->items[i], "text");
        if (id == NULL || id->kind != YML_SCALAR)
            rc = yml_fail(d, items->items[i]->pos, e, "a checklist item needs an 'id'");
        else
            check_report_add_item(rep, id->str, text && text->kind == YML_SCALAR ? text->str
                                                                               : NULL);
    }
    yml_free(&d);
    *found = rc == 0;
    return rc;
}

static bool item_known(const struct check_report *rep, const char *id)
{
    for (size_t i = 0; i < rep->nitems; i++)
        if (strcmp(rep->items[i].id, id) == 0)
            return true;
    return false;
}

static int check_ids(const struct loaded *l, const struct check_report *rep, struct err *e)
{
    const struct scenario_suite *s = l->suite;
    for (size_t i = 0; i < s->nchecklist; i++)
        if (!item_known(rep, s->checklist[i]))
            return err_set(e, ERR_CONFIG, "%s:1:1: checklist item '%s' is not in the "
                           "checklist", s->path, s->checklist[i]);
    for (size_t k = 0; k < s->nscenarios; k++) {
        const struct scenario *sc = &s->scenarios[k];
        for (size_t i = 0; i < sc->nchecklist; i++)
            if (!item_known(rep, sc->checklist[i]))
                return err_set(e, ERR_CONFIG, "%s:%d:%d: checklist item '%s' is not in the "
                               "checklist", s->path, sc->pos.line, sc->pos.col,
                               sc->checklist[i]);
    }
    return 0;
}

/* ---- planning -------------------------------------------------------------------------------- */

static bool tagged(const struct scenario *sc, const char *const *tags)
{
    for (size_t i = 0; tags != NULL && tags[i] != NULL; i++)
        for (size_t k = 0; k < sc->ntags; k++)
            if (strcmp(sc->tags[k], tags[i]) == 0)
                return true;
    return false;
}

static bool selected(const struct run_opts *o, const struct scenario *sc)
{
    if (o->filter != NULL && strstr(sc->name, o->filter) == NULL)
        return false;
    if (o->tags != NULL && o->tags[0] != NULL && !tagged(sc, o->tags))
        return false;
    return !tagged(sc, o->skip_tags);
}

static void make_plan(struct runner *rn)
{
    const struct run_opts *o = rn->o;
    size_t per = 0;
    for (size_t i = 0; i < rn->nsuites; i++)
        per += rn->suites[i].suite->nscenarios;
    struct plan *one = mem_alloc((per + 1) * sizeof *one);
    size_t *idx = mem_alloc((per + 1) * sizeof *idx);
    rn->plan = mem_alloc(((size_t)o->repeat * per + 1) * sizeof *rn->plan);
    for (int r = 1; r <= o->repeat; r++) {
        size_t n = 0;
        uint64_t seed = run_case_seed(o->seed, r);
        for (size_t i = 0; i < rn->nsuites; i++)
            for (size_t k = 0; k < rn->suites[i].suite->nscenarios; k++)
                if (selected(o, &rn->suites[i].suite->scenarios[k]))
                    one[n++] = (struct plan){ .suite = i, .scenario = k, .repeat = r,
                                              .seed = seed };
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        if (o->shuffle) {
            uint64_t st = seed ^ 0x53485546464C45ULL;   /* "SHUFFLE": not the cases' stream */
            run_shuffle(&st, idx, n);
        }
        for (size_t i = 0; i < n; i++)
            rn->plan[rn->nplan++] = one[idx[i]];
    }
    mem_free(one);
    mem_free(idx);
}

/* ---- one case ------------------------------------------------------------------------------- */

static int set_vars(struct check_env *env, const struct scenario_suite *s,
                    const struct scenario *sc, const struct check_case *cc, struct err *e)
{
    const struct yml_node *v = s->vars;
    for (size_t i = 0; v != NULL && i < v->n; i++) {
        json_t *j = NULL;
        int rc = env_json(env, v->items[i], &j, e);
        if (rc == 0)
            rc = env_var_set(env, v->keys[i]->str, j, e);
        if (rc != 0)
            return rc;
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, cc->seed);
    int rc = env_var_set(env, "seed", json_string(seed), e);
    if (rc == 0)
        rc = env_var_set(env, "scenario", json_string(sc->name), e);
    if (rc == 0)
        rc = env_var_set(env, "suite", json_string(s->name), e);
    if (rc == 0)
        rc = env_var_set(env, "run", json_integer(cc->repeat), e);
    return rc;
}

/* The case could not start: one errored step says why. */
static void case_errored(struct check_report *rep, struct check_case *cc, const char *kind,
                         const struct err *e)
{
    struct check_step *s = check_case_add_step(rep, cc);
    s->kind = kind;
    s->name = kind;
    s->file = cc->file;
    s->line = cc->line;
    s->column = 1;
    s->status = CHECK_ERRORED;
    s->seen = check_report_str(rep, e->msg);
    cc->status = CHECK_ERRORED;
}

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t last_sent(struct fake_tg *tg)
{
    struct fake_tg_sent_filter f = { .since = INT64_MAX };
    json_t *o = fake_tg_sent(tg, &f);
    int64_t seq = json_integer_value(json_object_get(o, "last_seq"));
    json_decref(o);
    return seq;
}

static int64_t last_hook(struct sink *s)
{
    struct sink_stats st;
    sink_stats(s, &st);
    return st.last_seq;
}

static void run_case(struct runner *rn, size_t i)
{
    const struct plan *p = &rn->plan[i];
    const struct loaded *l = &rn->suites[p->suite];
    const struct scenario *sc = &l->suite->scenarios[p->scenario];
    struct check_report *rep = rn->res->cases[i];
    struct check_case *cc = &rn->res->report->cases[i];
    int64_t t_start = clock_mono_ns();
    if (rn->progress != NULL)
        progress_case_start(rn->progress, cc);

    struct sandbox *sb = NULL;
    struct check_env env = {0};
    struct err e = {0};
    int64_t epoch = rn->o->clock_start_ms;
    if (rn->o->target == NULL) {
        struct sandbox_opts so = { .tgcrm = rn->o->tgcrm, .clock_start_ms = epoch };
        if (sandbox_start(l->suite, &so, &sb, &e) != 0) {
            case_errored(rep, cc, "sandbox", &e);
            goto out;
        }
        env = (struct check_env){ .api_url = sb->api_url, .api_token = sb->api_token,
                                  .tg = sb->tg, .sink = sb->sink, .bot_id = sb->bot_id,
                                  .group_chat_id = sb->group_id, .clock = sb->clock };
    } else {
        env = (struct check_env){ .api_url = rn->o->target, .api_token = rn->o->token,
                                  .tg = rn->tg, .sink = rn->sink, .clock = rn->real,
                                  .bot_id = strtoll(l->cfg->telegram.token ? l->cfg->telegram.token
                                                                           : "0", NULL, 10),
                                  .group_chat_id = l->cfg->telegram.staff_group_id };
        epoch = clock_now_ms(rn->real);
        cc->clock_origin_ms = 0;
    }
    env.suite = l->suite;
    env.sc = sc;
    env.cc = cc;
    env.ra = rep->a;
    env.scratch = arena_new(0);
    if (env_open(&env, &e) != 0 || set_vars(&env, l->suite, sc, cc, &e) != 0) {
        case_errored(rep, cc, "start", &e);
        goto out_env;
    }
    if (sb == NULL) {                   /* live: a target that does not answer fails fast */
        long status = 0;
        if (env_api(&env, "GET", "/healthz", NULL, &status, NULL, &e) == 0 && status != 200)
            err_set(&e, ERR_IO, "GET %s/healthz answered %ld", env.api_url, status);
        if (e.code != 0) {
            case_errored(rep, cc, "target", &e);
            goto out_env;
        }
    }
    struct step_run sr = { .env = &env, .sb = sb, .cfg = sb ? sb->cfg : l->cfg, .rep = rep,
                           .cc = cc, .progress = rn->progress,
                           .rng = run_case_stream(cc->seed, l->suite->name, sc->name),
                           .tick_ms = rn->o->tick_ms, .step_timeout_ms = rn->o->step_timeout_ms };
    env.settle = step_settle;
    env.settle_ud = &sr;
    /* the CRM's start-up calls (getMe, ...) are not the scenario's */
    if (step_idle(&sr, &e) != 0) {
        case_errored(rep, cc, "sandbox", &e);
        goto out_env;
    }
    env.t0_ms = sb != NULL ? clock_now_ms(sb->clock) : epoch;
    env.tg_since = last_sent(env.tg);
    env.sink_since = last_hook(env.sink);
    if (step_run_scenario(&sr, sc) != 0)
        cc->status = CHECK_ERRORED;
out_env:
    env_close(&env);
    arena_free(&env.scratch);
out:
    if (sb != NULL && (cc->status == CHECK_FAILED || cc->status == CHECK_ERRORED)) {
        char *tail = sandbox_log_tail(sb, LOG_TAIL_BYTES);
        cc->log = check_report_str(rep, tail);
        mem_free(tail);
    }
    sandbox_free(&sb);
    cc->real_ms = (clock_mono_ns() - t_start) / 1000000;
    if (rn->progress != NULL)
        progress_case_end(rn->progress, cc);
}

static void *worker(void *arg)
{
    struct runner *rn = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&rn->next, 1);
        if (i >= rn->nplan)
            return NULL;
        run_case(rn, i);
    }
}

/* ---- the run ------------------------------------------------------------------------------------ */

static void fill_case(struct runner *rn, size_t i)
{
    struct check_report *rep = rn->res->report;
    const struct plan *p = &rn->plan[i];
    const struct scenario_suite *s = rn->suites[p->suite].suite;
    const struct scenario *sc = &s->scenarios[p->scenario];
    struct check_case *cc = &rep->cases[i];
    cc->suite = check_report_str(rep, s->name);
    cc->file = check_report_str(rep, s->path);
    cc->scenario = check_report_str(rep, sc->name);
    cc->expect = check_report_str(rep, sc->expect);
    cc->line = sc->pos.line;
    cc->seed = p->seed;
    cc->repeat = p->repeat;
    cc->clock_origin_ms = rn->o->target == NULL ? rn->o->clock_start_ms : 0;
    cc->ntags = sc->ntags;
    cc->tags = arena_alloc(rep->a, (sc->ntags + 1) * sizeof *cc->tags);
    for (size_t k = 0; k < sc->ntags; k++)
        cc->tags[k] = check_report_str(rep, sc->tags[k]);
    /* a scenario proves its own items, else its suite's */
    const char *const *ids = sc->nchecklist ? sc->checklist : s->checklist;
    cc->nchecklist = sc->nchecklist ? sc->nchecklist : s->nchecklist;
    cc->checklist = arena_alloc(rep->a, (cc->nchecklist + 1) * sizeof *cc->checklist);
    for (size_t k = 0; k < cc->nchecklist; k++)
        cc->checklist[k] = check_report_str(rep, ids[k]);
}

/* Live: the fake and the sink the deployment is pointed at, seeded once. */
static int start_live(struct runner *rn, struct err *e)
{
    rn->real = clock_real_new();
    struct fake_tg_opts fo = { .listen = rn->o->fake_listen, .clock = rn->real };
    struct sink_opts so = { .listen = rn->o->sink_listen, .clock = rn->real };
    int rc = fake_tg_start(&fo, &rn->tg, e);
    if (rc == 0)
        rc = sink_start(&so, &rn->sink, e);
    for (size_t i = 0; rc == 0 && i < rn->nsuites; i++) {
        const struct cfg *c = rn->suites[i].cfg;
        const struct scenario_suite *s = rn->suites[i].suite;
        rc = fake_tg_add_bot(rn->tg, c->telegram.token ? c->telegram.token
                                                       : FAKE_TG_DEFAULT_TOKEN, NULL, NULL, e);
        int64_t *members = mem_alloc((c->nagents + 1) * sizeof *members);
        for (size_t k = 0; rc == 0 && k < c->nagents; k++) {
            struct fake_tg_user u = { .id = c->agents[k].tg_user_id,
                                      .first_name = c->agents[k].name };
            rc = fake_tg_add_user(rn->tg, &u, e);
            members[k] = u.id;
        }
        for (size_t k = 0; rc == 0 && k < s->ncustomers; k++) {
            struct fake_tg_user u = { .id = s->customers[k].tg_user_id,
                                      .first_name = s->customers[k].first_name };
            rc = fake_tg_add_user(rn->tg, &u, e);
        }
        if (rc == 0 && c->telegram.staff_group_id != 0) {
            struct fake_tg_group g = { .id = c->telegram.staff_group_id, .title = "Support",
                                       .is_forum = true, .bot_is_admin = true,
                                       .members = members, .nmembers = c->nagents };
            rc = fake_tg_add_group(rn->tg, &g, e);
            if (rc == ERR_CONFLICT)
                rc = 0, err_clear(e);   /* suites sharing a configuration */
        }
        mem_free(members);
        for (size_t k = 0; rc == 0 && k < c->nwebhooks; k++) {
            const char *sec[2] = { c->webhooks[k].secret, c->webhooks[k].previous_secret };
            rc = sink_set_secrets(rn->sink, c->webhooks[k].name, sec, sec[1] ? 2 : 1, e);
        }
    }
    return rc;
}

static char *checklist_path(const struct run_opts *o, const char *first_suite)
{
    if (o->checklist != NULL)
        return mem_strdup(o->checklist);
    const char *slash = strrchr(first_suite, '/');
    size_t dl = slash ? (size_t)(slash - first_suite) + 1 : 0;
    char *p = mem_alloc(dl + sizeof "checklist.yaml");
    memcpy(p, first_suite, dl);
    memcpy(p + dl, "checklist.yaml", sizeof "checklist.yaml");
    return p;
}

int run_check(const struct run_opts *o, struct run_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (o->repeat < 1 || o->jobs < 1 || o->jobs > MAX_JOBS || o->tick_ms <= 0)
        return err_set(e, ERR_INVAL, "bad run options");
    struct runner rn = { .o = o, .res = out };
    char **files = NULL;
    size_t nfiles = 0;
    int rc = list_files(o, &files, &nfiles, e);
    if (rc != 0)
        return rc;
    if (nfiles == 0) {
        rc = err_set(e, ERR_INVAL, "no suite files in the paths given");
        goto out_files;
    }
    rn.suites = mem_alloc(nfiles * sizeof *rn.suites);
    for (size_t i = 0; i < nfiles && rc == 0; i++)
        if ((rc = load_suite(files[i], &rn.suites[i], e)) == 0)
            rn.nsuites++;
    if (rc != 0)
        goto out_suites;
    if ((rc = check_report_new(&out->report)) != 0) {
        rc = err_set(e, rc, "out of memory");
        goto out_suites;
    }
    struct check_report *rep = out->report;
    char *cl = checklist_path(o, files[0]);
    bool have_checklist;
    rc = load_checklist(cl, rep, &have_checklist, e);
    mem_free(cl);
    for (size_t i = 0; rc == 0 && have_checklist && i < rn.nsuites; i++)
        rc = check_ids(&rn.suites[i], rep, e);
    if (rc != 0)
        goto out_report;
    if (o->target != NULL && (rc = start_live(&rn, e)) != 0)
        goto out_report;

    make_plan(&rn);
    rep->seed = o->seed;
    rep->repeat = o->repeat;
    rep->target = check_report_str(rep, o->target ? o->target : "sandbox");
    rep->started_at = real_now_ms();
    out->cases = mem_alloc((rn.nplan + 1) * sizeof(struct check_report *));
    for (size_t i = 0; i < rn.nplan; i++) {
        check_report_add_case(rep);
        if (check_report_new(&out->cases[i]) != 0) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out_report;
        }
        out->ncases++;
    }
    for (size_t i = 0; i < rn.nplan; i++)
        fill_case(&rn, i);
    if (o->progress != NULL)
        rn.progress = progress_new(o->progress, o->progress_tty, rn.nplan);

    int jobs = o->target != NULL ? 1 : o->jobs;   /* live: one fake shared by the cases */
    pthread_t th[MAX_JOBS];
    int started = 0;
    int64_t t0 = clock_mono_ns();
    for (int j = 1; j < jobs && (size_t)j < rn.nplan; j++)
        if (pthread_create(&th[started], NULL, worker, &rn) == 0)
            started++;
    worker(&rn);
    for (int j = 0; j < started; j++)
        pthread_join(th[j], NULL);
    rep->real_ms = (clock_mono_ns() - t0) / 1000000;
    progress_free(&rn.progress);
    check_report_tally(rep);
    rc = 0;
    goto out_live;

out_report:
    run_result_release(out);
out_live:
    fake_tg_free(&rn.tg);
    sink_free(&rn.sink);
    clock_free(&rn.real);
    mem_free(rn.plan);
out_suites:
    for (size_t i = 0; i < rn.nsuites; i++) {
        scenario_suite_free(&rn.suites[i].suite);
        cfg_unref(&rn.suites[i].cfg);
    }
    mem_free(rn.suites);
out_files:
    for (size_t i = 0; i < nfiles; i++)
        mem_free(files[i]);
    mem_free(files);
    return rc;
}

void run_result_release(struct run_result *r)
{
    check_report_free(&r->report);
    for (size_t i = 0; i < r->ncases; i++)
        check_report_free(&r->cases[i]);
    mem_free(r->cases);
    memset(r, 0, sizeof *r);
}
