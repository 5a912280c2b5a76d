/* ingest/keywords.c — a document's keywords, and the collection
 * statistics that weigh them.
 *
 * TF (heading and title occurrences count twice) × IDF. With collection
 * statistics (chunk frequencies from an fts5vocab 'row' table) the document
 * is tokenized by FTS5's own porter tokenizer, so terms match the index's
 * stems; a stem is shown as the document's most frequent lower-case surface
 * form. A re-ingested document's old chunks are taken out of the counts.
 * Without statistics: TF × ln(1 + length), stop words and short words
 * dropped. CJK text gives Han bigrams and katakana/hangul runs (hiragana
 * separates). Statistics are read-only once loaded.
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
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

/* --- collection statistics ------------------------------------------------------ */

static fts5_api *fts5_api_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(q, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return api;
}

/* Chunk-level frequencies from an fts5vocab 'row' table: one scan of the
 * vocabulary (about 0.06 s for SciFact's 10k chunks). An 'instance' scan
 * folded into documents would be exact per document and per collection, but
 * costs ten times more and grows with every token of the collection. */
static ragd_status load_df(ragd_store *st, summary_stats *s, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    ragd_status rc = store_exec(st,
                                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ragd_vocab USING "
                                "fts5vocab(main, chunks_fts, 'row')",
                                err);
    if (rc) return rc;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT term, doc FROM temp.ragd_vocab", -1, &q, NULL))
        return store_sqlite_error(db, err, "cannot read the FTS5 vocabulary");
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        size_t tl = (size_t)sqlite3_column_bytes(q, 0);
        if (t) *hmap_put(&s->df, t, tl, NULL) = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) return store_sqlite_error(db, err, "cannot read the FTS5 vocabulary");
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM chunks", -1, &q, NULL))
        return store_sqlite_error(db, err, "cannot count chunks");
    if (sqlite3_step(q) == SQLITE_ROW) s->rows = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return RAGD_OK;
}

typedef struct {
    hmap *seen; /* stems of the current chunk */
} self_tok;

static int self_token(void *ctx, int tflags, const char *tok, int ntok, int s, int e)
{
    (void)tflags, (void)s, (void)e;
    self_tok *c = ctx;
    if (ntok > 0) hmap_put(c->seen, tok, (size_t)ntok, NULL);
    return SQLITE_OK;
}

/* Count the stems of the stored chunks of document key, as the index holds
 * them (title, heading path, text with CJK spaced). */
ragd_status self_counts_load(ragd_store *st, int64_t coll, const char *key,
                             const summary_stats *stats, self_counts *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.title, c.heading_path, c.text FROM chunks c JOIN documents d "
                           "ON d.id = c.document_id WHERE d.collection_id = ? AND d.doc_key = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read chunks");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        hmap seen = {0};
        self_tok c = {.seen = &seen};
        for (int col = 0; col < 3; col++) {
            const char *t = (const char *)sqlite3_column_text(q, col);
            size_t tl = (size_t)sqlite3_column_bytes(q, col);
            if (!t || !tl) continue;
            char *sp = text_space_cjk(t, tl);
            stats->tok.xTokenize(stats->inst, &c, FTS5_TOKENIZE_DOCUMENT, sp, (int)strlen(sp),
                                 self_token);
            free(sp);
        }
        for (size_t i = 0; i < seen.cap; i++)
            if (seen.v[i].key) (*hmap_put(&out->df, seen.v[i].key, seen.v[i].klen, NULL))++;
        hmap_free(&seen);
        out->rows++;
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        hmap_free(&out->df);
        return store_sqlite_error(db, err, "cannot read chunks");
    }
    return RAGD_OK;
}

