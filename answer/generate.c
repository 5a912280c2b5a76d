/* answer/generate.c — the generation call, its check, repair and fallback.
 *
 * answer_run is a small state machine whose every stage is recorded in
 * check.steps and whose outcome is check.path:
 *   not relevant                      -> not_found (no call)
 *   no generator                      -> extractive
 *   call (models in order) fails      -> extractive_fallback
 *   check ok                          -> generated
 *   else one repair call, check ok    -> repaired
 *   else drop unsupported sentences   -> dropped (a supported claim remains)
 *   else                              -> extractive_fallback
 * The prompt keeps instructions (system message, from the template) apart
 * from the sources (user message), which are escaped data blocks; a source
 * that reads as instructions is flagged, never obeyed or moved.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer/answer.h"
#include "answer/internal.h"
#include "answer/prompts/answer_v1.h"
#include "core/buf.h"
#include "index/lexical.h"

#define ANSWER_MAX_TOKENS 512
#define ANSWER_UNCOVERED_SHARE 0.25
#define TEMPLATE_MAX_BYTES (256u * 1024)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool answer_injection_suspected(const char *text)
{
    static const char *const P[] = {"ignore previous instructions",
                                    "ignore all previous",
                                    "ignore the previous",
                                    "ignore the above",
                                    "ignore your instructions",
                                    "disregard previous",
                                    "disregard all previous",
                                    "disregard the above",
                                    "forget your instructions",
                                    "forget all previous",
                                    "you are now",
                                    "new instructions:",
                                    "system prompt",
                                    "reveal your prompt",
                                    "reveal the prompt",
                                    "print your instructions",
                                    "developer mode",
                                    NULL};
    ragd_buf low = RAGD_BUF_INIT;
    for (const char *p = text; *p; p++) {
        bool sp = isspace((unsigned char)*p);
        if (sp && (!low.len || low.data[low.len - 1] == ' ')) continue;
        ragd_buf_putc(&low, sp ? ' ' : (char)tolower((unsigned char)*p));
    }
    bool hit = false;
    for (int k = 0; P[k] && !hit; k++)
        hit = strstr(ragd_buf_str(&low), P[k]) != NULL;
    ragd_buf_free(&low);
    return hit;
}

/* Append s with < > & (and " when attr) escaped, so a source cannot close
 * its block or open another. */
static void put_escaped(ragd_buf *b, const char *s, bool attr)
{
    for (; *s; s++) {
        if (*s == '<')
            ragd_buf_puts(b, "&lt;");
        else if (*s == '>')
            ragd_buf_puts(b, "&gt;");
        else if (*s == '&')
            ragd_buf_puts(b, "&amp;");
        else if (attr && *s == '"')
            ragd_buf_puts(b, "&quot;");
        else if (attr && (*s == '\n' || *s == '\r'))
            ragd_buf_putc(b, ' ');
        else
            ragd_buf_putc(b, *s);
    }
}

static char *read_template(const char *path, ragd_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ragd_error_set(err, RAGD_EINPUT, "prompt template %s: cannot open", path);
        return NULL;
    }
    ragd_buf b = RAGD_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= TEMPLATE_MAX_BYTES)
        ragd_buf_append(&b, chunk, n);
    fclose(f);
    if (b.len > TEMPLATE_MAX_BYTES || !strstr(ragd_buf_str(&b), "---user---") ||
        !strstr(ragd_buf_str(&b), "{{sources}}") || !strstr(ragd_buf_str(&b), "{{question}}")) {
        ragd_buf_free(&b);
        ragd_error_set(err, RAGD_EINPUT,
                       "prompt template %s: needs a system part, a '---user---' line and a user "
                       "part with {{sources}} and {{question}} (at most 256 KB)",
                       path);
        return NULL;
    }
    return ragd_buf_steal(&b);
}

