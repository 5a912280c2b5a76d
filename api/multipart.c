/* api/multipart.c — the incremental multipart/form-data parser (see
 * multipart.h).
 *
 * The input is scanned for the delimiter "\r\n--BOUNDARY". The stream is
 * treated as if it began with "\r\n", so the first delimiter (which RFC 2046
 * allows at the very start) is found by the same search. States:
 *   PREAMBLE  skip bytes up to the first delimiter;
 *   AFTER     after a delimiter: "--" ends the body, otherwise optional
 *             whitespace then CRLF starts a part's headers;
 *   HEADERS   collect up to CRLFCRLF (bounded), then parse them;
 *   BODY      bytes up to the next delimiter are the part's data; when the
 *             delimiter is not in sight, all but its length - 1 final bytes
 *             are taken, so a delimiter split across reads is still found;
 *   DONE      the epilogue is ignored.
 * Pending input lives in one buffer compacted after each feed.
 */
#include "api/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

typedef enum { ST_PREAMBLE, ST_AFTER, ST_HEADERS, ST_BODY, ST_DONE, ST_ERROR } mp_state;

struct mp_parser {
    char delim[MP_MAX_BOUNDARY + 5]; /* "\r\n--" + boundary */
    size_t dlen;
    mp_state st;
    ragd_buf pend; /* unprocessed input */
    size_t pos;    /* first unprocessed byte of pend */
    mp_part *parts;
    size_t nparts, cap;
    ragd_buf cur; /* the data of the part being read */
    size_t total, max_bytes;
    ragd_error err; /* the first error, returned again */
};

bool mp_is_multipart(const char *ct)
{
    if (!ct) return false;
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, "multipart/form-data", 19) &&
           (ct[19] == '\0' || ct[19] == ';' || ct[19] == ' ');
}

ragd_status mp_boundary(const char *ct, char out[MP_MAX_BOUNDARY + 1], ragd_error *err)
{
    out[0] = '\0';
    const char *p = ct ? strchr(ct, ';') : NULL;
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!strncasecmp(p, "boundary=", 9)) {
            p += 9;
            size_t n = 0;
            if (*p == '"') {
                p++;
                while (p[n] && p[n] != '"')
                    n++;
                if (p[n] != '"') break;
            } else {
                while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
                    n++;
            }
            if (n == 0 || n > MP_MAX_BOUNDARY) break;
            memcpy(out, p, n);
            out[n] = '\0';
            return RAGD_OK;
        }
        p = strchr(p, ';');
    }
    return ragd_error_set(err, RAGD_EINPUT,
                          "the multipart Content-Type has no usable boundary parameter (1 to "
                          "70 characters: 'multipart/form-data; boundary=...')");
}

mp_parser *mp_parser_new(const char *content_type, size_t max_bytes, ragd_error *err)
{
    char b[MP_MAX_BOUNDARY + 1];
    if (mp_boundary(content_type, b, err)) return NULL;
    mp_parser *p = ragd_xcalloc(1, sizeof *p);
    p->dlen = (size_t)snprintf(p->delim, sizeof p->delim, "\r\n--%s", b);
    p->max_bytes = max_bytes;
    ragd_buf_append(&p->pend, "\r\n", 2); /* see the top comment */
    return p;
}

static void part_free(mp_part *m)
{
    free(m->name);
    free(m->filename);
    free(m->content_type);
    free(m->data);
}

void mp_parser_free(mp_parser *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nparts; i++)
        part_free(&p->parts[i]);
    free(p->parts);
    ragd_buf_free(&p->pend);
    ragd_buf_free(&p->cur);
    free(p);
}

void mp_form_free(mp_form *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->nparts; i++)
        part_free(&f->parts[i]);
    free(f->parts);
    f->parts = NULL;
    f->nparts = 0;
}

