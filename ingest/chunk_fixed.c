/* ingest/chunk_fixed.c — the fixed-size chunker.
 *
 * Design: we first list every position where a cut is allowed, each with a
 * priority (block > line-in-code/table > sentence > word), then walk the
 * document window by window. A window may hold at most max_tokens tokens; it
 * ends at the highest-priority cut found in its second half (the latest one
 * on ties), or failing that anywhere in it, or — only for a single run with
 * no allowed cut, like a 5,000-character token — at a grapheme boundary.
 * Heading sections are hard boundaries: a chunk never spans two sections, so
 * its heading path is exact. The next window starts `overlap` tokens before
 * the end, snapped forward to a block or sentence start (else a word start),
 * never to a line inside a fenced code block: a chunk that began mid-code
 * would carry code without its opening fence and a dangling closing one.
 *
 * Offsets are bytes into the normalized text; chunk text is text[start:end]
 * with surrounding whitespace trimmed.
 *
 * Cost: three scans per document (token starts over the text, sentences and
 * words per block, each with ASCII fast paths in core/text.c); the cuts are
 * merged block by block in position order (no sort), and a window's tokens
 * are counted from the token starts when it begins at a unit of the count
 * (text_token_units), by scanning only when it begins inside a word.
 *
 * The window walk works on any byte range inside one hard section
 * (chunk_windows, declared in chunk_internal.h with the precomputed
 * chunk_ctx), so the semantic chunker falls back to it for spans that are too
 * long and the parent chunker uses it for parents and for their children.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/chunk_internal.h"

enum { CUT_GRAPHEME = 0, CUT_WORD = 1, CUT_SENTENCE = 2, CUT_LINE = 3, CUT_BLOCK = 4 };

typedef chunk_cut cut;

typedef struct {
    cut *v;
    size_t n, cap;
} cuts;

static int cut_cmp(const void *a, const void *b)
{
    const cut *x = a, *y = b;
    if (x->pos != y->pos) return x->pos < y->pos ? -1 : 1;
    return y->prio - x->prio; /* higher priority first at the same position */
}

/* Append one block's cuts in order: its start, then the merge of its line,
 * sentence and word starts (each list ascending), one cut per position with
 * the highest priority there. A lower-priority duplicate never changes a
 * window (the walk takes the first cut of the highest priority at a
 * position), so keeping one is the same as keeping all. */
static void block_cuts(cuts *c, size_t bstart, const size_t *lines, size_t nl, const ragd_span *sen,
                       size_t ns, const ragd_span *words, size_t nw)
{
    ragd_array_grow((void **)&c->v, &c->cap, c->n + 1 + nl + ns + nw, sizeof *c->v);
    cut *o = c->v + c->n;
    size_t m = 0;
    o[m++] = (cut){bstart, CUT_BLOCK};
    size_t a = 0, b = 1, w = 1; /* sentence 0 and word 0 start the block's text */
    if (nl == 0) {
        /* No line cuts (prose): the two-way merge below in a tight loop.
         * Sentence and word starts each ascend strictly and lie after
         * bstart, so a position repeats only where a sentence starts a
         * word, which the sentence takes; no cut ever equals the one
         * before it. */
        for (;;) {
            size_t ps = b < ns ? bstart + sen[b].start : SIZE_MAX;
            while (w < nw && bstart + words[w].start < ps)
                o[m++] = (cut){bstart + words[w++].start, CUT_WORD};
            if (ps == SIZE_MAX) break;
            if (w < nw && bstart + words[w].start == ps) w++;
            o[m++] = (cut){ps, CUT_SENTENCE};
            b++;
        }
        c->n += m;
        return;
    }
    for (;;) {
        size_t pl = a < nl ? lines[a] : SIZE_MAX;
        size_t ps = b < ns ? bstart + sen[b].start : SIZE_MAX;
        size_t pw = w < nw ? bstart + words[w].start : SIZE_MAX;
        size_t p = pl < ps ? pl : ps;
        if (pw < p) p = pw;
        if (p == SIZE_MAX) break;
        int prio = p == pl ? CUT_LINE : p == ps ? CUT_SENTENCE : CUT_WORD;
        if (p == pl) a++;
        if (p == ps) b++;
        if (p == pw) w++;
        if (o[m - 1].pos == p) {
            if (prio > o[m - 1].prio) o[m - 1].prio = prio;
        } else {
            o[m++] = (cut){p, prio};
        }
    }
    c->n += m;
}

