/*
 * cases.h — reading the tab-separated case files under tests/cases/.
 *
 * Lines starting with '#' and blank lines are skipped; every other line is
 * split on tabs. Case files let people who do not write C add test rows.
 */
#ifndef TGCRM_TESTS_CASES_H
#define TGCRM_TESTS_CASES_H

#include <stddef.h>

#define CASES_MAX_COLS 16

struct case_row {
    int line;                       /* 1-based line in the file */
    size_t ncols;
    char *cols[CASES_MAX_COLS];     /* owned by the row */
};

/* Load every row of `path`; *out is a heap array of *n rows. Aborts the
 * test program with a message if the file cannot be read. */
void cases_load(const char *path, struct case_row **out, size_t *n);
void cases_free(struct case_row *rows, size_t n);

#endif
