/* tests/unit_multipart.c — the multipart/form-data parser (api/multipart.c):
 * well-formed bodies fed whole and in every split, delimiters and headers
 * split across reads, and malformed bodies that must fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/multipart.h"
#include "core/buf.h"

#define CT "multipart/form-data; boundary=XyZ-42"

static const char BODY[] =
    "preamble to ignore\r\n"
    "--XyZ-42\r\n"
    "Content-Disposition: form-data; name=\"purpose\"\r\n"
    "\r\n"
    "assistants\r\n"
    "--XyZ-42\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".md\"\r\n"
    "Content-Type: text/markdown\r\n"
    "\r\n"
    "# Title\r\n\r\nline with --XyZ-4 almost a delimiter\r\n--XyZ-4\r\n"
    "--XyZ-42\r\n"
    "Content-Disposition: form-data; name=\"empty\"\r\n"
    "\r\n"
    "\r\n"
    "--XyZ-42--\r\n"
    "epilogue";

static const char FILE_DATA[] = "# Title\r\n\r\nline with --XyZ-4 almost a delimiter\r\n--XyZ-4";

/* Parse body in pieces of `step` bytes (0: whole). */
static ragd_status parse(const char *ct, const char *body, size_t n, size_t step, size_t max,
                         mp_form *f, ragd_error *err)
{
    f->parts = NULL;
    f->nparts = 0;
    mp_parser *p = mp_parser_new(ct, max, err);
    if (!p) return err->code;
    ragd_status rc = RAGD_OK;
    for (size_t i = 0; i < n && !rc;) {
        size_t k = step && step < n - i ? step : n - i;
        rc = mp_feed(p, body + i, k, err);
        i += k;
    }
    if (!rc) rc = mp_finish(p, f, err);
    mp_parser_free(p);
    return rc;
}

static void check_form(const mp_form *f)
{
    assert_int_equal(f->nparts, 3);
    const mp_part *pp = mp_form_get(f, "purpose");
    assert_non_null(pp);
    assert_null(pp->filename);
    assert_int_equal(pp->len, 10);
    assert_string_equal(pp->data, "assistants");
    const mp_part *fp = mp_form_get(f, "file");
    assert_non_null(fp);
    assert_string_equal(fp->filename, "a \"q\".md");
    assert_string_equal(fp->content_type, "text/markdown");
    assert_int_equal(fp->len, sizeof FILE_DATA - 1);
    assert_memory_equal(fp->data, FILE_DATA, fp->len);
    const mp_part *ep = mp_form_get(f, "empty");
    assert_non_null(ep);
    assert_int_equal(ep->len, 0);
    assert_int_equal(mp_form_count(f, "file"), 1);
    assert_null(mp_form_get(f, "nope"));
}

static void test_whole_body(void **state)
{
    (void)state;
    mp_form f;
    ragd_error err;
    assert_int_equal(parse(CT, BODY, sizeof BODY - 1, 0, 0, &f, &err), RAGD_OK);
    check_form(&f);
    mp_form_free(&f);
}

/* Every piece size from 1 byte up: delimiters, CRLFs and headers are split
 * across reads at every possible offset. */
static void test_every_split(void **state)
{
    (void)state;
    for (size_t step = 1; step < 40; step++) {
        mp_form f;
        ragd_error err;
        assert_int_equal(parse(CT, BODY, sizeof BODY - 1, step, 0, &f, &err), RAGD_OK);
        check_form(&f);
        mp_form_free(&f);
    }
    /* Two pieces, cut at every offset. */
    size_t n = sizeof BODY - 1;
    for (size_t cut = 1; cut < n; cut++) {
        mp_parser *p = mp_parser_new(CT, 0, NULL);
        ragd_error err;
        assert_int_equal(mp_feed(p, BODY, cut, &err), RAGD_OK);
        assert_int_equal(mp_feed(p, BODY + cut, n - cut, &err), RAGD_OK);
        mp_form f;
        assert_int_equal(mp_finish(p, &f, &err), RAGD_OK);
        check_form(&f);
        mp_form_free(&f);
        mp_parser_free(p);
    }
}