const mp_part *mp_form_get(const mp_form *f, const char *name)
{
    for (size_t i = 0; i < f->nparts; i++)
        if (!strcmp(f->parts[i].name, name)) return &f->parts[i];
    return NULL;
}

size_t mp_form_count(const mp_form *f, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nparts; i++)
        n += !strcmp(f->parts[i].name, name);
    return n;
}

static ragd_status fail(mp_parser *p, ragd_error *err, const char *msg)
{
    p->st = ST_ERROR;
    ragd_error_set(&p->err, RAGD_EINPUT, "malformed multipart body: %s", msg);
    if (err) *err = p->err;
    return RAGD_EINPUT;
}

/* memmem over [s, s+n). */
static const char *find(const char *s, size_t n, const char *needle, size_t m)
{
    if (m == 0 || n < m) return NULL;
    for (size_t i = 0; i + m <= n; i++)
        if (s[i] == needle[0] && !memcmp(s + i, needle, m)) return s + i;
    return NULL;
}

/* A Content-Disposition parameter (name="x", filename="y") into a new
 * string: quoted with backslash escapes, or a token. NULL when absent. */
static char *disposition_param(const char *v, const char *key)
{
    size_t kl = strlen(key);
    const char *p = v;
    while ((p = strchr(p, ';'))) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, key, kl) || p[kl] != '=') continue;
        p += kl + 1;
        ragd_buf b = RAGD_BUF_INIT;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                ragd_buf_putc(&b, *p);
            }
            if (*p != '"') {
                ragd_buf_free(&b);
                return NULL;
            }
        } else {
            for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++)
                ragd_buf_putc(&b, *p);
        }
        return b.data ? ragd_buf_steal(&b) : ragd_xstrdup("");
    }
    return NULL;
}

/* Parse a part's header block [h, h+n) (lines separated by CRLF) and open
 * the part. */
