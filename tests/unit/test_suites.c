/*
 * test_suites.c — the built-in suites under suites/ load, and say what they
 * prove: every suite file loads with its configuration's agents, every
 * scenario carries an expectation and at least one id of the production
 * checklist (suites/checklist.yaml), and every checklist item is proved by
 * some scenario. The configurations the suites test load like any config
 * (templates, intake form and knowledge base compiled too) and are the
 * article's test environment. tests/check/bad/ holds suites that must be
 * refused, each with the exact message in its first line
 * ("# want: file:line:column: message"; tests/check/README.md).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "base/mem.h"
#include "base/yml.h"
#include "check/scenario.h"
#include "desk/intake.h"
#include "desk/kb.h"
#include "desk/template.h"

#define SUITES "suites"
#define BAD "tests/check/bad"
#define CHECKLIST SUITES "/checklist.yaml"
#define MAX_FILES 64
#define MAX_ITEMS 32

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yaml files of dir, sorted, as "dir/name" (mem_free each). Files
 * whose name starts with one of the skip prefixes are left out. */
static size_t yaml_files(const char *dir, const char *const *skip, char **out)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
            continue;
        bool skipped = false;
        for (size_t i = 0; skip != NULL && skip[i] != NULL; i++)
            skipped = skipped || strncmp(de->d_name, skip[i], strlen(skip[i])) == 0;
        if (skipped)
            continue;
        cr_assert_lt(n, MAX_FILES, "more than %d files in %s", MAX_FILES, dir);
        out[n] = mem_alloc(strlen(dir) + len + 2);
        sprintf(out[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    qsort(out, n, sizeof *out, by_name);
    return n;
}

static void free_files(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mem_free(files[i]);
}

/* A configuration, loaded and compiled the way serve does it. */
static struct cfg *load_config(const char *path)
{
    struct cfg *c = NULL;
    struct err e = {0};
    cr_assert_eq(cfg_load(path, &c, &e), 0, "%s", e.msg);
    struct template_set *ts = NULL;
    struct intake_form *form = NULL;
    struct kb_index *kb = NULL;
    cr_assert_eq(template_set_new(c, &ts, &e), 0, "%s", e.msg);
    cr_assert_eq(intake_form_new(c, &form, &e), 0, "%s", e.msg);
    cr_assert_eq(kb_index_from_cfg(c, &kb, &e), 0, "%s", e.msg);
    template_set_free(&ts);
    intake_form_free(&form);
    kb_index_free(&kb);
    return c;
}

/* The configuration's agent ids, NULL-terminated (pointers into c). */
static const char **agent_ids(const struct cfg *c)
{
    const char **ids = mem_alloc((c->nagents + 1) * sizeof *ids);
    for (size_t i = 0; i < c->nagents; i++)
        ids[i] = c->agents[i].id;
    ids[c->nagents] = NULL;
    return ids;
}

/* The checklist: ids and texts, in order. */
struct checklist {
    struct yml_doc *doc;
    const char *id[MAX_ITEMS];
    const char *text[MAX_ITEMS];
    size_t n;
};

static void load_checklist(struct checklist *cl)
{
    struct err e = {0};
    memset(cl, 0, sizeof *cl);
    cr_assert_eq(yml_load_file(CHECKLIST, &cl->doc, &e), 0, "%s", e.msg);
    const struct yml_node *items = yml_get(cl->doc->root, "items");
    cr_assert(items != NULL && items->kind == YML_SEQ, CHECKLIST ": no 'items' list");
    cr_assert_leq(items->n, MAX_ITEMS);
    for (size_t i = 0; i < items->n; i++) {
        const struct yml_node *id = yml_get(items->items[i], "id");
        const struct yml_node *text = yml_get(items->items[i], "text");
        cr_assert(id != NULL && text != NULL, CHECKLIST ": item %zu needs id and text", i + 1);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(cl->id[j], id->str, CHECKLIST ": id '%s' twice", id->str);
        cl->id[i] = id->str;
        cl->text[i] = text->str;
    }
    cl->n = items->n;
}

static size_t checklist_find(const struct checklist *cl, const char *id)
{
    for (size_t i = 0; i < cl->n; i++)
        if (strcmp(cl->id[i], id) == 0)
            return i;
    return cl->n;
}

Test(suites, configs_are_the_article_test_environment)
{
    struct cfg *c = load_config(SUITES "/crm.yaml");
    cr_assert(c->nagents >= 3 && c->nagents <= 5, "the article's 3-5 mock agents: %zu",
              c->nagents);
    cr_assert(c->ntemplates >= 3 && c->ntemplates <= 5, "3-5 canned responses: %zu",
              c->ntemplates);
    cr_assert_not_null(c->telegram.token, "a bot token of the test environment's own");
    cr_assert_neq(c->telegram.staff_group_id, 0, "a test topic group");
    static const char *const kb_ids[] = { "KB-001", "KB-002", "KB-003", "KB-004" };
    cr_assert_eq(c->nkb, sizeof kb_ids / sizeof kb_ids[0]);
    for (size_t i = 0; i < c->nkb; i++)
        cr_assert_str_eq(c->kb[i].id, kb_ids[i], "the stub articles' known ids");
    cr_assert_geq(c->nwebhooks, 1);
    for (size_t i = 0; i < c->nwebhooks; i++) {
        char want[96];
        snprintf(want, sizeof want, "http://sink.test/hooks/%s", c->webhooks[i].name);
        cr_assert_str_eq(c->webhooks[i].url, want, "the sandbox points sink.test at its sink");
    }
    cfg_unref(&c);
    c = load_config(SUITES "/crm-intake.yaml");
    cr_assert(c->intake_enabled, "the intake suite's configuration has the form");
    cfg_unref(&c);
}

/* What one pass over every suite found. */
struct survey {
    struct checklist cl;
    size_t proofs[MAX_ITEMS];   /* scenarios per checklist item */
    size_t suites, scenarios;
};

static void check_suite(const char *path, struct survey *sv)
{
    struct err e = {0};
    struct scenario_suite *s = NULL;
    /* the config's agents first: a suite names agents the config declares */
    cr_assert_eq(scenario_load(path, NULL, &s, &e), 0, "%s", e.msg);
    cr_assert_not_null(s->config_path, "%s: the built-in suites share a config file", path);
    struct cfg *c = load_config(s->config_path);
    scenario_suite_free(&s);
    const char **agents = agent_ids(c);
    cr_assert_eq(scenario_load(path, agents, &s, &e), 0, "%s", e.msg);
    for (size_t i = 0; i < s->nscenarios; i++) {
        const struct scenario *sc = &s->scenarios[i];
        cr_assert(sc->expect != NULL && strlen(sc->expect) >= 20,
                  "%s: scenario '%s' needs an expectation in words", path, sc->name);
        /* a scenario without its own list proves the suite's items */
        const char *const *ids = sc->nchecklist ? sc->checklist : s->checklist;
        size_t n = sc->nchecklist ? sc->nchecklist : s->nchecklist;
        cr_assert_gt(n, 0, "%s:%d: scenario '%s' proves no checklist item", path,
                     sc->pos.line, sc->name);
        for (size_t j = 0; j < n; j++) {
            size_t k = checklist_find(&sv->cl, ids[j]);
            cr_assert_lt(k, sv->cl.n, "%s:%d: scenario '%s': '%s' is not an id of "
                         CHECKLIST, path, sc->pos.line, sc->name, ids[j]);
            sv->proofs[k]++;
        }
        sv->scenarios++;
    }
    for (size_t j = 0; j < s->nchecklist; j++)
        cr_assert_lt(checklist_find(&sv->cl, s->checklist[j]), sv->cl.n,
                     "%s: '%s' is not an id of " CHECKLIST, path, s->checklist[j]);
    sv->suites++;
    mem_free(agents);
    cfg_unref(&c);
    scenario_suite_free(&s);
}

Test(suites, every_suite_loads_and_proves_checklist_items)
{
    struct survey sv = {0};
    load_checklist(&sv.cl);
    cr_assert_eq(sv.cl.n, 10, "the article's checklist has ten items");
    static const char *const skip[] = { "checklist", "crm", NULL };
    char *files[MAX_FILES];
    size_t n = yaml_files(SUITES, skip, files);
    for (size_t i = 0; i < n; i++)
        check_suite(files[i], &sv);
    free_files(files, n);
    cr_assert_geq(sv.suites, 7, "one suite per area of the article: %zu", sv.suites);
    for (size_t k = 0; k < sv.cl.n; k++)
        cr_assert_gt(sv.proofs[k], 0, "checklist item '%s' (\"%s\") is proved by no scenario",
                     sv.cl.id[k], sv.cl.text[k]);
    yml_free(&sv.cl.doc);
}

/* The first line of a bad suite: "# want: MESSAGE". */
static char *wanted(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    char line[1024];
    cr_assert_not_null(fgets(line, sizeof line, f), "%s is empty", path);
    fclose(f);
    static const char prefix[] = "# want: ";
    cr_assert_eq(strncmp(line, prefix, sizeof prefix - 1), 0,
                 "%s: the first line must be '# want: <the exact error>'", path);
    line[strcspn(line, "\n")] = '\0';
    return mem_strdup(line + sizeof prefix - 1);
}

Test(suites, bad_suites_are_refused_with_their_message)
{
    /* the bad suites test suites/crm.yaml, as the built-in ones do */
    struct cfg *c = load_config(SUITES "/crm.yaml");
    const char **agents = agent_ids(c);
    char *files[MAX_FILES];
    size_t n = yaml_files(BAD, NULL, files);
    cr_assert_geq(n, 8, "tests/check/bad holds the refusals: %zu", n);
    for (size_t i = 0; i < n; i++) {
        char *want = wanted(files[i]);
        struct scenario_suite *s = NULL;
        struct err e = {0};
        cr_assert_neq(scenario_load(files[i], agents, &s, &e), 0, "%s was accepted", files[i]);
        cr_assert_null(s);
        cr_expect_str_eq(e.msg, want, "%s:\n got: %s\nwant: %s", files[i], e.msg, want);
        mem_free(want);
    }
    free_files(files, n);
    mem_free(agents);
    cfg_unref(&c);
}