/* tmpl with {{sources}} and {{question}} replaced. */
static char *render(const char *tmpl, const char *sources, const char *question)
{
    ragd_buf b = RAGD_BUF_INIT;
    for (const char *p = tmpl; *p;) {
        if (!strncmp(p, "{{sources}}", 11)) {
            ragd_buf_puts(&b, sources);
            p += 11;
        } else if (!strncmp(p, "{{question}}", 12)) {
            ragd_buf_puts(&b, question);
            p += 12;
        } else {
            ragd_buf_putc(&b, *p++);
        }
    }
    return ragd_buf_steal(&b);
}

ragd_status answer_prompt(const context_result *ctx, const char *query, const char *template_path,
                          char **system, char **user, bool *injection, ragd_error *err)
{
    *system = *user = NULL;
    char *file = NULL;
    const char *sys_t = ANSWER_PROMPT_SYSTEM, *user_t = ANSWER_PROMPT_USER;
    if (template_path) {
        if (!(file = read_template(template_path, err))) return RAGD_EINPUT;
        char *sep = strstr(file, "---user---");
        *sep = 0;
        user_t = sep + 10;
        while (*user_t == '\n' || *user_t == '\r')
            user_t++;
        sys_t = file;
    }
    ragd_buf src = RAGD_BUF_INIT;
    for (size_t i = 0; i < ctx->nsources; i++) {
        const context_source *s = &ctx->sources[i];
        if (injection) injection[i] = answer_injection_suspected(s->text);
        ragd_buf_printf(&src, "<source n=\"%d\" title=\"", s->n);
        put_escaped(&src, s->heading_path && s->heading_path[0] ? s->heading_path : s->hit->title,
                    true);
        ragd_buf_puts(&src, "\">\n");
        put_escaped(&src, s->text, false);
        ragd_buf_puts(&src, "\n</source>\n");
    }
    ragd_buf q = RAGD_BUF_INIT;
    put_escaped(&q, query, false);
    *system = ragd_xstrdup(sys_t);
    *user = render(user_t, ragd_buf_str(&src), ragd_buf_str(&q));
    ragd_buf_free(&src);
    ragd_buf_free(&q);
    free(file);
    return RAGD_OK;
}

/* --- stages --------------------------------------------------------------- */

typedef struct {
    const context_result *ctx;
    const char *query;
    const answer_opts *o;
    answer_result *out;
    json_t *steps;
    char *system, *user;
    ragd_generator *gen; /* the generator that answered */
    bool stopped;        /* the token receiver stopped the stream */
} run_state;

/* Streamed tokens go to the caller's callback; a stop is remembered. */
static int relay_token(void *user, const char *t, size_t n)
{
    run_state *rs = user;
    if (rs->o->on_token(rs->o->token_user, t, n)) {
        rs->stopped = true;
        return 1;
    }
    return 0;
}

static void add_step(run_state *rs, const char *stage, json_t *extra)
{
    json_t *s = json_pack("{s:s}", "stage", stage);
    if (extra) {
        json_object_update(s, extra);
        json_decref(extra);
    }
    json_array_append_new(rs->steps, s);
}

/* One completion by g, timed into *ms; a failure is a step, not an error. */
static char *call(run_state *rs, ragd_generator *g, const char *user, const char *stage, double *ms)
{
    ragd_error e;
    ragd_error_clear(&e);
    char *text = NULL;
    double t0 = now_ms();
    int mt = rs->o->max_tokens > 0 ? rs->o->max_tokens : ANSWER_MAX_TOKENS;
    bool stream = rs->o->on_token && !strcmp(stage, "generate");
    ragd_status st =
        stream
            ? generator_stream(g, rs->system, user, mt, relay_token, rs, &text, &rs->out->usage, &e)
            : generator_complete(g, rs->system, user, mt, &text, &rs->out->usage, &e);
    double dt = now_ms() - t0;
    *ms += dt;
    add_step(rs, stage,
             json_pack("{s:s,s:b,s:f,s:s?,s:b}", "model", generator_model(g), "ok", st == RAGD_OK,
                       "ms", dt, "error", st ? e.msg : NULL, "streamed", stream));
    return st ? NULL : text;
}

