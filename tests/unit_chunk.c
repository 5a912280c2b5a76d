/* tests/unit_chunk.c — property tests for the three chunkers (chunk_fixed,
 * chunk_semantic, chunk_parent_document).
 *
 * Every fixture document under $RAGD_FIXTURES/docs (and the valid ones under
 * odd/) and a set of generated documents (seeded PRNG: Markdown with
 * headings, paragraphs, fenced code, tables, lists, quotes, CJK and emoji
 * runs, and a huge unsplittable token; plus plain text) are chunked with
 * several (max_tokens, overlap) pairs by each chunker — the fixed one; the
 * semantic one with max_tokens as its maximum (no overlap) and the local
 * embedder; the parent one with children of max_tokens/overlap inside
 * parents of 4 * max_tokens — and every chunk list is checked against
 * properties computed independently from the text:
 *
 *   - bounds, non-empty, valid UTF-8, trimmed of whitespace;
 *   - tokens == text_count_tokens(slice) <= max_tokens;
 *   - starts and ends strictly increasing (no chunk lies inside the previous
 *     one); without overlap no two chunks overlap, with overlap they share
 *     at most `overlap` tokens; every non-whitespace code point is covered;
 *   - no boundary inside a line of fenced code or a table row (unless that
 *     line alone is longer than max_tokens);
 *   - boundaries are grapheme boundaries;
 *   - heading_path is the path of the ATX headings in force at the chunk
 *     start ("" for plain text), and no heading that follows content starts
 *     inside a chunk. Consecutive headings (only blank lines between) form
 *     one group that stays with the content after it; see check_chunks.
 * Parents get the same checks (as chunks of at most parent_tokens, without
 * overlap, covering the document), and every child must lie inside its
 * parent (check_parents). test_semantic_topic_shifts checks that semantic
 * cuts land at topic shifts in text without headings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/chunk_internal.h"
#include "ingest/ingest.h"

typedef struct {
    int max, overlap;
} mo_pair;

static const mo_pair PAIRS[] = {{32, 0}, {64, 8}, {256, 32}, {512, 64}, {12, 3}, {100, 0}};
#define NPAIRS (sizeof PAIRS / sizeof PAIRS[0])

/* --- failure reporting ---------------------------------------------------------- */

static const char *g_name = "";
static int g_max, g_overlap;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "[%s M=%d O=%d] property failed: %s\n  ", g_name, g_max, g_overlap,    \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* A short printable excerpt of t[a, b) for messages (static buffer). */
static const char *excerpt(const char *t, size_t a, size_t b)
{
    static char buf[200];
    size_t k = 0;
    for (size_t i = a; i < b && k + 4 < sizeof buf; i++) {
        char c = t[i];
        if (c == '\n') {
            buf[k++] = '\\';
            buf[k++] = 'n';
        } else {
            buf[k++] = c;
        }
    }
    buf[k] = '\0';
    /* Do not end inside a multi-byte sequence. */
    while (k > 0 && ((unsigned char)buf[k - 1] & 0x80)) {
        size_t j = k - 1;
        while (j > 0 && ((unsigned char)buf[j] & 0xC0) == 0x80)
            j--;
        int32_t cp;
        if (text_decode(buf, k, j, &cp)) break;
        k = j;
        buf[k] = '\0';
    }
    return buf;
}

/* --- independent structure of the text ------------------------------------------- */

enum { L_BLANK, L_TEXT, L_HEADING, L_CODE, L_TABLE };

typedef struct {
    size_t start, end; /* [start, end), end at the '\n' or the end of text */
    int kind;
    size_t tokens;
    size_t path; /* index into doc_info.paths: headings in force after this line */
} line_info;

typedef struct {
    line_info *lines;
    size_t nlines;
    char **paths;
    size_t npaths;
} doc_info;

static bool ws_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Whitespace as a code point: ASCII, Unicode space separators, line and
 * paragraph separators. */
static bool ws_cp(int32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

static size_t indent3(const char *t, size_t s, size_t e)
{
    size_t i = s;
    while (i < e && i - s < 3 && t[i] == ' ')
        i++;
    return i;
}

static bool line_blank(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i < e; i++)
        if (!ws_byte(t[i])) return false;
    return true;
}

/* ATX heading: up to 3 spaces, 1-6 '#', then space/tab or end of line.
 * Stores the heading text span (trimmed, closing #'s removed). */
static int atx(const char *t, size_t s, size_t e, size_t *hs, size_t *he)
{
    size_t i = indent3(t, s, e);
    int lv = 0;
    while (i < e && t[i] == '#')
        i++, lv++;
    if (lv < 1 || lv > 6) return 0;
    if (i < e && t[i] != ' ' && t[i] != '\t') return 0;
    while (i < e && (t[i] == ' ' || t[i] == '\t'))
        i++;
    size_t j = e;
    while (j > i && (t[j - 1] == ' ' || t[j - 1] == '\t'))
        j--;
    size_t k = j;
    while (k > i && t[k - 1] == '#')
        k--;
    if (k < j && (k == i || t[k - 1] == ' ')) {
        j = k;
        while (j > i && t[j - 1] == ' ')
            j--;
    }
    *hs = i;
    *he = j;
    return lv;
}

/* Fence line: up to 3 spaces then 3+ backticks or tildes. */
static bool fence(const char *t, size_t s, size_t e, char *ch, size_t *len)
{
    size_t i = indent3(t, s, e);
    if (i >= e || (t[i] != '`' && t[i] != '~')) return false;
    size_t j = i;
    while (j < e && t[j] == t[i])
        j++;
    if (j - i < 3) return false;
    *ch = t[i];
    *len = j - i;
    return true;
}

static void doc_info_build(const ingest_doc *d, bool md, doc_info *di)
{
    memset(di, 0, sizeof *di);
    const char *t = d->text;
    size_t n = d->len, cap = 0, pcap = 0;
    const char *stack[7] = {0};
    size_t stacklen[7] = {0};
    ragd_array_grow((void **)&di->paths, &pcap, 1, sizeof *di->paths);
    di->paths[di->npaths++] = ragd_xstrdup("");
    bool in_code = false;
    char fch = 0;
    size_t flen = 0;
    size_t i = 0;
    while (i <= n) {
        const char *nl = i < n ? memchr(t + i, '\n', n - i) : NULL;
        size_t e = nl ? (size_t)(nl - t) : n;
        ragd_array_grow((void **)&di->lines, &cap, di->nlines + 1, sizeof *di->lines);
        line_info *L = &di->lines[di->nlines++];
        L->start = i;
        L->end = e;
        L->tokens = text_count_tokens(t + i, e - i);
        L->kind = line_blank(t, i, e) ? L_BLANK : L_TEXT;
        char c2;
        size_t l2, hs, he;
        int lv;
        if (md && in_code) {
            L->kind = L_CODE;
            size_t a = indent3(t, i, e), b = a;
            while (b < e && t[b] == fch)
                b++;
            if (b - a >= flen && line_blank(t, b, e)) in_code = false;
        } else if (md && fence(t, i, e, &c2, &l2)) {
            L->kind = L_CODE;
            in_code = true, fch = c2, flen = l2;
        } else if (md && (lv = atx(t, i, e, &hs, &he)) > 0) {
            L->kind = L_HEADING;
            stack[lv] = t + hs;
            stacklen[lv] = he - hs;
            for (int k = lv + 1; k <= 6; k++)
                stack[k] = NULL;
            ragd_buf p = RAGD_BUF_INIT;
            for (int k = 1; k <= 6; k++) {
                if (!stack[k]) continue;
                if (p.len) ragd_buf_puts(&p, " > ");
                ragd_buf_append(&p, stack[k], stacklen[k]);
            }
            ragd_array_grow((void **)&di->paths, &pcap, di->npaths + 1, sizeof *di->paths);
            di->paths[di->npaths++] = ragd_buf_steal(&p);
        } else if (md && indent3(t, i, e) < e && t[indent3(t, i, e)] == '|') {
            L->kind = L_TABLE;
        }
        L->path = di->npaths - 1;
        if (!nl) break;
        i = e + 1;
    }
}