ragd_status summary_stats_load(ragd_store *st, summary_stats **out, ragd_error *err)
{
    *out = NULL;
    fts5_api *api = fts5_api_of(store_db(st));
    if (!api) return ragd_error_set(err, RAGD_ESTORE, "SQLite has no FTS5 API");
    summary_stats *s = ragd_xcalloc(1, sizeof *s);
    void *ud = NULL;
    /* The index's tokenizer: 'porter unicode61 remove_diacritics 2'. */
    const char *args[] = {"unicode61", "remove_diacritics", "2"};
    if (api->xFindTokenizer(api, "porter", &ud, &s->tok) != SQLITE_OK ||
        s->tok.xCreate(ud, args, 3, &s->inst) != SQLITE_OK) {
        free(s);
        return ragd_error_set(err, RAGD_ESTORE, "cannot create the FTS5 porter tokenizer");
    }
    ragd_status rc = load_df(st, s, err);
    if (rc) {
        summary_stats_free(s);
        return rc;
    }
    *out = s;
    return RAGD_OK;
}

void summary_stats_free(summary_stats *s)
{
    if (!s) return;
    if (s->inst) s->tok.xDelete(s->inst);
    hmap_free(&s->df);
    free(s);
}

struct summary_tokenizer {
    sqlite3 *db; /* a private in-memory connection: FTS5's API lives in one */
    fts5_tokenizer tok;
    Fts5Tokenizer *inst;
};

