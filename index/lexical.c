/* index/lexical.c — FTS5 query building and BM25 search. See lexical.h.
 *
 * Queries are never passed to FTS5 verbatim: user text like `C++ "foo` or
 * `NEAR(` would be a syntax error or an operator. Every term is quoted, so
 * the expression is always valid and only means "any of these terms".
 */
#include "index/lexical.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hmap.h"
#include "core/text.h"
#include "store/store_internal.h"

/* Sorted by strcmp order: lexical_is_stopword searches it by bisection
 * (it runs for every word of every validated candidate). */
static const char *const STOPWORDS[] = {
    "a",      "about",   "above",      "after",   "again",    "against", "all",      "also",
    "am",     "an",      "and",        "any",     "are",      "aren't",  "as",       "at",
    "be",     "because", "been",       "before",  "being",    "below",   "between",  "both",
    "but",    "by",      "can",        "could",   "describe", "did",     "didn't",   "do",
    "does",   "doesn't", "doing",      "don't",   "down",     "during",  "each",     "explain",
    "few",    "for",     "from",       "further", "had",      "has",     "have",     "having",
    "he",     "her",     "here",       "hers",    "herself",  "him",     "himself",  "his",
    "how",    "i",       "if",         "in",      "into",     "is",      "isn't",    "it",
    "its",    "itself",  "just",       "many",    "me",       "more",    "most",     "much",
    "my",     "myself",  "no",         "nor",     "not",      "now",     "of",       "off",
    "on",     "once",    "only",       "or",      "other",    "our",     "ours",     "ourselves",
    "out",    "over",    "own",        "s",       "same",     "she",     "should",   "so",
    "some",   "such",    "t",          "tell",    "than",     "that",    "the",      "their",
    "theirs", "them",    "themselves", "then",    "there",    "these",   "they",     "this",
    "those",  "through", "to",         "too",     "under",    "until",   "up",       "very",
    "was",    "wasn't",  "we",         "were",    "weren't",  "what",    "when",     "where",
    "which",  "while",   "who",        "whom",    "whose",    "why",     "will",     "with",
    "within", "without", "would",      "you",     "your",     "yours",   "yourself", "yourselves",
};
#define NSTOPWORDS (sizeof STOPWORDS / sizeof STOPWORDS[0])
/* STOPWORD_LENGTHS[c - 'a'] bit n: some stop word starting with letter c
 * has n bytes (with "'" counted as 1 or, for U+2019, 3 bytes). Rejects most
 * words before any comparison; checked against STOPWORDS by the unit tests
 * (every stop word, both apostrophes, must be found). */
static const uint16_t STOPWORD_LENGTHS[26] = {
    0x1fe, 0xfc,  0x28, 0x3fc, 0x90, 0x98, 0x0,   0xdc, 0xfe, 0x10,  0x0, 0x0,   0x54,
    0xc,   0x23c, 0x0,  0x0,   0x0,  0x5e, 0x4fe, 0x24, 0x10, 0x3fc, 0x0, 0x538, 0x0};

/* STOPWORDS_BY_FIRST[c - 'a'] .. [c - 'a' + 1]: the stop words starting with
 * letter c (checked against STOPWORDS by the unit tests, through
 * lexical_stopwords). */
static const unsigned char STOPWORDS_BY_FIRST[27] = {0,  16, 26,  28,  38,  40,  44,  44,  57,
                                                     66, 67, 67,  67,  74,  78,  91,  91,  91,
                                                     91, 98, 116, 119, 120, 139, 139, 144, 144};

const char *const *lexical_stopwords(size_t *n)
{
    *n = NSTOPWORDS;
    return STOPWORDS;
}

/* The longest stop word ("themselves", "yourselves") has 10 bytes; with
 * U+2019 for the apostrophe ("doesn’t") 9. */
#define STOPWORD_MAX_BYTES 10

/* strcmp order of w[0..n) (no NUL inside) against the string s. */
static int cmp_n(const char *w, size_t n, const char *s)
{
    size_t i = 0;
    for (; i < n && s[i]; i++)
        if (w[i] != s[i]) return (unsigned char)w[i] < (unsigned char)s[i] ? -1 : 1;
    if (i < n) return 1;
    return s[i] ? -1 : 0;
}