static void doc_info_free(doc_info *di)
{
    for (size_t i = 0; i < di->npaths; i++)
        free(di->paths[i]);
    free(di->paths);
    free(di->lines);
    memset(di, 0, sizeof *di);
}

/* Index of the line holding byte p (the last line with start <= p). */
static size_t line_of(const doc_info *di, size_t p)
{
    size_t lo = 0, hi = di->nlines;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (di->lines[mid].start <= p)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* True when t[s, e) holds only whitespace code points (Unicode spaces too). */
static bool only_space(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i < e;) {
        int32_t cp;
        size_t l = text_decode(t, e, i, &cp);
        if (!l || !ws_cp(cp)) return false;
        i += l;
    }
    return true;
}

/* True when p cuts line L between two pieces of content. */
static bool cuts_inside_line(const char *t, const line_info *L, size_t p)
{
    if (p <= L->start || p >= L->end) return false;
    return !only_space(t, L->start, p) && !only_space(t, p, L->end);
}

/* --- the properties --------------------------------------------------------------- */

static void check_boundary(const ingest_doc *d, const doc_info *di, size_t ci, size_t p,
                           const char *which)
{
    const line_info *L = &di->lines[line_of(di, p)];
    if (L->kind == L_CODE || L->kind == L_TABLE)
        CHECK(!cuts_inside_line(d->text, L, p) || L->tokens > (size_t)g_max,
              "chunk %zu %s %zu cuts %s line (%zu tokens) \"%s\"", ci, which, p,
              L->kind == L_CODE ? "a code" : "a table", L->tokens,
              excerpt(d->text, L->start, L->end));
    CHECK(text_grapheme_floor(d->text, d->len, p) == p,
          "chunk %zu %s %zu is not a grapheme boundary (floor %zu)", ci, which, p,
          text_grapheme_floor(d->text, d->len, p));
}

static void check_chunks(const ingest_doc *d, bool md, const chunk_list *l)
{
    const char *t = d->text;
    size_t n = d->len;
    doc_info di;
    doc_info_build(d, md, &di);
    bool *covered = calloc(n + 1, 1);
    CHECK(l->n > 0, "no chunks for a non-blank document");
    for (size_t ci = 0; ci < l->n; ci++) {
        const chunk *c = &l->v[ci];
        CHECK(c->start < c->end && c->end <= n, "chunk %zu bounds %zu..%zu (len %zu)", ci, c->start,
              c->end, n);
        size_t bad = 0;
        const char *why = NULL;
        CHECK(text_utf8_check(t + c->start, c->end - c->start, &bad, &why),
              "chunk %zu not valid UTF-8 at +%zu: %s", ci, bad, why);
        int32_t first, last;
        size_t lastpos = c->end - 1;
        while (lastpos > c->start && ((unsigned char)t[lastpos] & 0xC0) == 0x80)
            lastpos--;
        CHECK(text_decode(t, n, c->start, &first) && !ws_cp(first),
              "chunk %zu has leading whitespace: \"%s\"", ci, excerpt(t, c->start, c->end));
        CHECK(text_decode(t, n, lastpos, &last) && !ws_cp(last),
              "chunk %zu has trailing whitespace: \"%s\"", ci,
              excerpt(t, c->end > 60 + c->start ? c->end - 60 : c->start, c->end));
        size_t tk = text_count_tokens(t + c->start, c->end - c->start);
        CHECK(c->tokens == tk, "chunk %zu tokens field %zu != text_count_tokens %zu", ci, c->tokens,
              tk);
        CHECK(tk <= (size_t)g_max, "chunk %zu has %zu tokens > %d", ci, tk, g_max);
        if (ci > 0) {
            const chunk *p = &l->v[ci - 1];
            CHECK(c->start > p->start, "chunk starts not increasing: %zu then %zu", p->start,
                  c->start);
            CHECK(c->end > p->end, "chunk ends not increasing: %zu then %zu", p->end, c->end);
            if (g_overlap == 0) {
                CHECK(c->start >= p->end, "chunks %zu and %zu overlap with overlap=0", ci - 1, ci);
            } else if (c->start < p->end) {
                size_t shared = text_count_tokens(t + c->start, p->end - c->start);
                CHECK(shared <= (size_t)g_overlap, "chunks %zu and %zu share %zu tokens", ci - 1,
                      ci, shared);
            }
        }
        for (size_t i = c->start; i < c->end; i++)
            covered[i] = true;
        check_boundary(d, &di, ci, c->start, "start");
        check_boundary(d, &di, ci, c->end, "end");

        /* Heading path. A run of headings with nothing but blank lines
         * between them is one group: the chunker keeps the group with the
         * content that follows (it does not emit "# Title" alone when "##
         * Intro" follows at once), so a chunk that starts at a heading is
         * under the path of the last heading of its group that starts inside
         * the chunk. */
        size_t li = line_of(&di, c->start);
        size_t pj = li;
        if (di.lines[li].kind == L_HEADING)
            while (pj + 1 < di.nlines && di.lines[pj + 1].start < c->end &&
                   (di.lines[pj + 1].kind == L_HEADING || di.lines[pj + 1].kind == L_BLANK))
                pj++;
        const char *want = md ? di.paths[di.lines[pj].path] : "";
        CHECK(c->heading_path && strcmp(c->heading_path, want) == 0,
              "chunk %zu heading_path \"%s\", want \"%s\" (chunk \"%s\")", ci,
              c->heading_path ? c->heading_path : "(null)", want,
              excerpt(t, c->start, c->end < c->start + 80 ? c->end : c->start + 80));
        CHECK(c->header != NULL, "chunk %zu has no header", ci);
        /* No heading that follows content starts inside the chunk. */
        bool content = di.lines[li].kind != L_HEADING;
        for (size_t k = li + 1; k < di.nlines && di.lines[k].start < c->end; k++) {
            const line_info *L = &di.lines[k];
            CHECK(!(L->kind == L_HEADING && content),
                  "chunk %zu spans two sections: heading \"%s\" inside it", ci,
                  excerpt(t, L->start, L->end));
            if (L->kind != L_HEADING && L->kind != L_BLANK) content = true;
        }
    }
    /* Coverage: every code point outside all chunks is whitespace. */
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t l = text_decode(t, n, i, &cp);
        CHECK(l > 0, "document text is not valid UTF-8 at %zu", i);
        CHECK(covered[i] || ws_cp(cp), "byte %zu ('%s') is not covered by any chunk", i,
              excerpt(t, i, i + 20 < n ? i + 20 : n));
        i += l;
    }
    free(covered);
    doc_info_free(&di);
}

/* Parent-document chunker: the parents, viewed as chunks of at most
 * parent_tokens without overlap, have every property above (bounds, trimmed,
 * token counts, coverage of the document, no cut inside a code line or table
 * row, grapheme boundaries, exact heading paths, one section each); every
 * child lies inside its parent, children come parent by parent, and every
 * parent has a child. The children themselves are checked by check_chunks. */