static ragd_status open_part(mp_parser *p, const char *h, size_t n, ragd_error *err)
{
    if (p->nparts == MP_MAX_PARTS) return fail(p, err, "more than 64 parts");
    char *block = ragd_xstrndup(h, n);
    mp_part m = {0};
    bool disposition = false;
    char *save = NULL;
    for (char *line = strtok_r(block, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char *colon = strchr(line, ':');
        if (!colon) {
            free(block);
            part_free(&m);
            return fail(p, err, "a part header line has no ':'");
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcasecmp(line, "Content-Disposition")) {
            if (strncasecmp(v, "form-data", 9)) {
                free(block);
                part_free(&m);
                return fail(p, err, "a part's Content-Disposition is not form-data");
            }
            disposition = true;
            free(m.name);
            free(m.filename);
            m.name = disposition_param(v, "name");
            m.filename = disposition_param(v, "filename");
        } else if (!strcasecmp(line, "Content-Type")) {
            free(m.content_type);
            m.content_type = ragd_xstrdup(v);
        }
    }
    free(block);
    if (!disposition || !m.name || !*m.name) {
        part_free(&m);
        return fail(p, err, "a part has no Content-Disposition: form-data; name=\"...\"");
    }
    ragd_array_grow((void **)&p->parts, &p->cap, p->nparts + 1, sizeof *p->parts);
    p->parts[p->nparts++] = m;
    ragd_buf_reset(&p->cur);
    return RAGD_OK;
}

static ragd_status take_data(mp_parser *p, const char *s, size_t n, ragd_error *err)
{
    if (!n) return RAGD_OK;
    p->total += n;
    if (p->max_bytes && p->total > p->max_bytes) return fail(p, err, "the parts are too large");
    ragd_buf_append(&p->cur, s, n);
    return RAGD_OK;
}

static void close_part(mp_parser *p)
{
    mp_part *m = &p->parts[p->nparts - 1];
    m->len = p->cur.len;
    m->data = p->cur.data ? ragd_buf_steal(&p->cur) : ragd_xstrdup("");
}

/* Process as much pending input as the state allows. */
static ragd_status run(mp_parser *p, ragd_error *err)
{
    for (;;) {
        const char *s = p->pend.data + p->pos;
        size_t n = p->pend.len - p->pos;
        switch (p->st) {
        case ST_PREAMBLE:
        case ST_BODY: {
            const char *d = find(s, n, p->delim, p->dlen);
            if (!d) {
                size_t keep = p->dlen - 1;
                size_t take = n > keep ? n - keep : 0;
                if (p->st == ST_BODY && take_data(p, s, take, err)) return RAGD_EINPUT;
                p->pos += take;
                return RAGD_OK;
            }
            if (p->st == ST_BODY) {
                if (take_data(p, s, (size_t)(d - s), err)) return RAGD_EINPUT;
                close_part(p);
            }
            p->pos += (size_t)(d - s) + p->dlen;
            p->st = ST_AFTER;
            break;
        }
        case ST_AFTER: {
            if (n < 2) return RAGD_OK;
            if (s[0] == '-' && s[1] == '-') {
                p->st = ST_DONE;
                p->pos = p->pend.len;
                return RAGD_OK;
            }
            size_t i = 0;
            while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
            if (i > 64) return fail(p, err, "too much padding after a delimiter");
            if (n - i < 2) return RAGD_OK;
            if (s[i] != '\r' || s[i + 1] != '\n')
                return fail(p, err, "a delimiter is not followed by CRLF or '--'");
            p->pos += i + 2;
            p->st = ST_HEADERS;
            break;
        }
        case ST_HEADERS: {
            if (n >= 2 && s[0] == '\r' && s[1] == '\n') {
                /* no headers at all */
                return fail(p, err, "a part has no Content-Disposition header");
            }
            const char *e =
                find(s, n < MP_MAX_HEADER_BYTES + 4 ? n : MP_MAX_HEADER_BYTES + 4, "\r\n\r\n", 4);
            if (!e) {
                if (n > MP_MAX_HEADER_BYTES) return fail(p, err, "a part's headers are too long");
                return RAGD_OK;
            }
            if (open_part(p, s, (size_t)(e - s), err)) return RAGD_EINPUT;
            p->pos += (size_t)(e - s) + 4;
            /* The part's data starts here; the delimiter search needs the
             * CRLF that precedes it, so an empty part ("\r\n--b") works. */
            p->st = ST_BODY;
            break;
        }
        case ST_DONE:
            p->pos = p->pend.len;
            return RAGD_OK;
        case ST_ERROR:
            if (err) *err = p->err;
            return RAGD_EINPUT;
        }
    }
}

ragd_status mp_feed(mp_parser *p, const char *data, size_t n, ragd_error *err)
{
    if (p->st == ST_ERROR) {
        if (err) *err = p->err;
        return RAGD_EINPUT;
    }
    if (p->st == ST_DONE) return RAGD_OK;
    ragd_buf_append(&p->pend, data, n);
    ragd_status rc = run(p, err);
    /* Compact: drop what was processed. */
    if (p->pos) {
        size_t left = p->pend.len - p->pos;
        memmove(p->pend.data, p->pend.data + p->pos, left);
        p->pend.len = left;
        p->pend.data[left] = '\0';
        p->pos = 0;
    }
    return rc;
}

ragd_status mp_finish(mp_parser *p, mp_form *out, ragd_error *err)
{
    out->parts = NULL;
    out->nparts = 0;
    if (p->st == ST_ERROR) {
        if (err) *err = p->err;
        return RAGD_EINPUT;
    }
    if (p->st != ST_DONE)
        return fail(p, err,
                    p->st == ST_PREAMBLE ? "no delimiter with the declared boundary"
                                         : "the body ends before the closing delimiter");
    if (!p->nparts) return fail(p, err, "no parts");
    out->parts = p->parts;
    out->nparts = p->nparts;
    p->parts = NULL;
    p->nparts = p->cap = 0;
    return RAGD_OK;
}
