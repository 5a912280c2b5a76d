/* ingest/textrank.c — the summary's sentences: TextRank over a document.
 *
 * Sentences come from text_sentences over paragraph and list blocks only
 * (headings, code, tables and quotes are not prose; quotes are used only
 * when there is nothing else). A list marker is not part of a sentence, and
 * a title line repeated as the first paragraph is not a candidate. Each
 * sentence is a unit vector over its distinct folded non-stop words,
 * weighted ln(1 + n/sf) (LexRank's idf-modified cosine); the graph's edge
 * weights are the cosines, W = X·Xᵀ without the diagonal, so PageRank's
 * power iteration (damping 0.85, <= 50 iterations, L1 change < 1e-9) runs
 * as X·(Xᵀ·v) in O(words) per iteration instead of O(sentences²). Ties
 * break on position, so it is deterministic. Reentrant.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/text.h"
#include "ingest/summary_internal.h"

/* --- sentences and TextRank ---------------------------------------------------- */

typedef struct {
    size_t start, end; /* into d->text */
    size_t words;      /* all words, stop words included */
    size_t off;        /* into the CSR arrays */
    size_t nnz;
    double score;
} sent;

typedef struct {
    sent *v;
    size_t n, cap;
} sent_list;

/* Skip a list marker ("- ", "* ", "+ ", "12. ", "3) ") at s. */
static size_t skip_list_marker(const char *t, size_t s, size_t e)
{
    size_t i = s;
    if (i + 1 < e && (t[i] == '-' || t[i] == '*' || t[i] == '+') && t[i + 1] == ' ') {
        i += 2;
    } else {
        size_t j = i;
        while (j < e && isdigit((unsigned char)t[j]) && j - i < 9)
            j++;
        if (j > i && j + 1 < e && (t[j] == '.' || t[j] == ')') && t[j + 1] == ' ')
            i = j + 2;
        else
            return s;
    }
    while (i < e && (t[i] == ' ' || t[i] == '\t'))
        i++;
    return i;
}

static bool ends_sentence(const char *t, size_t s, size_t e)
{
    while (e > s && (t[e - 1] == '*' || t[e - 1] == '_' || t[e - 1] == '"' || t[e - 1] == ')'))
        e--;
    if (e == s) return false;
    char c = t[e - 1];
    if (c == '.' || c == '!' || c == '?') return true;
    return e - s >= 3 && (!memcmp(t + e - 3, "\xE3\x80\x82", 3) || /* 。 */
                          !memcmp(t + e - 3, "\xEF\xBC\x81", 3) || /* ！ */
                          !memcmp(t + e - 3, "\xEF\xBC\x9F", 3) || /* ？ */
                          !memcmp(t + e - 3, "\xE2\x80\xA6", 3));  /* … */
}

static void collect_sentences(const ingest_doc *d, bool quotes, sent_list *out)
{
    for (size_t i = 0; i < d->nblocks; i++) {
        const ingest_block *b = &d->blocks[i];
        bool want =
            quotes ? b->kind == BLOCK_QUOTE : (b->kind == BLOCK_PARA || b->kind == BLOCK_LIST);
        if (!want || b->end <= b->start) continue;
        ragd_span *sp = NULL;
        size_t ns = text_sentences(d->text + b->start, b->end - b->start, &sp);
        for (size_t k = 0; k < ns; k++) {
            size_t s = b->start + sp[k].start, e = b->start + sp[k].end;
            if (quotes) {
                while (s < e && (d->text[s] == '>' || d->text[s] == ' '))
                    s++;
            } else {
                s = skip_list_marker(d->text, s, e);
            }
            if (s >= e) continue;
            /* A title repeated as the first line (plain text, BEIR) is not
             * a sentence of the body. */
            if (out->n == 0 && d->title && strlen(d->title) == e - s &&
                memcmp(d->title, d->text + s, e - s) == 0 && !ends_sentence(d->text, s, e))
                continue;
            ragd_array_grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v);
            out->v[out->n++] = (sent){.start = s, .end = e};
        }
        free(sp);
    }
}

