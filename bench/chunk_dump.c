/* bench/chunk_dump.c — every chunker's full output, and the segmentation
 * functions' output, as JSON lines: the proof that a faster chunker cuts
 * exactly as the one before it. Build this file against two trees (old and
 * new libragd) and diff the outputs.
 *
 *   chunk_dump [--chunker fixed|parent|semantic|text|embed] [--chunk-tokens N]
 *              [--overlap N] [--parent-tokens N] INPUT...
 *   chunk_dump --random N SEED [--chunker ...]
 *
 * An INPUT ending in .jsonl is a BEIR corpus (each line becomes the document
 * `ragd ingest` makes of it: title + "\n\n" + text, parsed as "txt", as
 * bench_chunk loads it); any other file is read and parsed in the format
 * ingest_detect_format picks. --random makes N documents from SEED (a fixed
 * generator, the same on every build) out of tricky pieces: CR LF, combining
 * marks, emoji ZWJ sequences and flags, CJK, non-ASCII punctuation and
 * spaces, abbreviations, decimals, Markdown blocks and very long words.
 *
 * Per document, one line per chunk (start, end, tokens, parent, heading
 * path, header, text) and per parent; with --chunker text instead the
 * document's words, sentences, token starts, token count and every
 * text_grapheme_floor position; with --chunker embed hashes of the local
 * embedder's vectors of the text and of each sentence. Not part of libragd; never run by CTest.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/text.h"
#include "ingest/ingest.h"
#include "provider/provider.h"
#include "store/store.h"

typedef struct {
    const char *chunker;
    ragd_settings set;
} dump_opts;

static void put(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
    puts(s);
    free(s);
    json_decref(o);
}

static json_t *spans_json(const ragd_span *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_integer((json_int_t)v[i].start));
        json_array_append_new(a, json_integer((json_int_t)v[i].end));
    }
    return a;
}

static void dump_text(const char *id, const char *t, size_t n)
{
    ragd_span *sp = NULL;
    size_t *ts = NULL;
    json_t *o = json_object();
    json_object_set_new(o, "doc", json_string(id));
    size_t nw = text_words(t, n, &sp);
    json_object_set_new(o, "words", spans_json(sp, nw));
    free(sp);
    size_t ns = text_sentences(t, n, &sp);
    json_object_set_new(o, "sentences", spans_json(sp, ns));
    free(sp);
    size_t nt = text_token_starts(t, n, &ts);
    json_t *a = json_array();
    for (size_t i = 0; i < nt; i++)
        json_array_append_new(a, json_integer((json_int_t)ts[i]));
    free(ts);
    json_object_set_new(o, "token_starts", a);
    json_object_set_new(o, "tokens", json_integer((json_int_t)text_count_tokens(t, n)));
    for (int sm = 0; sm < 2; sm++) {
        size_t fl = 0;
        char *f = text_fold(t, n, sm, &fl);
        json_object_set_new(o, sm ? "fold_stripped" : "fold", json_stringn(f, fl));
        free(f);
    }
    /* The floor of every position, as runs of equal values. */
    a = json_array();
    size_t prev = SIZE_MAX;
    for (size_t p = 0; p <= n; p++) {
        size_t f = text_grapheme_floor(t, n, p);
        if (f != prev) json_array_append_new(a, json_integer((json_int_t)f));
        prev = f;
    }
    json_object_set_new(o, "floors", a);
    put(o);
}

/* FNV-1a 64 of the bytes of the local embedder's vector of t at dim. */
static json_t *embed_hash(const char *t, size_t n, int dim)
{
    float *v = malloc((size_t)dim * sizeof *v);
    if (!v) abort();
    local_embed_text(t, n, dim, v);
    uint64_t h = 0xCBF29CE484222325ULL;
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < (size_t)dim * sizeof *v; i++)
        h = (h ^ b[i]) * 0x100000001B3ULL;
    free(v);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    return json_string(hex);
}

/* The local embedder's vectors (as hashes) of the whole text and of each
 * sentence, at 384 (the collection default), 4096 (the semantic chunker's)
 * and 1000 (not a power of two). */
static void dump_embed(const char *id, const char *t, size_t n)
{
    static const int DIMS[] = {384, 4096, 1000};
    json_t *o = json_object();
    json_object_set_new(o, "doc", json_string(id));
    json_t *a = json_array();
    for (int k = 0; k < 3; k++)
        json_array_append_new(a, embed_hash(t, n, DIMS[k]));
    ragd_span *sp = NULL;
    size_t ns = text_sentences(t, n, &sp);
    for (size_t i = 0; i < ns; i++)
        json_array_append_new(a, embed_hash(t + sp[i].start, sp[i].end - sp[i].start, DIMS[i % 3]));
    free(sp);
    json_object_set_new(o, "vectors", a);
    put(o);
}