static void check_parents(const ingest_doc *d, bool md, const chunk_list *l, int parent_tokens)
{
    CHECK(l->nparents > 0, "no parents for a non-blank document");
    chunk_list pl = {0};
    pl.v = calloc(l->nparents, sizeof *pl.v);
    pl.n = l->nparents;
    for (size_t i = 0; i < l->nparents; i++) {
        pl.v[i].start = l->parents[i].start;
        pl.v[i].end = l->parents[i].end;
        pl.v[i].tokens = l->parents[i].tokens;
        pl.v[i].parent = -1;
        pl.v[i].heading_path = l->parents[i].heading_path;
        pl.v[i].header = "";
    }
    int max = g_max, overlap = g_overlap;
    g_max = parent_tokens;
    g_overlap = 0;
    check_chunks(d, md, &pl);
    g_max = max;
    g_overlap = overlap;
    free(pl.v);
    bool *has_child = calloc(l->nparents, 1);
    int prev = 0;
    for (size_t ci = 0; ci < l->n; ci++) {
        const chunk *c = &l->v[ci];
        CHECK(c->parent >= 0 && (size_t)c->parent < l->nparents, "chunk %zu has parent %d of %zu",
              ci, c->parent, l->nparents);
        CHECK(c->parent >= prev, "chunk %zu: parent %d after parent %d", ci, c->parent, prev);
        prev = c->parent;
        const chunk_parent *p = &l->parents[c->parent];
        CHECK(c->start >= p->start && c->end <= p->end,
              "chunk %zu (%zu..%zu) is not inside its parent %d (%zu..%zu)", ci, c->start, c->end,
              c->parent, p->start, p->end);
        has_child[c->parent] = true;
    }
    for (size_t i = 0; i < l->nparents; i++)
        CHECK(has_child[i], "parent %zu has no child", i);
    free(has_child);
}

/* The local embedder, shared by the semantic chunker's tests. */
static ragd_embedder *g_emb;

static ragd_embedder *local_embedder(void)
{
    if (!g_emb) {
        embedder_config cfg = {.kind = "local"};
        ragd_error err = {0};
        assert_int_equal(embedder_new(&cfg, &g_emb, &err), RAGD_OK);
    }
    return g_emb;
}

static int teardown_embedder(void **state)
{
    (void)state;
    embedder_free(g_emb);
    g_emb = NULL;
    return 0;
}

/* --- chunk_ctx_init against the slow reference ----------------------------------- */

/* What chunk_ctx_init computed before its fast paths (ragd at c9c6d2c): the
 * token starts from text_token_units piece by piece (each gap between
 * blocks and each block) when the blocks tile the text, else over the whole
 * text; the cuts of every block from text_sentences and text_words (prose)
 * and its line starts (code, table, list), merged by the three-way merge
 * below, then sorted by position with the higher priority first if they
 * were not in order. chunk_ctx_init (text_words_tokens_append, the two-way
 * merge for blocks without lines, reused buffers) must give exactly these
 * cuts, token starts and unit flags. */
enum { REF_WORD = 1, REF_SENTENCE = 2, REF_LINE = 3, REF_BLOCK = 4 };

typedef struct {
    chunk_cut *v;
    size_t n, cap;
} ref_cuts;

static void ref_push(ref_cuts *c, size_t pos, int prio)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    c->v[c->n].pos = pos;
    c->v[c->n].prio = prio;
    c->n++;
}

static int ref_cut_cmp(const void *a, const void *b)
{
    const chunk_cut *x = a, *y = b;
    if (x->pos != y->pos) return x->pos < y->pos ? -1 : 1;
    return y->prio - x->prio;
}

typedef struct {
    size_t *v;
    unsigned char *u;
    size_t n, cap;
} ref_toks;

static void ref_tok_piece(ref_toks *t, const char *text, size_t a, size_t b)
{
    if (b <= a) return;
    size_t *v;
    unsigned char *u;
    size_t n = text_token_units(text + a, b - a, &v, &u);
    for (size_t k = 0; k < n; k++) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 64;
            t->v = realloc(t->v, t->cap * sizeof *t->v);
            t->u = realloc(t->u, t->cap);
            assert_true(t->v && t->u);
        }
        t->v[t->n] = a + v[k];
        t->u[t->n] = u[k];
        t->n++;
    }
    free(v);
    free(u);
}

static bool ref_blocks_tile(const ingest_doc *d)
{
    size_t prev = 0;
    for (size_t b = 0; b < d->nblocks; b++) {
        const ingest_block *bl = &d->blocks[b];
        if (bl->start < prev || bl->end < bl->start || bl->end > d->len) return false;
        if (bl->start > 0 && d->text[bl->start - 1] != '\n') return false;
        if (bl->end < d->len && d->text[bl->end] != '\n') return false;
        prev = bl->end;
    }
    return true;
}

static void check_ctx_reference(const char *name, const ingest_doc *d)
{
    const char *text = d->text;
    bool tile = ref_blocks_tile(d);
    ref_toks t = {0};
    ref_cuts c = {0};
    size_t prev = 0;
    if (!tile) ref_tok_piece(&t, text, 0, d->len);
    for (size_t b = 0; b < d->nblocks; b++) {
        const ingest_block *bl = &d->blocks[b];
        size_t bn = bl->end - bl->start, nl = 0, ns = 0, nw = 0;
        size_t *lines = NULL;
        if (bl->kind == BLOCK_CODE || bl->kind == BLOCK_TABLE || bl->kind == BLOCK_LIST) {
            lines = malloc((bn + 1) * sizeof *lines);
            assert_non_null(lines);
            for (size_t i = bl->start; i < bl->end; i++)
                if (text[i] == '\n' && i + 1 < bl->end) lines[nl++] = i + 1;
        }
        if (tile) {
            ref_tok_piece(&t, text, prev, bl->start);
            ref_tok_piece(&t, text, bl->start, bl->end);
        }
        ragd_span *sen = NULL, *words = NULL;
        bool prose = bl->kind != BLOCK_CODE && bl->kind != BLOCK_TABLE && bl->kind != BLOCK_HEADING;
        if (prose) {
            nw = text_words(text + bl->start, bn, &words);
            ns = text_sentences(text + bl->start, bn, &sen);
        }
        size_t bstart = bl->start, m0 = c.n;
        ref_push(&c, bstart, REF_BLOCK);
        size_t a = 0, si = 1, wi = 1;
        for (;;) {
            size_t pl = a < nl ? lines[a] : SIZE_MAX;
            size_t ps = si < ns ? bstart + sen[si].start : SIZE_MAX;
            size_t pw = wi < nw ? bstart + words[wi].start : SIZE_MAX;
            size_t p = pl < ps ? pl : ps;
            if (pw < p) p = pw;
            if (p == SIZE_MAX) break;
            int prio = p == pl ? REF_LINE : p == ps ? REF_SENTENCE : REF_WORD;
            if (p == pl) a++;
            if (p == ps) si++;
            if (p == pw) wi++;
            if (c.v[c.n - 1].pos == p && c.n > m0) {
                if (prio > c.v[c.n - 1].prio) c.v[c.n - 1].prio = prio;
            } else {
                ref_push(&c, p, prio);
            }
        }
        free(lines);
        free(sen);
        free(words);
        prev = bl->end;
    }
    if (tile) ref_tok_piece(&t, text, prev, d->len);
    for (size_t k = 1; k < c.n; k++)
        if (ref_cut_cmp(&c.v[k - 1], &c.v[k]) > 0) {
            qsort(c.v, c.n, sizeof *c.v, ref_cut_cmp);
            break;
        }
    chunk_ctx cx;
    chunk_ctx_init(&cx, d);
    bool ok = cx.nt == t.n && cx.ncuts == c.n;
    for (size_t k = 0; ok && k < t.n; k++)
        ok = cx.ts[k] == t.v[k] && cx.unit[k] == t.u[k];
    for (size_t k = 0; ok && k < c.n; k++)
        ok = cx.cuts[k].pos == c.v[k].pos && cx.cuts[k].prio == c.v[k].prio;
    if (!ok)
        fprintf(
            stderr,
            "%s: chunk_ctx_init differs from the reference (tokens %zu vs %zu, cuts %zu vs %zu)\n",
            name, cx.nt, t.n, cx.ncuts, c.n);
    assert_true(ok);
    chunk_ctx_free(&cx);
    free(t.v);
    free(t.u);
    free(c.v);
}

