/* retrieve/words_blob.c — encoding and decoding validation's content words
 * (see words_blob.h for the format and why it is exact). */
#include "retrieve/words_blob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

void vwords_init_chunk(vwords *v, const char *title, const char *heading, const char *text)
{
    ragd_buf all = RAGD_BUF_INIT;
    size_t lt = strlen(title), lh = strlen(heading), lx = strlen(text);
    ragd_buf_reserve(&all, lt + lh + lx + 2);
    ragd_buf_append(&all, title, lt);
    ragd_buf_putc(&all, '\n');
    ragd_buf_append(&all, heading, lh);
    ragd_buf_putc(&all, '\n');
    ragd_buf_append(&all, text, lx);
    vwords_init(v, all.data, all.len);
    ragd_buf_free(&all);
}

static void put_varint(ragd_buf *b, uint64_t x)
{
    char t[10];
    size_t n = 0;
    do {
        unsigned char c = (unsigned char)(x & 0x7f);
        x >>= 7;
        t[n++] = (char)(x ? c | 0x80 : c);
    } while (x);
    ragd_buf_append(b, t, n);
}

static bool get_varint(const unsigned char *p, size_t n, size_t *i, uint64_t *out)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*i >= n) return false;
        unsigned char c = p[(*i)++];
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = x;
            return true;
        }
    }
    return false;
}

/* Whether the folded text holds a character validate_terms_found treats as
 * CJK (a term starting with one is searched with strstr). */
static bool has_cjk(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (!((unsigned char)s[i] & 0x80)) {
            i++;
            continue;
        }
        int32_t cp = 0;
        size_t l = text_decode(s, n, i, &cp);
        if (text_is_cjk(cp)) return true;
        i += l ? l : 1;
    }
    return false;
}

void words_blob_encode(const vwords *v, bool has_text, ragd_buf *out)
{
    size_t flen = v->folded ? strlen(v->folded) : 0;
    bool full = has_cjk(v->folded ? v->folded : "", flen);
    ragd_buf_putc(out, (char)(full ? WORDS_BLOB_FULL : WORDS_BLOB_WORDS));
    ragd_buf_putc(out, (char)(has_text ? 1 : 0));
    put_varint(out, v->n);
    if (full) {
        put_varint(out, flen);
        ragd_buf_append(out, v->folded, flen);
        size_t prev = 0;
        for (size_t i = 0; i < v->n; i++) {
            put_varint(out, v->w[i].start - prev);
            put_varint(out, v->w[i].end - v->w[i].start);
            prev = v->w[i].end;
        }
        return;
    }
    for (size_t i = 0; i < v->n; i++)
        put_varint(out, v->w[i].end - v->w[i].start);
    for (size_t i = 0; i < v->n; i++)
        ragd_buf_append(out, v->folded + v->w[i].start, v->w[i].end - v->w[i].start);
}

void words_blob_chunk(const char *title, const char *heading, const char *text, ragd_buf *out)
{
    vwords v;
    vwords_init_chunk(&v, title ? title : "", heading ? heading : "", text ? text : "");
    ragd_buf_reset(out);
    words_blob_encode(&v, true, out);
    vwords_free(&v);
}

void words_blob_summary(const char *summary, ragd_buf *out)
{
    ragd_buf_reset(out);
    if (!summary || !*summary) {
        vwords none = {0};
        words_blob_encode(&none, false, out);
        return;
    }
    vwords v;
    vwords_init(&v, summary, strlen(summary));
    words_blob_encode(&v, true, out);
    vwords_free(&v);
}

bool words_blob_decode(const void *blob, size_t n, vwords *v, bool *has_text)
{
    const unsigned char *p = blob;
    memset(v, 0, sizeof *v);
    if (!p || n < 3 || (p[0] != WORDS_BLOB_WORDS && p[0] != WORDS_BLOB_FULL) || p[1] > 1)
        return false;
    size_t i = 2;
    uint64_t nw;
    /* every word takes at least one byte of the blob */
    if (!get_varint(p, n, &i, &nw) || nw > n) return false;
    ragd_span *w = nw ? ragd_xmalloc(nw * sizeof *w) : NULL;
    char *folded = NULL;
    if (p[0] == WORDS_BLOB_FULL) {
        uint64_t flen;
        if (!get_varint(p, n, &i, &flen) || flen > n - i) goto bad;
        folded = ragd_xmalloc(flen + 1);
        memcpy(folded, p + i, flen);
        folded[flen] = '\0';
        i += flen;
        if (memchr(folded, '\0', flen)) goto bad; /* strstr would stop early: not ours */
        uint64_t pos = 0;
        for (size_t k = 0; k < nw; k++) {
            uint64_t gap, len;
            if (!get_varint(p, n, &i, &gap) || !get_varint(p, n, &i, &len) || gap > flen - pos ||
                len > flen - pos - gap)
                goto bad;
            w[k].start = (size_t)(pos + gap);
            w[k].end = (size_t)(pos + gap + len);
            pos = w[k].end;
        }
        if (i != n) goto bad;
    } else {
        uint64_t pos = 0;
        for (size_t k = 0; k < nw; k++) {
            uint64_t len;
            if (!get_varint(p, n, &i, &len) || len > n) goto bad;
            w[k].start = (size_t)pos;
            w[k].end = (size_t)(pos + len);
            pos += len;
        }
        if (pos != n - i) goto bad;
        folded = ragd_xmalloc(pos + 1);
        memcpy(folded, p + i, pos);
        folded[pos] = '\0';
        if (memchr(folded, '\0', pos)) goto bad;
    }
    v->folded = folded;
    v->w = w;
    v->n = nw;
    if (has_text) *has_text = p[1] & 1;
    return true;
bad:
    free(w);
    free(folded);
    memset(v, 0, sizeof *v);
    return false;
}