static void test_boundary_parameter(void **state)
{
    (void)state;
    char b[MP_MAX_BOUNDARY + 1];
    ragd_error err;
    assert_int_equal(mp_boundary("multipart/form-data; charset=utf-8; boundary=\"a b\"", b, &err),
                     RAGD_OK);
    assert_string_equal(b, "a b");
    assert_int_equal(mp_boundary("multipart/form-data;boundary=----x;foo=1", b, &err), RAGD_OK);
    assert_string_equal(b, "----x");
    assert_int_equal(mp_boundary("multipart/form-data", b, &err), RAGD_EINPUT);
    assert_non_null(strstr(err.msg, "boundary"));
    assert_int_equal(mp_boundary("multipart/form-data; boundary=", b, &err), RAGD_EINPUT);
    assert_int_equal(mp_boundary("multipart/form-data; boundary=\"unterminated", b, &err),
                     RAGD_EINPUT);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    assert_int_equal(mp_boundary(longb, b, &err), RAGD_EINPUT);
    assert_null(mp_parser_new("multipart/form-data", 0, &err));
    assert_true(mp_is_multipart("Multipart/Form-Data; boundary=x"));
    assert_false(mp_is_multipart("application/json"));
    assert_false(mp_is_multipart("multipart/form-datax"));
    assert_false(mp_is_multipart(NULL));
}

static void expect_bad(const char *body, const char *what)
{
    mp_form f;
    ragd_error err;
    ragd_error_clear(&err);
    for (size_t step = 0; step < 4; step++) {
        ragd_status rc = parse(CT, body, strlen(body), step, 0, &f, &err);
        if (rc != RAGD_EINPUT) fprintf(stderr, "accepted: %s\n", body);
        assert_int_equal(rc, RAGD_EINPUT);
        if (!strstr(err.msg, what)) fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, what);
        assert_non_null(strstr(err.msg, what));
        assert_int_equal(f.nparts, 0);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    expect_bad("", "no delimiter");
    expect_bad("no delimiter at all\r\n", "no delimiter");
    expect_bad("--XyZ-42\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ndata", "ends before");
    expect_bad("--XyZ-42\r\nContent-Disposition: form-data; name=\"a\"\r\n", "ends before");
    expect_bad("--XyZ-42\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ-42--",
               "Content-Disposition");
    expect_bad("--XyZ-42\r\n\r\nx\r\n--XyZ-42--", "Content-Disposition");
    expect_bad("--XyZ-42\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ-42--",
               "form-data");
    expect_bad("--XyZ-42\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ-42--", "name");
    expect_bad("--XyZ-42\r\nbroken header line\r\n\r\nx\r\n--XyZ-42--", "':'");
    expect_bad("--XyZ-42garbage\r\n", "CRLF");
    expect_bad("--XyZ-42--", "no parts");
}

static void test_limits(void **state)
{
    (void)state;
    /* Headers longer than the bound. */
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, "--XyZ-42\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ");
    for (int i = 0; i < MP_MAX_HEADER_BYTES; i++)
        ragd_buf_putc(&b, 'p');
    ragd_buf_puts(&b, "\r\n\r\nx\r\n--XyZ-42--\r\n");
    expect_bad(b.data, "too long");
    ragd_buf_reset(&b);
    /* Too many parts. */
    for (int i = 0; i <= MP_MAX_PARTS; i++)
        ragd_buf_printf(&b, "--XyZ-42\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\nv\r\n",
                        i);
    ragd_buf_puts(&b, "--XyZ-42--\r\n");
    expect_bad(b.data, "more than 64 parts");
    ragd_buf_reset(&b);
    /* Part data over max_bytes. */
    ragd_buf_puts(&b,
                  "--XyZ-42\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n");
    for (int i = 0; i < 5000; i++)
        ragd_buf_putc(&b, 'd');
    ragd_buf_puts(&b, "\r\n--XyZ-42--\r\n");
    mp_form f;
    ragd_error err;
    assert_int_equal(parse(CT, b.data, b.len, 100, 4096, &f, &err), RAGD_EINPUT);
    assert_non_null(strstr(err.msg, "too large"));
    assert_int_equal(parse(CT, b.data, b.len, 100, 8192, &f, &err), RAGD_OK);
    assert_int_equal(f.parts[0].len, 5000);
    mp_form_free(&f);
    ragd_buf_free(&b);
}

/* Binary data with NULs and CR/LF runs passes through unchanged. */
static void test_binary_part(void **state)
{
    (void)state;
    unsigned char bin[600];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 37 + (i % 3 ? 0 : '\r'));
    bin[10] = 0;
    bin[11] = '\r';
    bin[12] = '\n';
    bin[13] = '-';
    bin[14] = '-';
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(
        &b, "--XyZ-42\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n");
    ragd_buf_append(&b, (const char *)bin, sizeof bin);
    ragd_buf_puts(&b, "\r\n--XyZ-42--");
    for (size_t step = 0; step < 9; step += 4) {
        mp_form f;
        ragd_error err;
        assert_int_equal(parse(CT, b.data, b.len, step, 0, &f, &err), RAGD_OK);
        assert_int_equal(f.parts[0].len, sizeof bin);
        assert_memory_equal(f.parts[0].data, bin, sizeof bin);
        mp_form_free(&f);
    }
    ragd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_body),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_boundary_parameter),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_binary_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