/* A document's vocabulary for TextRank: folded word -> term id, ids in
 * first-seen order (what an hmap numbering its keys by insertion gives).
 * The words are copied into one arena, not one allocation each, and the
 * table holds id + 1 (0 empty); it lives for one textrank call. */
struct tr_vocab {
    uint32_t *tab; /* id + 1, 0 empty; a power of two, at most half full */
    size_t cap;
    size_t *off; /* per id: its word's offset in arena */
    uint32_t *len, *hash;
    size_t n, capk;
    ragd_buf arena;
};

tr_vocab *tr_vocab_new(void)
{
    return ragd_xcalloc(1, sizeof(tr_vocab));
}

size_t tr_vocab_size(const tr_vocab *v)
{
    return v->n;
}

static uint32_t tr_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void tr_vocab_grow(tr_vocab *v)
{
    free(v->tab);
    v->cap = v->cap ? 2 * v->cap : 256;
    v->tab = ragd_xcalloc(v->cap, sizeof *v->tab);
    size_t mask = v->cap - 1;
    for (size_t id = 0; id < v->n; id++) {
        size_t p = v->hash[id] & mask;
        while (v->tab[p])
            p = (p + 1) & mask;
        v->tab[p] = (uint32_t)id + 1;
    }
}

/* The id of p[0..len), added when new. */
int64_t tr_vocab_id(tr_vocab *v, const char *p, size_t len)
{
    if (2 * (v->n + 1) > v->cap) tr_vocab_grow(v);
    uint32_t h = tr_hash(p, len);
    size_t mask = v->cap - 1, i = h & mask;
    for (;;) {
        uint32_t e = v->tab[i];
        if (!e) break;
        size_t id = e - 1;
        if (v->hash[id] == h && v->len[id] == len && !memcmp(v->arena.data + v->off[id], p, len))
            return (int64_t)id;
        i = (i + 1) & mask;
    }
    if (v->n == v->capk) {
        v->capk = v->capk ? 2 * v->capk : 256;
        v->off = ragd_xrealloc(v->off, v->capk * sizeof *v->off);
        v->len = ragd_xrealloc(v->len, v->capk * sizeof *v->len);
        v->hash = ragd_xrealloc(v->hash, v->capk * sizeof *v->hash);
    }
    v->off[v->n] = v->arena.len;
    v->len[v->n] = (uint32_t)len;
    v->hash[v->n] = h;
    ragd_buf_append(&v->arena, p, len);
    v->tab[i] = (uint32_t)++v->n;
    return (int64_t)(v->n - 1);
}

void tr_vocab_free(tr_vocab *v)
{
    if (!v) return;
    free(v->tab);
    free(v->off);
    free(v->len);
    free(v->hash);
    ragd_buf_free(&v->arena);
    free(v);
}

