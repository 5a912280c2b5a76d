/* retrieve/context.c — assembling validated hits into numbered context.
 *
 * Each source is written as
 *     [n] Title — Heading > Path
 *     text
 * in relevance order until the token budget is spent; a source that does not
 * fit whole is cut after its last whole sentence that fits, and assembly
 * stops there. Numbers are assigned in order, so the same search result
 * always yields the same context.
 *
 * Parent expansion (the "expand" stage, for parent-document collections): a
 * hit whose chunk has a parent section contributes the parent's text, read
 * from the store through the parent's offsets into the document; hits that
 * share a parent become one source (the best hit's rank, every merged chunk
 * id listed). A parent that does not fit the rest of the budget whole is
 * replaced by the hit's own chunk text, so the part that matched is never
 * trimmed away for the section around it.
 *
 * Span merging: hits of one document whose byte spans overlap or touch (the
 * fixed chunker's overlapping windows, neighbouring chunks) become one source
 * at the best hit's rank, whose text is the union span read from the
 * document, so the generator never sees the same sentences twice.
 *
 * A summary entry hit (kind "summary", docs/summary.md) is a source whose
 * text is the entry; it gets no "Summary:" line (it is the summary) and
 * its spans record where each summary sentence sits in it and in the
 * document, so answers quote it with exact document offsets.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "retrieve/retrieve.h"

void context_result_free(context_result *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nsources; i++) {
        free(c->sources[i].text);
        free(c->sources[i].heading_path);
        free(c->sources[i].chunk_ids);
        free(c->sources[i].spans);
    }
    free(c->sources);
    free(c->context);
    memset(c, 0, sizeof *c);
}

/* "[n] Title — heading path, p. 68" (the page only for paged documents,
 * "pp. 68–69" across a break), then the document's one-line summary (when
 * it has one) so the generator sees what the whole document is about. */
static void source_header(ragd_buf *b, int n, const search_hit *h, const char *heading_path,
                          const char *summary)
{
    ragd_buf_printf(b, "[%d] %s", n, h->title[0] ? h->title : h->doc_id);
    if (heading_path[0]) ragd_buf_printf(b, " \xE2\x80\x94 %s", heading_path);
    if (h->page > 0 && !h->summary) {
        if (h->page_end > h->page)
            ragd_buf_printf(b, ", pp. %d\xE2\x80\x93%d", h->page, h->page_end);
        else
            ragd_buf_printf(b, ", p. %d", h->page);
    }
    ragd_buf_putc(b, '\n');
    if (summary && summary[0]) ragd_buf_printf(b, "Summary: %s\n", summary);
}

/* The longest prefix of text made of whole sentences within `budget` tokens;
 * returns its byte length (0 if not even one sentence fits). */
static size_t fit_sentences(const char *text, size_t budget)
{
    ragd_span *sp = NULL;
    size_t ns = text_sentences(text, strlen(text), &sp);
    size_t best = 0;
    for (size_t i = 0; i < ns; i++) {
        if (text_count_tokens(text, sp[i].end) > budget) break;
        best = sp[i].end;
    }
    free(sp);
    return best;
}

/* A summary entry's source: find each of the document's summary sentences
 * in the source text (in order; a sentence trimmed away is not found). */
static void summary_spans(ragd_store *st, int64_t coll, context_source *s)
{
    json_t *sum = NULL;
    ragd_error e;
    if (store_doc_summary(st, coll, s->hit->doc_id, &sum, &e)) return;
    size_t i, pos = 0, len = strlen(s->text);
    json_t *x;
    json_array_foreach(json_object_get(sum, "summary"), i, x)
    {
        const char *t = json_string_value(json_object_get(x, "text"));
        json_int_t a = json_integer_value(json_object_get(x, "start"));
        size_t tl = t ? strlen(t) : 0;
        if (!tl || a < 0 || pos > len) continue;
        const char *f = strstr(s->text + pos, t);
        if (!f) continue;
        s->spans = ragd_xrealloc(s->spans, (s->nspans + 1) * sizeof *s->spans);
        s->spans[s->nspans++] = (context_span){(size_t)(f - s->text), tl, (size_t)a};
        pos = (size_t)(f - s->text) + tl;
    }
    json_decref(sum);
}