static json_t *checked(run_state *rs, const char *text, const char *label)
{
    double t0 = now_ms();
    json_t *c = answer_check(text, rs->ctx);
    double dt = now_ms() - t0;
    rs->out->ms_check += dt;
    add_step(rs, "check",
             json_pack("{s:s,s:O,s:O,s:O,s:f}", "of", label, "ok", json_object_get(c, "ok"),
                       "unsupported", json_object_get(c, "unsupported"), "uncited",
                       json_object_get(c, "uncited"), "ms", dt));
    return c;
}

/* The repair request: the first prompt, the answer, each failed sentence and why. */
static char *repair_prompt(run_state *rs, const char *text, const json_t *check)
{
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, rs->user);
    ragd_buf_puts(&b, "\n\nYour previous answer was:\n");
    ragd_buf_puts(&b, text);
    ragd_buf_puts(&b, "\n\nThese sentences failed the citation check:\n");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(check, "sentences"), i, s)
    {
        if (json_is_true(json_object_get(s, "supported"))) continue;
        ragd_buf_printf(&b, "- \"%s\": %s", json_string_value(json_object_get(s, "text")),
                        json_string_value(json_object_get(s, "verdict")));
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(s, "reasons"), k, r)
            ragd_buf_printf(&b, "; %s", json_string_value(r));
        ragd_buf_puts(&b, "\n");
    }
    ragd_buf_printf(&b,
                    "Valid source numbers are 1 to %zu. Rewrite the answer so that every "
                    "sentence is supported by the source it cites; drop what no source "
                    "supports.\nAnswer:",
                    rs->ctx->nsources);
    return ragd_buf_steal(&b);
}

/* The supported and no-claim sentences of check, or NULL when none is a
 * supported claim. */
static char *drop_unsupported(const json_t *check)
{
    if (json_integer_value(json_object_get(check, "supported")) <= 0) return NULL;
    ragd_buf b = RAGD_BUF_INIT;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(check, "sentences"), i, s)
    {
        if (!json_is_true(json_object_get(s, "supported"))) continue;
        if (b.len) ragd_buf_putc(&b, ' ');
        ragd_buf_puts(&b, json_string_value(json_object_get(s, "text")));
    }
    return ragd_buf_steal(&b);
}

/* out->citations from the quotes of the supported sentences of check. */
static void citations_from_check(answer_result *out, const context_result *ctx)
{
    size_t i, k;
    json_t *s, *q;
    json_array_foreach(json_object_get(out->check, "sentences"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "verdict")), "supported")) continue;
        json_array_foreach(json_object_get(s, "quotes"), k, q)
        {
            int n = (int)json_integer_value(json_object_get(q, "n"));
            out->citations =
                realloc(out->citations, (out->ncitations + 1) * sizeof *out->citations);
            if (!out->citations) abort();
            answer_citation *c = &out->citations[out->ncitations++];
            const search_hit *h = ctx->sources[n - 1].hit;
            c->n = n;
            c->chunk_id = h->chunk_id;
            c->doc_id = h->doc_id;
            c->start = (size_t)json_integer_value(json_object_get(q, "start"));
            c->end = (size_t)json_integer_value(json_object_get(q, "end"));
            c->quote = ragd_xstrdup(json_string_value(json_object_get(q, "quote")));
        }
    }
}

/* --- the state machine ------------------------------------------------------ */

/* Replace out's answer with the extractive one; path and why go to check. */
static ragd_status use_extractive(run_state *rs, const char *path, const char *why, ragd_error *err)
{
    answer_result ex;
    int ms = rs->o->max_sentences > 0 ? rs->o->max_sentences : 3;
    ragd_status st = answer_extractive(rs->ctx, rs->query, ms, &ex, err);
    if (st) return st;
    answer_result *out = rs->out;
    free(out->answer);
    json_decref(out->check);
    out->answer = ex.answer;
    out->check = ex.check;
    out->citations = ex.citations;
    out->ncitations = ex.ncitations;
    out->found = ex.found;
    out->generator = "extractive";
    out->path = ex.found ? path : "not_found";
    if (why) add_step(rs, "fallback", json_pack("{s:s,s:s}", "to", "extractive", "why", why));
    return RAGD_OK;
}