/* Term ids of one sentence's content words (folded, marks stripped). */
static void sentence_terms(const char *t, sent *s, tr_vocab *vocab, int64_t **ids, size_t *nids,
                           size_t *cap)
{
    size_t fl = 0;
    char *f = fast_fold(t + s->start, s->end - s->start, &fl);
    ragd_span *ws = NULL;
    size_t nw = text_words(f, fl, &ws);
    s->words = nw;
    *nids = 0;
    for (size_t k = 0; k < nw; k++) {
        const char *p = f + ws[k].start;
        size_t len = ws[k].end - ws[k].start;
        int32_t cp = first_cp(p, len);
        if (text_is_cjk(cp)) {
            if (is_hiragana(cp) || cjk_stop(cp)) continue;
        } else {
            if (cp_count(p, len) < 2 || is_stop(p, len)) continue;
            /* "l'abbaye" -> "abbaye"; "don't" is a stop word above. */
            const char *ap = memchr(p, '\'', len);
            if (ap && ap - p <= 4) {
                len -= (size_t)(ap + 1 - p);
                p = ap + 1;
                if (cp_count(p, len) < 2 || is_stop(p, len)) continue;
            }
        }
        int64_t id = tr_vocab_id(vocab, p, len);
        ragd_array_grow((void **)ids, cap, *nids + 1, sizeof **ids);
        (*ids)[(*nids)++] = id;
    }
    free(ws);
    free(f);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* TextRank scores into s->v[i].score. */
static void textrank(const ingest_doc *d, sent_list *sl)
{
    size_t n = sl->n;
    tr_vocab *vocab = tr_vocab_new();
    int64_t *ids = NULL, *tmp = NULL;
    size_t nnz = 0, capids = 0, ntmp = 0, captmp = 0;
    for (size_t i = 0; i < n; i++) {
        sentence_terms(d->text, &sl->v[i], vocab, &tmp, &ntmp, &captmp);
        if (ntmp) qsort(tmp, ntmp, sizeof *tmp, cmp_i64);
        sl->v[i].off = nnz;
        for (size_t k = 0; k < ntmp; k++) {
            if (k && tmp[k] == tmp[k - 1]) continue;
            ragd_array_grow((void **)&ids, &capids, nnz + 1, sizeof *ids);
            ids[nnz++] = tmp[k];
        }
        sl->v[i].nnz = nnz - sl->v[i].off;
    }
    free(tmp);
    size_t V = tr_vocab_size(vocab);
    tr_vocab_free(vocab);
    double *sf = ragd_xcalloc(V ? V : 1, sizeof *sf);
    for (size_t k = 0; k < nnz; k++)
        sf[ids[k]] += 1;
    /* Unit vectors with weights ln(1 + n/sf). */
    double *val = ragd_xmalloc((nnz ? nnz : 1) * sizeof *val);
    double *self = ragd_xcalloc(n ? n : 1, sizeof *self); /* |x_i|^2: 1 or 0 */
    for (size_t i = 0; i < n; i++) {
        const sent *s = &sl->v[i];
        double norm = 0;
        for (size_t k = s->off; k < s->off + s->nnz; k++) {
            val[k] = log(1.0 + (double)n / sf[ids[k]]);
            norm += val[k] * val[k];
        }
        norm = sqrt(norm);
        for (size_t k = s->off; k < s->off + s->nnz; k++)
            val[k] /= norm;
        self[i] = s->nnz ? 1.0 : 0.0;
    }
    /* Row sums of W = X·Xᵀ minus the diagonal: x_i·(Σ_j x_j) − |x_i|². */
    double *u = ragd_xcalloc(V ? V : 1, sizeof *u);
    double *rowsum = ragd_xcalloc(n ? n : 1, sizeof *rowsum);
    for (size_t k = 0; k < nnz; k++)
        u[ids[k]] += val[k];
    for (size_t i = 0; i < n; i++) {
        double dot = 0;
        for (size_t k = sl->v[i].off; k < sl->v[i].off + sl->v[i].nnz; k++)
            dot += val[k] * u[ids[k]];
        rowsum[i] = dot - self[i];
        if (rowsum[i] < 1e-12) rowsum[i] = 0;
    }
    double *pr = ragd_xmalloc((n ? n : 1) * sizeof *pr);
    double *nx = ragd_xmalloc((n ? n : 1) * sizeof *nx);
    double *v = ragd_xmalloc((n ? n : 1) * sizeof *v);
    const double damp = 0.85;
    for (size_t i = 0; i < n; i++)
        pr[i] = 1.0 / (double)n;
    for (int it = 0; it < 50; it++) {
        double dangling = 0;
        for (size_t i = 0; i < n; i++) {
            if (rowsum[i] > 0) {
                v[i] = pr[i] / rowsum[i];
            } else {
                v[i] = 0;
                dangling += pr[i];
            }
        }
        memset(u, 0, (V ? V : 1) * sizeof *u);
        for (size_t i = 0; i < n; i++)
            for (size_t k = sl->v[i].off; k < sl->v[i].off + sl->v[i].nnz; k++)
                u[ids[k]] += v[i] * val[k];
        double delta = 0;
        for (size_t i = 0; i < n; i++) {
            double y = 0;
            for (size_t k = sl->v[i].off; k < sl->v[i].off + sl->v[i].nnz; k++)
                y += val[k] * u[ids[k]];
            y -= self[i] * v[i];
            if (y < 0) y = 0;
            nx[i] = (1 - damp) / (double)n + damp * (y + dangling / (double)n);
            delta += fabs(nx[i] - pr[i]);
        }
        memcpy(pr, nx, n * sizeof *pr);
        if (delta < 1e-9) break;
    }
    for (size_t i = 0; i < n; i++)
        sl->v[i].score = pr[i];
    free(pr);
    free(nx);
    free(v);
    free(u);
    free(rowsum);
    free(self);
    free(val);
    free(sf);
    free(ids);
}

typedef struct {
    size_t idx;
    double score;
} ranked;

static int rank_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int pos_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* How many sentences the summary keeps out of n. */
static size_t summary_size(size_t n)
{
    if (n <= 3) return n;
    if (n < 20) return 3;
    if (n < 40) return 4;
    return 5;
}

#define MIN_SUMMARY_WORDS 6 /* shorter sentences are picked only to fill up */

/* Is sentence a's text the same as one already picked? (API references
 * repeat "Changed in version 3.6: Accepts a path-like object." under every
 * function; the most central sentence five times is no summary.) */
static bool picked_already(const ingest_doc *d, const sent_list *sl, const ranked *pick, size_t np,
                           size_t a)
{
    const sent *s = &sl->v[a];
    for (size_t i = 0; i < np; i++) {
        const sent *t = &sl->v[pick[i].idx];
        if (t->end - t->start == s->end - s->start &&
            !memcmp(d->text + t->start, d->text + s->start, s->end - s->start))
            return true;
    }
    return false;
}

/* Is a sentence mostly Markdown link/image targets ("[docs](https://…)")?
 * Such sentences read badly in a summary and are picked only to fill up. */
static bool link_heavy(const ingest_doc *d, const sent *s)
{
    const char *t = d->text + s->start;
    size_t n = s->end - s->start, markup = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (t[i] != ']' || t[i + 1] != '(') continue;
        size_t j = i + 2;
        while (j < n && t[j] != ')' && t[j] != ' ')
            j++;
        markup += j - i + 1;
        i = j;
    }
    return markup * 10 > n * 3;
}

