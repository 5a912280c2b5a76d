/* core/json_dump.c — see json_dump.h. */
#include "core/json_dump.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"

/* A string, escaped; false on invalid UTF-8. */
static bool put_string(ragd_buf *b, const char *s, size_t n)
{
    ragd_buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t j = i; /* a run of bytes written as they are */
        while (j < n) {
            unsigned char c = (unsigned char)s[j];
            if (c < 0x20 || c == '"' || c == '\\') break;
            if (c < 0x80) {
                j++;
                continue;
            }
            int32_t cp;
            size_t l = text_decode(s, n, j, &cp);
            if (!l) return false;
            j += l;
        }
        ragd_buf_append(b, s + i, j - i);
        if (j >= n) break;
        unsigned char c = (unsigned char)s[j];
        char esc[8];
        const char *e = esc;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", (unsigned)c);
            break;
        }
        ragd_buf_puts(b, e);
        i = j + 1;
    }
    ragd_buf_putc(b, '"');
    return true;
}

static bool put_value(ragd_buf *b, const json_t *j, size_t flags)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        ragd_buf_putc(b, '{');
        const char *key;
        json_t *v;
        bool first = true;
        json_object_foreach((json_t *)j, key, v)
        {
            if (!first) ragd_buf_putc(b, ',');
            first = false;
            if (!put_string(b, key, strlen(key))) return false;
            ragd_buf_putc(b, ':');
            if (!put_value(b, v, flags)) return false;
        }
        ragd_buf_putc(b, '}');
        return true;
    }
    case JSON_ARRAY: {
        ragd_buf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i) ragd_buf_putc(b, ',');
            if (!put_value(b, json_array_get(j, i), flags)) return false;
        }
        ragd_buf_putc(b, ']');
        return true;
    }
    case JSON_STRING:
        return put_string(b, json_string_value(j), json_string_length(j));
    case JSON_INTEGER: { /* decimal, as "%lld" gives it, without printf */
        json_int_t v = json_integer_value(j);
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        char d[24], *e = d + sizeof d, *p = e;
        do {
            *--p = (char)('0' + (int)(u % 10));
            u /= 10;
        } while (u);
        if (v < 0) *--p = '-';
        ragd_buf_append(b, p, (size_t)(e - p));
        return true;
    }
    case JSON_REAL: { /* jansson's own formatting of reals */
        char *r = json_dumps(j, flags | JSON_ENCODE_ANY);
        if (!r) return false;
        ragd_buf_puts(b, r);
        free(r);
        return true;
    }
    case JSON_TRUE:
        ragd_buf_puts(b, "true");
        return true;
    case JSON_FALSE:
        ragd_buf_puts(b, "false");
        return true;
    case JSON_NULL:
        ragd_buf_puts(b, "null");
        return true;
    }
    return false;
}

char *ragd_json_dumps_compact(const json_t *j, size_t flags)
{
    /* Only JSON_COMPACT and a real precision; a top level of an object or
     * an array, as json_dumps requires without JSON_ENCODE_ANY. */
    if ((flags & ~(size_t)(JSON_COMPACT | JSON_REAL_PRECISION(31))) || !(flags & JSON_COMPACT) ||
        !j || !(json_is_object(j) || json_is_array(j)))
        return json_dumps(j, flags);
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_reserve(&b, 256);
    if (!put_value(&b, j, flags)) {
        ragd_buf_free(&b);
        return json_dumps(j, flags); /* invalid UTF-8: jansson's answer */
    }
    return ragd_buf_steal(&b);
}