static int dump_doc(const dump_opts *o, const char *id, const ingest_doc *d)
{
    if (!strcmp(o->chunker, "text")) {
        dump_text(id, d->text, d->len);
        return 0;
    }
    if (!strcmp(o->chunker, "embed")) {
        dump_embed(id, d->text, d->len);
        return 0;
    }
    chunk_list cl;
    ragd_error e;
    ragd_error_clear(&e);
    if (chunk_document(d, &o->set, NULL, NULL, &cl, &e)) {
        fprintf(stderr, "chunk_dump: %s: %s\n", id, e.msg);
        return 1;
    }
    for (size_t i = 0; i < cl.n; i++) {
        const chunk *c = &cl.v[i];
        json_t *j = json_object();
        json_object_set_new(j, "doc", json_string(id));
        json_object_set_new(j, "i", json_integer((json_int_t)i));
        json_object_set_new(j, "start", json_integer((json_int_t)c->start));
        json_object_set_new(j, "end", json_integer((json_int_t)c->end));
        json_object_set_new(j, "tokens", json_integer((json_int_t)c->tokens));
        json_object_set_new(j, "parent", json_integer(c->parent));
        json_object_set_new(j, "path", json_string(c->heading_path));
        json_object_set_new(j, "header", json_string(c->header));
        json_object_set_new(j, "text", json_stringn(d->text + c->start, c->end - c->start));
        put(j);
    }
    for (size_t i = 0; i < cl.nparents; i++) {
        const chunk_parent *p = &cl.parents[i];
        json_t *j = json_object();
        json_object_set_new(j, "doc", json_string(id));
        json_object_set_new(j, "parent_i", json_integer((json_int_t)i));
        json_object_set_new(j, "start", json_integer((json_int_t)p->start));
        json_object_set_new(j, "end", json_integer((json_int_t)p->end));
        json_object_set_new(j, "tokens", json_integer((json_int_t)p->tokens));
        json_object_set_new(j, "path", json_string(p->heading_path));
        put(j);
    }
    chunk_list_free(&cl);
    return 0;
}

/* Parse raw bytes and dump; a document the parser refuses is one line. */
static int parse_dump(const dump_opts *o, const char *id, const char *raw, size_t n,
                      const char *fmt)
{
    ingest_doc d;
    ragd_error e;
    ragd_error_clear(&e);
    ragd_status rc = ingest_parse(raw, n, fmt, id, &d, &e);
    if (rc) {
        json_t *j = json_object();
        json_object_set_new(j, "doc", json_string(id));
        json_object_set_new(j, "refused", json_integer(rc));
        put(j);
        return 0;
    }
    int r = dump_doc(o, id, &d);
    ingest_doc_free(&d);
    return r;
}

static int dump_beir(const dump_opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "chunk_dump: cannot open %s\n", path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)len, 0, &je);
        const char *id = json_string_value(json_object_get(j, "_id"));
        const char *text = json_string_value(json_object_get(j, "text"));
        const char *title = json_string_value(json_object_get(j, "title"));
        if (id && text) {
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
            rc = parse_dump(o, id, body, bl + xl, "txt");
            free(body);
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
    return rc;
}

static int dump_file(const dump_opts *o, const char *path)
{
    size_t l = strlen(path);
    if (l > 6 && !strcmp(path + l - 6, ".jsonl")) return dump_beir(o, path);
    char *raw = NULL;
    size_t n = 0;
    ragd_error e;
    ragd_error_clear(&e);
    if (ingest_read_file(path, INGEST_DEFAULT_MAX_BYTES, &raw, &n, &e)) {
        fprintf(stderr, "chunk_dump: %s\n", e.msg);
        return 1;
    }
    const char *fmt = ingest_detect_format(path, NULL, raw, n < 512 ? n : 512, &e);
    int rc = 0;
    if (!fmt) {
        json_t *j = json_object();
        json_object_set_new(j, "doc", json_string(path));
        json_object_set_new(j, "refused", json_string("format"));
        put(j);
    } else if (!strcmp(o->chunker, "text")) {
        /* The raw bytes too (not normalized: CR LF, invalid UTF-8). */
        dump_text(path, raw, n);
        rc = parse_dump(o, path, raw, n, fmt);
    } else {
        rc = parse_dump(o, path, raw, n, fmt);
    }
    free(raw);
    return rc;
}