const char *answer_route(const context_result *ctx, char *reason, size_t cap)
{
    size_t docs = 0;
    for (size_t i = 0; i < ctx->nsources; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(ctx->sources[j].hit->doc_id, ctx->sources[i].hit->doc_id);
        docs += !seen;
    }
    bool small = docs <= 1 && ctx->tokens <= ANSWER_ROUTE_SMALL_TOKENS;
    snprintf(reason, cap, "%zu source%s from %zu document%s, %zu tokens: %s", ctx->nsources,
             ctx->nsources == 1 ? "" : "s", docs, docs == 1 ? "" : "s", ctx->tokens,
             small      ? "one document within 600 tokens"
             : docs > 1 ? "more than one document"
                        : "more than 600 tokens");
    return small ? "small" : "large";
}

/* The first generator that answers; NULL when all fail. With routing the
 * chosen model goes first. */
static char *first_answer(run_state *rs)
{
    size_t first = 0;
    if (rs->o->route && rs->o->ngenerators == 2) {
        char why[160];
        rs->out->route = answer_route(rs->ctx, why, sizeof why);
        first = strcmp(rs->out->route, "small") ? 1 : 0;
        ragd_buf rb = RAGD_BUF_INIT;
        ragd_buf_printf(&rb, "%s (%s): %s", rs->out->route,
                        generator_model(rs->o->generators[first]), why);
        rs->out->route_reason = ragd_buf_steal(&rb);
        first = strcmp(rs->out->route, "small") ? 1 : 0;
    }
    for (size_t k = 0; k < rs->o->ngenerators; k++) {
        size_t i = (first + k) % rs->o->ngenerators;
        char *t = call(rs, rs->o->generators[i], rs->user, "generate", &rs->out->ms_generate);
        if (rs->stopped) {
            free(t);
            return NULL;
        }
        if (t) {
            rs->gen = rs->o->generators[i];
            return t;
        }
    }
    return NULL;
}

/* Settle on text (owned, moved into out) with its check c. */
static void accept(run_state *rs, char *text, json_t *c, const char *path)
{
    answer_result *out = rs->out;
    free(out->answer);
    json_decref(out->check);
    out->answer = text;
    out->check = c;
    out->found = true;
    out->path = path;
    out->generator = generator_kind(rs->gen);
    free(out->model);
    out->model = ragd_xstrdup(generator_model(rs->gen));
    citations_from_check(out, rs->ctx);
}

static ragd_status run_generated(run_state *rs, ragd_error *err)
{
    char *text = first_answer(rs);
    if (rs->stopped)
        return ragd_error_set(err, RAGD_EIO, "the answer stream was closed by its receiver");
    if (text) rs->out->response = ragd_xstrdup(text);
    if (!text)
        return use_extractive(rs, "extractive_fallback",
                              "every generator failed (after retries and timeouts)", err);
    json_t *c = checked(rs, text, "generated");
    if (json_is_true(json_object_get(c, "ok"))) {
        accept(rs, text, c, "generated");
        return RAGD_OK;
    }
    char *rp = repair_prompt(rs, text, c);
    char *fixed = call(rs, rs->gen, rp, "repair", &rs->out->ms_repair);
    free(rp);
    if (fixed) {
        rs->out->repair_response = ragd_xstrdup(fixed);
        json_t *c2 = checked(rs, fixed, "repaired");
        if (json_is_true(json_object_get(c2, "ok"))) {
            free(text);
            json_decref(c);
            accept(rs, fixed, c2, "repaired");
            return RAGD_OK;
        }
        free(text);
        json_decref(c);
        text = fixed;
        c = c2;
    }
    char *kept = drop_unsupported(c);
    free(text);
    json_decref(c);
    if (kept) {
        json_t *c3 = checked(rs, kept, "dropped");
        if (json_is_true(json_object_get(c3, "ok"))) {
            add_step(rs, "drop", NULL);
            accept(rs, kept, c3, "dropped");
            return RAGD_OK;
        }
        json_decref(c3);
        free(kept);
    }
    return use_extractive(rs, "extractive_fallback",
                          "the answer still failed the check after repair and no supported claim "
                          "remained",
                          err);
}