/* Token starts and their unit flags, appended piece by piece. */
typedef text_tokens tokbuf;

/* The token starts of text[a, b), appended (no words, no allocation but the
 * buffer's growth). */

static void tok_piece(tokbuf *t, const char *text, size_t a, size_t b)
{
    if (b > a) text_words_tokens_append(text + a, b - a, a, t, NULL, NULL, NULL);
}

/* Blocks in order, apart, each from a line start to a line end. Then the
 * document's token starts are those of the pieces between and inside the
 * blocks, each scanned on its own: a newline ends every token and grapheme
 * cluster, and the count starts afresh after it. */
static bool blocks_tile(const ingest_doc *d)
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

/* Collect allowed cut positions (a cut at p means a chunk may end before p
 * and the next begin at p), sorted by position: blocks come in text order,
 * so their cuts are appended in order (checked; sorted otherwise). With t
 * (blocks_tile holds), also the document's token starts, piece by piece: a
 * block of prose gives its words and token starts in one call
 * (text_words_tokens_append: the one-pass ASCII scan, the general scans only
 * around non-ASCII runs), its words into a buffer reused block to block. */
static void collect_cuts(const ingest_doc *d, cuts *c, tokbuf *t)
{
    size_t *lines = NULL, lcap = 0, prev = 0;
    ragd_span *wbuf = NULL, *sbuf = NULL; /* prose blocks' words and sentences, */
    size_t wcap = 0, scap = 0;            /* reused block to block */
    const char *text = d->text;
    for (size_t b = 0; b < d->nblocks; b++) {
        const ingest_block *bl = &d->blocks[b];
        size_t nl = 0, bn = bl->end - bl->start;
        if (bl->kind == BLOCK_CODE || bl->kind == BLOCK_TABLE || bl->kind == BLOCK_LIST) {
            for (size_t i = bl->start; i < bl->end; i++)
                if (text[i] == '\n' && i + 1 < bl->end) {
                    ragd_array_grow((void **)&lines, &lcap, nl + 1, sizeof *lines);
                    lines[nl++] = i + 1;
                }
        }
        if (t) tok_piece(t, text, prev, bl->start);
        ragd_span *sp = NULL, *wp = NULL;
        size_t ns = 0, nw = 0;
        bool prose = bl->kind != BLOCK_CODE && bl->kind != BLOCK_TABLE && bl->kind != BLOCK_HEADING;
        bool reused = false;
        if (prose && t) {
            text_words_tokens_append(text + bl->start, bn, bl->start, t, &wbuf, &wcap, &nw);
            wp = wbuf;
            reused = true;
        } else {
            if (t) tok_piece(t, text, bl->start, bl->end);
            if (prose) nw = text_words(text + bl->start, bn, &wp);
        }
        if (prose) {
            ns = text_sentences_reuse(text + bl->start, bn, &sbuf, &scap);
            sp = sbuf;
        }
        block_cuts(c, bl->start, lines, nl, sp, ns, wp, nw);
        if (!reused) free(wp);
        prev = bl->end;
    }
    if (t) tok_piece(t, text, prev, d->len);
    free(lines);
    free(wbuf);
    free(sbuf);
    for (size_t k = 1; k < c->n; k++) { /* cut_cmp(&c->v[k - 1], &c->v[k]) > 0, inline */
        const cut *x = &c->v[k - 1], *y = &c->v[k];
        if (x->pos > y->pos || (x->pos == y->pos && x->prio < y->prio)) {
            qsort(c->v, c->n, sizeof *c->v, cut_cmp);
            break;
        }
    }
}