static void add_chunk_id(context_source *s, int64_t id)
{
    s->chunk_ids = ragd_xrealloc(s->chunk_ids, (s->nchunks + 1) * sizeof *s->chunk_ids);
    s->chunk_ids[s->nchunks++] = id;
}

/* Hits of one document whose spans overlap or touch: one source. */
typedef struct {
    size_t *hits; /* indexes into the search result, best first; hits[0] leads */
    size_t nhits;
    size_t start, end; /* union of the hits' spans */
    bool parent;       /* a parent-section hit: never span-merged */
    bool dead;         /* folded into an earlier group */
} span_group;

static void group_push(span_group *g, size_t hit)
{
    g->hits = ragd_xrealloc(g->hits, (g->nhits + 1) * sizeof *g->hits);
    g->hits[g->nhits++] = hit;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Group r's hits (see "Span merging" above). Returns n groups in the order
 * of their best hit; dead groups are to be skipped. Groups of one document
 * stay pairwise apart, so a new hit that touches several groups touches the
 * earliest first and the later ones fold into it. */
static span_group *group_spans(ragd_store *st, const search_result *r, size_t *n)
{
    span_group *g = ragd_xcalloc(r->n ? r->n : 1, sizeof *g);
    size_t ng = 0;
    for (size_t i = 0; i < r->n; i++) {
        const search_hit *h = &r->hits[i];
        /* Parent sections and summary entries (which stand for the whole
         * document, 0..len) are never span-merged. */
        bool parent = (h->parent_id && st) || h->summary;
        span_group *into = NULL;
        for (size_t k = 0; k < ng && !into && !parent && st; k++)
            if (!g[k].dead && !g[k].parent && !strcmp(r->hits[g[k].hits[0]].doc_id, h->doc_id) &&
                h->start <= g[k].end && g[k].start <= h->end)
                into = &g[k];
        if (!into) {
            into = &g[ng++];
            into->parent = parent;
            into->start = h->start, into->end = h->end;
            group_push(into, i);
            continue;
        }
        group_push(into, i);
        if (h->start < into->start) into->start = h->start;
        if (h->end > into->end) into->end = h->end;
        for (size_t k = (size_t)(into - g) + 1; k < ng; k++) {
            span_group *o = &g[k];
            if (o->dead || o->parent || strcmp(r->hits[o->hits[0]].doc_id, h->doc_id) ||
                o->start > into->end || into->start > o->end)
                continue;
            for (size_t j = 0; j < o->nhits; j++)
                group_push(into, o->hits[j]);
            if (o->start < into->start) into->start = o->start;
            if (o->end > into->end) into->end = o->end;
            o->dead = true;
        }
        qsort(into->hits, into->nhits, sizeof *into->hits, cmp_size);
    }
    *n = ng;
    return g;
}

ragd_status context_assemble(ragd_store *st, const search_result *r, size_t budget,
                             context_result *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    if (!budget) budget = CONTEXT_DEFAULT_BUDGET;
    out->relevant = r->relevant;
    out->sources = ragd_xcalloc(r->n ? r->n : 1, sizeof *out->sources);
    ragd_buf ctx = RAGD_BUF_INIT;
    size_t used = 0;
    ragd_status rc = RAGD_OK;
    size_t ng = 0;
    span_group *groups = group_spans(st, r, &ng);
    for (size_t gi = 0; gi < ng; gi++) {
        const span_group *g = &groups[gi];
        if (g->dead) continue;
        const search_hit *h = &r->hits[g->hits[0]];
        /* A hit of a parent already used is part of that source. */
        if (h->parent_id && st) {
            context_source *same = NULL;
            for (size_t k = 0; k < out->nsources && !same; k++)
                if (out->sources[k].parent_id == h->parent_id) same = &out->sources[k];
            if (same) {
                add_chunk_id(same, h->chunk_id);
                continue;
            }
        }
        char *ptext = NULL, *ppath = NULL;
        size_t pstart = 0;
        if (h->parent_id && st) {
            rc = store_parent_text(st, h->parent_id, &ptext, &pstart, NULL, &ppath, err);
            if (rc == RAGD_ENOTFOUND) rc = RAGD_OK; /* gone since the search: own text */
            if (rc) break;
        }
        char *summary = NULL;
        if (st && !h->summary) {
            ragd_error se;
            if (store_doc_summary_line(st, r->coll_id, h->doc_id, &summary, &se)) summary = NULL;
        }
        int n = (int)out->nsources + 1;
        size_t left = budget > used ? budget - used : 0;
        const char *text = h->text;
        const char *path = h->heading_path;
        size_t start = h->start;
        char *merged = NULL;
        if (g->nhits > 1) {
            ragd_error me;
            if (store_doc_text_range(st, r->coll_id, h->doc_id, g->start, g->end, &merged, &me) ==
                RAGD_OK)
                text = merged, start = g->start;
        }
        int64_t parent_id = 0;
        ragd_buf head = RAGD_BUF_INIT;
        if (ptext) {
            source_header(&head, n, h, ppath, summary);
            size_t need =
                text_count_tokens(head.data, head.len) + text_count_tokens(ptext, strlen(ptext));
            if (need <= left) {
                text = ptext, path = ppath, start = pstart, parent_id = h->parent_id;
            } else {
                head.len = 0;
            }
        }
        if (!head.len) source_header(&head, n, h, path, summary);
        free(summary);
        size_t ht = text_count_tokens(head.data, head.len);
        size_t len = strlen(text);
        size_t tt = text_count_tokens(text, len);
        if (used + ht + tt > budget) {
            len = used + ht < budget ? fit_sentences(text, budget - used - ht) : 0;
            if (!len) {
                ragd_buf_free(&head);
                free(ptext);
                free(ppath);
                free(merged);
                break;
            }
            tt = text_count_tokens(text, len);
        }
        if (ctx.len) ragd_buf_putc(&ctx, '\n');
        ragd_buf_append(&ctx, head.data, head.len);
        ragd_buf_append(&ctx, text, len);
        ragd_buf_putc(&ctx, '\n');
        ragd_buf_free(&head);
        context_source *s = &out->sources[out->nsources++];
        s->n = n;
        s->hit = h;
        s->text = ragd_xstrndup(text, len);
        s->tokens = tt;
        s->start = start;
        s->parent_id = parent_id;
        s->heading_path = ragd_xstrdup(path);
        for (size_t j = 0; j < (merged ? g->nhits : 1); j++)
            add_chunk_id(s, r->hits[g->hits[j]].chunk_id);
        if (h->summary && st) summary_spans(st, r->coll_id, s);
        used += ht + tt;
        bool trimmed = len < strlen(text);
        free(ptext);
        free(ppath);
        free(merged);
        if (trimmed) break;
    }
    for (size_t gi = 0; gi < ng; gi++)
        free(groups[gi].hits);
    free(groups);
    out->context = ragd_buf_steal(&ctx);
    out->tokens = used;
    if (rc) context_result_free(out);
    return rc;
}

json_t *context_result_json(const context_result *c, const char *query)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->nsources; i++) {
        const context_source *s = &c->sources[i];
        json_t *ids = json_array();
        for (size_t k = 0; k < s->nchunks; k++)
            json_array_append_new(ids, json_integer(s->chunk_ids[k]));
        /* A summary entry's text is not a slice: its own offsets. */
        size_t end = s->hit->summary ? s->hit->end : s->start + strlen(s->text);
        json_t *o =
            json_pack("{s:i,s:s,s:I,s:o,s:o,s:I,s:I,s:s,s:s,s:i}", "n", s->n, "doc_id",
                      s->hit->doc_id, "chunk_id", (json_int_t)s->hit->chunk_id, "chunk_ids", ids,
                      "parent_id", s->parent_id ? json_integer(s->parent_id) : json_null(), "start",
                      (json_int_t)s->start, "end", (json_int_t)end, "title", s->hit->title,
                      "heading_path", s->heading_path, "tokens", (int)s->tokens);
        if (s->hit->summary) json_object_set_new(o, "kind", json_string("summary"));
        if (s->hit->page > 0 && !s->hit->summary) {
            json_object_set_new(o, "page", json_integer(s->hit->page));
            json_object_set_new(o, "page_end", json_integer(s->hit->page_end));
        }
        json_array_append_new(arr, o);
    }
    return json_pack("{s:s,s:s,s:o,s:i,s:b}", "query", query, "context", c->context, "sources", arr,
                     "tokens", (int)c->tokens, "relevant", c->relevant);
}
