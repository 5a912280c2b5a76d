/* cli/cmd_query.c — `ragd search`, `context` and `answer`: build the request
 * object from the flags, open the engine, call ragd_search/_context/_answer
 * (the calls the HTTP routes make), print. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/json.h"
#include "ingest/ingest.h"

/* --- search, context, answer --------------------------------------------------------- */

#define QUERY_EMBEDDER_OPTS                                                                        \
    {"embedder", true, "local | openai | ollama: must match the collection's (it is remembered)"}, \
    {                                                                                              \
        "embedder-model", true, "embedding model: must match the collection's"                     \
    }

const cli_optdef SEARCH_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    QUERY_EMBEDDER_OPTS,
    {"k", true, "number of results (default 10)"},
    SEARCH_TUNING_OPTS,
    RERANK_OPTS,
    {"budget", true, "context token budget (context, answer; default 3000)"},
    {"filter", true, "KEY=VALUE: only documents whose metadata matches (repeatable, all must)"},
    {"stream", false, "answer: print the tokens as they arrive, then the check"},
    {NULL, false, NULL}};

/* Join positional args into the query. */
static char *query_of(cli_args *a)
{
    ragd_buf b = RAGD_BUF_INIT;
    for (size_t i = 0; i < a->npos; i++) {
        if (i) ragd_buf_putc(&b, ' ');
        ragd_buf_puts(&b, a->pos[i]);
    }
    return ragd_buf_steal(&b);
}

/* The reranker configuration from RERANK_OPTS (url NULL: none). Options
 * that need a reranker without --reranker-url are a usage error. */
static ragd_status rerank_config_from_args(const cli_args *a, reranker_config *rc, ragd_error *e)
{
    long timeout = 0, depth = 0;
    if (cli_get_int(a, "reranker-timeout", 1, 3600, &timeout, e) ||
        cli_get_int(a, "rerank-depth", 1, 1000, &depth, e))
        return RAGD_EUSAGE;
    memset(rc, 0, sizeof *rc);
    rc->url = opt_or_env(a, "reranker-url", "RAGD_RERANKER_URL");
    rc->model = opt_or_env(a, "reranker-model", "RAGD_RERANKER_MODEL");
    rc->api_key = getenv("RAGD_PROVIDER_KEY");
    rc->protocol = cli_get(a, "reranker-protocol");
    rc->timeout_s = (double)timeout;
    if (!rc->url && (cli_get(a, "min-rerank") || depth || rc->protocol || timeout ||
                     cli_get(a, "reranker-model")))
        return ragd_error_set(e, RAGD_EUSAGE,
                              "--min-rerank, --rerank-depth and --reranker-* options need "
                              "--reranker-url (or RAGD_RERANKER_URL)");
    return RAGD_OK;
}

/* The request object of search/context/answer (service/ragd.h) from the
 * command line: the same fields a JSON body carries. Fractions are given
 * in percent on the command line. */
