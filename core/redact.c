/* core/redact.c — e-mail, card and phone redaction (see redact.h).
 *
 * One left-to-right scan. At each position that starts a word (the byte
 * before is not a letter or digit) the three matchers are tried in order —
 * e-mail (its local part may hold digits), card, phone — each returning the
 * length it matched or 0; a match is replaced by its placeholder and the
 * scan goes on after it. Matchers are hand-written (no regex library) and
 * look at ASCII only, so UTF-8 text passes through untouched.
 */
#include "core/redact.h"

#include <ctype.h>
#include <string.h>

#include "core/buf.h"

static bool alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

static bool local_char(char c)
{
    return alnum(c) || strchr("._%+-", c) != NULL;
}

static bool label_char(char c)
{
    return alnum(c) || c == '-';
}

/* An e-mail address at s: its length, or 0. */
static size_t match_email(const char *s)
{
    size_t i = 0;
    while (s[i] && local_char(s[i]))
        i++;
    if (!i || s[i] != '@') return 0;
    i++;
    size_t labels = 0, last_start = i, end = 0;
    for (;;) {
        size_t st = i;
        while (s[i] && label_char(s[i]))
            i++;
        if (i == st) break;
        labels++;
        last_start = st;
        end = i;
        if (s[i] == '.' && label_char(s[i + 1]))
            i++;
        else
            break;
    }
    if (labels < 2) return 0;
    size_t letters = 0;
    for (size_t k = last_start; k < end; k++) {
        if (!isalpha((unsigned char)s[k])) return 0;
        letters++;
    }
    if (letters < 2 || alnum(s[end])) return 0;
    return end;
}

bool redact_luhn_ok(const char *d, size_t n)
{
    int sum = 0;
    for (size_t k = 0; k < n; k++) {
        int v = d[n - 1 - k] - '0';
        if (k % 2) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
    }
    return n > 0 && sum % 10 == 0;
}

/* A Luhn-valid card number at s: its length, or 0. */
static size_t match_card(const char *s)
{
    char digits[20];
    size_t nd = 0, i = 0, best = 0;
    while (isdigit((unsigned char)s[i])) {
        if (nd == 19) return 0; /* too long for a card: some other number */
        digits[nd++] = s[i++];
        if (nd >= 13 && !alnum(s[i]) &&
            !((s[i] == ' ' || s[i] == '-') && isdigit((unsigned char)s[i + 1])))
            best = redact_luhn_ok(digits, nd) ? i : 0;
        if ((s[i] == ' ' || s[i] == '-') && isdigit((unsigned char)s[i + 1])) i++;
    }
    return best;
}

/* A phone number at s: its length, or 0. */
static size_t match_phone(const char *s)
{
    size_t i = 0, digits = 0, groups = 0, sizes[8];
    bool intl = false, dots = false, other_sep = false;
    if (s[0] == '+') {
        intl = true;
        i = 1;
    }
    for (;;) {
        bool paren = s[i] == '(';
        if (paren) i++;
        size_t st = i;
        while (isdigit((unsigned char)s[i]))
            i++;
        if (i == st || (paren && s[i] != ')')) return 0;
        if (groups == 8) return 0;
        sizes[groups++] = i - st;
        digits += i - st;
        if (paren) {
            i++;
            other_sep = true;
            if (s[i] == ' ' && (isdigit((unsigned char)s[i + 1]))) i++;
            if (!isdigit((unsigned char)s[i])) break;
            continue;
        }
        char c = s[i];
        if ((c == ' ' || c == '-' || c == '.') &&
            (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '(')) {
            if (c == '.')
                dots = true;
            else
                other_sep = true;
            i++;
            continue;
        }
        break;
    }
    if (alnum(s[i])) return 0;
    if (intl) return digits >= 8 && digits <= 15 ? i : 0;
    if (digits < 10 || digits > 11 || groups < 2 || groups > 5) return 0;
    for (size_t g = 0; g < groups; g++)
        if (sizes[g] > 4 || (g > 0 && sizes[g] < 2)) return 0;
    if (dots && (other_sep || groups != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 4))
        return 0;
    return i;
}

char *redact_text(const char *s, redact_counts *counts)
{
    redact_counts scratch;
    if (!counts) counts = &scratch;
    memset(counts, 0, sizeof *counts);
    ragd_buf b = RAGD_BUF_INIT;
    size_t i = 0;
    while (s[i]) {
        size_t n = 0;
        if (i == 0 || !alnum(s[i - 1])) {
            if ((n = match_email(s + i))) {
                ragd_buf_puts(&b, "[email]");
                counts->emails++;
            } else if (isdigit((unsigned char)s[i]) && (n = match_card(s + i))) {
                ragd_buf_puts(&b, "[card]");
                counts->cards++;
            } else if ((isdigit((unsigned char)s[i]) || s[i] == '+' || s[i] == '(') &&
                       (i == 0 || (s[i - 1] != '.' && s[i - 1] != '-')) &&
                       (n = match_phone(s + i))) {
                ragd_buf_puts(&b, "[phone]");
                counts->phones++;
            }
        }
        if (n) {
            i += n;
        } else {
            ragd_buf_putc(&b, s[i]);
            i++;
        }
    }
    return b.data ? ragd_buf_steal(&b) : ragd_xstrdup("");
}