/* The question's names (MySQL, "Group Replication") that no source
 * mentions: true, with the first copied into buf, when they are at least
 * ANSWER_UNCOVERED_SHARE of the question's content terms (one stray name in
 * a long question does not make it unanswerable). */
static bool uncovered_name(const context_result *ctx, const char *query, char *buf, size_t cap)
{
    ragd_buf all = RAGD_BUF_INIT;
    for (size_t i = 0; i < ctx->nsources; i++) {
        ragd_buf_puts(&all, ctx->sources[i].text);
        ragd_buf_putc(&all, '\n');
        ragd_buf_puts(&all, ctx->sources[i].hit->title ? ctx->sources[i].hit->title : "");
        ragd_buf_putc(&all, '\n');
    }
    size_t n = strlen(query), missing = 0;
    buf[0] = 0;
    for (const char *p = query, *m;
         (m = answer_missing_name(p, n - (size_t)(p - query), ragd_buf_str(&all))) != NULL;) {
        size_t l = 0;
        while (m[l] && (isalnum((unsigned char)m[l]) || m[l] == '-'))
            l++;
        if (!missing++) snprintf(buf, cap, "%.*s", (int)l, m);
        p = m + (l ? l : 1);
        if (p >= query + n) break;
    }
    ragd_buf_free(&all);
    char **terms = NULL;
    size_t nt = lexical_terms(query, &terms);
    lexical_terms_free(terms, nt);
    return missing && (double)missing >= ANSWER_UNCOVERED_SHARE * (double)nt;
}

ragd_status answer_run(const context_result *ctx, const char *query, const answer_opts *o,
                       answer_result *out, ragd_error *err)
{
    static const answer_opts none = {0};
    if (!o) o = &none;
    memset(out, 0, sizeof *out);
    out->generator = "extractive";
    out->template_id = o->template_path ? o->template_path : ANSWER_PROMPT_ID;
    out->template_version = o->template_path ? 0 : ANSWER_PROMPT_VERSION;
    run_state rs = {ctx, query, o, out, json_array(), NULL, NULL, NULL, false};
    ragd_status st = RAGD_OK;
    char name[64];
    if (!ctx->relevant || !ctx->nsources) {
        answer_not_found(out);
        out->path = "not_found";
    } else if (uncovered_name(ctx, query, name, sizeof name)) {
        answer_not_found(out);
        out->path = "not_found";
        json_object_set_new(out->check, "note",
                            json_sprintf("the sources do not mention '%s'; the generator was not "
                                         "called",
                                         name));
    } else {
        out->injection = ragd_xcalloc(ctx->nsources, sizeof *out->injection);
        out->ninjection = ctx->nsources;
        st = answer_prompt(ctx, query, o->template_path, &rs.system, &rs.user, out->injection, err);
        if (!st && !o->ngenerators)
            st = use_extractive(&rs, "extractive", NULL, err);
        else if (!st) {
            ragd_buf pb = RAGD_BUF_INIT;
            ragd_buf_printf(&pb, "system:\n%s\n\nuser:\n%s", rs.system, rs.user);
            out->prompt = ragd_buf_steal(&pb);
            st = run_generated(&rs, err);
        }
    }
    free(rs.system);
    free(rs.user);
    if (st) {
        json_decref(rs.steps);
        answer_result_free(out);
        return st;
    }
    json_object_set_new(out->check, "path", json_string(out->path));
    json_object_set_new(out->check, "steps", rs.steps);
    return RAGD_OK;
}