/* Parse raw text and check every (M, O) pair with all three chunkers. */
static void check_doc(const char *name, const char *raw, size_t len, const char *format)
{
    ingest_doc d;
    ragd_error err = {0};
    ragd_status rc = ingest_parse(raw, len, format, "fallback", &d, &err);
    if (rc == RAGD_ENOTFOUND) return; /* blank: nothing to chunk */
    if (rc != RAGD_OK) fprintf(stderr, "%s: %s\n", name, err.msg);
    assert_int_equal(rc, RAGD_OK);
    bool md = strcmp(format, "md") == 0;
    check_ctx_reference(name, &d);
    char label[600];
    for (size_t k = 0; k < NPAIRS; k++) {
        chunk_list l;
        g_max = PAIRS[k].max;
        g_overlap = PAIRS[k].overlap;
        snprintf(label, sizeof label, "%s [fixed]", name);
        g_name = label;
        chunk_opts o = {.max_tokens = g_max, .overlap = g_overlap};
        assert_int_equal(chunk_fixed(&d, &o, &l, &err), RAGD_OK);
        check_chunks(&d, md, &l);
        chunk_list_free(&l);

        /* Semantic: no overlap, at most max tokens. */
        snprintf(label, sizeof label, "%s [semantic]", name);
        g_overlap = 0;
        chunk_semantic_opts so = {.max_tokens = g_max};
        assert_int_equal(chunk_semantic(&d, &so, local_embedder(), &l, &err), RAGD_OK);
        check_chunks(&d, md, &l);
        for (size_t i = 0; i < l.n; i++)
            CHECK(l.v[i].parent == -1, "semantic chunk %zu has a parent", i);
        chunk_list_free(&l);

        /* Parent: children of max tokens with overlap inside parents of
         * 4 * max (so long sections split into several parents). */
        snprintf(label, sizeof label, "%s [parent]", name);
        g_overlap = PAIRS[k].overlap;
        chunk_parent_opts po = {
            .child_tokens = g_max, .overlap = g_overlap, .parent_tokens = 4 * g_max};
        assert_int_equal(chunk_parent_document(&d, &po, &l, &err), RAGD_OK);
        check_chunks(&d, md, &l);
        check_parents(&d, md, &l, 4 * g_max);
        chunk_list_free(&l);
    }
    g_name = name;
    ingest_doc_free(&d);
}

/* --- fixtures ------------------------------------------------------------------- */

static size_t walk(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "cannot open %s\n", dir);
        fail();
    }
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        if (S_ISDIR(sb.st_mode)) {
            count += walk(path);
            continue;
        }
        const char *dot = strrchr(de->d_name, '.');
        const char *fmt = dot && strcmp(dot, ".md") == 0 ? "md" : "txt";
        char *raw = NULL;
        size_t len = 0;
        ragd_error err = {0};
        assert_int_equal(ingest_read_file(path, 0, &raw, &len, &err), RAGD_OK);
        check_doc(path, raw, len, fmt);
        free(raw);
        count++;
    }
    closedir(dh);
    return count;
}

static const char *fixtures_dir(void)
{
    const char *f = getenv("RAGD_FIXTURES");
    return f && *f ? f : "fixtures";
}

static void test_fixture_docs(void **state)
{
    (void)state;
    char p[4096];
    snprintf(p, sizeof p, "%s/docs", fixtures_dir());
    size_t n = walk(p);
    assert_true(n >= 30); /* the corpus has 38 documents */
}

static void test_fixture_odd(void **state)
{
    (void)state;
    char p[4096];
    snprintf(p, sizeof p, "%s/odd", fixtures_dir());
    assert_true(walk(p) >= 3);
}

/* --- generated documents ------------------------------------------------------------ */

/* Number of generated documents of each kind (raise it for a soak run:
 * -DCHUNK_SEEDS=2000). */
#ifndef CHUNK_SEEDS
#define CHUNK_SEEDS 40
#endif

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t rn(size_t n) /* 0..n-1 */
{
    return (size_t)(rnd() % n);
}

