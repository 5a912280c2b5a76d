/* ingest/summary.c — a structured, extractive summary of one document.
 *
 * The summary is assembled here from the parts in their own files:
 * textrank.c (sentences), keywords.c (keywords, collection statistics),
 * langid.c (script, language), words.c (stop words), summary_llm.c (the
 * LLM abstract); this file adds the outline and the ingest-time driver.
 *
 * Design (details and measured cost in docs/summary.md):
 * - Sentences come from text_sentences over paragraph and list blocks only
 *   (headings, code, tables and quotes are not prose; quotes are used only
 *   when there is nothing else). A list marker is not part of a sentence,
 *   and a title line repeated as the first paragraph (plain text, BEIR) is
 *   not a candidate.
 * - TextRank: each sentence is a unit vector over its distinct folded
 *   non-stop words, weighted ln(1 + n/sf) (sf = sentences holding the word,
 *   LexRank's idf-modified cosine). The graph's edge weights are the cosines,
 *   W = X·Xᵀ without the diagonal, so PageRank's power iteration
 *   (damping 0.85, ≤ 50 iterations, L1 change < 1e-9) runs as X·(Xᵀ·v) in
 *   O(words) per iteration instead of O(sentences²) — a 16 MB document costs
 *   no more than its words. Ties break on position, so it is deterministic.
 * - Keywords: TF (heading and title occurrences count twice) × IDF. With
 *   collection statistics (chunk frequencies from an fts5vocab 'row' table)
 *   the document is tokenized by FTS5's own porter tokenizer, so terms match
 *   the index's stems; a stem is shown as the document's most frequent
 *   lower-case surface form. A re-ingested document's old chunks are taken
 *   out of the counts. Without statistics: TF × ln(1 + length), stop words
 *   and short words dropped. CJK text gives Han bigrams and katakana/hangul
 *   runs (hiragana separates).
 * - Script: weighted code-point counts per Unicode script (a CJK character
 *   counts 3, about one Latin word's worth of letters). Language: from the
 *   script, and for Latin by stop-word hits for en fr de es it pt nl.
 */
#include "ingest/summary.h"

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
#include "core/json_dump.h"
#include "core/log.h"
#include "core/text.h"
#include "ingest/summary_internal.h"

/* --- outline ------------------------------------------------------------------- */

json_t *build_outline(const ingest_doc *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < d->nblocks; i++) {
        const ingest_block *b = &d->blocks[i];
        if (b->kind != BLOCK_HEADING) continue;
        const char *t = d->text;
        size_t s = b->start, e = b->end;
        while (s < e && (t[s] == ' ' || t[s] == '\t'))
            s++;
        while (s < e && t[s] == '#')
            s++;
        while (s < e && (t[s] == ' ' || t[s] == '\t'))
            s++;
        while (e > s && (t[e - 1] == ' ' || t[e - 1] == '\t'))
            e--;
        /* Optional closing #'s (as load.c reads them). */
        size_t k = e;
        while (k > s && t[k - 1] == '#')
            k--;
        if (k < e && (k == s || t[k - 1] == ' ')) {
            e = k;
            while (e > s && t[e - 1] == ' ')
                e--;
        }
        json_array_append_new(arr, json_pack("{s:i,s:s%,s:I}", "level", b->level, "title", t + s,
                                             e - s, "start", (json_int_t)b->start));
    }
    return arr;
}

/* --- the summary ------------------------------------------------------------------ */

static void iso_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

ragd_status summary_check_summarizer(const char *name, ragd_error *err)
{
    if (!name || !*name || !strcmp(name, "extractive") || !strcmp(name, "llm")) return RAGD_OK;
    return ragd_error_set(err, RAGD_EUSAGE, "unknown --summarizer '%s' (extractive, llm)", name);
}

json_t *summary_extract(const ingest_doc *d)
{
    json_t *summary, *summary_text;
    size_t nsent = 0;
    build_summary(d, &summary, &summary_text, &nsent);
    return json_pack("{s:o,s:o,s:I}", "summary", summary, "summary_text", summary_text, "sentences",
                     (json_int_t)nsent);
}

char *summary_entry_text(const json_t *summary)
{
    const char *st = json_string_value(json_object_get(summary, "summary_text"));
    if (!st || !*st) return NULL;
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, st);
    json_t *kw = json_object_get(summary, "keywords");
    size_t i;
    json_t *k;
    size_t nk = 0;
    json_array_foreach(kw, i, k)
    {
        const char *term = json_string_value(json_object_get(k, "term"));
        if (!term || !*term) continue;
        ragd_buf_puts(&b, nk++ ? ", " : "\nKeywords: ");
        ragd_buf_puts(&b, term);
    }
    if (nk) ragd_buf_putc(&b, '.');
    return ragd_buf_steal(&b);
}