/* Index of the first token start >= pos. */
static size_t tok_index(const size_t *ts, size_t nt, size_t pos)
{
    size_t lo = 0, hi = nt;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ts[mid] < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the first cut with position >= pos. */
static size_t cut_index(const cuts *c, size_t pos)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->v[mid].pos < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whitespace for trimming: ASCII and Unicode spaces (NBSP, U+3000, ...), so
 * "10\u00A0km" cut before "km" does not leave a trailing NBSP. */
static bool is_ws_cp(int32_t cp)
{
    if (cp < 0x80) return isspace(cp) != 0;
    if (cp == 0x85) return true;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

static size_t skip_space(const char *t, size_t i, size_t end)
{
    while (i < end) {
        int32_t cp;
        size_t l = text_decode(t, end, i, &cp);
        if (!l || !is_ws_cp(cp)) break;
        i += l;
    }
    return i;
}

static size_t trim_end(const char *t, size_t start, size_t e)
{
    while (e > start) {
        size_t p = e - 1;
        while (p > start && ((unsigned char)t[p] & 0xC0) == 0x80)
            p--;
        int32_t cp;
        size_t l = text_decode(t, e, p, &cp);
        if (l != e - p || !is_ws_cp(cp)) break;
        e = p;
    }
    return e;
}

/* The chunk's tokens are those of its text counted on its own
 * (text_count_tokens), which is what budgets and the stored count use. A
 * chunk that starts inside a word (a grapheme cut in a long run) can count
 * one more than the document's token starts it spans. */
static void emit(chunk_list *out, const ingest_doc *d, size_t s, size_t e, size_t tokens,
                 const char *heading_path)
{
    ragd_array_grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v);
    chunk *c = &out->v[out->n++];
    c->start = s;
    c->end = e;
    c->tokens = tokens; /* text_count_tokens(d->text + s, e - s) */
    c->parent = -1;
    c->heading_path = ragd_xstrdup(heading_path);
    ragd_buf h = RAGD_BUF_INIT;
    ragd_buf_puts(&h, d->title ? d->title : "");
    if (heading_path[0]) {
        if (h.len) ragd_buf_puts(&h, " > ");
        ragd_buf_puts(&h, heading_path);
    }
    c->header = ragd_buf_steal(&h);
}

/* Sections [start, end) of d, where hard cuts happen: at each heading that
 * follows some non-heading content. */
typedef chunk_span span_section;

static size_t hard_sections(const ingest_doc *d, span_section **out)
{
    span_section *v = ragd_xcalloc(d->nsections + 1, sizeof *v);
    size_t n = 0;
    bool content = false;
    size_t cur_start = 0;
    int cur_sec = 0;
    for (size_t b = 0; b < d->nblocks; b++) {
        const ingest_block *bl = &d->blocks[b];
        if (bl->kind == BLOCK_HEADING && content) {
            v[n].start = cur_start;
            v[n].end = bl->start;
            v[n].heading_path = d->sections[cur_sec].heading_path;
            n++;
            cur_start = bl->start;
            content = false;
        }
        if (bl->kind == BLOCK_HEADING)
            cur_sec = bl->section;
        else
            content = true;
        if (b == 0 && bl->kind != BLOCK_HEADING) cur_sec = bl->section;
    }
    v[n].start = cur_start;
    v[n].end = d->len;
    v[n].heading_path = d->nsections ? d->sections[cur_sec].heading_path : "";
    n++;
    *out = v;
    return n;
}

/* The heading path in force at the end of a chunk ending at e: that of the
 * last section starting before e. Within a hard section headings only come
 * first, so for a chunk that starts at content this is the path at its start,
 * and for one that starts in the leading run of headings it is the path after
 * the last of them inside the chunk (not after headings beyond its end, when a
 * long run of headings is split). */
static const char *path_at(const ingest_doc *d, size_t e)
{
    size_t lo = 0, hi = d->nsections; /* first section with start >= e */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->sections[mid].start < e)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? d->sections[lo - 1].heading_path : "";
}