/* --- random documents ----------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *const PIECES[] = {
    "a", "word", "The", "e.g.", "Dr.", "3.14", "1,000", "don't", "x", " ", " ", " ", "  ", "\n",
    "\n\n", "\r\n", "\r", "\t", ". ", "! ", "? ", "?! ", "... ", "\xE2\x80\xA6 ", /* … */
    "\xE3\x80\x82",                                                               /* 。 */
    "\xEF\xBC\x81",                                                               /* ！ */
    "\xEF\xBC\x9F",                                                               /* ？ */
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",                                       /* 日本語 */
    "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",                                       /* 한국어 */
    "\xE3\x81\x8B\xE3\x82\x99",                     /* か + combining voiced mark */
    "e\xCC\x81",                                    /* e + combining acute */
    "\xCC\x81",                                     /* a lone combining acute */
    "\xC3\xA9",                                     /* é */
    "\xC2\xA0",                                     /* NBSP */
    "\xE3\x80\x80",                                 /* ideographic space */
    "\xE2\x80\x8B",                                 /* zero-width space */
    "\xE2\x80\x8D",                                 /* ZWJ */
    "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB", /* woman technologist */
    "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",             /* thumbs up + skin tone */
    "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA",             /* flag DE */
    "\xF0\x9F\x87\xA9",                             /* a lone regional indicator */
    "\xE2\x9D\xA4\xEF\xB8\x8F",                     /* heart + VS16 */
    "\xE2\x80\x9C",                                 /* “ */
    "\xE2\x80\x9D",                                 /* ” */
    "\xE2\x80\x99",                                 /* ’ */
    "\xC2\xBB",                                     /* » */
    "\xE2\x80\x94",                                 /* — */
    "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7",     /* Arabic */
    "\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87", /* Devanagari */
    "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", /* hangul jamo L V T */
    "\xF0\xA0\x80\x80",                     /* CJK ext B */
    "# Heading\n", "## Sub\n", "- item ", "1. item ", "| a | b |\n", "> quote ", "```\ncode\n```\n",
    "\"", "'", ")", "]", "*", "_", "(", "-", ",", ";", ":", "/", "\\", "0", "42", "\x7F",
    "\xE2\x80\xA8", /* line separator */
    "\xC2\x85",     /* NEL */
    "supercalifragilisticexpialidocious",
    "a\xE2\x80\x8D\xE2\x80\xBC ",                /* a ZWJ ‼ (‼ is Extended_Pictographic) */
    "\xF0\x9F\x91\xA9\xE2\x80\x8D\xE2\x81\x89 ", /* 👩 ZWJ ⁉ */
    "x\xCC\x81\xE2\x80\xA6 ",                    /* x + mark, … */
    /* Invalid UTF-8 last: only every third document draws from them. */
    "\xFF",     /* invalid byte */
    "\xE2\x82", /* truncated sequence */
};
#define NINVALID 2

static int dump_random(const dump_opts *o, int n, uint64_t seed)
{
    const size_t np = sizeof PIECES / sizeof *PIECES;
    uint64_t s = seed * 2654435761u + 1;
    char *buf = NULL;
    size_t cap = 0;
    for (int k = 0; k < n; k++) {
        size_t len = 0, want = 1 + rnd(&s) % (k % 10 == 9 ? 20000 : 600);
        while (len < want) {
            const char *p = PIECES[rnd(&s) % (k % 3 ? np - NINVALID : np)];
            size_t pl = strlen(p);
            size_t rep = rnd(&s) % 50 == 0 ? 1 + rnd(&s) % 400 : 1; /* long runs */
            for (size_t r = 0; r < rep; r++) {
                if (len + pl + 1 > cap) {
                    cap = (len + pl + 1) * 2;
                    buf = realloc(buf, cap);
                    if (!buf) abort();
                }
                memcpy(buf + len, p, pl);
                len += pl;
            }
        }
        buf[len] = '\0';
        char id[32];
        snprintf(id, sizeof id, "random-%d", k);
        if (!strcmp(o->chunker, "text")) dump_text(id, buf, len);
        if (parse_dump(o, id, buf, len, k % 2 ? "md" : "txt")) return 1;
    }
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    dump_opts o = {.chunker = "fixed"};
    store_settings_init(&o.set);
    int ct = 256, ov = 32, pt = 1024, nrandom = 0;
    uint64_t seed = 1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) break;
        if (!strcmp(a, "--chunker"))
            o.chunker = argv[++i];
        else if (!strcmp(a, "--chunk-tokens"))
            ct = atoi(argv[++i]);
        else if (!strcmp(a, "--overlap"))
            ov = atoi(argv[++i]);
        else if (!strcmp(a, "--parent-tokens"))
            pt = atoi(argv[++i]);
        else if (!strcmp(a, "--random") && i + 2 < argc) {
            nrandom = atoi(argv[++i]);
            seed = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "chunk_dump: unknown option %s\n", a);
            return 2;
        }
    }
    bool seg = !strcmp(o.chunker, "text") || !strcmp(o.chunker, "embed");
    snprintf(o.set.chunker, sizeof o.set.chunker, "%s", seg ? "fixed" : o.chunker);
    o.set.chunk_tokens = ct;
    o.set.overlap = ov;
    o.set.parent_tokens = pt;
    store_settings_defaults(&o.set);
    if (i >= argc && !nrandom) {
        fprintf(stderr, "usage: chunk_dump [--chunker fixed|parent|semantic|text|embed] "
                        "[--chunk-tokens N] [--overlap N] [--parent-tokens N] "
                        "(--random N SEED | INPUT...)\n");
        return 2;
    }
    int rc = nrandom ? dump_random(&o, nrandom, seed) : 0;
    for (; !rc && i < argc; i++)
        rc = dump_file(&o, argv[i]);
    return rc;
}