/* pre: summary_extract(d) computed earlier, or NULL to compute it here. */

bool summary_is_llm(const char *summarizer)
{
    return summarizer && !strcmp(summarizer, "llm");
}

/* --- the statistics-free part ------------------------------------------------------ */

struct summary_pre {
    json_t *summary, *summary_text; /* owned references */
    size_t nsent;
    const char *script, *lang; /* static */
    json_t *outline;           /* owned reference */
    size_t tokens;
    kw_terms *kw; /* the porter terms, or NULL: counted when scored */
    /* summary_pre_fix: the serialized object up to summary_text (without
     * its closing brace) and the metadata object, or NULL. */
    char *head, *meta;
};

summary_pre *summary_prepare(const ingest_doc *d, summary_tokenizer *tok)
{
    summary_pre *p = ragd_xcalloc(1, sizeof *p);
    build_summary(d, &p->summary, &p->summary_text, &p->nsent);
    guess_language(d, &p->script, &p->lang);
    p->outline = build_outline(d);
    p->tokens = text_count_tokens(d->text, d->len);
    if (tok) p->kw = kw_collect_with(d, tok);
    return p;
}

/* A summary_pre from summary_extract's JSON (or computed when it has none). */
static summary_pre *pre_from_json(const ingest_doc *d, const json_t *pre)
{
    if (!pre || !json_is_array(json_object_get(pre, "summary")) ||
        !json_is_string(json_object_get(pre, "summary_text")))
        return summary_prepare(d, NULL);
    summary_pre *p = ragd_xcalloc(1, sizeof *p);
    p->summary = json_deep_copy(json_object_get(pre, "summary"));
    p->summary_text = json_deep_copy(json_object_get(pre, "summary_text"));
    p->nsent = (size_t)json_integer_value(json_object_get(pre, "sentences"));
    guess_language(d, &p->script, &p->lang);
    p->outline = build_outline(d);
    p->tokens = text_count_tokens(d->text, d->len);
    return p;
}

void summary_pre_free(summary_pre *p)
{
    if (!p) return;
    json_decref(p->summary);
    json_decref(p->summary_text);
    json_decref(p->outline);
    kw_terms_free(p->kw);
    free(p->head);
    free(p->meta);
    free(p);
}

size_t summary_pre_tokens(const summary_pre *p)
{
    return p->tokens;
}

bool summary_pre_fixed(const summary_pre *p)
{
    return p && p->head;
}

const char *summary_pre_text(const summary_pre *p)
{
    const char *t = p ? json_string_value(p->summary_text) : NULL;
    return t ? t : "";
}

/* How a summary is serialized (summary_for_ingest_pre, summary_pre_fix). */
#define SUMMARY_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(6))

/* The summary object's fields up to summary_text: they need no statistics. */
static json_t *fixed_part(const ingest_doc *d, const char *source, const summary_pre *pre)
{
    json_t *o = json_object();
    json_object_set_new(o, "title", json_string(d->title ? d->title : ""));
    json_object_set_new(o, "source", json_string(source ? source : ""));
    json_object_set_new(o, "format", json_string(d->format ? d->format : ""));
    json_object_set_new(o, "language", json_string(pre->lang));
    json_object_set_new(o, "script", json_string(pre->script));
    json_object_set_new(o, "bytes", json_integer((json_int_t)d->len));
    json_object_set_new(o, "tokens", json_integer((json_int_t)pre->tokens));
    json_object_set_new(o, "sentences", json_integer((json_int_t)pre->nsent));
    json_object_set(o, "outline", pre->outline);
    json_object_set(o, "summary", pre->summary);
    json_object_set(o, "summary_text", pre->summary_text);
    return o;
}

/* d's metadata as the summary's "metadata" object ({} when it has none). */
static json_t *meta_object(const ingest_doc *d)
{
    json_t *meta = d->metadata_json ? json_loads(d->metadata_json, 0, NULL) : NULL;
    if (!json_is_object(meta)) {
        json_decref(meta);
        meta = json_object();
    }
    return meta;
}

