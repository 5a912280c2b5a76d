/* answer/extractive.c — the built-in, model-free generator.
 *
 * Every source sentence is scored by the share of the question's content
 * terms it contains; the best few (ties broken by source rank, then
 * position) become the answer, each followed by its [n]. Because the answer
 * is made of verbatim source sentences, its citations carry exact byte
 * offsets into the documents. A summary entry's source is quoted only
 * through its summary sentences, which are exact slices of the document.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "answer/internal.h"
#include "core/buf.h"
#include "core/text.h"
#include "index/lexical.h"

typedef struct {
    int src;           /* index into ctx->sources */
    size_t start, end; /* within the source text */
    size_t doc_start;  /* where the sentence starts in its document */
    double score;
} cand;

/* Where [start, end) of source s starts in its document, or false when it
 * cannot be quoted with offsets: in a summary entry's source only a
 * sentence inside one summary sentence can (the entry is not a slice). */
bool answer_doc_offset(const context_source *s, size_t start, size_t end, size_t *out)
{
    if (!s->hit->summary) {
        *out = s->start + start; /* the source may be the hit's parent section */
        return true;
    }
    for (size_t i = 0; i < s->nspans; i++) {
        const context_span *p = &s->spans[i];
        if (start >= p->off && end <= p->off + p->len) {
            *out = p->doc_start + (start - p->off);
            return true;
        }
    }
    return false;
}

/* The answer type a question expects: 'd' a date ("when", "what year"),
 * 'n' a number ("how many/long/much/tall/far/old/thin/often…", "what
 * torque/temperature/percentage/pressure/speed/weight/size/pH"), 'o' a command-line
 * option ("which option/flag"), 0 none. */
static char answer_type(const char *q)
{
    char low[512];
    size_t i = 0;
    for (; q[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)q[i]);
    low[i] = 0;
    if (!strncmp(low, "when ", 5) || strstr(low, "what year") || strstr(low, "what date") ||
        strstr(low, "which year"))
        return 'd';
    static const char *const NUM[] = {
        "how many",         "how long",        "how much",      "how tall",
        "how high",         "how far",         "how old",       "how big",
        "how thin",         "how thick",       "how often",     "how wide",
        "how deep",         "how heavy",       "how fast",      "what torque",
        "what temperature", "what percentage", "what pressure", "what speed",
        "what weight",      "what size",       "what ph",       NULL};
    for (int k = 0; NUM[k]; k++)
        if (strstr(low, NUM[k])) return 'n';
    if (strstr(low, "which option") || strstr(low, "what option") || strstr(low, "which flag") ||
        strstr(low, "what flag"))
        return 'o';
    return 0;
}

static bool has_type(const char *s, size_t n, char type)
{
    static const char *const MONTHS[] = {"January",  "February", "March",  "April",     "May",
                                         "June",     "July",     "August", "September", "October",
                                         "November", "December", NULL};
    answer_fact *f = NULL;
    size_t nf = answer_facts(s, n, &f);
    bool ok = false;
    for (size_t i = 0; i < nf && !ok; i++) {
        long v = strtol(f[i].num, NULL, 10);
        ok = type == 'n' || (type == 'd' && strlen(f[i].num) == 4 && v >= 1000 && v < 2200);
    }
    free(f);
    for (int k = 0; type == 'd' && !ok && MONTHS[k]; k++)
        ok = answer_has_word_n(s, n, MONTHS[k]);
    for (size_t i = 0; type == 'o' && !ok && i + 2 < n; i++)
        ok = (i == 0 || s[i - 1] == ' ' || s[i - 1] == '`') && s[i] == '-' &&
             (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '-');
    return ok || !type;
}

/* Code or a table fragment, not prose: indented, or many code symbols. */
static bool code_like(const char *s, size_t n)
{
    if (n >= 4 && (!strncmp(s, "    ", 4) || s[0] == '\t' || !strncmp(s, "$ ", 2))) return true;
    size_t sym = 0;
    for (size_t i = 0; i < n; i++)
        sym += strchr("{}();=<>$\\|", s[i]) != NULL && s[i];
    return sym * 12 > n;
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    if (x->src != y->src) return x->src - y->src;
    return x->start < y->start ? -1 : x->start > y->start;
}