static const char *const WORDS[] = {
    "the",
    "river",
    "measured",
    "glacier",
    "lighthouse",
    "keeper",
    "caf\xC3\xA9",
    "na\xC3\xAFve",
    "\xC3\x85ngstr\xC3\xB6m",
    "Dr.",
    "e.g.",
    "U.S.",
    "3.14",
    "1,000",
    "don't",
    "\xC3\xBC"
    "ber",
    "Stra\xC3\x9F"
    "e",
    "supercalifragilisticexpialidocious",
    "ok",
    "a",
    "I",
    "fa\xC3\xA7"
    "ade",
    "Z\xC3\xBCrich",
    "r\xC3\xA9sum\xC3\xA9",
    "x86_64",
    "(maybe)",
    "\"quoted\"",
    "p.m.",
    "etc.",
    "Jan.",
    "5",
    "mm",
    "C++",
    "well-known",
    "**bold**",
    "`code`",
    "[link](url)",
    "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",
    "\xCE\xB1\xCE\xB8\xCE\xAE\xCE\xBD\xCE\xB1",
    "cafe\xCC\x81",
    "q\xCC\x81",
    "\xF0\x9F\x98\x80",
    "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
    "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
    "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
    "\xE2\x9D\xA4\xEF\xB8\x8F",
    "10\xC2\xA0km",
    "\xE5\x8C\x97\xE4\xBA\xAC\xE5\xA4\xA7\xE5\xAD\xA6",
    "salt",
    "marsh",
    "ferry",
    "night",
    "orbit",
    "probe",
    "survey",
    "with",
    "and",
    "of",
    "in",
    "to",
    "is",
    "was",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static const char *const CJK_SENTENCES[] = {
    "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xBE\x88\xE5\xA5\xBD\xE3\x80\x82", /* 今天很好。 */
    "\xE6\x98\x8E\xE5\xA4\xA9\xE5\x91\xA2\xEF\xBC\x9F",             /* 明天呢？ */
    "\xE6\x88\x91\xE4\xBB\xAC\xE8\xB5\xB0\xE5\x90\xA7\xEF\xBC\x81", /* 我们走吧！ */
    "\xE5\x8C\x97\xE4\xBA\xAC\xE5\xA4\xA7\xE5\xAD\xA6\xE5\xBE\x88\xE5\xA4\xA7\xE3\x80\x82",
    "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF\xE3\x80\x82", /* こんにちは。 */
    "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4\xE3\x80\x80\xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8.",
};
#define NCJK (sizeof CJK_SENTENCES / sizeof CJK_SENTENCES[0])

static const char *const EMOJI[] = {
    "\xF0\x9F\x98\x80",
    "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
    "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
    "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
    "\xE2\x9D\xA4\xEF\xB8\x8F",
};
#define NEMOJI (sizeof EMOJI / sizeof EMOJI[0])

static void gen_word(ragd_buf *b, bool cap)
{
    const char *w = WORDS[rn(NWORDS)];
    if (cap && islower((unsigned char)w[0])) {
        ragd_buf_putc(b, (char)toupper((unsigned char)w[0]));
        ragd_buf_puts(b, w + 1);
    } else {
        ragd_buf_puts(b, w);
    }
}

static void gen_sentence(ragd_buf *b)
{
    if (rn(8) == 0) {
        ragd_buf_puts(b, CJK_SENTENCES[rn(NCJK)]);
        if (rn(2)) ragd_buf_puts(b, CJK_SENTENCES[rn(NCJK)]);
        return;
    }
    if (rn(12) == 0) { /* an emoji run with no spaces */
        size_t k = 2 + rn(12);
        for (size_t i = 0; i < k; i++)
            ragd_buf_puts(b, EMOJI[rn(NEMOJI)]);
        ragd_buf_putc(b, '.');
        return;
    }
    size_t nw = 3 + rn(15);
    for (size_t i = 0; i < nw; i++) {
        if (i) ragd_buf_putc(b, rn(30) ? ' ' : '\n'); /* occasional soft line break */
        gen_word(b, i == 0);
    }
    static const char *const ENDS[] = {".", ".", ".", "?", "!", "...", "\xE2\x80\xA6", ".\"", "?!"};
    ragd_buf_puts(b, ENDS[rn(sizeof ENDS / sizeof ENDS[0])]);
}

static void gen_paragraph(ragd_buf *b, size_t max_sentences)
{
    size_t ns = 1 + rn(max_sentences);
    for (size_t i = 0; i < ns; i++) {
        if (i) ragd_buf_puts(b, rn(10) ? " " : "  ");
        gen_sentence(b);
    }
    static const char *const TAILS[] = {"", "", "", "", "  ", "\t", " \xC2\xA0", "\xE3\x80\x80"};
    ragd_buf_puts(b, TAILS[rn(sizeof TAILS / sizeof TAILS[0])]);
    ragd_buf_putc(b, '\n');
}

static void gen_huge_token(ragd_buf *b, size_t letters)
{
    for (size_t i = 0; i < letters; i++)
        ragd_buf_putc(b, (char)('a' + rn(26)));
}

static void gen_code(ragd_buf *b)
{
    static const char *const LANGS[] = {"", "c", "python", "sh", "lua"};
    static const char *const CODE[] = {
        "int main(void) { return 0; }",
        "for (size_t i = 0; i < n; i++) total += values[i] * weights[i];",
        "# not a heading, a shell comment",
        "## also not a heading",
        "x = compute(alpha, beta, gamma)  # trailing comment",
        "    indented_line = True",
        "",
        "print(\"caf\xC3\xA9 \xE5\x8C\x97\xE4\xBA\xAC \xF0\x9F\x98\x80\")",
        "| not | a | table |",
        "- not a list item",
        "local t = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }",
    };
    const char *fch = rn(5) ? "```" : "~~~~";
    ragd_buf_puts(b, fch);
    ragd_buf_puts(b, LANGS[rn(sizeof LANGS / sizeof LANGS[0])]);
    ragd_buf_putc(b, '\n');
    size_t nl = 1 + rn(14);
    for (size_t i = 0; i < nl; i++) {
        if (rn(25) == 0) { /* a long line, longer than small windows */
            size_t k = 20 + rn(80);
            for (size_t j = 0; j < k; j++)
                ragd_buf_printf(b, "v%zu + ", j);
            ragd_buf_puts(b, "0;\n");
            continue;
        }
        ragd_buf_puts(b, CODE[rn(sizeof CODE / sizeof CODE[0])]);
        ragd_buf_putc(b, '\n');
    }
    ragd_buf_puts(b, fch);
    ragd_buf_putc(b, '\n');
}

static void gen_table(ragd_buf *b)
{
    size_t cols = 2 + rn(4), rows = 1 + rn(12);
    ragd_buf_putc(b, '|');
    for (size_t c = 0; c < cols; c++) {
        ragd_buf_putc(b, ' ');
        gen_word(b, true);
        ragd_buf_puts(b, " |");
    }
    ragd_buf_puts(b, "\n|");
    for (size_t c = 0; c < cols; c++)
        ragd_buf_puts(b, "---|");
    ragd_buf_putc(b, '\n');
    for (size_t r = 0; r < rows; r++) {
        ragd_buf_putc(b, '|');
        for (size_t c = 0; c < cols; c++) {
            ragd_buf_putc(b, ' ');
            size_t nw = 1 + rn(rn(6) ? 3 : 12);
            for (size_t w = 0; w < nw; w++) {
                if (w) ragd_buf_putc(b, ' ');
                gen_word(b, false);
            }
            ragd_buf_puts(b, " |");
        }
        ragd_buf_putc(b, '\n');
    }
}

static void gen_list(ragd_buf *b)
{
    size_t items = 1 + rn(8);
    bool ordered = rn(3) == 0;
    for (size_t i = 0; i < items; i++) {
        if (rn(10) == 0) ragd_buf_puts(b, "   "); /* indented item */
        if (ordered)
            ragd_buf_printf(b, "%zu. ", i + 1);
        else
            ragd_buf_puts(b, rn(4) ? "- " : "* ");
        size_t ns = 1 + rn(2);
        for (size_t s = 0; s < ns; s++) {
            if (s) ragd_buf_putc(b, ' ');
            gen_sentence(b);
        }
        ragd_buf_putc(b, '\n');
        if (rn(6) == 0) ragd_buf_puts(b, "  - nested item words here\n");
    }
}

static void gen_heading(ragd_buf *b)
{
    size_t lv = 1 + rn(rn(4) ? 3 : 6);
    for (size_t i = 0; i < lv; i++)
        ragd_buf_putc(b, '#');
    ragd_buf_putc(b, ' ');
    size_t nw = 1 + rn(4);
    for (size_t i = 0; i < nw; i++) {
        if (i) ragd_buf_putc(b, ' ');
        gen_word(b, i == 0);
    }
    if (rn(10) == 0) ragd_buf_puts(b, " ##");
    ragd_buf_putc(b, '\n');
}

/* A random Markdown document; with_huge adds a 5000-letter token. */
static char *gen_markdown(size_t *len, bool with_huge)
{
    ragd_buf b = RAGD_BUF_INIT;
    size_t nb = 8 + rn(50);
    size_t huge_at = with_huge ? rn(nb) : SIZE_MAX;
    if (rn(3)) gen_heading(&b);
    for (size_t i = 0; i < nb; i++) {
        /* Mostly a blank line between blocks, sometimes none. */
        if (b.len) ragd_buf_puts(&b, rn(6) ? "\n" : "");
        if (i == huge_at) {
            ragd_buf_puts(&b, "Before the run ");
            gen_huge_token(&b, 5000);
            ragd_buf_puts(&b, " after the run.\n");
            continue;
        }
        switch (rn(12)) {
        case 0:
        case 1:
            gen_heading(&b);
            if (rn(3) == 0) gen_heading(&b); /* heading right after heading */
            break;
        case 2:
            gen_code(&b);
            break;
        case 3:
            gen_table(&b);
            break;
        case 4:
            gen_list(&b);
            break;
        case 5:
            ragd_buf_puts(&b, "> ");
            gen_paragraph(&b, 3);
            break;
        case 6:
            gen_paragraph(&b, 40); /* a long paragraph */
            break;
        default:
            gen_paragraph(&b, 6);
            break;
        }
    }
    if (rn(8) == 0) { /* an unclosed fence runs to the end of the document */
        ragd_buf_puts(&b, "\n```\nleft open\n# still code\n");
        gen_paragraph(&b, 3);
    }
    if (rn(5) == 0) { /* Windows line endings and a BOM: normalized away */
        ragd_buf crlf = RAGD_BUF_INIT;
        ragd_buf_puts(&crlf, "\xEF\xBB\xBF");
        for (size_t i = 0; i < b.len; i++) {
            if (b.data[i] == '\n') ragd_buf_putc(&crlf, '\r');
            ragd_buf_putc(&crlf, b.data[i]);
        }
        ragd_buf_free(&b);
        b = crlf;
    }
    *len = b.len;
    return ragd_buf_steal(&b);
}

static char *gen_text(size_t *len, bool with_huge)
{
    ragd_buf b = RAGD_BUF_INIT;
    size_t np = 3 + rn(30);
    size_t huge_at = with_huge ? rn(np) : SIZE_MAX;
    for (size_t i = 0; i < np; i++) {
        if (b.len) ragd_buf_puts(&b, rn(5) ? "\n" : "\n  \n");
        if (i == huge_at) gen_huge_token(&b, 5000), ragd_buf_putc(&b, '\n');
        gen_paragraph(&b, rn(4) ? 6 : 40);
    }
    *len = b.len;
    return ragd_buf_steal(&b);
}

static void test_generated_markdown(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= CHUNK_SEEDS; seed++) {
        rng_state = seed * 7919;
        size_t len;
        char *md = gen_markdown(&len, seed % 4 == 1);
        char name[64];
        snprintf(name, sizeof name, "generated md seed %llu", (unsigned long long)seed);
        check_doc(name, md, len, "md");
        free(md);
    }
}