/* Binary search of w[0..n) in the sorted STOPWORDS[lo..hi): 1 if found. */
static int stopword_in(const char *w, size_t n, size_t lo, size_t hi)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_n(w, n, STOPWORDS[mid]);
        if (!c) return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

int lexical_is_stopword_n(const char *w, size_t n)
{
    /* Most words of a text are not stop words: reject by length and by
     * the first byte (every stop word starts with a-y). */
    if (!n || n > STOPWORD_MAX_BYTES || (unsigned char)w[0] < 'a' || (unsigned char)w[0] > 'y')
        return 0;
    if (!((STOPWORD_LENGTHS[w[0] - 'a'] >> n) & 1)) return 0;
    bool plain = true;
    for (size_t i = 0; i < n; i++)
        plain &= w[i] != '\xE2';
    if (plain) { /* no typographic apostrophe: search w as it is */
        return stopword_in(w, n, STOPWORDS_BY_FIRST[w[0] - 'a'],
                           STOPWORDS_BY_FIRST[w[0] - 'a' + 1]);
    }
    char tmp[32]; /* no stop word is near that long */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m + 1 >= sizeof tmp) return 0;
        /* The typographic apostrophe folds to itself: "don’t" is "don't". */
        if (i + 2 < n && !memcmp(w + i, "\xE2\x80\x99", 3)) {
            tmp[m++] = '\'';
            i += 2;
        } else {
            tmp[m++] = w[i];
        }
    }
    tmp[m] = '\0';
    return lexical_is_stopword(tmp);
}

int lexical_is_stopword(const char *w)
{
    return stopword_in(w, strlen(w), 0, NSTOPWORDS);
}

typedef struct {
    char **v;
    size_t n, cap;
} strv;

static void strv_add_unique(strv *s, char *w)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], w) == 0) {
            free(w);
            return;
        }
    ragd_array_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v);
    s->v[s->n++] = w;
}

size_t lexical_terms(const char *query, char ***terms)
{
    size_t flen = 0;
    char *f = text_fold(query, strlen(query), false, &flen);
    ragd_span *w = NULL;
    size_t nw = text_words(f, flen, &w);
    strv out = {0};
    for (size_t i = 0; i < nw; i++) {
        int32_t cp = 0;
        text_decode(f, flen, w[i].start, &cp);
        if (text_is_cjk(cp)) {
            /* A run of adjacent CJK characters: bigrams, or the lone char. */
            size_t j = i;
            while (j + 1 < nw && w[j + 1].start == w[j].end) {
                int32_t c2 = 0;
                text_decode(f, flen, w[j + 1].start, &c2);
                if (!text_is_cjk(c2)) break;
                j++;
            }
            if (j == i) {
                strv_add_unique(&out, ragd_xstrndup(f + w[i].start, w[i].end - w[i].start));
            } else {
                for (size_t k = i; k < j; k++)
                    strv_add_unique(&out, ragd_xstrndup(f + w[k].start, w[k + 1].end - w[k].start));
            }
            i = j;
            continue;
        }
        char *t = ragd_xstrndup(f + w[i].start, w[i].end - w[i].start);
        /* Normalize the typographic apostrophe so stop words match. */
        char *q;
        while ((q = strstr(t, "\xE2\x80\x99")) != NULL) {
            *q = '\'';
            memmove(q + 1, q + 3, strlen(q + 3) + 1);
        }
        if (lexical_is_stopword(t)) {
            free(t);
            continue;
        }
        strv_add_unique(&out, t);
    }
    free(w);
    free(f);
    *terms = out.v;
    return out.n;
}

void lexical_terms_free(char **terms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(terms[i]);
    free(terms);
}

/* Append term to b as one FTS5 phrase: quoted, inner quotes doubled, CJK
 * spaced so a bigram becomes a two-token phrase, as the index holds it. */
static void append_phrase(ragd_buf *b, const char *term)
{
    char *sp = text_space_cjk(term, strlen(term));
    ragd_buf_putc(b, '"');
    for (const char *p = sp; *p; p++) {
        if (*p == '"') ragd_buf_putc(b, '"');
        ragd_buf_putc(b, *p);
    }
    ragd_buf_putc(b, '"');
    free(sp);
}