void answer_result_free(answer_result *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->ncitations; i++)
        free(a->citations[i].quote);
    free(a->citations);
    free(a->answer);
    free(a->model);
    free(a->injection);
    free(a->prompt);
    free(a->response);
    free(a->repair_response);
    free(a->route_reason);
    json_decref(a->check);
    memset(a, 0, sizeof *a);
}

void answer_not_found(answer_result *out)
{
    out->answer = ragd_xstrdup(ANSWER_NOT_FOUND);
    out->found = false;
    out->check = json_pack("{s:b,s:[],s:[],s:i,s:i,s:s}", "ok", 1, "sentences", "invalid_citations",
                           "uncited", 0, "unsupported", 0, "note",
                           "no relevant sources; the generator was not called");
}

ragd_status answer_extractive(const context_result *ctx, const char *query, int max_sentences,
                              answer_result *out, ragd_error *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    out->generator = "extractive";
    if (!ctx->relevant || !ctx->nsources) {
        answer_not_found(out);
        return RAGD_OK;
    }
    if (max_sentences <= 0) max_sentences = 3;
    char **terms = NULL;
    size_t nterms = lexical_terms(query, &terms);
    char type = answer_type(query);
    cand *cv = NULL;
    size_t nc = 0, cap = 0;
    for (size_t s = 0; s < ctx->nsources; s++) {
        const char *t = ctx->sources[s].text;
        ragd_span *sp = NULL;
        size_t ns = text_sentences(t, strlen(t), &sp);
        for (size_t i = 0; i < ns; i++) {
            /* Skip Markdown headings, table rows and fences: not answers. */
            char c0 = t[sp[i].start];
            if (c0 == '#' || c0 == '|' || !strncmp(t + sp[i].start, "```", 3)) continue;
            if (text_count_tokens(t + sp[i].start, sp[i].end - sp[i].start) < 3) continue;
            if (code_like(t + sp[i].start, sp[i].end - sp[i].start)) continue;
            size_t dstart;
            if (!answer_doc_offset(&ctx->sources[s], sp[i].start, sp[i].end, &dstart)) continue;
            ragd_array_grow((void **)&cv, &cap, nc + 1, sizeof *cv);
            cv[nc].src = (int)s;
            cv[nc].start = sp[i].start;
            cv[nc].end = sp[i].end;
            cv[nc].doc_start = dstart;
            cv[nc].score =
                retrieve_term_coverage(terms, nterms, t + sp[i].start, sp[i].end - sp[i].start);
            /* A sentence without the expected answer type ranks below those with it. */
            if (!has_type(t + sp[i].start, sp[i].end - sp[i].start, type)) cv[nc].score *= 0.5;
            nc++;
        }
        free(sp);
    }
    if (nc) qsort(cv, nc, sizeof *cv, cand_cmp);
    bool *covered = ragd_xcalloc(nterms ? nterms : 1, sizeof *covered);
    ragd_buf ans = RAGD_BUF_INIT;
    out->citations = ragd_xcalloc((size_t)max_sentences, sizeof *out->citations);
    int per_src[256] = {0};
    for (size_t i = 0; i < nc && (int)out->ncitations < max_sentences; i++) {
        /* Later sentences must come close to the best one, so weak matches
         * do not pad the answer. */
        if (out->ncitations && (cv[i].score <= 0 || cv[i].score < 0.6 * cv[0].score)) break;
        if (cv[i].src < 256 && per_src[cv[i].src] >= 2) continue;
        /* Stop adding sentences that cover no question term the answer lacks. */
        const char *ct = ctx->sources[cv[i].src].text + cv[i].start;
        size_t cl = cv[i].end - cv[i].start, fresh = 0;
        for (size_t k = 0; k < nterms; k++)
            if (!covered[k] && retrieve_term_coverage(&terms[k], 1, ct, cl) > 0) fresh++;
        if (out->ncitations && !fresh) continue;
        for (size_t k = 0; k < nterms; k++)
            covered[k] |= retrieve_term_coverage(&terms[k], 1, ct, cl) > 0;
        if (cv[i].src < 256) per_src[cv[i].src]++;
        const context_source *s = &ctx->sources[cv[i].src];
        if (ans.len) ragd_buf_putc(&ans, ' ');
        ragd_buf_append(&ans, s->text + cv[i].start, cv[i].end - cv[i].start);
        ragd_buf_printf(&ans, " [%d]", s->n);
        answer_citation *c = &out->citations[out->ncitations++];
        c->n = s->n;
        c->chunk_id = s->hit->chunk_id;
        c->doc_id = s->hit->doc_id;
        c->start = cv[i].doc_start;
        c->end = cv[i].doc_start + (cv[i].end - cv[i].start);
        c->quote = ragd_xstrndup(s->text + cv[i].start, cv[i].end - cv[i].start);
    }
    free(cv);
    free(covered);
    lexical_terms_free(terms, nterms);
    if (!out->ncitations) {
        ragd_buf_free(&ans);
        answer_not_found(out);
        return RAGD_OK;
    }
    out->answer = ragd_buf_steal(&ans);
    out->found = true;
    out->check = answer_check(out->answer, ctx);
    return RAGD_OK;
}