static ragd_status query_request(const command *cmd, cli_args *a, json_t **out, ragd_error *e)
{
    *out = NULL;
    long k = 0, budget = 0, depth = 0;
    search_opts so;
    search_opts_init(&so);
    if (cli_get_int(a, "k", 1, 1000, &k, e) || cli_get_int(a, "budget", 50, 200000, &budget, e) ||
        cli_get_int(a, "rerank-depth", 1, 1000, &depth, e) || search_tuning_from_args(a, &so, e))
        return RAGD_EUSAGE;
    size_t nf = 0;
    const char **filters = cli_get_all(a, "filter", &nf);
    if (ingest_kv_parse("--filter", filters, nf, NULL, e)) { /* the KEY=VALUE rules of --meta */
        free(filters);
        return RAGD_EUSAGE;
    }
    json_t *req = json_object();
    char *q = query_of(a);
    json_object_set_new(req, "collection", json_string(coll_name(a)));
    json_object_set_new(req, "query", json_string(q));
    free(q);
    if (!json_object_get(req, "query")) {
        json_decref(req);
        free(filters);
        return ragd_error_set(e, RAGD_EINPUT, "the query is not valid UTF-8");
    }
    if (nf) {
        json_t *f = json_object();
        for (size_t i = 0; i < nf; i++) {
            const char *eq = strchr(filters[i], '=');
            char key[80];
            snprintf(key, sizeof key, "%.*s", (int)(eq - filters[i]), filters[i]);
            json_object_set_new(f, key, json_string(eq + 1));
        }
        json_object_set_new(req, "filter", f);
    }
    /* Only what the user typed is checked against the collection (the
     * environment may name the embedder of another collection). */
    if (cli_get(a, "embedder"))
        json_object_set_new(req, "embedder", json_string(cli_get(a, "embedder")));
    if (cli_get(a, "embedder-model")) {
        json_t *m = json_string(cli_get(a, "embedder-model"));
        if (!m) {
            json_decref(req);
            free(filters);
            return ragd_error_set_field(e, RAGD_EUSAGE, "embedder-model",
                                        "--embedder-model is not UTF-8 text");
        }
        json_object_set_new(req, "embedder_model", m);
    }
    free(filters);
    if (k) json_object_set_new(req, "k", json_integer(k));
    if (budget && strcmp(cmd->name, "search"))
        json_object_set_new(req, "budget", json_integer(budget));
    if (so.mode) json_object_set_new(req, "mode", json_string(so.mode));
    if (so.fusion) json_object_set_new(req, "fusion", json_string(so.fusion));
    if (so.rrf_k > 0) json_object_set_new(req, "rrf_k", json_real(so.rrf_k));
    if (so.w_lexical > 0) json_object_set_new(req, "w_lexical", json_real(so.w_lexical));
    if (so.w_dense > 0) json_object_set_new(req, "w_dense", json_real(so.w_dense));
    if (so.min_evidence >= 0) json_object_set_new(req, "min_evidence", json_real(so.min_evidence));
    if (so.min_support >= 0) json_object_set_new(req, "min_support", json_real(so.min_support));
    if (so.cosine_floor >= 0) json_object_set_new(req, "cosine_floor", json_real(so.cosine_floor));
    if (so.mmr_lambda >= 0) json_object_set_new(req, "mmr", json_real(so.mmr_lambda));
    if (depth) json_object_set_new(req, "rerank_depth", json_integer(depth));
    const char *min = cli_get(a, "min-rerank");
    if (min) {
        char *end;
        double v = strtod(min, &end);
        if (end == min || *end || v != v || v < -1e9 || v > 1e9) {
            json_decref(req);
            return ragd_error_set(e, RAGD_EUSAGE, "--min-rerank must be a number, not '%s'", min);
        }
        json_object_set_new(req, "min_rerank", json_real(v));
    }
    if (cli_flag(a, "stream") && !strcmp(cmd->name, "answer"))
        json_object_set_new(req, "stream", json_true());
    *out = req;
    return RAGD_OK;
}

/* Print an engine error as `ragd: CMD: message` (a missing collection or
 * data directory with the hint to ingest first) and return the exit code. */
static int fail_query(const char *what, const ragd_error *e)
{
    if (e->code == RAGD_ENOTFOUND && (!strcmp(e->field, "collection") || !e->field[0])) {
        if (strstr(e->msg, "ingest something first")) return fail(what, e);
        return fail_msg(e->code, what, "%s; ingest something first (ragd ingest PATH)", e->msg);
    }
    return fail(what, e);
}

/* Engine options from the command line: embedder overrides and the
 * reranker. */
ragd_status engine_opts_from_args(const cli_args *a, bool create, ragd_engine_opts *o,
                                  ragd_error *e)
{
    memset(o, 0, sizeof *o);
    o->slots = 1;
    o->create = create;
    o->store_url = store_url(a);
    if (embed_choice_from_args(a, &o->embed, e)) return RAGD_EUSAGE;
    return rerank_config_from_args(a, &o->rerank, e);
}