void chunk_ctx_init(chunk_ctx *cx, const ingest_doc *d)
{
    memset(cx, 0, sizeof *cx);
    cx->d = d;
    cuts c = {0};
    if (blocks_tile(d)) {
        /* A token per byte at most: for a document of up to 64 KiB one
         * allocation holds all its token starts (the ASCII pass reserves
         * room for a token per byte of each block before it starts). */
        tokbuf t = {0};
        size_t guess = d->len < 65536 ? d->len : 65536;
        text_tokens_reserve(&t, guess + 1);
        /* Cuts: about one per word; a fifth of the bytes is more than
         * prose needs (a word and its space average ~7 bytes in SciFact). */
        ragd_array_grow((void **)&c.v, &c.cap, guess / 5 + d->nblocks + 16, sizeof *c.v);
        collect_cuts(d, &c, &t);
        cx->ts = t.v;
        cx->unit = t.unit;
        cx->nt = t.n;
    } else {
        cx->nt = text_token_units(d->text, d->len, &cx->ts, &cx->unit);
        collect_cuts(d, &c, NULL);
    }
    cx->cuts = c.v;
    cx->ncuts = c.n;
    cx->capcuts = c.cap;
    cx->nsecs = hard_sections(d, &cx->secs);
}

void chunk_ctx_free(chunk_ctx *cx)
{
    free(cx->ts);
    free(cx->unit);
    free(cx->cuts);
    free(cx->secs);
    memset(cx, 0, sizeof *cx);
}

size_t chunk_tok_index(const chunk_ctx *cx, size_t pos)
{
    return tok_index(cx->ts, cx->nt, pos);
}

size_t chunk_tokens_between(const chunk_ctx *cx, size_t s, size_t e)
{
    return e > s ? tok_index(cx->ts, cx->nt, e) - tok_index(cx->ts, cx->nt, s) : 0;
}

size_t chunk_count_tokens(const chunk_ctx *cx, size_t s, size_t e)
{
    if (e <= s) return 0;
    size_t ti = tok_index(cx->ts, cx->nt, s);
    if (ti < cx->nt && cx->ts[ti] == s && cx->unit[ti]) return tok_index(cx->ts, cx->nt, e) - ti;
    return text_count_tokens(cx->d->text + s, e - s);
}

size_t chunk_skip_space(const char *t, size_t i, size_t end)
{
    return skip_space(t, i, end);
}

size_t chunk_trim_end(const char *t, size_t start, size_t e)
{
    return trim_end(t, start, e);
}

void chunk_emit(chunk_list *out, const chunk_ctx *cx, size_t s, size_t e, int parent)
{
    emit(out, cx->d, s, e, chunk_count_tokens(cx, s, e), path_at(cx->d, e));
    out->v[out->n - 1].parent = parent;
}

/* Whether pos lies strictly inside a fenced code block of d (after its
 * opening fence line starts, before its end). Blocks are sorted by start. */
