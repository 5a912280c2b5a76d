/* retrieve/context.c — assembling validated hits into numbered context.
 *
 * Each source is written as
 *     [n] Title — Heading > Path
 *     chunk text
 * in relevance order until the token budget is spent; a source that does not
 * fit whole is cut after its last whole sentence that fits, and assembly
 * stops there. Numbers are assigned in order, so the same search result
 * always yields the same context.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "retrieve/retrieve.h"

void context_result_free(context_result *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nsources; i++)
        free(c->sources[i].text);
    free(c->sources);
    free(c->context);
    memset(c, 0, sizeof *c);
}

static void source_header(ragd_buf *b, int n, const search_hit *h)
{
    ragd_buf_printf(b, "[%d] %s", n, h->title[0] ? h->title : h->doc_id);
    if (h->heading_path[0]) ragd_buf_printf(b, " \xE2\x80\x94 %s", h->heading_path);
    ragd_buf_putc(b, '\n');
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

ragd_status context_assemble(const search_result *r, size_t budget, context_result *out,
                             ragd_error *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    if (!budget) budget = CONTEXT_DEFAULT_BUDGET;
    out->relevant = r->relevant;
    out->sources = ragd_xcalloc(r->n ? r->n : 1, sizeof *out->sources);
    ragd_buf ctx = RAGD_BUF_INIT;
    size_t used = 0;
    for (size_t i = 0; i < r->n; i++) {
        const search_hit *h = &r->hits[i];
        int n = (int)out->nsources + 1;
        ragd_buf head = RAGD_BUF_INIT;
        source_header(&head, n, h);
        size_t ht = text_count_tokens(head.data, head.len);
        size_t tt = text_count_tokens(h->text, strlen(h->text));
        size_t len = strlen(h->text);
        if (used + ht + tt > budget) {
            len = used + ht < budget ? fit_sentences(h->text, budget - used - ht) : 0;
            if (!len) {
                ragd_buf_free(&head);
                break;
            }
            tt = text_count_tokens(h->text, len);
        }
        if (ctx.len) ragd_buf_putc(&ctx, '\n');
        ragd_buf_append(&ctx, head.data, head.len);
        ragd_buf_append(&ctx, h->text, len);
        ragd_buf_putc(&ctx, '\n');
        ragd_buf_free(&head);
        context_source *s = &out->sources[out->nsources++];
        s->n = n;
        s->hit = h;
        s->text = ragd_xstrndup(h->text, len);
        s->tokens = tt;
        used += ht + tt;
        if (len < strlen(h->text)) break;
    }
    out->context = ragd_buf_steal(&ctx);
    out->tokens = used;
    return RAGD_OK;
}

json_t *context_result_json(const context_result *c, const char *query)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->nsources; i++) {
        const context_source *s = &c->sources[i];
        json_array_append_new(
            arr,
            json_pack("{s:i,s:s,s:I,s:I,s:I,s:s,s:s,s:i}", "n", s->n, "doc_id", s->hit->doc_id,
                      "chunk_id", (json_int_t)s->hit->chunk_id, "start", (json_int_t)s->hit->start,
                      "end", (json_int_t)(s->hit->start + strlen(s->text)), "title", s->hit->title,
                      "heading_path", s->hit->heading_path, "tokens", (int)s->tokens));
    }
    return json_pack("{s:s,s:s,s:o,s:i,s:b}", "query", query, "context", c->context, "sources", arr,
                     "tokens", (int)c->tokens, "relevant", c->relevant);
}
