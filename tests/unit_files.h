/* tests/unit_files.h — temporary directories and files for the cmocka unit
 * tests (unit_store, unit_store_pg's suite, unit_summary, unit_llm_summary).
 * Header-only (static inline), included after <cmocka.h>.
 */
#ifndef RAGD_TESTS_UNIT_FILES_H
#define RAGD_TESTS_UNIT_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new empty directory under /tmp; the caller frees the returned path
 * (and removes the directory with unit_rmrf). */
static inline char *unit_tmpdir(void)
{
    char tmpl[] = "/tmp/ragd-unit-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *copy = strdup(d);
    assert_non_null(copy);
    return copy;
}

/* Remove directory d and everything below it; fails the test on error. */
static inline void unit_rmrf(const char *d)
{
    char cmd[4200];
    assert_true(snprintf(cmd, sizeof cmd, "rm -rf '%s'", d) < (int)sizeof cmd);
    assert_int_equal(system(cmd), 0);
}

/* Write content to dir/name, replacing the file. */
static inline void unit_write_file(const char *dir, const char *name, const char *content)
{
    char p[4096];
    assert_true(snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

#endif