static bool inside_code(const ingest_doc *d, size_t pos)
{
    size_t lo = 0, hi = d->nblocks;
    while (lo < hi) { /* the last block starting before pos */
        size_t mid = (lo + hi) / 2;
        if (d->blocks[mid].start < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo) return false;
    const ingest_block *b = &d->blocks[lo - 1];
    return b->kind == BLOCK_CODE && pos < b->end;
}

void chunk_windows(const chunk_ctx *cx, size_t start, size_t end, size_t max, size_t overlap,
                   int parent, chunk_list *out)
{
    const ingest_doc *d = cx->d;
    const char *t = d->text;
    const size_t *ts = cx->ts;
    size_t nt = cx->nt;
    const cuts c = {.v = cx->cuts, .n = cx->ncuts, .cap = cx->capcuts};
    size_t send = trim_end(t, start, end);
    size_t pos = skip_space(t, start, send);
    size_t prev_end = 0, prev_e = 0; /* the previous window's cut and chunk end */
    bool overlapped = false;         /* pos is an overlap start */
    while (pos < send) {
        size_t ti = tok_index(ts, nt, pos);
        size_t tend = tok_index(ts, nt, send);
        size_t wend;
        if (tend - ti <= max) {
            wend = send;
        } else {
            size_t limit = ts[ti + max]; /* the first token that no longer fits */
            size_t half = ts[ti + max / 2];
            /* Best cut in (half, limit]; else in (pos, limit]. */
            size_t best = 0;
            int bestp = -1;
            for (size_t k = cut_index(&c, half); k < c.n && c.v[k].pos <= limit; k++) {
                if (c.v[k].pos <= pos) continue;
                if (c.v[k].prio >= bestp) best = c.v[k].pos, bestp = c.v[k].prio;
            }
            if (bestp < 0) {
                for (size_t k = cut_index(&c, pos + 1); k < c.n && c.v[k].pos <= limit; k++)
                    if (c.v[k].prio >= bestp) best = c.v[k].pos, bestp = c.v[k].prio;
            }
            if (bestp < CUT_WORD) {
                /* One unsplittable run: cut on a grapheme boundary. */
                best = text_grapheme_floor(t, d->len, limit);
                if (best <= pos) best = limit;
            }
            wend = best;
        }
        size_t e = trim_end(t, pos, wend);
        /* A window starting inside a word (after a grapheme cut where a token
         * start fell inside a grapheme) may count one token more on its own
         * than the token starts it spans: shorten it by graphemes until it
         * fits (a single grapheme always stays). Found by fuzz_chunk_fixed. */
        size_t etok = chunk_count_tokens(cx, pos, e);
        while (e > pos && etok > max) {
            size_t g = text_grapheme_floor(t, d->len, e - 1);
            if (g <= pos) break;
            wend = g;
            e = trim_end(t, pos, wend);
            etok = chunk_count_tokens(cx, pos, e);
        }
        if (overlapped && e <= prev_e) {
            /* From the overlap start the best cut is no further than the
             * previous chunk's end (the next cut lies beyond this window):
             * the chunk would repeat a piece of the previous one. Start at
             * the previous cut instead, without overlap. */
            overlapped = false;
            pos = skip_space(t, prev_end, send);
            continue;
        }
        if (e <= pos) { /* whitespace-only window: step past it */
            pos = skip_space(t, wend > pos ? wend : pos + 1, send);
            continue;
        }
        emit(out, d, pos, e, etok, path_at(d, e));
        out->v[out->n - 1].parent = parent;
        if (wend >= send) break;
        size_t next = wend;
        if (overlap) {
            size_t te = tok_index(ts, nt, wend);
            size_t target = ts[te > overlap ? te - overlap : 0];
            if (target <= pos) target = pos + 1;
            /* Snap forward to a block or sentence start, else a word start,
             * within the overlap region; never into a code block. */
            size_t snap = 0;
            int sp = -1;
            for (size_t k = cut_index(&c, target); k < c.n && c.v[k].pos < wend; k++) {
                if (inside_code(d, c.v[k].pos)) continue;
                int pr = c.v[k].prio >= CUT_SENTENCE ? 2 : 1;
                if (pr > sp) snap = c.v[k].pos, sp = pr;
                if (sp == 2) break;
            }
            if (sp > 0) next = snap;
        }
        prev_end = wend;
        prev_e = e;
        overlapped = next < wend;
        pos = skip_space(t, next, send);
    }
}

ragd_status chunk_fixed(const ingest_doc *d, const chunk_opts *o, chunk_list *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    size_t max = o->max_tokens > 0 ? (size_t)o->max_tokens : 256;
    size_t overlap = o->overlap > 0 ? (size_t)o->overlap : 0;
    if (overlap >= max)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--overlap (%zu) must be smaller than "
                              "--chunk-tokens (%zu)",
                              overlap, max);
    chunk_ctx cx;
    chunk_ctx_init(&cx, d);
    for (size_t si = 0; si < cx.nsecs; si++)
        chunk_windows(&cx, cx.secs[si].start, cx.secs[si].end, max, overlap, -1, out);
    chunk_ctx_free(&cx);
    return RAGD_OK;
}