static void test_generated_text(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= (CHUNK_SEEDS + 2) / 3; seed++) {
        rng_state = seed * 104729;
        size_t len;
        char *txt = gen_text(&len, seed % 3 == 1);
        char name[64];
        snprintf(name, sizeof name, "generated txt seed %llu", (unsigned long long)seed);
        check_doc(name, txt, len, "txt");
        free(txt);
    }
}

/* Unsplittable runs made of multi-code-point graphemes. */
static void test_generated_unsplittable(void **state)
{
    (void)state;
    static const char *const UNITS[] = {
        "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7", /* 👩‍👩‍👧
                                                                                     */
        "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",                                         /* 🇫🇷 */
        "\xE5\x8C\x97",                                                             /* 北 */
        "\xC3\xA9",                                                                 /* é */
    };
    for (size_t u = 0; u < sizeof UNITS / sizeof UNITS[0]; u++) {
        ragd_buf b = RAGD_BUF_INIT;
        ragd_buf_puts(&b, "# Runs\n\nIntro sentence here.\n\n");
        for (size_t i = 0; i < 1500; i++)
            ragd_buf_puts(&b, UNITS[u]);
        ragd_buf_puts(&b, "\n\nOutro sentence.\n");
        char name[64];
        snprintf(name, sizeof name, "unsplittable run %zu", u);
        check_doc(name, b.data, b.len, "md");
        ragd_buf_free(&b);
    }
}

/* --- specific cases ----------------------------------------------------------------- */

static void chunk_str(const char *src, const char *fmt, int max, int overlap, ingest_doc *d,
                      chunk_list *l)
{
    ragd_error err = {0};
    assert_int_equal(ingest_parse(src, strlen(src), fmt, "fallback", d, &err), RAGD_OK);
    chunk_opts o = {.max_tokens = max, .overlap = overlap};
    assert_int_equal(chunk_fixed(d, &o, l, &err), RAGD_OK);
}

static void assert_chunk_text(const ingest_doc *d, const chunk *c, const char *want)
{
    assert_int_equal(c->end - c->start, strlen(want));
    assert_memory_equal(d->text + c->start, want, strlen(want));
}

static void test_two_sections(void **state)
{
    (void)state;
    ingest_doc d;
    chunk_list l;
    chunk_str("# A\n\npara one.\n\n## B\n\npara two.", "md", 256, 0, &d, &l);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].heading_path, "A");
    assert_string_equal(l.v[1].heading_path, "A > B");
    assert_chunk_text(&d, &l.v[0], "# A\n\npara one.");
    assert_chunk_text(&d, &l.v[1], "## B\n\npara two.");
    chunk_list_free(&l);
    ingest_doc_free(&d);
}

/* Consecutive headings stay with the content after them. */
static void test_heading_group(void **state)
{
    (void)state;
    ingest_doc d;
    chunk_list l;
    chunk_str("Preface text.\n\n# A\n\n## B\n\nbody.\n\n# C\n\nmore.", "md", 256, 0, &d, &l);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].heading_path, "");
    assert_string_equal(l.v[1].heading_path, "A > B");
    assert_string_equal(l.v[2].heading_path, "C");
    assert_chunk_text(&d, &l.v[0], "Preface text.");
    assert_chunk_text(&d, &l.v[1], "# A\n\n## B\n\nbody.");
    assert_chunk_text(&d, &l.v[2], "# C\n\nmore.");
    chunk_list_free(&l);
    ingest_doc_free(&d);
}

/* Is p the start of one of the sentences of s (as text_sentences sees it)? */
static bool is_sentence_start(const ragd_span *sp, size_t ns, size_t p)
{
    for (size_t i = 0; i < ns; i++)
        if (sp[i].start == p) return true;
    return false;
}

static void test_overlap_sentence_start(void **state)
{
    (void)state;
    /* One long paragraph of short sentences (5-9 tokens each). */
    rng_state = 424242;
    ragd_buf b = RAGD_BUF_INIT;
    static const char *const W[] = {"alpha",   "bravo", "charlie", "delta", "echo",
                                    "foxtrot", "golf",  "hotel",   "india", "juliet"};
    for (size_t s = 0; s < 120; s++) {
        if (s) ragd_buf_putc(&b, ' ');
        size_t nw = 4 + rn(5);
        for (size_t w = 0; w < nw; w++) {
            const char *x = W[rn(10)];
            if (w == 0) {
                ragd_buf_putc(&b, (char)toupper((unsigned char)x[0]));
                ragd_buf_puts(&b, x + 1);
            } else {
                ragd_buf_putc(&b, ' ');
                ragd_buf_puts(&b, x);
            }
        }
        ragd_buf_putc(&b, '.');
    }
    const int M = 64, O = 16;
    ingest_doc d;
    chunk_list l;
    chunk_str(ragd_buf_str(&b), "txt", M, O, &d, &l);
    ragd_buf_free(&b);
    assert_true(l.n >= 5);
    ragd_span *sp = NULL;
    size_t ns = text_sentences(d.text, d.len, &sp);
    size_t *ts = NULL;
    size_t nt = text_token_starts(d.text, d.len, &ts);
    for (size_t i = 1; i < l.n; i++) {
        const chunk *p = &l.v[i - 1], *c = &l.v[i];
        /* They share text. */
        assert_true(c->start < p->end);
        /* The overlap region: the last O tokens of the previous chunk. */
        size_t te = 0;
        while (te < nt && ts[te] < p->end)
            te++;
        size_t region = ts[te - (size_t)O];
        bool available = false;
        for (size_t k = 0; k < ns; k++)
            if (sp[k].start >= region && sp[k].start < p->end && sp[k].start > p->start)
                available = true;
        assert_true(available); /* sentences are short enough that one always is */
        if (!is_sentence_start(sp, ns, c->start))
            fprintf(stderr, "chunk %zu starts mid-sentence: \"%s\"\n", i,
                    excerpt(d.text, c->start, c->start + 40));
        assert_true(is_sentence_start(sp, ns, c->start));
        assert_true(c->start >= region);
    }
    free(ts);
    free(sp);
    chunk_list_free(&l);
    ingest_doc_free(&d);
}