ragd_status summary_tokenizer_new(summary_tokenizer **out, ragd_error *err)
{
    *out = NULL;
    summary_tokenizer *t = ragd_xcalloc(1, sizeof *t);
    if (sqlite3_open_v2(":memory:", &t->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(t->db);
        free(t);
        return ragd_error_set(err, RAGD_ESTORE, "cannot open an in-memory SQLite database");
    }
    fts5_api *api = fts5_api_of(t->db);
    void *ud = NULL;
    const char *args[] = {"unicode61", "remove_diacritics", "2"};
    if (!api || api->xFindTokenizer(api, "porter", &ud, &t->tok) != SQLITE_OK ||
        t->tok.xCreate(ud, args, 3, &t->inst) != SQLITE_OK) {
        sqlite3_close(t->db);
        free(t);
        return ragd_error_set(err, RAGD_ESTORE, "cannot create the FTS5 porter tokenizer");
    }
    *out = t;
    return RAGD_OK;
}

void summary_tokenizer_free(summary_tokenizer *t)
{
    if (!t) return;
    if (t->inst) t->tok.xDelete(t->inst);
    sqlite3_close(t->db);
    free(t);
}

kw_terms *kw_collect_with(const ingest_doc *d, summary_tokenizer *t)
{
    return kw_collect_porter(d, &t->tok, t->inst);
}

int64_t summary_stats_rows(const summary_stats *s)
{
    return s ? s->rows : 0;
}

/* --- keywords --------------------------------------------------------------------- */

typedef struct {
    const char *key; /* stem (collection) or folded word (heuristic): the terms map's own copy */
    size_t klen;     /* strlen(key) (shorter than the stem when it holds a NUL) */
    double tf;       /* weighted count */
    size_t first;    /* first occurrence (byte offset) */
    size_t surf;     /* its first surface form (index into kw_state.s), a list */
    size_t best;     /* the most frequent surface form */
    bool cjk;
    double score;
} kw_term;

/* A surface form of a term: the lower-cased word as written. A term's forms
 * are a short linked list (most terms have one or two). */
typedef struct {
    char *text;              /* owned */
    size_t len, first, next; /* next: index + 1, 0 ends the list */
    double count;
} kw_surface;

struct kw_terms {
    const ingest_doc *d;
    hmap terms; /* key -> index into v */
    kw_term *v;
    size_t n, cap;
    kw_surface *s;
    size_t ns, caps;
    size_t base;   /* the current block's offset in d->text */
    double weight; /* the current block's weight */
    ragd_buf low;
};
typedef struct kw_terms kw_state;

static size_t kw_new_surface(kw_state *k, const char *surface, size_t slen, size_t pos)
{
    ragd_array_grow((void **)&k->s, &k->caps, k->ns + 1, sizeof *k->s);
    k->s[k->ns] = (kw_surface){.text = ragd_xstrndup(surface, slen), .len = slen, .first = pos};
    return k->ns++;
}

static void kw_add(kw_state *k, const char *key, size_t klen, const char *surface, size_t slen,
                   size_t pos, bool cjk)
{
    bool added;
    int64_t *ti = hmap_put(&k->terms, key, klen, &added);
    if (added) {
        ragd_array_grow((void **)&k->v, &k->cap, k->n + 1, sizeof *k->v);
        size_t si = kw_new_surface(k, surface, slen, pos);
        /* The map's key copy (NUL-terminated, never moved: a growing map
         * moves its slots, not their keys) serves as the term's key. */
        const char *own =
            ((const hslot *)(const void *)((const char *)ti - offsetof(hslot, val)))->key;
        k->v[k->n] = (kw_term){
            .key = own, .klen = strlen(own), .first = pos, .surf = si, .best = si, .cjk = cjk};
        *ti = (int64_t)k->n++;
    }
    kw_term *t = &k->v[*ti];
    t->tf += k->weight;
    /* Count this surface form of the term. */
    size_t si = t->surf;
    for (;;) {
        if (k->s[si].len == slen && memcmp(k->s[si].text, surface, slen) == 0) break;
        if (!k->s[si].next) {
            size_t ni = kw_new_surface(k, surface, slen, pos);
            k->s[si].next = ni + 1;
            si = ni;
            break;
        }
        si = k->s[si].next - 1;
    }
    kw_surface *x = &k->s[si], *b = &k->s[t->best];
    x->count += k->weight;
    if (x->count > b->count || (x->count == b->count && x->first < b->first)) t->best = si;
}

/* Can this lower-cased word be a keyword? Not digits only, at least three
 * letters, not a stop word. */
static bool word_ok(const char *surface, size_t n)
{
    if (all_digits(surface, n)) return false;
    if (cp_count(surface, n) < 3) return false;
    return !is_stop(surface, n);
}

/* FTS5 tokenizer callback: one (stemmed) token of the current block. */
static int kw_token(void *ctx, int tflags, const char *tok, int ntok, int s, int e)
{
    (void)tflags;
    kw_state *k = ctx;
    const char *p = k->d->text + k->base + s;
    size_t n = (size_t)(e - s);
    if (ntok <= 0 || !n || text_is_cjk(first_cp(p, n))) return SQLITE_OK;
    ragd_buf_reset(&k->low);
    put_lower(&k->low, p, n);
    if (word_ok(k->low.data, k->low.len))
        kw_add(k, tok, (size_t)ntok, k->low.data, k->low.len, k->base + (size_t)s, false);
    return SQLITE_OK;
}

/* A crude plural fold for the heuristic's keys (the collection path has
 * FTS5's porter stems): "keepers" and "keeper", "ponies" and "pony" share
 * a key. Returns the new length of w (modified in place). */
static size_t plural_fold(char *w, size_t n)
{
    if (n < 5 || (unsigned char)w[n - 1] >= 0x80) return n;
    if (!memcmp(w + n - 3, "ies", 3)) {
        w[n - 3] = 'y';
        w[n - 2] = '\0';
        return n - 2;
    }
    if (w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' && w[n - 2] != 'i') {
        w[n - 1] = '\0';
        return n - 1;
    }
    return n;
}

/* Heuristic path: words of the block, apostrophe-split, folded keys. */
static void kw_words(kw_state *k, const char *t, size_t n)
{
    ragd_span *ws = NULL;
    size_t nw = text_words(t, n, &ws);
    ragd_buf low = RAGD_BUF_INIT;
    for (size_t i = 0; i < nw; i++) {
        const char *p = t + ws[i].start;
        size_t len = ws[i].end - ws[i].start;
        if (text_is_cjk(first_cp(p, len))) continue;
        /* Split at apostrophes: "l'abbaye" -> "l", "abbaye". */
        size_t a = 0;
        while (a < len) {
            size_t b = a;
            while (b < len && p[b] != '\'' && !(b + 3 <= len && !memcmp(p + b, "\xE2\x80\x99", 3)))
                b++;
            ragd_buf_reset(&low);
            put_lower(&low, p + a, b - a);
            if (b > a && word_ok(low.data, low.len)) {
                size_t fl = 0;
                char *f = fast_fold(low.data, low.len, &fl);
                fl = plural_fold(f, fl);
                kw_add(k, f, fl, low.data, low.len, k->base + ws[i].start + a, false);
                free(f);
            }
            a = b < len ? b + (p[b] == '\'' ? 1 : 3) : len;
        }
    }
    ragd_buf_free(&low);
    free(ws);
}

/* CJK terms of a block: Han bigrams, katakana and hangul runs. */
static void kw_cjk(kw_state *k, const char *t, size_t n)
{
    ragd_span *ws = NULL;
    size_t nw = text_words(t, n, &ws);
    size_t i = 0;
    while (i < nw) {
        int32_t cp = first_cp(t + ws[i].start, ws[i].end - ws[i].start);
        int cls = is_hangul(cp)                           ? 2
                  : is_katakana(cp)                       ? 1
                  : (text_is_cjk(cp) && !is_hiragana(cp)) ? 0
                                                          : -1;
        if (cls < 0) {
            i++;
            continue;
        }
        /* The run of adjacent characters of the same class. */
        size_t j = i;
        while (j + 1 < nw && ws[j + 1].start == ws[j].end) {
            int32_t c2 = first_cp(t + ws[j + 1].start, ws[j + 1].end - ws[j + 1].start);
            int cl2 = is_hangul(c2)                           ? 2
                      : is_katakana(c2)                       ? 1
                      : (text_is_cjk(c2) && !is_hiragana(c2)) ? 0
                                                              : -1;
            if (cl2 != cls) break;
            j++;
        }
        if (cls == 0) {
            for (size_t a = i; a < j; a++) {
                int32_t c1 = first_cp(t + ws[a].start, ws[a].end - ws[a].start);
                int32_t c2 = first_cp(t + ws[a + 1].start, ws[a + 1].end - ws[a + 1].start);
                if (cjk_stop(c1) || cjk_stop(c2)) continue;
                size_t s = ws[a].start, e = ws[a + 1].end;
                kw_add(k, t + s, e - s, t + s, e - s, k->base + s, true);
            }
        } else if (j > i) {
            size_t s = ws[i].start, e = ws[j].end;
            kw_add(k, t + s, e - s, t + s, e - s, k->base + s, true);
        }
        i = j + 1;
    }
    free(ws);
}

/* BM25's IDF over chunks, as if this document were one more chunk. */
static double idf(const summary_stats *st, const self_counts *own, int64_t df)
{
    int64_t rows = st->rows - (own ? own->rows : 0);
    double N = (double)(rows > 0 ? rows : 0) + 1, f = (double)df + 1;
    return log(1.0 + (N - f + 0.5) / (f + 0.5));
}

/* Chunks holding a stem, without the document's own stored chunks. */
static int64_t stem_df(const summary_stats *st, const self_counts *own, const char *k, size_t n)
{
    int64_t *v = hmap_get(&st->df, k, n);
    int64_t df = v ? *v : 0;
    if (own) {
        int64_t *o = hmap_get(&own->df, k, n);
        df -= o ? *o : 0;
    }
    return df > 0 ? df : 0;
}

/* Chunk frequency of a term: a stem's own, for CJK the rarest character's
 * (the index holds CJK text as single characters). */
static int64_t term_df(const summary_stats *st, const self_counts *own, const kw_term *t)
{
    if (!t->cjk) return stem_df(st, own, t->key, t->klen);
    int64_t best = -1;
    size_t n = t->klen, i = 0;
    while (i < n) {
        int32_t cp;
        size_t l = text_decode(t->key, n, i, &cp);
        if (!l) break;
        int64_t df = stem_df(st, own, t->key + i, l);
        if (best < 0 || df < best) best = df;
        i += l;
    }
    return best < 0 ? 0 : best;
}

static int kw_cmp(const void *a, const void *b)
{
    const kw_term *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

#define MAX_KEYWORDS 10

/* A document's terms with their weighted counts, before scoring: FTS5's
 * porter stems (tok given) or the heuristic's folded words (tok NULL). */
static kw_terms *kw_collect(const ingest_doc *d, const fts5_tokenizer *tok, Fts5Tokenizer *inst)
{
    kw_state *k = ragd_xcalloc(1, sizeof *k);
    k->d = d;
    for (size_t i = 0; i < d->nblocks; i++) {
        const ingest_block *b = &d->blocks[i];
        if (b->kind == BLOCK_CODE || b->end <= b->start) continue;
        const char *t = d->text + b->start;
        size_t n = b->end - b->start;
        size_t tl = d->title ? strlen(d->title) : 0;
        bool title = i == 0 && tl && tl <= n && memcmp(t, d->title, tl) == 0;
        k->base = b->start;
        k->weight = b->kind == BLOCK_HEADING || title ? 2.0 : 1.0;
        if (tok)
            tok->xTokenize(inst, k, FTS5_TOKENIZE_DOCUMENT, t, (int)n, kw_token);
        else
            kw_words(k, t, n);
        if (maybe_cjk(t, n)) kw_cjk(k, t, n);
    }
    return k;
}

kw_terms *kw_collect_porter(const ingest_doc *d, const fts5_tokenizer *tok, Fts5Tokenizer *inst)
{
    return kw_collect(d, tok, inst);
}

void kw_terms_free(kw_terms *k)
{
    if (!k) return;
    for (size_t i = 0; i < k->ns; i++)
        free(k->s[i].text);
    free(k->v);
    free(k->s);
    hmap_free(&k->terms);
    ragd_buf_free(&k->low);
    free(k);
}

/* Score the terms (collection IDF or the heuristic's length weight) and
 * pick the best MAX_KEYWORDS into top (indexes into k->v); their count. */
static size_t kw_pick(kw_terms *k, const summary_stats *stats, const self_counts *own, bool coll,
                      size_t top[MAX_KEYWORDS])
{
    for (size_t i = 0; i < k->n; i++) {
        kw_term *t = &k->v[i];
        double tfw = 1.0 + log(t->tf);
        if (coll) {
            t->score = tfw * idf(stats, own, term_df(stats, own, t));
        } else {
            const char *s = k->s[t->best].text;
            size_t chars = cp_count(s, strlen(s)) * (t->cjk ? 3 : 1);
            t->score = tfw * log(1.0 + (double)(chars < 12 ? chars : 12));
        }
    }
    /* The best MAX_KEYWORDS in kw_cmp order, as a stable sort's first
     * MAX_KEYWORDS (an equal term goes after those already kept), without
     * sorting all the document's terms. */
    size_t nt = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (nt == MAX_KEYWORDS && kw_cmp(&k->v[i], &k->v[top[nt - 1]]) >= 0) continue;
        size_t j = nt < MAX_KEYWORDS ? nt++ : nt - 1;
        while (j > 0 && kw_cmp(&k->v[i], &k->v[top[j - 1]]) < 0) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return nt;
}

/* A keyword's score as stored: rounded to three decimals. */
static double kw_shown(const kw_term *t)
{
    return round(t->score * 1000.0) / 1000.0;
}

static json_t *kw_score(kw_terms *k, const summary_stats *stats, const self_counts *own, bool coll)
{
    size_t top[MAX_KEYWORDS], nt = kw_pick(k, stats, own, coll, top);
    json_t *arr = json_array();
    for (size_t i = 0; i < nt; i++) {
        const kw_term *t = &k->v[top[i]];
        json_array_append_new(
            arr, json_pack("{s:s,s:f}", "term", k->s[t->best].text, "score", kw_shown(t)));
    }
    return arr;
}

int summary_real_text(char buf[40], double v)
{
    /* jansson's jsonp_dtostr at JSON_REAL_PRECISION(6) (strconv.c): %.6g,
     * ".0" when that reads as an integer, the exponent without '+' or
     * leading zeros. */
    int n = snprintf(buf, 40, "%.6g", v);
    if (n < 0 || n >= 36) return -1;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    char *start = strchr(buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)n - (size_t)(end - buf) + 1);
            n -= (int)(end - start);
        }
    }
    return n;
}

