/* bench/bench_chunk_input.c — bench_chunk's input: a BEIR corpus parsed by
 * the project's own parser (ingest_parse, "txt"), so the chunkers see the
 * normalized text and blocks they see during ingest, and the same texts
 * written for the JavaScript side. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_chunk.h"
#include "bench/bench_common.h"
#include "core/error.h"
#include "core/text.h"

static void corpus_add(corpus_t *c, const ingest_doc *d)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v) abort();
    }
    c->v[c->n++] = *d;
}

static size_t count_cps(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* Each line becomes what ingest_jsonl_item (ingest/jsonl_records.c) makes of
 * it: title + "\n\n" + text, format "txt", the id as fallback title. */
int load_corpus(const char *path, corpus_t *c)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    memset(c, 0, sizeof *c);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        const char *id = o ? json_string_value(json_object_get(o, "_id")) : NULL;
        const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
        const char *title = o ? json_string_value(json_object_get(o, "title")) : NULL;
        if (!id || !text) {
            c->bad++;
            json_decref(o);
            continue;
        }
        size_t tl = title ? strlen(title) : 0, xl = strlen(text);
        char *body = malloc(tl + 2 + xl + 1);
        if (!body) abort();
        size_t bl = 0;
        if (tl) {
            memcpy(body, title, tl);
            memcpy(body + tl, "\n\n", 2);
            bl = tl + 2;
        }
        memcpy(body + bl, text, xl + 1);
        bl += xl;
        ingest_doc d;
        ragd_error e;
        ragd_error_clear(&e);
        double t0 = bench_now();
        ragd_status rc = ingest_parse(body, bl, "txt", id, &d, &e);
        c->parse_s += bench_now() - t0;
        free(body);
        json_decref(o);
        if (rc == RAGD_ENOTFOUND) {
            c->skipped++;
            continue;
        }
        if (rc) {
            c->bad++;
            continue;
        }
        c->bytes += d.len;
        c->cps += count_cps(d.text, d.len);
        c->tokens += text_count_tokens(d.text, d.len);
        corpus_add(c, &d);
    }
    free(line);
    fclose(f);
    return 0;
}

int write_texts(const char *path, const corpus_t *c)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (size_t i = 0; i < c->n; i++) {
        json_t *s = json_stringn(c->v[i].text, c->v[i].len);
        if (!s || json_dumpf(s, f, JSON_ENCODE_ANY) != 0) {
            json_decref(s);
            fclose(f);
            return -1;
        }
        json_decref(s);
        fputc('\n', f);
    }
    return fclose(f);
}

void corpus_free(corpus_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        ingest_doc_free(&c->v[i]);
    free(c->v);
    memset(c, 0, sizeof *c);
}