/* Engine options for the commands that can answer (answer, serve, mcp):
 * engine_opts_from_args plus the generators and the answer settings
 * (--prompt-template, --log-redact, --no-call-log, --generator-route; an
 * option the command does not define reads as unset). gens is the caller's
 * array that o->generators points at; *models receives a buffer the caller
 * frees (also on failure) after the engine is freed. */
ragd_status engine_opts_for_answers(const cli_args *a, bool create, ragd_engine_opts *o,
                                    generator_config gens[RAGD_MAX_GENERATORS], char **models,
                                    ragd_error *e)
{
    *models = NULL;
    if (engine_opts_from_args(a, create, o, e) ||
        generators_from_args(a, gens, &o->ngenerators, models, e))
        return e->code ? e->code : RAGD_EUSAGE;
    o->generators = gens;
    o->prompt_template = cli_get(a, "prompt-template");
    o->log_redact = cli_flag(a, "log-redact");
    o->no_call_log = cli_flag(a, "no-call-log");
    o->generator_route = cli_get(a, "generator-route") != NULL;
    return RAGD_OK;
}

typedef ragd_status (*query_fn)(ragd_engine *, const json_t *, json_t **, ragd_error *);

/* Parse, open the engine, call fn, return its result: the shared front half
 * of search, context and answer. */
static int run_query(const command *cmd, cli_args *a, query_fn fn, json_t **res)
{
    *res = NULL;
    ragd_error e;
    ragd_error_clear(&e);
    if (!a->npos) {
        return fail_msg(RAGD_EUSAGE, cmd->name, "no QUERY given; usage: ragd %s [options] QUERY",
                        cmd->name);
    }
    json_t *req = NULL;
    ragd_engine_opts eo;
    generator_config gens[RAGD_MAX_GENERATORS];
    char *models = NULL;
    bool answer = !strcmp(cmd->name, "answer");
    if (query_request(cmd, a, &req, &e) ||
        (answer ? engine_opts_for_answers(a, false, &eo, gens, &models, &e)
                : engine_opts_from_args(a, false, &eo, &e))) {
        json_decref(req);
        free(models);
        return fail(cmd->name, &e);
    }
    ragd_engine *eng = NULL;
    ragd_status rc = ragd_engine_open(data_dir(a), &eo, &eng, &e);
    if (!rc) rc = fn(eng, req, res, &e);
    ragd_engine_free(eng);
    json_decref(req);
    free(models);
    return rc ? fail_query(cmd->name, &e) : 0;
}

static void print_snippet(const char *text, size_t max)
{
    size_t n = strlen(text), i = 0, col = 0;
    for (; i < n && i < max; i++) {
        char c = text[i] == '\n' ? ' ' : text[i];
        putchar(c);
        col++;
    }
    /* Finish a UTF-8 sequence we started. */
    while (i < n && ((unsigned char)text[i] & 0xC0) == 0x80)
        putchar(text[i++]);
    if (i < n) fputs("…", stdout);
    putchar('\n');
}

/* A result's heading path, or its title when it has none. */
/* "heading path" (or title), with ", p. 68" / ", pp. 68–69" for paged
 * documents; into buf. */
static const char *place_of(const json_t *r, char *buf, size_t n)
{
    const char *h = ragd_json_str(r, "heading_path");
    const char *place = h[0] ? h : ragd_json_str(r, "title");
    long long p = ragd_json_int(r, "page"), q = ragd_json_int(r, "page_end");
    if (p <= 0)
        snprintf(buf, n, "%s", place);
    else if (q > p)
        snprintf(buf, n, "%s, pp. %lld\xE2\x80\x93%lld", place, p, q);
    else
        snprintf(buf, n, "%s, p. %lld", place, p);
    return buf;
}