char *lexical_match_expr(const char *query)
{
    char **terms = NULL;
    size_t nt = lexical_terms(query, &terms);
    if (!nt) {
        free(terms);
        return NULL;
    }
    ragd_buf b = RAGD_BUF_INIT;
    for (size_t i = 0; i < nt; i++) {
        if (i) ragd_buf_puts(&b, " OR ");
        append_phrase(&b, terms[i]);
    }
    lexical_terms_free(terms, nt);
    return ragd_buf_steal(&b);
}

/* Whether FTS5 could match term in the coll column, whose only tokens are
 * "c<collection id>": only when the term has an ASCII digit (lexical_terms
 * has folded other digits to ASCII by NFKC, and FTS5's tokenizer makes a
 * digit of nothing else). For a term without one, the column filter
 * {title heading body} changes neither the matches nor bm25. */
static bool term_may_match_coll(const char *t)
{
    for (; *t; t++)
        if (*t >= '0' && *t <= '9') return true;
    return false;
}

/* Whether collection coll holds every document of the store, so every
 * lexical index row is one of its chunks (the store deletes a chunk's row
 * with it) and "coll : c<id> AND" filters nothing. Two index seeks. */
static ragd_status only_collection(ragd_store *st, int64_t coll, bool *only, ragd_error *err)
{
    sqlite3_stmt *q;
    if (store_prepare(st,
                      "SELECT NOT EXISTS (SELECT 1 FROM documents WHERE collection_id < ?1) AND "
                      "NOT EXISTS (SELECT 1 FROM documents WHERE collection_id > ?1)",
                      &q) != SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "cannot prepare lexical search");
    sqlite3_bind_int64(q, 1, coll);
    int r = sqlite3_step(q);
    *only = r == SQLITE_ROW && sqlite3_column_int(q, 0) != 0;
    store_release(st, q);
    if (r != SQLITE_ROW) return store_sqlite_error(store_db(st), err, "lexical search failed");
    return RAGD_OK;
}

static ragd_status run_statement(ragd_store *st, const char *sql, ragd_error *err)
{
    sqlite3_stmt *q;
    if (store_prepare(st, sql, &q) != SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "lexical search failed");
    int r = sqlite3_step(q);
    store_release(st, q);
    if (r != SQLITE_DONE) return store_sqlite_error(store_db(st), err, "lexical search failed");
    return RAGD_OK;
}

/* Ends a snapshot this module opened with a SAVEPOINT: runs release_sql
 * (rolling back if that fails, so no transaction is ever left open) and
 * returns rc, or the release's error when rc was RAGD_OK (then in *err). */
static ragd_status snapshot_release(ragd_store *st, const char *release_sql, ragd_status rc,
                                    ragd_error *err)
{
    ragd_error rerr;
    ragd_status rr = run_statement(st, release_sql, &rerr);
    if (rr) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    if (!rc && rr) {
        rc = rr;
        *err = rerr;
    }
    return rc;
}

static ragd_status search_in_snapshot(ragd_store *st, int64_t coll, char **terms, size_t nt,
                                      size_t k, lexical_hit **hits, size_t *n, ragd_error *err);

ragd_status lexical_search(ragd_store *st, int64_t coll, const char *query, size_t k,
                           lexical_hit **hits, size_t *n, ragd_error *err)
{
    *hits = NULL;
    *n = 0;
    char **terms = NULL;
    size_t nt = lexical_terms(query, &terms);
    if (!nt) {
        free(terms);
        return RAGD_OK;
    }
    /* The check of the other collections and the search read one snapshot
     * (a savepoint opens a read transaction unless the caller has one). */
    bool own = sqlite3_get_autocommit(store_db(st)) != 0;
    ragd_status rc = own ? run_statement(st, "SAVEPOINT ragd_lexical_search", err) : RAGD_OK;
    if (!rc) rc = search_in_snapshot(st, coll, terms, nt, k, hits, n, err);
    if (own) {
        rc = snapshot_release(st, "RELEASE ragd_lexical_search", rc, err);
        if (rc) {
            free(*hits);
            *hits = NULL;
            *n = 0;
        }
    }
    lexical_terms_free(terms, nt);
    return rc;
}