json_t *answer_result_json(const answer_result *a, const context_result *ctx, const char *query)
{
    json_t *cites = json_array();
    for (size_t i = 0; i < a->ncitations; i++) {
        const answer_citation *c = &a->citations[i];
        json_t *o = json_pack("{s:i,s:I,s:s,s:I,s:I,s:s}", "n", c->n, "chunk_id",
                              (json_int_t)c->chunk_id, "doc_id", c->doc_id, "start",
                              (json_int_t)c->start, "end", (json_int_t)c->end, "quote", c->quote);
        /* The cited source's pages (paged documents): "p. 68" in citations. */
        for (size_t k = 0; k < ctx->nsources; k++) {
            const search_hit *h = ctx->sources[k].hit;
            if (ctx->sources[k].n == c->n && h->page > 0 && !h->summary) {
                json_object_set_new(o, "page", json_integer(h->page));
                json_object_set_new(o, "page_end", json_integer(h->page_end));
            }
        }
        json_array_append_new(cites, o);
    }
    json_t *cj = context_result_json(ctx, query);
    json_t *sources = json_object_get(cj, "sources");
    for (size_t i = 0; i < json_array_size(sources); i++)
        json_object_set_new(json_array_get(sources, i), "injection_suspected",
                            json_boolean(a->injection && i < a->ninjection && a->injection[i]));
    const gen_usage *u = &a->usage;
    json_t *usage = json_pack(
        "{s:s,s:s?,s:I,s:I,s:I,s:f,s:I,s:I,s:b,s:{s:f,s:f,s:f},s:s?,s:i}", "generator",
        a->generator ? a->generator : "extractive", "model", a->model, "prompt_tokens",
        (json_int_t)u->prompt_tokens, "completion_tokens", (json_int_t)u->completion_tokens,
        "calls", (json_int_t)(u->calls + u->failures), "cost", u->cost, "attempts",
        (json_int_t)u->attempts, "retries", (json_int_t)u->retries, "generator_called",
        u->calls + u->failures > 0, "latency_ms", "generate", a->ms_generate, "check", a->ms_check,
        "repair", a->ms_repair, "template", a->template_id, "template_version",
        a->template_version);
    if (a->route)
        json_object_set_new(usage, "route",
                            json_pack("{s:s,s:s?,s:s}", "choice", a->route, "model", a->model,
                                      "reason", a->route_reason ? a->route_reason : ""));
    json_t *out =
        json_pack("{s:s,s:s,s:o,s:O,s:O,s:o,s:s,s:b}", "query", query, "answer", a->answer,
                  "citations", cites, "check", a->check, "sources", sources, "usage", usage, "path",
                  a->path ? a->path : "extractive", "relevant", ctx->relevant);
    json_decref(cj);
    return out;
}
