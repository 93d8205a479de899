/*
 * cases.c — tab-separated case files (see cases.h).
 */
#include "common/cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cases_load(const char *path, struct case_row **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cases: cannot open %s (run tests from the repository root)\n", path);
        abort();
    }
    struct case_row *rows = NULL;
    size_t count = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    int lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            rows = realloc(rows, cap * sizeof *rows);
            if (rows == NULL)
                abort();
        }
        struct case_row *r = &rows[count++];
        memset(r, 0, sizeof *r);
        r->line = lineno;
        char *p = line;
        while (r->ncols < CASES_MAX_COLS) {
            char *tab = strchr(p, '\t');
            size_t l = tab ? (size_t)(tab - p) : strlen(p);
            r->cols[r->ncols] = strndup(p, l);
            r->ncols++;
            if (tab == NULL)
                break;
            p = tab + 1;
        }
    }
    free(line);
    fclose(f);
    *out = rows;
    *n = count;
}

void cases_free(struct case_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < rows[i].ncols; j++)
            free(rows[i].cols[j]);
    free(rows);
}
