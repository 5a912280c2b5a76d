/* core/redact.h — removing personal data from text before it is logged.
 *
 * Three kinds, replaced by a placeholder (so the log still shows where
 * something was):
 *   [email]  local@domain.tld: local part [A-Za-z0-9._%+-]+, a domain of
 *            labels [A-Za-z0-9-] joined by dots, ending in a label of 2+
 *            letters;
 *   [card]   13 to 19 digits, optionally grouped by single spaces or
 *            hyphens, that pass the Luhn check (a digit run that fails it
 *            is left alone: order numbers, ids);
 *   [phone]  "+" and 8 to 15 digits (international), or 10 to 11 digits in
 *            2 to 5 groups separated by spaces, hyphens, dots or a
 *            parenthesised area code, groups of at most 4 digits (the
 *            first may be 1 to 4); with dots only the 3.3.4 form. So version
 *            numbers (1.2.3, 10.2.3.4567), dates (2026-01-15, 15.01.2026),
 *            IP addresses and bare digit runs are not phones.
 * A candidate must not touch letters or digits on either side.
 *
 * Known misses: phone numbers written without separators or as words,
 * e-mail addresses obfuscated ("a at b dot com"), cards in other groupings.
 *
 * Ownership: the returned text is malloc'd for the caller.
 * Thread-safety: reentrant.
 */
#ifndef RAGD_CORE_REDACT_H
#define RAGD_CORE_REDACT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    long emails, phones, cards;
} redact_counts;

/* A copy of s with every e-mail address, card number and phone number
 * replaced; counts (may be NULL) gets how many of each. */
char *redact_text(const char *s, redact_counts *counts);

/* The Luhn check of digits[0..n) (ASCII digits only). */
bool redact_luhn_ok(const char *digits, size_t n);

#endif
