/* core/json_flat.c — see json_flat.h.
 *
 * The grammar taken: ws '{' ws [ string ws ':' ws string ws
 * (',' ws string ws ':' ws string ws)* ] '}' ws, with ws the four JSON
 * blanks (space, tab, LF, CR) and a string '"' chars '"' whose chars are
 * bytes 0x20 and up other than '"' and '\', valid UTF-8 (text_decode's
 * rules: no overlong forms, surrogates or code points past U+10FFFF, which
 * jansson rejects too), and the escapes \" \\ \/ \b \f \n \r \t. Every
 * other input is declined. Keys must differ: jansson keeps the last of
 * duplicates, which a caller reading the first would not; and an object of
 * more than JSON_FLAT_MAX_FIELDS fields is declined, so that the check
 * stays cheap on a hostile line of a million keys.
 */
#include "core/json_flat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"

/* More fields than this are declined (jansson hashes its keys). */
#define JSON_FLAT_MAX_FIELDS 64

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* The string starting at s[*i] == '"' decoded to *out (advanced past its
 * NUL); *i past the closing quote. False when declined. */
static bool scan_string(const char *s, size_t n, size_t *i, char **out, const char **v, size_t *vl)
{
    size_t p = *i + 1;
    char *o = *out, *start = o;
    while (p < n) {
        unsigned char c = (unsigned char)s[p];
        if (c == '"') {
            *o = '\0';
            *v = start;
            *vl = (size_t)(o - start);
            *out = o + 1;
            *i = p + 1;
            return true;
        }
        if (c == '\\') {
            if (p + 1 >= n) return false;
            char e;
            switch (s[p + 1]) {
            case '"':
                e = '"';
                break;
            case '\\':
                e = '\\';
                break;
            case '/':
                e = '/';
                break;
            case 'b':
                e = '\b';
                break;
            case 'f':
                e = '\f';
                break;
            case 'n':
                e = '\n';
                break;
            case 'r':
                e = '\r';
                break;
            case 't':
                e = '\t';
                break;
            default:
                return false; /* \u (and errors): jansson's */
            }
            *o++ = e;
            p += 2;
            continue;
        }
        if (c < 0x20) return false; /* a control byte: jansson's error */
        if (c < 0x80) {             /* a run of plain ASCII */
            size_t q = p + 1;
            while (q < n) {
                unsigned char d = (unsigned char)s[q];
                if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
                q++;
            }
            memcpy(o, s + p, q - p);
            o += q - p;
            p = q;
            continue;
        }
        int32_t cp;
        size_t l = text_decode(s, n, p, &cp);
        if (!l) return false; /* invalid UTF-8: jansson's error */
        memcpy(o, s + p, l);
        o += l;
        p += l;
    }
    return false; /* unterminated */
}

static void field_push(json_flat *jf, json_flat_field f)
{
    if (jf->n == jf->capf) ragd_array_grow((void **)&jf->f, &jf->capf, jf->n + 1, sizeof *jf->f);
    jf->f[jf->n++] = f;
}

static bool key_seen(const json_flat *jf, const char *k, size_t kl)
{
    for (size_t i = 0; i < jf->n; i++)
        if (jf->f[i].key_len == kl && !memcmp(jf->f[i].key, k, kl)) return true;
    return false;
}

bool json_flat_parse(json_flat *jf, const char *s, size_t n)
{
    jf->n = 0;
    /* Decoded strings never outgrow their quoted form, NUL included. */
    if (n + 1 > jf->cap) {
        free(jf->buf);
        jf->cap = n + 1;
        jf->buf = ragd_xmalloc(jf->cap);
    }
    char *out = jf->buf;
    size_t i = skip_ws(s, n, 0);
    if (i >= n || s[i] != '{') return false;
    i = skip_ws(s, n, i + 1);
    if (i < n && s[i] == '}') {
        i++;
    } else {
        for (;;) {
            json_flat_field f;
            if (i >= n || s[i] != '"' || !scan_string(s, n, &i, &out, &f.key, &f.key_len))
                return false;
            i = skip_ws(s, n, i);
            if (i >= n || s[i] != ':') return false;
            i = skip_ws(s, n, i + 1);
            if (i >= n || s[i] != '"' || !scan_string(s, n, &i, &out, &f.val, &f.val_len))
                return false;
            /* The duplicate check is quadratic: many fields go to jansson. */
            if (jf->n == JSON_FLAT_MAX_FIELDS || key_seen(jf, f.key, f.key_len)) return false;
            field_push(jf, f);
            i = skip_ws(s, n, i);
            if (i < n && s[i] == ',') {
                i = skip_ws(s, n, i + 1);
                continue;
            }
            if (i < n && s[i] == '}') {
                i++;
                break;
            }
            return false;
        }
    }
    return skip_ws(s, n, i) == n;
}

const json_flat_field *json_flat_get(const json_flat *jf, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < jf->n; i++)
        if (jf->f[i].key_len == kl && !memcmp(jf->f[i].key, key, kl)) return &jf->f[i];
    return NULL;
}

void json_flat_free(json_flat *jf)
{
    free(jf->f);
    free(jf->buf);
    jf->f = NULL;
    jf->buf = NULL;
    jf->n = jf->cap = jf->capf = 0;
}