void build_summary(const ingest_doc *d, json_t **arr_out, json_t **text_out, size_t *nsent)
{
    sent_list sl = {0};
    collect_sentences(d, false, &sl);
    if (!sl.n) collect_sentences(d, true, &sl);
    *nsent = sl.n;
    json_t *arr = json_array();
    ragd_buf joined = RAGD_BUF_INIT;
    if (sl.n) {
        textrank(d, &sl);
        ranked *r = ragd_xcalloc(sl.n, sizeof *r);
        for (size_t i = 0; i < sl.n; i++)
            r[i] = (ranked){.idx = i, .score = sl.v[i].score};
        qsort(r, sl.n, sizeof *r, rank_cmp);
        size_t k = summary_size(sl.n);
        ranked *pick = ragd_xcalloc(k, sizeof *pick);
        size_t np = 0;
        for (int pass = 0; pass < 2 && np < k; pass++)
            for (size_t i = 0; i < sl.n && np < k; i++) {
                bool longish =
                    sl.v[r[i].idx].words >= MIN_SUMMARY_WORDS && !link_heavy(d, &sl.v[r[i].idx]);
                if (pass == 0 ? !longish : longish) continue;
                if (picked_already(d, &sl, pick, np, r[i].idx)) continue;
                pick[np] = r[i];
                pick[np].score = (double)(np + 1); /* rank */
                np++;
            }
        qsort(pick, np, sizeof *pick, pos_cmp);
        for (size_t i = 0; i < np; i++) {
            const sent *s = &sl.v[pick[i].idx];
            json_array_append_new(arr,
                                  json_pack("{s:s%,s:I,s:I,s:i}", "text", d->text + s->start,
                                            s->end - s->start, "start", (json_int_t)s->start, "end",
                                            (json_int_t)s->end, "rank", (int)pick[i].score));
            if (joined.len) ragd_buf_putc(&joined, ' ');
            ragd_buf_append(&joined, d->text + s->start, s->end - s->start);
        }
        free(pick);
        free(r);
    }
    free(sl.v);
    *arr_out = arr;
    *text_out = json_stringn(ragd_buf_str(&joined), joined.len);
    ragd_buf_free(&joined);
}