/* The summary object from pre (its terms are used up) and the statistics. */
static ragd_status build_ex(const ingest_doc *d, const char *source,
                            const summary_stats *coll_stats, const self_counts *own,
                            summary_pre *pre, json_t **out, ragd_error *err)
{
    (void)err;
    const char *kw_from;
    json_t *keywords = build_keywords_pre(d, coll_stats, own, pre->kw, &kw_from);
    kw_terms_free(pre->kw);
    pre->kw = NULL;
    char now[32];
    iso_now(now);
    json_t *o = fixed_part(d, source, pre);
    json_object_set_new(o, "keywords", keywords);
    json_object_set_new(o, "keywords_from", json_string(kw_from));
    json_object_set_new(o, "summarizer", json_string("extractive"));
    json_object_set_new(o, "metadata", meta_object(d));
    json_object_set_new(o, "created_at", json_string(now));
    json_object_set_new(o, "updated_at", json_string(now));
    *out = o;
    return RAGD_OK;
}

void summary_pre_fix(summary_pre *p, const ingest_doc *d, const char *source)
{
    free(p->head);
    free(p->meta);
    json_t *o = fixed_part(d, source, p);
    p->head = ragd_json_dumps_compact(o, SUMMARY_DUMP_FLAGS);
    json_decref(o);
    size_t n = p->head ? strlen(p->head) : 0;
    if (n >= 2 && p->head[n - 1] == '}') {
        p->head[n - 1] = '\0'; /* the writer appends the rest and the brace */
    } else {
        free(p->head);
        p->head = NULL;
    }
    json_t *m = meta_object(d);
    p->meta = p->head ? ragd_json_dumps_compact(m, SUMMARY_DUMP_FLAGS) : NULL;
    json_decref(m);
    if (!p->meta) {
        free(p->head);
        p->head = NULL;
    }
}

ragd_status summary_build(const ingest_doc *d, const char *source, const summary_stats *coll_stats,
                          json_t **out, ragd_error *err)
{
    summary_pre *pre = summary_prepare(d, NULL);
    ragd_status rc = build_ex(d, source, coll_stats, NULL, pre, out, err);
    summary_pre_free(pre);
    return rc;
}

/* --- ingest-time driver ------------------------------------------------------------- */

struct summary_ctx {
    ragd_store *st;
    int64_t coll;
    summary_stats *stats;
    bool loaded, warned;
    int64_t docs_at_load, since;
};

ragd_status summary_ctx_new(ragd_store *st, int64_t coll, const char *summarizer, summary_ctx **out,
                            ragd_error *err)
{
    *out = NULL;
    ragd_status rc = summary_check_summarizer(summarizer, err);
    if (rc) return rc;
    summary_ctx *c = ragd_xcalloc(1, sizeof *c);
    c->st = st;
    c->coll = coll;
    *out = c;
    return RAGD_OK;
}

void summary_ctx_free(summary_ctx *c)
{
    if (!c) return;
    summary_stats_free(c->stats);
    free(c);
}

bool summary_ctx_due(const summary_ctx *c)
{
    int64_t floor = c->docs_at_load > 32 ? c->docs_at_load : 32;
    return !c->loaded || c->since >= floor;
}

/* (Re)load the statistics when the collection has grown enough. A failure
 * is not fatal: keywords fall back to the heuristic. */
static void ctx_refresh(summary_ctx *c)
{
    if (!summary_ctx_due(c)) return;
    summary_stats_free(c->stats);
    c->stats = NULL;
    c->loaded = true;
    c->since = 0;
    ragd_error e;
    ragd_error_clear(&e);
    int64_t docs = 0, chunks = 0;
    if (store_counts(c->st, c->coll, &docs, &chunks, &e) ||
        summary_stats_load(c->st, &c->stats, &e)) {
        if (!c->warned)
            log_write(LOG_WARN, "document summaries: no collection statistics", "error", e.msg,
                      NULL);
        c->warned = true;
    }
    c->docs_at_load = docs;
}

/* The llm summarizer's outcome, applied to a built summary. */
static void apply_llm(json_t *o, const summary_llm *llm)
{
    if (!llm || !llm->asked) return;
    if (llm->model) json_object_set_new(o, "llm_model", json_string(llm->model));
    json_t *a = llm->abstract ? json_string(llm->abstract) : NULL;
    if (a) {
        json_object_set(o, "summary_text", a);
        json_object_set_new(o, "abstract", a);
        json_object_set_new(o, "summarizer", json_string("llm"));
    } else {
        json_t *m = json_string(llm->error ? llm->error : "no abstract");
        json_object_set_new(o, "llm_error", m ? m : json_string("(invalid UTF-8 in the error)"));
    }
}

char *summary_for_ingest(summary_ctx *c, const char *key, const char *source, const ingest_doc *d,
                         bool existed, const json_t *pre, char **entry_text)
{
    return summary_for_ingest_llm(c, key, source, d, existed, pre, NULL, entry_text);
}