static ragd_status search_in_snapshot(ragd_store *st, int64_t coll, char **terms, size_t nt,
                                      size_t k, lexical_hit **hits, size_t *n, ragd_error *err)
{
    /* The collection is a token of the "coll" column (schema v3): FTS5
     * intersects it with the query's doclists, so no per-match join. The
     * query's own terms are held to the text columns. Both restrictions
     * are left out when they cannot change the result (only_collection,
     * term_may_match_coll): the matches are the same rows, and bm25 the
     * same numbers, since the coll phrase adds exactly 0 (column weight 0)
     * and no term has an instance in that column. */
    bool colfilter = false, only = false;
    for (size_t i = 0; i < nt; i++)
        colfilter |= term_may_match_coll(terms[i]);
    ragd_status rc = only_collection(st, coll, &only, err);
    if (rc) return rc;
    ragd_buf m = RAGD_BUF_INIT;
    if (!only) ragd_buf_printf(&m, "coll : c%lld AND ", (long long)coll);
    ragd_buf_puts(&m, colfilter ? "{title heading body} : (" : "(");
    for (size_t i = 0; i < nt; i++) {
        if (i) ragd_buf_puts(&m, " OR ");
        append_phrase(&m, terms[i]);
    }
    ragd_buf_putc(&m, ')');
    sqlite3 *db = store_db(st);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT rowid, bm25(chunks_fts, %g, %g, %g, 0.0) AS s FROM chunks_fts "
             "WHERE chunks_fts MATCH ?1 ORDER BY s LIMIT ?2",
             LEXICAL_W_TITLE, LEXICAL_W_HEADING, LEXICAL_W_BODY);
    sqlite3_stmt *q;
    if (store_prepare(st, sql, &q) != SQLITE_OK) {
        ragd_buf_free(&m);
        return store_sqlite_error(db, err, "cannot prepare lexical search");
    }
    sqlite3_bind_text(q, 1, m.data, (int)m.len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)k);
    ragd_buf_free(&m);
    lexical_hit *v = ragd_xcalloc(k ? k : 1, sizeof *v);
    size_t cnt = 0;
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW && cnt < k) {
        v[cnt].chunk_id = sqlite3_column_int64(q, 0);
        v[cnt].score = -sqlite3_column_double(q, 1);
        cnt++;
    }
    store_release(st, q);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        free(v);
        return store_sqlite_error(db, err, "lexical search failed");
    }
    *hits = v;
    *n = cnt;
    return RAGD_OK;
}

/* An SQLite varint (FTS5 writes its records with them) at p[0..n): 7 bits
 * per byte, high bit set on all but the last, a 9th byte of 8 bits. Returns
 * its length, 0 when truncated. */
static size_t get_varint(const unsigned char *p, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 8; i++) {
        if (i >= n) return 0;
        x = (x << 7) | (p[i] & 0x7f);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    if (n < 9) return 0;
    *v = (x << 8) | p[8];
    return 9;
}

ragd_status lexical_indexed_rows(ragd_store *st, int64_t *rows, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    *rows = -1;
    /* FTS5's averages record (rowid 1 of the %_data table): the row count
     * first, then each column's token total. */
    if (store_prepare(st, "SELECT block FROM chunks_fts_data WHERE id = 1", &q) == SQLITE_OK) {
        uint64_t v = 0;
        if (sqlite3_step(q) == SQLITE_ROW &&
            get_varint(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0), &v) &&
            v <= INT64_MAX)
            *rows = (int64_t)v;
        store_release(st, q);
    }
    if (*rows >= 0) return RAGD_OK;
    if (store_prepare(st, "SELECT count(*) FROM chunks_fts_docsize", &q) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot count indexed chunks");
    int r = sqlite3_step(q);
    *rows = r == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    store_release(st, q);
    if (r != SQLITE_ROW) return store_sqlite_error(db, err, "cannot count indexed chunks");
    return RAGD_OK;
}