/* Issue 16: the overlap start snapped to a line inside a fenced code block,
 * so a chunk began with code and a dangling closing fence. Now it is a
 * block, sentence or word start outside code. */
static void test_overlap_never_starts_inside_code(void **state)
{
    (void)state;
    ragd_buf b = RAGD_BUF_INIT;
    for (int s = 0; s < 6; s++) {
        ragd_buf_printf(&b, "Paragraph %d explains the next listing in a few plain words.\n\n", s);
        ragd_buf_puts(&b, "```c\n");
        for (int i = 0; i < 12; i++)
            ragd_buf_printf(&b, "int value_%d_%d = compute(%d, %d);\n", s, i, s, i);
        ragd_buf_puts(&b, "```\n\n");
    }
    size_t checked = 0;
    for (int max = 40; max <= 120; max += 20) {
        ingest_doc d;
        chunk_list l;
        chunk_str(ragd_buf_str(&b), "md", max, max / 4, &d, &l);
        assert_true(l.n >= 3);
        for (size_t i = 1; i < l.n; i++) {
            size_t s = l.v[i].start;
            for (size_t k = 0; k < d.nblocks; k++) {
                const ingest_block *bl = &d.blocks[k];
                if (bl->kind != BLOCK_CODE || !(s > bl->start && s < bl->end)) continue;
                /* Only a window that had to cut the code itself (no
                 * overlap start) may begin inside it: then the previous
                 * chunk ends exactly there. */
                if (l.v[i - 1].end > s)
                    fprintf(stderr, "max %d: chunk %zu overlaps into code: \"%s\"\n", max, i,
                            excerpt(d.text, s, s + 40));
                assert_false(l.v[i - 1].end > s);
            }
            checked++;
        }
        chunk_list_free(&l);
        ingest_doc_free(&d);
    }
    assert_true(checked >= 10);
    ragd_buf_free(&b);
}

/* Small cases for bugs the properties found. */
static void test_regressions(void **state)
{
    (void)state;
    ingest_doc d;
    chunk_list l;
    /* With overlap, the window from the overlap start ended at the same cut
     * (the table's first row does not fit), repeating "languages:" as a
     * chunk inside the previous one. */
    chunk_str("We compared letters across languages:\n\n"
              "| Letter | Russian | Ukrainian | Serbian |\n| a | b | c | d |\n",
              "md", 12, 3, &d, &l);
    for (size_t i = 1; i < l.n; i++)
        assert_true(l.v[i].end > l.v[i - 1].end);
    assert_chunk_text(&d, &l.v[0], "We compared letters across languages:");
    assert_chunk_text(&d, &l.v[1], "| Letter | Russian | Ukrainian | Serbian |");
    chunk_list_free(&l);
    ingest_doc_free(&d);

    /* A run of headings too long for one window is split; the first part
     * must not carry the path of the headings after it. */
    chunk_str("# Title\n\n## Spring (March to May)\n\n### First inspection\n\nOpen the hive.", "md",
              12, 0, &d, &l);
    assert_int_equal(l.n, 2);
    assert_chunk_text(&d, &l.v[0], "# Title\n\n## Spring (March to May)");
    assert_string_equal(l.v[0].heading_path, "Title > Spring (March to May)");
    assert_chunk_text(&d, &l.v[1], "### First inspection\n\nOpen the hive.");
    assert_string_equal(l.v[1].heading_path, "Title > Spring (March to May) > First inspection");
    chunk_list_free(&l);
    ingest_doc_free(&d);

    /* Cut before "km": the NBSP before it is trimmed like a space. */
    chunk_str("one two three four five six seven eight nine ten eleven 10\xC2\xA0km twelve "
              "thirteen fourteen",
              "txt", 12, 0, &d, &l);
    assert_int_equal(l.n, 2);
    assert_chunk_text(&d, &l.v[0], "one two three four five six seven eight nine ten eleven 10");
    assert_chunk_text(&d, &l.v[1], "km twelve thirteen fourteen");
    chunk_list_free(&l);
    ingest_doc_free(&d);
    /* Same at the ends of the text (U+00A0, U+3000). */
    chunk_str("\xC2\xA0\xC2\xA0Indented with NBSP.\xE3\x80\x80\n", "txt", 12, 0, &d, &l);
    assert_int_equal(l.n, 1);
    assert_chunk_text(&d, &l.v[0], "Indented with NBSP.");
    chunk_list_free(&l);
    ingest_doc_free(&d);
}

static void test_overlap_must_be_smaller(void **state)
{
    (void)state;
    ingest_doc d;
    ragd_error err = {0};
    const char *src = "Some text here.";
    assert_int_equal(ingest_parse(src, strlen(src), "txt", "f", &d, &err), RAGD_OK);
    chunk_list l;
    chunk_opts o = {.max_tokens = 16, .overlap = 16};
    assert_int_equal(chunk_fixed(&d, &o, &l, &err), RAGD_EUSAGE);
    assert_non_null(strstr(err.msg, "overlap"));
    chunk_list_free(&l);
    ingest_doc_free(&d);
}

/* --- the semantic chunker on topic shifts ---------------------------------------------- */