char *summary_for_ingest_llm(summary_ctx *c, const char *key, const char *source,
                             const ingest_doc *d, bool existed, const json_t *pre,
                             const summary_llm *llm, char **entry_text)
{
    summary_pre *p = pre_from_json(d, pre);
    char *txt = summary_for_ingest_pre(c, key, source, d, existed, p, llm, entry_text);
    summary_pre_free(p);
    return txt;
}

/* The summary text from pre's serialized fixed part (summary_pre_fix)
 * and the statistics-dependent rest: the bytes build_ex's object would
 * dump to, without building that object on the writer. */
static char *assemble(summary_ctx *c, const char *key, const ingest_doc *d, bool existed,
                      summary_pre *pre, const self_counts *own, char **entry_text)
{
    const char *kw_from;
    ragd_buf kw = RAGD_BUF_INIT, terms = RAGD_BUF_INIT;
    /* pre->kw stays: summary_pre_free frees it with pre, on the thread that
     * frees the item (ingest/workers.c: the worker that may have made it). */
    build_keywords_text(d, c->stats, own, pre->kw, &kw_from, &kw, entry_text ? &terms : NULL);
    char now[32];
    iso_now(now);
    char *created = NULL; /* a re-ingested document keeps its first created_at */
    if (existed) {
        ragd_error e;
        json_t *old = NULL;
        if (store_doc_summary(c->st, c->coll, key, &old, &e) == RAGD_OK) {
            json_t *ca = json_object_get(old, "created_at");
            if (json_is_string(ca)) created = json_dumps(ca, SUMMARY_DUMP_FLAGS | JSON_ENCODE_ANY);
        }
        json_decref(old);
    }
    if (entry_text) {
        /* As summary_entry_text: the sentences, then the keywords line. */
        const char *st = summary_pre_text(pre);
        if (*st) {
            ragd_buf en = RAGD_BUF_INIT;
            ragd_buf_puts(&en, st);
            if (terms.len) ragd_buf_printf(&en, "\nKeywords: %s.", terms.data);
            *entry_text = ragd_buf_steal(&en);
        }
    }
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, pre->head);
    ragd_buf_printf(&b, ",\"keywords\":%s,\"keywords_from\":\"%s\",\"summarizer\":\"extractive\"",
                    kw.data, kw_from);
    ragd_buf_printf(&b, ",\"metadata\":%s,\"created_at\":", pre->meta);
    if (created)
        ragd_buf_puts(&b, created);
    else
        ragd_buf_printf(&b, "\"%s\"", now);
    ragd_buf_printf(&b, ",\"updated_at\":\"%s\"}", now);
    ragd_buf_free(&kw);
    ragd_buf_free(&terms);
    free(created);
    return ragd_buf_steal(&b);
}

char *summary_for_ingest_pre(summary_ctx *c, const char *key, const char *source,
                             const ingest_doc *d, bool existed, summary_pre *pre,
                             const summary_llm *llm, char **entry_text)
{
    if (entry_text) *entry_text = NULL;
    summary_pre *mine = pre ? NULL : summary_prepare(d, NULL);
    if (!pre) pre = mine;
    ragd_error e;
    ragd_error_clear(&e);
    ctx_refresh(c);
    /* A re-ingested document's old chunks are still indexed: leave them
     * out of the statistics. */
    self_counts own = {0};
    bool have_own =
        existed && c->stats && self_counts_load(c->st, c->coll, key, c->stats, &own, &e) == RAGD_OK;
    if (pre->head && !(llm && llm->asked)) {
        char *txt = assemble(c, key, d, existed, pre, have_own ? &own : NULL, entry_text);
        summary_pre_free(mine);
        if (have_own) hmap_free(&own.df);
        c->since++;
        return txt;
    }
    json_t *o = NULL;
    ragd_status rc = build_ex(d, source, c->stats, have_own ? &own : NULL, pre, &o, &e);
    summary_pre_free(mine);
    if (have_own) hmap_free(&own.df);
    if (rc) {
        log_write(LOG_WARN, "document summary failed", "doc", key, "error", e.msg, NULL);
        return NULL;
    }
    if (existed) {
        /* Keep when the document was first summarized. */
        json_t *old = NULL;
        if (store_doc_summary(c->st, c->coll, key, &old, &e) == RAGD_OK) {
            json_t *ca = json_object_get(old, "created_at");
            if (json_is_string(ca)) json_object_set(o, "created_at", ca);
        }
        json_decref(old);
    }
    /* The entry is built before an LLM abstract replaces summary_text: its
     * sentences must stay slices of the document. */
    if (entry_text) *entry_text = summary_entry_text(o);
    apply_llm(o, llm);
    c->since++;
    char *txt = json_dumps(o, SUMMARY_DUMP_FLAGS);
    json_decref(o);
    return txt;
}
