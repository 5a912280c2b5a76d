/* fuzz/fuzz_util.c — helpers shared by the fuzz targets (see fuzz.h). */
#include "fuzz/fuzz.h"

#include <ftw.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/text.h"
#include "ingest/ingest.h"

static char g_dirs[8][512]; /* directories to remove at exit (harness state only) */
static int g_ndirs;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_dirs(void)
{
    for (int i = 0; i < g_ndirs; i++)
        nftw(g_dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *fuzz_tmpdir(const char *name)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/ragd-fuzz-%s-XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    if (g_ndirs < 8) {
        if (g_ndirs == 0) atexit(rm_dirs);
        snprintf(g_dirs[g_ndirs++], sizeof g_dirs[0], "%s", tmpl);
    }
    return strdup(tmpl);
}

void fuzz_quiet_logs(void)
{
    log_configure(LOG_FORMAT_TEXT, LOG_ERROR);
}

void fuzz_check_doc(const void *ingest_doc_ptr)
{
    const ingest_doc *d = ingest_doc_ptr;
    FUZZ_CHECK(d->text != NULL);
    FUZZ_CHECK(d->text[d->len] == '\0');
    FUZZ_CHECK(text_utf8_check(d->text, d->len, NULL, NULL));
    FUZZ_CHECK(d->title != NULL);
    FUZZ_CHECK(text_utf8_check(d->title, strlen(d->title), NULL, NULL));
    FUZZ_CHECK(strlen(d->title) <= INGEST_TITLE_MAX + 3);
    size_t prev = 0;
    for (size_t i = 0; i < d->nsections; i++) {
        const ingest_section *s = &d->sections[i];
        FUZZ_CHECK(s->start >= prev && s->start <= d->len);
        prev = s->start;
        FUZZ_CHECK(s->heading_path != NULL);
        FUZZ_CHECK(strlen(s->heading_path) <= INGEST_HEADING_PATH_MAX + 3);
        FUZZ_CHECK(text_utf8_check(s->heading_path, strlen(s->heading_path), NULL, NULL));
    }
    prev = 0;
    for (size_t i = 0; i < d->nblocks; i++) {
        const ingest_block *b = &d->blocks[i];
        FUZZ_CHECK(b->start >= prev && b->start <= b->end && b->end <= d->len);
        prev = b->start;
        FUZZ_CHECK(b->section >= 0 && (size_t)b->section < d->nsections);
        if (b->kind == BLOCK_HEADING) FUZZ_CHECK(b->level >= 1 && b->level <= 6);
    }
    if (d->npages) {
        FUZZ_CHECK(d->page_starts && d->page_starts[0] == 0);
        for (size_t i = 1; i < d->npages; i++)
            FUZZ_CHECK(d->page_starts[i] >= d->page_starts[i - 1] && d->page_starts[i] <= d->len);
    }
}

void fuzz_load(const uint8_t *data, size_t size, const char *format)
{
    ingest_doc d;
    memset(&d, 0, sizeof d);
    ragd_error err = {0};
    ragd_status rc = ingest_parse((const char *)data, size, format, "fuzz-input", &d, &err);
    if (rc == RAGD_OK) {
        FUZZ_CHECK(d.format && !strcmp(d.format, format));
        fuzz_check_doc(&d);
        ingest_doc_free(&d);
        return;
    }
    FUZZ_CHECK(rc == RAGD_EINPUT || rc == RAGD_ENOTFOUND);
    FUZZ_CHECK(err.msg[0] != '\0');
}

static void check_span(const ingest_doc *d, size_t s, size_t e, size_t tokens, size_t max)
{
    FUZZ_CHECK(s < e && e <= d->len);
    FUZZ_CHECK(text_utf8_check(d->text + s, e - s, NULL, NULL));
    if (tokens != text_count_tokens(d->text + s, e - s))
        fprintf(stderr, "span [%zu,%zu) tokens %zu, counted %zu: \"%.*s\"\n", s, e, tokens,
                text_count_tokens(d->text + s, e - s), (int)(e - s), d->text + s);
    FUZZ_CHECK(tokens == text_count_tokens(d->text + s, e - s));
    if (tokens > max) /* only an unsplittable grapheme may exceed the size */
        FUZZ_CHECK(text_grapheme_floor(d->text, d->len, e - 1) <= s);
}

void fuzz_chunk(const uint8_t *data, size_t size, const char *chunker)
{
    if (size < 3) return;
    int max = 1 + data[0] % 128;
    int b1 = data[1];
    const char *format = data[2] & 1 ? "md" : "txt";
    ingest_doc d;
    memset(&d, 0, sizeof d);
    ragd_error err = {0};
    if (ingest_parse((const char *)data + 3, size - 3, format, "fuzz-input", &d, &err) != RAGD_OK)
        return;
    chunk_list l;
    memset(&l, 0, sizeof l);
    ragd_status rc;
    size_t overlap = 0;
    int parent_tokens = 0;
    if (!strcmp(chunker, "fixed")) {
        chunk_opts o = {.max_tokens = max, .overlap = b1 % max};
        overlap = (size_t)o.overlap;
        rc = chunk_fixed(&d, &o, &l, &err);
    } else if (!strcmp(chunker, "semantic")) {
        chunk_semantic_opts o = {
            .max_tokens = max, .window = b1 % 4, .min_tokens = (b1 >> 2) % max};
        rc = chunk_semantic(&d, &o, NULL, &l, &err);
    } else {
        parent_tokens = max * (1 + b1 % 4);
        chunk_parent_opts o = {
            .child_tokens = max, .overlap = (b1 >> 2) % max, .parent_tokens = parent_tokens};
        overlap = (size_t)o.overlap;
        rc = chunk_parent_document(&d, &o, &l, &err);
    }
    FUZZ_CHECK(rc == RAGD_OK);
    FUZZ_CHECK(d.len == 0 || l.n > 0);
    for (size_t i = 0; i < l.n; i++) {
        const chunk *c = &l.v[i];
        check_span(&d, c->start, c->end, c->tokens, (size_t)max);
        FUZZ_CHECK(c->heading_path && c->header);
        FUZZ_CHECK(text_utf8_check(c->header, strlen(c->header), NULL, NULL));
        if (i) {
            FUZZ_CHECK(c->start > l.v[i - 1].start && c->end > l.v[i - 1].end);
            if (!overlap) FUZZ_CHECK(c->start >= l.v[i - 1].end);
        }
        if (parent_tokens) {
            FUZZ_CHECK(c->parent >= 0 && (size_t)c->parent < l.nparents);
            const chunk_parent *p = &l.parents[c->parent];
            FUZZ_CHECK(p->start <= c->start && c->end <= p->end);
        } else {
            FUZZ_CHECK(c->parent == -1);
        }
    }
    for (size_t i = 0; i < l.nparents; i++)
        check_span(&d, l.parents[i].start, l.parents[i].end, l.parents[i].tokens,
                   (size_t)parent_tokens);
    chunk_list_free(&l);
    ingest_doc_free(&d);
}
