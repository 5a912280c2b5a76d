/* tests/unit_redact.c — core/redact.h: e-mail addresses, Luhn-checked card
 * numbers and phone numbers are replaced; version numbers, dates, IP
 * addresses, prices, non-Luhn digit runs and ordinary text are not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/redact.h"

static void same(const char *in, const char *want)
{
    char *got = redact_text(in, NULL);
    if (strcmp(got, want)) fail_msg("redact(\"%s\") = \"%s\", want \"%s\"", in, got, want);
    free(got);
}

static void test_emails(void **state)
{
    (void)state;
    same("write to jane.doe+ragd@example.co.uk today", "write to [email] today");
    same("<ops@ragd.dev>.", "<[email]>.");
    same("a@b.c x@localhost user@host.123", "a@b.c x@localhost user@host.123");
    same("twitter @handle and foo@ bar", "twitter @handle and foo@ bar");
    redact_counts c;
    char *r = redact_text("a1@x.io, b2@y.org", &c);
    assert_string_equal(r, "[email], [email]");
    assert_int_equal(c.emails, 2);
    assert_int_equal(c.cards + c.phones, 0);
    free(r);
}

static void test_cards(void **state)
{
    (void)state;
    assert_true(redact_luhn_ok("4111111111111111", 16));
    assert_false(redact_luhn_ok("4111111111111112", 16));
    same("card 4111 1111 1111 1111 ok", "card [card] ok");
    same("card 4111-1111-1111-1111.", "card [card].");
    same("amex 378282246310005", "amex [card]");
    same("order 4111111111111112 shipped", "order 4111111111111112 shipped"); /* not Luhn */
    same("id 12345678901234567890123", "id 12345678901234567890123");         /* too long */
    same("x4111111111111111", "x4111111111111111");                           /* inside a word */
}

static void test_phones(void **state)
{
    (void)state;
    same("call +44 20 7946 0958 now", "call [phone] now");
    same("call +1-202-555-0143.", "call [phone].");
    same("(202) 555-0143", "[phone]");
    same("202-555-0143 or 202.555.0143", "[phone] or [phone]");
    same("020 7946 0958", "[phone]");
    redact_counts c;
    char *r = redact_text("tel 202 555 0143", &c);
    assert_int_equal(c.phones, 1);
    free(r);
}

static void test_non_matches(void **state)
{
    (void)state;
    const char *keep[] = {
        "version 1.2.3 and 10.2.3.4567 and v2.14.1",
        "released 2026-01-15, 15.01.2026, 01/15/2026 and 1 November 1847",
        "host 192.168.100.1 port 8080",
        "it costs 1,000.50 euros; 38 metres; 15 min",
        "ISBN 978-3-16-148410-0", /* 13 digits in 5 groups, but a 1-digit group */
        "run 5551234567 bare",    /* no separators: not a phone (a known miss) */
        "years 1999-2004 and 2010 - 2020",
        "ticket #123456789012 and 0.5.0.1",
        "Grüße, naïve café — ✓",
    };
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        same(keep[i], keep[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emails),
        cmocka_unit_test(test_cards),
        cmocka_unit_test(test_phones),
        cmocka_unit_test(test_non_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