int cmd_search(const command *cmd, cli_args *a)
{
    json_t *j;
    int rc = run_query(cmd, a, ragd_search, &j);
    if (rc) return rc;
    if (cli_flag(a, "json")) {
        print_json(j);
    } else if (!json_is_true(json_object_get(j, "relevant"))) {
        printf("no relevant results for: %s\n", ragd_json_str(j, "query"));
    } else {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(j, "results"), i, r)
        {
            char place[1024];
            printf("%2zu. %-32s %7.3f  %s\n    ", i + 1, ragd_json_str(r, "doc_id"),
                   ragd_json_num(r, "score"), place_of(r, place, sizeof place));
            print_snippet(ragd_json_str(r, "text"), 160);
        }
    }
    json_decref(j);
    return 0;
}

int cmd_context(const command *cmd, cli_args *a)
{
    json_t *j;
    int rc = run_query(cmd, a, ragd_context, &j);
    if (rc) return rc;
    if (cli_flag(a, "json"))
        print_json(j);
    else if (!json_is_true(json_object_get(j, "relevant")))
        printf("no relevant sources for: %s\n", ragd_json_str(j, "query"));
    else
        fputs(ragd_json_str(j, "context"), stdout);
    json_decref(j);
    return 0;
}

const cli_optdef ANSWER_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    QUERY_EMBEDDER_OPTS,
    {"k", true, "number of results (default 10)"},
    SEARCH_TUNING_OPTS,
    RERANK_OPTS,
    {"budget", true, "context token budget (default 3000)"},
    {"filter", true, "KEY=VALUE: only documents whose metadata matches (repeatable, all must)"},
    {"stream", false, "print the answer's tokens as they arrive, then the check"},
    {"generator", true,
     "extractive (default) | openai | ollama (env RAGD_GENERATOR; key from RAGD_PROVIDER_KEY)"},
    {"generator-url", true,
     "generation server base URL: http://host:8080/v1 (openai), http://host:11434 (ollama) (env "
     "RAGD_GENERATOR_URL)"},
    {"generator-model", true, "model name, or M1,M2,... tried in order (env RAGD_GENERATOR_MODEL)"},
    {"generator-route", true,
     "small=M1,large=M2: one-document contexts of <= 600 tokens to M1, others to M2"},
    {"generator-timeout", true, "seconds per generation attempt (default 60)"},
    {"generator-cost", true, "cost per 1,000 generation tokens, for usage reports"},
    {"prompt-template", true, "prompt template file overriding the built-in one (docs/answer.md)"},
    {"log-redact", false, "remove e-mail addresses, phone and card numbers from the call log"},
    {"no-call-log", false, "do not write this answer to the call log"},
    {NULL, false, NULL}};

/* The generation providers named on the command line: one configuration
 * per --generator-model name (M1,M2,... tried in order), none for the
 * extractive generator. The model names point into *models_buf (the
 * caller frees it). */