/* The idf cache (lexical_terms_idf): each term's document count as the
 * count(*) below returned it, per connection (held by the store handle,
 * store_lexical_cache; used only by the thread using the store, so no lock),
 * valid for one state of the database file: its data version
 * (SQLITE_FCNTL_DATA_VERSION, which changes with every commit of this
 * connection or any other one, in this process or another, that this
 * connection's read transaction sees) and the index's row count. Read and
 * filled only inside a read transaction of this connection that has not
 * written (the counts then hold for the whole transaction: its snapshot
 * cannot move, and no uncommitted FTS5 row of this connection is in them).
 * Entries are dropped all at once when the state changes or there are
 * IDF_CACHE_MAX of them. */
#define IDF_CACHE_MAX 65536

typedef struct {
    bool valid;
    unsigned int version; /* SQLITE_FCNTL_DATA_VERSION of the main database */
    int64_t rows;         /* lexical_indexed_rows of that state */
    hmap df;              /* term -> document count */
} idf_cache;

static void idf_cache_free(void *p)
{
    idf_cache *c = p;
    if (!c) return;
    hmap_free(&c->df);
    free(c);
}

/* The connection's cache, emptied unless it holds the counts of the state
 * (version, rows); NULL when it cannot be used now (see above). */
static idf_cache *idf_cache_for(ragd_store *st, int64_t rows)
{
    sqlite3 *db = store_db(st);
    if (sqlite3_get_autocommit(db) || sqlite3_txn_state(db, "main") != SQLITE_TXN_READ) return NULL;
    unsigned int version = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK)
        return NULL;
    idf_cache *c = store_lexical_cache(st);
    if (!c) {
        c = ragd_xcalloc(1, sizeof *c);
        store_lexical_cache_set(st, c, idf_cache_free);
    }
    if (!c->valid || c->version != version || c->rows != rows || c->df.n >= IDF_CACHE_MAX) {
        hmap_free(&c->df);
        c->valid = true;
        c->version = version;
        c->rows = rows;
    }
    return c;
}

static ragd_status terms_idf(ragd_store *st, char **terms, size_t n, double *idf, ragd_error *err);

ragd_status lexical_terms_idf(ragd_store *st, char **terms, size_t n, double *idf, ragd_error *err)
{
    /* One snapshot for the row count and every term's count (a savepoint
     * opens a read transaction unless the caller has one), which is also
     * what lets the cache be used. */
    bool own = sqlite3_get_autocommit(store_db(st)) != 0;
    ragd_status rc = own ? run_statement(st, "SAVEPOINT ragd_terms_idf", err) : RAGD_OK;
    if (!rc) rc = terms_idf(st, terms, n, idf, err);
    if (own) rc = snapshot_release(st, "RELEASE ragd_terms_idf", rc, err);
    return rc;
}

static ragd_status terms_idf(ragd_store *st, char **terms, size_t n, double *idf, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *tq = NULL;
    int64_t rows = 0;
    ragd_status rc = lexical_indexed_rows(st, &rows, err);
    if (rc) return rc;
    double N = (double)rows;
    idf_cache *cache = idf_cache_for(st, rows);
    for (size_t i = 0; i < n; i++) {
        size_t tl = strlen(terms[i]);
        int64_t *hit = cache ? hmap_get(&cache->df, terms[i], tl) : NULL;
        double df = 0;
        if (hit) {
            df = (double)*hit;
        } else {
            if (!tq && store_prepare(st, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                                     &tq) != SQLITE_OK)
                return store_sqlite_error(db, err, "cannot read term frequencies");
            ragd_buf q = RAGD_BUF_INIT;
            /* The column filter matters only for a term that could match the
             * coll column (term_may_match_coll); without it FTS5 counts the
             * same rows without reading their positions. */
            if (term_may_match_coll(terms[i])) ragd_buf_puts(&q, "{title heading body} : ");
            append_phrase(&q, terms[i]);
            sqlite3_reset(tq);
            sqlite3_bind_text(tq, 1, q.data, (int)q.len, SQLITE_TRANSIENT);
            if (sqlite3_step(tq) == SQLITE_ROW) {
                int64_t cnt = sqlite3_column_int64(tq, 0);
                df = (double)cnt;
                if (cache) *hmap_put(&cache->df, terms[i], tl, NULL) = cnt;
            }
            ragd_buf_free(&q);
        }
        if (df > N) df = N;
        idf[i] = log(1.0 + (N - df + 0.5) / (df + 0.5));
    }
    store_release(st, tq);
    return RAGD_OK;
}
