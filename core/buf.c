/* core/buf.c — see buf.h. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "ragd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ragd_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *ragd_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *ragd_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *ragd_xstrdup(const char *s)
{
    return ragd_xstrndup(s, strlen(s));
}

char *ragd_xstrndup(const char *s, size_t n)
{
    char *p = ragd_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ragd_array_grow(void **arr, size_t *cap, size_t need, size_t elsz)
{
    if (need <= *cap) return;
    size_t nc = *cap ? *cap : 8;
    while (nc < need)
        nc *= 2;
    *arr = ragd_xrealloc(*arr, nc * elsz);
    *cap = nc;
}

void ragd_buf_reserve(ragd_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap) return;
    size_t nc = b->cap ? b->cap : 64;
    while (nc < b->len + n + 1)
        nc *= 2;
    b->data = ragd_xrealloc(b->data, nc);
    b->cap = nc;
    b->data[b->len] = '\0'; /* keep the buffer a valid string at all times */
}

void ragd_buf_append(ragd_buf *b, const char *s, size_t n)
{
    ragd_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ragd_buf_puts(ragd_buf *b, const char *s)
{
    ragd_buf_append(b, s, strlen(s));
}

void ragd_buf_putc(ragd_buf *b, char c)
{
    ragd_buf_append(b, &c, 1);
}

void ragd_buf_printf(ragd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    ragd_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

void ragd_buf_reset(ragd_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

char *ragd_buf_steal(ragd_buf *b)
{
    char *p = b->data ? b->data : ragd_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void ragd_buf_free(ragd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *ragd_buf_str(const ragd_buf *b)
{
    return b->data ? b->data : "";
}