/* One fixtures/topics text, as a single line. */
static char *topic_text(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/topics/%s.txt", fixtures_dir(), name);
    char *raw = NULL;
    size_t len = 0;
    ragd_error err = {0};
    assert_int_equal(ingest_read_file(path, 0, &raw, &len, &err), RAGD_OK);
    while (len && (raw[len - 1] == '\n' || raw[len - 1] == ' '))
        raw[--len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (raw[i] == '\n') raw[i] = ' ';
    return raw;
}

/* "On text made of distinct topics with no headings, boundaries must land
 * at the topic shifts." Five of the six fixtures/topics texts (twelve
 * sentences each, one subject each) are run together into one paragraph —
 * no headings, no blank lines, just sentences — in twelve orders, and
 * chunked by the semantic chunker with the local embedder and the default
 * window (2), percentile (90) and minimum (max/4). Every cut must fall at a
 * topic shift or one sentence from it, and every shift must get a cut. */
static void test_semantic_topic_shifts(void **state)
{
    (void)state;
    static const char *const TOPICS[] = {"bees", "tides", "bread", "chess", "volcano", "trains"};
    enum { NT = 6, USE = 5 };
    char *texts[NT];
    for (size_t t = 0; t < NT; t++)
        texts[t] = topic_text(TOPICS[t]);
    size_t runs = 0;
    for (size_t rot = 0; rot < NT; rot++) {
        for (int rev = 0; rev < 2; rev++) {
            ragd_buf b = RAGD_BUF_INIT;
            size_t shift_at[USE], shift[USE], nshift = 0;
            char order[200] = "";
            for (size_t t = 0; t < USE; t++) {
                size_t i = rev ? (rot + USE - t) % NT : (rot + t) % NT;
                if (t) {
                    ragd_buf_putc(&b, ' ');
                    shift_at[nshift++] = b.len; /* the byte where topic t starts */
                }
                ragd_buf_puts(&b, texts[i]);
                strcat(order, t ? " " : "");
                strcat(order, TOPICS[i]);
            }
            ingest_doc d;
            ragd_error err = {0};
            assert_int_equal(ingest_parse(b.data, b.len, "txt", "topics", &d, &err), RAGD_OK);
            ragd_buf_free(&b);
            assert_int_equal(d.nblocks, 1); /* one paragraph */
            /* The sentences the chunker sees; shift[k]: the first of topic k+1. */
            ragd_span *sp = NULL;
            size_t ns = text_sentences(d.text, d.len, &sp);
            for (size_t k = 0; k < nshift; k++) {
                shift[k] = 0;
                while (shift[k] < ns && sp[shift[k]].start != shift_at[k])
                    shift[k]++;
                assert_true(shift[k] < ns);
            }
            chunk_list l;
            chunk_semantic_opts o = {.max_tokens = 512};
            assert_int_equal(chunk_semantic(&d, &o, NULL, &l, &err), RAGD_OK);
            bool hit[USE] = {false};
            bool ok = true;
            for (size_t i = 1; i < l.n; i++) {
                size_t j = 0; /* the sentence the chunk starts with */
                while (j < ns && sp[j].start != l.v[i].start)
                    j++;
                assert_true(j < ns); /* every cut is at a sentence start */
                bool near = false;
                for (size_t k = 0; k < nshift; k++)
                    if (j + 1 >= shift[k] && j <= shift[k] + 1) near = hit[k] = true;
                if (!near) {
                    fprintf(stderr,
                            "[%s] cut before sentence %zu is not at a topic shift: \"%s\"\n", order,
                            j, excerpt(d.text, sp[j].start, sp[j].end));
                    ok = false;
                }
            }
            for (size_t k = 0; k < nshift; k++) {
                if (hit[k]) continue;
                fprintf(stderr, "[%s] no cut at the topic shift before sentence %zu: \"%s\"\n",
                        order, shift[k], excerpt(d.text, sp[shift[k]].start, sp[shift[k]].end));
                ok = false;
            }
            assert_true(ok);
            assert_int_equal(l.n, USE);
            free(sp);
            chunk_list_free(&l);
            ingest_doc_free(&d);
            runs++;
        }
    }
    assert_int_equal(runs, 12);
    for (size_t t = 0; t < NT; t++)
        free(texts[t]);
}

/* A document longer than one embedding batch (1,024 sentences): the six
 * topics in rotation, 25 times over, in one paragraph. The cuts must still
 * land at the joins — across the batch edges too — and the chunks keep
 * every property. */
static void test_semantic_long_document(void **state)
{
    (void)state;
    static const char *const TOPICS[] = {"bees", "tides", "bread", "chess", "volcano", "trains"};
    ragd_buf b = RAGD_BUF_INIT;
    size_t shift_at[200], nshift = 0;
    for (size_t round = 0; round < 25; round++)
        for (size_t t = 0; t < 6; t++) {
            char *x = topic_text(TOPICS[t]);
            if (b.len) {
                ragd_buf_putc(&b, ' ');
                shift_at[nshift++] = b.len;
            }
            ragd_buf_puts(&b, x);
            free(x);
        }
    ingest_doc d;
    ragd_error err = {0};
    assert_int_equal(ingest_parse(b.data, b.len, "txt", "long", &d, &err), RAGD_OK);
    ragd_buf_free(&b);
    ragd_span *sp = NULL;
    size_t ns = text_sentences(d.text, d.len, &sp);
    assert_true(ns > 1500);
    chunk_list l;
    chunk_semantic_opts o = {.max_tokens = 512};
    embed_usage u = {0};
    o.usage = &u;
    assert_int_equal(chunk_semantic(&d, &o, NULL, &l, &err), RAGD_OK);
    assert_int_equal(u.texts, (long)(ns + 3)); /* two batches: 2w - 1 units embedded twice */
    g_name = "semantic long document";
    g_max = 512;
    g_overlap = 0;
    check_chunks(&d, false, &l);
    size_t si = 0, bad = 0, hit = 0;
    for (size_t i = 1; i < l.n; i++) {
        while (si < ns && sp[si].start < l.v[i].start)
            si++;
        assert_true(si < ns && sp[si].start == l.v[i].start);
        bool near = false;
        for (size_t k = 0; k < nshift && !near; k++) {
            size_t j = 0;
            while (j < ns && sp[j].start != shift_at[k])
                j++;
            near = si + 1 >= j && si <= j + 1;
        }
        bad += !near;
        hit += near;
    }
    if (bad || hit != nshift)
        fprintf(stderr, "long document: %zu cuts, %zu at joins, %zu joins\n", l.n - 1, hit, nshift);
    assert_int_equal(bad, 0);
    assert_int_equal(hit, nshift);
    free(sp);
    chunk_list_free(&l);
    ingest_doc_free(&d);
}

/* chunk_document picks the collection's chunker. */
static void test_chunk_document_dispatch(void **state)
{
    (void)state;
    const char *src = "# A\n\nOne sentence here. Another one.\n\n## B\n\nMore text in B.\n";
    ingest_doc d;
    ragd_error err = {0};
    assert_int_equal(ingest_parse(src, strlen(src), "md", "f", &d, &err), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    store_settings_defaults(&s);
    chunk_list l;
    snprintf(s.chunker, sizeof s.chunker, "parent");
    assert_int_equal(chunk_document(&d, &s, NULL, NULL, &l, &err), RAGD_OK);
    assert_int_equal(l.nparents, 2);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[1].parent, 1);
    assert_string_equal(l.parents[1].heading_path, "A > B");
    chunk_list_free(&l);
    snprintf(s.chunker, sizeof s.chunker, "semantic");
    embed_usage u = {0};
    assert_int_equal(chunk_document(&d, &s, NULL, &u, &l, &err), RAGD_OK);
    assert_int_equal(l.nparents, 0);
    assert_int_equal(l.n, 2);     /* the sections stay apart */
    assert_int_equal(u.texts, 2); /* only section A has two sentences to compare */
    chunk_list_free(&l);
    snprintf(s.chunker, sizeof s.chunker, "fixed");
    assert_int_equal(chunk_document(&d, &s, NULL, NULL, &l, &err), RAGD_OK);
    assert_int_equal(l.n, 2);
    chunk_list_free(&l);
    snprintf(s.chunker, sizeof s.chunker, "weird");
    assert_int_equal(chunk_document(&d, &s, NULL, NULL, &l, &err), RAGD_EUSAGE);
    assert_non_null(strstr(err.msg, "weird"));
    chunk_list_free(&l);
    ingest_doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_sections),
        cmocka_unit_test(test_heading_group),
        cmocka_unit_test(test_overlap_sentence_start),
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_overlap_must_be_smaller),
        cmocka_unit_test(test_semantic_topic_shifts),
        cmocka_unit_test(test_semantic_long_document),
        cmocka_unit_test(test_chunk_document_dispatch),
        cmocka_unit_test(test_fixture_docs),
        cmocka_unit_test(test_fixture_odd),
        cmocka_unit_test(test_generated_markdown),
        cmocka_unit_test(test_generated_text),
        cmocka_unit_test(test_generated_unsplittable),
        cmocka_unit_test(test_overlap_never_starts_inside_code),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_embedder);
}