ragd_status generators_from_args(const cli_args *a, generator_config cfg[8], size_t *n,
                                 char **models_buf, ragd_error *e)
{
    *n = 0;
    *models_buf = NULL;
    long timeout;
    double cost;
    if (generator_limits_from_args(a, &timeout, &cost, e)) return RAGD_EUSAGE;
    const char *kind = opt_or_env(a, "generator", "RAGD_GENERATOR");
    if (!kind || !strcmp(kind, "extractive")) return RAGD_OK;
    const char *models = opt_or_env(a, "generator-model", "RAGD_GENERATOR_MODEL");
    const char *route = cli_get(a, "generator-route");
    if (route) {
        /* small=M1,large=M2 (either order) -> cfg[0] small, cfg[1] large */
        if (cli_get(a, "generator-model"))
            return ragd_error_set(e, RAGD_EUSAGE,
                                  "--generator-route names the models; drop --generator-model");
        const char *sm = strstr(route, "small="), *lg = strstr(route, "large=");
        size_t sl = sm ? strcspn(sm + 6, ",") : 0, ll = lg ? strcspn(lg + 6, ",") : 0;
        if (!sm || !lg || !sl || !ll || (sm != route && sm[-1] != ',') ||
            (lg != route && lg[-1] != ',') || strlen(route) != sl + ll + 13)
            return ragd_error_set(e, RAGD_EUSAGE,
                                  "--generator-route must be small=MODEL,large=MODEL, not '%s'",
                                  route);
        ragd_buf mb = RAGD_BUF_INIT;
        ragd_buf_printf(&mb, "%.*s,%.*s", (int)sl, sm + 6, (int)ll, lg + 6);
        models = NULL;
        *models_buf = ragd_buf_steal(&mb);
    } else {
        *models_buf = ragd_xstrdup(models ? models : "");
    }
    generator_config base = {
        .kind = kind,
        .url = opt_or_env(a, "generator-url", "RAGD_GENERATOR_URL"),
        .api_key = getenv("RAGD_PROVIDER_KEY"),
        .timeout_s = (double)timeout,
        .cost_per_1k = cost,
    };
    char *save = NULL;
    for (char *m = strtok_r(*models_buf, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        if (*n == 8)
            return ragd_error_set(e, RAGD_EUSAGE, "--generator-model names at most 8 models");
        cfg[*n] = base;
        cfg[(*n)++].model = m;
    }
    if (!*n) cfg[(*n)++] = base; /* no model: the engine's check names the option */
    return RAGD_OK;
}

static int print_token(void *user, const char *t, size_t n)
{
    (void)user;
    fwrite(t, 1, n, stdout);
    fflush(stdout);
    return ferror(stdout) ? 1 : 0;
}

static int drop_token(void *user, const char *t, size_t n)
{
    (void)user, (void)t, (void)n;
    return 0;
}

static ragd_status answer_streamed(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    return ragd_answer_stream(e, req, print_token, NULL, out, err);
}

/* --stream --json: stream from the model, print only the final object. */
static ragd_status answer_streamed_quiet(ragd_engine *e, const json_t *req, json_t **out,
                                         ragd_error *err)
{
    return ragd_answer_stream(e, req, drop_token, NULL, out, err);
}

int cmd_answer(const command *cmd, cli_args *a)
{
    json_t *j;
    bool stream = cli_flag(a, "stream") && !cli_flag(a, "json");
    query_fn fn = stream                  ? answer_streamed
                  : cli_flag(a, "stream") ? answer_streamed_quiet
                                          : ragd_answer;
    int rc = run_query(cmd, a, fn, &j);
    if (rc) return rc;
    if (cli_flag(a, "json")) {
        print_json(j);
        json_decref(j);
        return 0;
    }
    json_t *st = json_object_get(j, "stream");
    if (!stream)
        printf("%s\n", ragd_json_str(j, "answer"));
    else if (json_is_true(json_object_get(st, "answer_replaced")))
        printf("\n\n(the streamed answer failed the citation check; the final answer, %s:)\n%s\n",
               ragd_json_str(json_object_get(j, "check"), "path"), ragd_json_str(j, "answer"));
    else
        putchar('\n');
    json_t *cites = json_object_get(j, "citations");
    if (json_array_size(cites)) {
        printf("\nSources:\n");
        size_t i, k;
        json_t *s, *c;
        json_array_foreach(json_object_get(j, "sources"), i, s)
        {
            bool cited = false;
            json_array_foreach(cites, k, c) cited |= ragd_json_int(c, "n") == ragd_json_int(s, "n");
            char place[1024];
            if (cited)
                printf("  [%lld] %s — %s\n", ragd_json_int(s, "n"), ragd_json_str(s, "doc_id"),
                       place_of(s, place, sizeof place));
        }
        json_t *check = json_object_get(j, "check");
        printf("citations checked: %s (%s)\n",
               json_is_true(json_object_get(check, "ok")) ? "ok" : "problems found",
               ragd_json_str(check, "path"));
    }
    json_decref(j);
    return 0;
}
