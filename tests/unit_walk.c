/* tests/unit_walk.c — gitignore-style patterns (ingest/ignore.c) and the
 * legacy 8-bit text conversion (ingest/encoding.c) that directory walks
 * and the reader use. Pure functions: no files but one .ragdignore. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/encoding.h"
#include "ingest/ignore.h"

static void test_glob(void **state)
{
    (void)state;
    assert_true(ignore_glob("*.png", "logo.png"));
    assert_false(ignore_glob("*.png", "img/logo.png")); /* '*' stays in a component */
    assert_true(ignore_glob("img/*.png", "img/logo.png"));
    assert_true(ignore_glob("**/*.map", "a/b/c.js.map"));
    assert_true(ignore_glob("**/*.map", "c.map")); /* zero components */
    assert_true(ignore_glob("api/**", "api/x/y.html"));
    assert_false(ignore_glob("api/**", "apix/y.html"));
    assert_true(ignore_glob("a/**/b", "a/b"));
    assert_true(ignore_glob("a/**/b", "a/x/y/b"));
    assert_false(ignore_glob("a/**/b", "a/x/y/c"));
    assert_true(ignore_glob("file?.txt", "file1.txt"));
    assert_false(ignore_glob("file?.txt", "file10.txt"));
    assert_true(ignore_glob("[a-c]x", "bx"));
    assert_false(ignore_glob("[!a-c]x", "bx"));
    assert_true(ignore_glob("[x", "[x")); /* no ']': literal */
    assert_true(ignore_glob("\\*star", "*star"));
    assert_false(ignore_glob("\\*star", "xstar"));
    assert_false(ignore_glob("", "x"));
    /* Many stars over a long name stay fast (backtracking is bounded by
     * the component). */
    assert_false(ignore_glob("*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_rules(void **state)
{
    (void)state;
    ignore_rules *root = ignore_new("", NULL);
    ignore_add(root, "# a comment");
    ignore_add(root, "");
    ignore_add(root, "*.log");
    ignore_add(root, "build/");
    ignore_add(root, "/top.txt");
    ignore_add(root, "!keep.log");
    assert_int_equal(ignore_match(root, "x.log", false), 1);
    assert_int_equal(ignore_match(root, "deep/er/x.log", false), 1); /* no slash: any depth */
    assert_int_equal(ignore_match(root, "keep.log", false), -1);     /* negated, last wins */
    assert_int_equal(ignore_match(root, "build", true), 1);
    assert_int_equal(ignore_match(root, "build", false), 0); /* dir/ matches directories */
    assert_int_equal(ignore_match(root, "top.txt", false), 1);
    assert_int_equal(ignore_match(root, "sub/top.txt", false), 0); /* anchored */
    assert_int_equal(ignore_match(root, "readme.md", false), 0);
    /* A deeper set (a .ragdignore in docs/) sees paths relative to docs/
     * and overrides the root's verdict. */
    ignore_rules *docs = ignore_new("docs", root);
    ignore_add(docs, "!*.log");
    ignore_add(docs, "/_static/");
    assert_int_equal(ignore_match(docs, "docs/x.log", false), -1);
    assert_int_equal(ignore_match(docs, "other/x.log", false), 1);
    assert_int_equal(ignore_match(docs, "docs/_static", true), 1);
    assert_int_equal(ignore_match(docs, "_static", true), 0);
    ignore_free(docs);
    ignore_free(root);
}

static void test_rules_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ragd-unit-walk-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# generated\r\n*.tmp\r\n\r\nsearchindex.js   \nsrc/**/*.o\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ignore_rules *r = ignore_new("", NULL);
    ragd_error e;
    assert_int_equal(ignore_add_file(r, path, &e), RAGD_OK);
    assert_int_equal(ignore_match(r, "a.tmp", false), 1);            /* CRLF stripped */
    assert_int_equal(ignore_match(r, "x/searchindex.js", false), 1); /* trailing spaces */
    assert_int_equal(ignore_match(r, "src/a/b/c.o", false), 1);
    assert_int_equal(ignore_match(r, "c.o", false), 0);
    ignore_free(r);
    unlink(path);
    ignore_rules *gone = ignore_new("", NULL);
    assert_int_equal(ignore_add_file(gone, path, &e), RAGD_EINPUT);
    ignore_free(gone);
}

static void expect_conv(const char *raw, const char *enc, const char *want_used, const char *want)
{
    char *out = NULL;
    size_t n = 0;
    const char *used = NULL;
    ingest_to_utf8(raw, strlen(raw), enc, &out, &n, &used);
    if (!want_used) {
        assert_null(used);
        assert_null(out);
        return;
    }
    assert_non_null(used);
    assert_string_equal(used, want_used);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    free(out);
}

static void test_encoding(void **state)
{
    (void)state;
    /* Valid UTF-8 is left alone. */
    expect_conv("caf\xC3\xA9", NULL, NULL, NULL);
    /* Latin-1 (no byte 0x80-0x9F) and Windows-1252 (curly quotes, euro). */
    expect_conv("caf\xE9 cr\xE8me", NULL, "iso-8859-1", "caf\xC3\xA9 cr\xC3\xA8me");
    expect_conv("\x93quoted\x94 \x80 5", "auto", "windows-1252",
                "\xE2\x80\x9Cquoted\xE2\x80\x9D \xE2\x82\xAC 5");
    /* --encoding overrides the guess; utf-8 converts nothing. */
    expect_conv("\x93x", "latin-1", "iso-8859-1", "\xC2\x93x");
    expect_conv("\xE9x", "cp1252", "windows-1252", "\xC3\xA9x");
    expect_conv("\xE9x", "utf-8", NULL, NULL);
    /* Damaged UTF-8 (overlong '/', a cut sequence) is not 8-bit text. */
    expect_conv("/etc\xC0\xAFpasswd", NULL, NULL, NULL);
    expect_conv("25 \xE2\x82", NULL, NULL, NULL);
    /* Undefined Windows-1252 bytes become C1 controls, as browsers do. */
    expect_conv("\x81\x9D", "windows-1252", "windows-1252", "\xC2\x81\xC2\x9D");
    ragd_error e;
    assert_int_equal(ingest_encoding_check("Latin-1", &e), RAGD_OK);
    assert_int_equal(ingest_encoding_check(NULL, &e), RAGD_OK);
    assert_int_equal(ingest_encoding_check("ebcdic", &e), RAGD_EUSAGE);
    assert_string_equal(e.field, "encoding");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_rules_file),
        cmocka_unit_test(test_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