/* Whether jansson would write s as it is: no quote, backslash or control
 * byte to escape, and ASCII (anything else goes through jansson). */
static bool plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x80 || *s == '"' || *s == '\\')
            return false;
    return true;
}

void build_keywords_text(const ingest_doc *d, const summary_stats *stats, const self_counts *own,
                         kw_terms *porter, const char **from, ragd_buf *json, ragd_buf *terms)
{
    bool coll = stats && stats->rows - (own ? own->rows : 0) >= SUMMARY_MIN_STATS_ROWS;
    *from = coll ? "collection" : "heuristic";
    kw_terms *mine = NULL;
    if (!coll || !porter)
        porter = mine = coll ? kw_collect(d, &stats->tok, stats->inst) : kw_collect(d, NULL, NULL);
    size_t top[MAX_KEYWORDS], nt = kw_pick(porter, stats, own, coll, top), nk = 0, nl = 0;
    ragd_buf_putc(json, '[');
    for (size_t i = 0; i < nt; i++) {
        const kw_term *t = &porter->v[top[i]];
        const char *term = porter->s[t->best].text;
        char num[40];
        /* json_pack fails (and kw_score leaves the keyword out) for a real
         * jansson refuses (not finite) or a string that is not UTF-8. */
        double sc = kw_shown(t);
        if (!isfinite(sc) || summary_real_text(num, sc) < 0) continue;
        char *quoted = NULL;
        if (!plain_ascii(term)) {
            json_t *js = json_string(term);
            quoted = js ? json_dumps(js, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            json_decref(js);
            if (!quoted) continue;
        }
        if (nk++) ragd_buf_putc(json, ',');
        ragd_buf_puts(json, "{\"term\":");
        if (quoted) {
            ragd_buf_puts(json, quoted);
        } else {
            ragd_buf_putc(json, '"');
            ragd_buf_puts(json, term);
            ragd_buf_putc(json, '"');
        }
        ragd_buf_printf(json, ",\"score\":%s}", num);
        free(quoted);
        if (terms && *term) {
            ragd_buf_puts(terms, nl++ ? ", " : "");
            ragd_buf_puts(terms, term);
        }
    }
    ragd_buf_putc(json, ']');
    kw_terms_free(mine);
}

json_t *build_keywords_pre(const ingest_doc *d, const summary_stats *stats, const self_counts *own,
                           kw_terms *porter, const char **from)
{
    bool coll = stats && stats->rows - (own ? own->rows : 0) >= SUMMARY_MIN_STATS_ROWS;
    *from = coll ? "collection" : "heuristic";
    kw_terms *mine = NULL;
    if (!coll || !porter)
        porter = mine = coll ? kw_collect(d, &stats->tok, stats->inst) : kw_collect(d, NULL, NULL);
    json_t *arr = kw_score(porter, stats, own, coll);
    kw_terms_free(mine);
    return arr;
}

json_t *build_keywords(const ingest_doc *d, const summary_stats *stats, const self_counts *own,
                       const char **from)
{
    return build_keywords_pre(d, stats, own, NULL, from);
}
