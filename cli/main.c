/* cli/main.c — the `ragd` command: a thin front-end over libragd.
 *
 * Each command parses its options, opens the store and collection, calls
 * one library function, and prints its JSON (--json) or a readable view of
 * the same JSON. Nothing here computes what the library should, so the CLI
 * and the HTTP API give the same answers.
 *
 * Exit codes: 0 ok, 1 bad input (and other failures), 2 usage,
 * 3 provider/network.
 */
#include <jansson.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer/answer.h"
#include "api/server.h"
#include "cli/args.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "ingest/ingest.h"
#include "ingest/summary.h"
#include "retrieve/engine.h"
#include "retrieve/eval.h"
#include "retrieve/retrieve.h"
#include "service/ragd.h"
#include "store/store.h"

#define RAGD_VERSION "0.1.0"

typedef struct command command;
typedef int (*command_fn)(const command *cmd, cli_args *a);

struct command {
    const char *name;
    const char *args;
    const char *summary;
    command_fn run;
    const cli_optdef *opts;
};

#define EMBED_OPTS                                                                                 \
    {"embedder-url", true, "embedding server base URL (env RAGD_EMBEDDER_URL)"},                   \
        {"embedder-fallback", true, "comma-separated fallback URLs serving the same model"},       \
        {"embedder-timeout", true, "seconds per embedding call (default 30)"},                     \
    {                                                                                              \
        "embedder-cost", true, "cost per 1,000 embedding tokens, for usage reports"                \
    }

#define COMMON_OPTS                                                                                \
    {"data", true, "data directory (env RAGD_DATA, default ./ragd-data)"},                         \
        {"collection", true, "collection name (default 'default')"},                               \
        {"json", false, "print one JSON object to stdout"},                                        \
        {"log-format", true, "text | json (structured log lines on stderr)"},                      \
    {                                                                                              \
        "help", false, "show this help"                                                            \
    }

static int fail(const char *what, const ragd_error *e)
{
    fprintf(stderr, "ragd: %s: %s\n", what, e->msg);
    return ragd_status_exit_code(e->code);
}

static void print_json(json_t *j)
{
    ragd_json_print(stdout, j);
}

static const char *data_dir(const cli_args *a)
{
    const char *d = cli_get(a, "data");
    if (d && *d) return d;
    d = getenv("RAGD_DATA");
    return d && *d ? d : "./ragd-data";
}

static const char *coll_name(const cli_args *a)
{
    const char *c = cli_get(a, "collection");
    return c && *c ? c : "default";
}

/* Open the store and the collection; `create` non-NULL creates it if needed. */
static int open_collection(const cli_args *a, const ragd_settings *create, ragd_store **st,
                           ragd_collection *coll)
{
    ragd_error e;
    ragd_error_clear(&e);
    if (store_open(data_dir(a), st, &e)) return fail("cannot open data directory", &e);
    if (store_collection_open(*st, coll_name(a), create, coll, &e)) {
        store_close(*st);
        *st = NULL;
        if (e.code == RAGD_ENOTFOUND) {
            fprintf(stderr, "ragd: %s; ingest something first (ragd ingest PATH)\n", e.msg);
            return 1;
        }
        return fail("collection", &e);
    }
    return 0;
}

/* --- ingest -------------------------------------------------------------------- */

static const cli_optdef INGEST_OPTS[] = {
    COMMON_OPTS,
    {"chunker", true, "fixed (default) | semantic | parent; fixed per collection"},
    {"chunk-tokens", true,
     "window (fixed), maximum (semantic) or child (parent) size in tokens (default 256)"},
    {"overlap", true, "tokens shared by consecutive windows (default chunk-tokens/8)"},
    {"parent-tokens", true, "largest parent section (parent chunker; default 1024)"},
    {"semantic-percentile", true,
     "semantic chunker: cut where the topic distance exceeds this percentile (default 90)"},
    {"format", true,
     "auto | txt | md | html | pdf | jsonl (default auto: by extension, then content)"},
    {"max-bytes", true, "largest file accepted, in bytes (default 16 MiB)"},
    {"no-progress", false, "no progress bar or progress lines"},
    {"workers", true,
     "threads that load, parse, chunk and embed (default: online CPUs, at most 8; 1 = serial)"},
    {"prune", false, "delete documents from these paths whose files are gone"},
    {"meta", true,
     "KEY=VALUE metadata for every document ingested (repeatable; wins over JSONL fields)"},
    {"summarizer", true,
     "extractive (default) | llm (also asks --generator for an abstract per document)"},
    {"generator", true,
     "openai | ollama: the generation provider --summarizer llm asks (env "
     "RAGD_GENERATOR; key from RAGD_PROVIDER_KEY)"},
    {"generator-url", true,
     "generation server base URL: http://host:8080/v1 (openai), http://host:11434 (ollama) (env "
     "RAGD_GENERATOR_URL)"},
    {"generator-model", true, "generation model name (env RAGD_GENERATOR_MODEL)"},
    {"generator-timeout", true, "seconds per generation call (default 60)"},
    {"generator-cost", true, "cost per 1,000 generation tokens, for usage reports"},
    {"embedder", true, "local | openai | ollama (env RAGD_EMBEDDER; default local)"},
    {"embedder-model", true, "embedding model name (env RAGD_EMBEDDER_MODEL)"},
    {"dim", true, "embedding dimension (local: default 384; remote: learned from the server)"},
    {"index", true, "FAISS factory for a new collection: Flat (default), HNSW32, IVF1024,Flat"},
    EMBED_OPTS,
    {NULL, false, NULL}};

static const char *opt_or_env(const cli_args *a, const char *opt, const char *env)
{
    const char *v = cli_get(a, opt);
    if (v && *v) return v;
    v = getenv(env);
    return v && *v ? v : NULL;
}

/* The embedder the user named, from options and the environment. */
static ragd_status embed_choice_from_args(const cli_args *a, embed_choice *c, ragd_error *e)
{
    memset(c, 0, sizeof *c);
    c->kind = opt_or_env(a, "embedder", "RAGD_EMBEDDER");
    c->url = opt_or_env(a, "embedder-url", "RAGD_EMBEDDER_URL");
    c->model = opt_or_env(a, "embedder-model", "RAGD_EMBEDDER_MODEL");
    c->api_key = getenv("RAGD_PROVIDER_KEY");
    c->fallback_url = cli_get(a, "embedder-fallback");
    long dim = 0, timeout = 0;
    if (cli_get_int(a, "dim", 8, 65536, &dim, e) ||
        cli_get_int(a, "embedder-timeout", 1, 3600, &timeout, e))
        return RAGD_EUSAGE;
    c->dim = (int)dim;
    c->timeout_s = (double)timeout;
    const char *cost = cli_get(a, "embedder-cost");
    if (cost) {
        char *end;
        double v = strtod(cost, &end);
        if (end == cost || *end || v < 0 || v > 1e6)
            return ragd_error_set(e, RAGD_EUSAGE, "--embedder-cost must be a number >= 0, not '%s'",
                                  cost);
        c->cost_per_1k = v;
    }
    if (c->kind && strcmp(c->kind, "local") && strcmp(c->kind, "openai") &&
        strcmp(c->kind, "ollama"))
        return ragd_error_set(e, RAGD_EUSAGE, "unknown --embedder '%s' (local, openai, ollama)",
                              c->kind);
    return RAGD_OK;
}

/* --generator-timeout and --generator-cost (0 when absent). */
static ragd_status generator_limits_from_args(const cli_args *a, long *timeout, double *cost,
                                              ragd_error *e)
{
    *timeout = 0;
    *cost = 0;
    if (cli_get_int(a, "generator-timeout", 1, 3600, timeout, e)) return RAGD_EUSAGE;
    const char *cs = cli_get(a, "generator-cost");
    if (cs) {
        char *end;
        *cost = strtod(cs, &end);
        if (end == cs || *end || !(*cost >= 0) || *cost > 1e6)
            return ragd_error_set(e, RAGD_EUSAGE,
                                  "--generator-cost must be a number >= 0, not '%s'", cs);
    }
    return RAGD_OK;
}

/* The generation provider for --summarizer llm: *out is NULL without
 * --summarizer llm, else a new generator the caller frees. Usage errors
 * name the option to add or fix. */
static ragd_status summary_generator_from_args(const cli_args *a, ragd_generator **out,
                                               ragd_error *e)
{
    *out = NULL;
    long timeout;
    double cost;
    if (generator_limits_from_args(a, &timeout, &cost, e)) return RAGD_EUSAGE;
    const char *cs = cli_get(a, "generator-cost");
    if (!summary_is_llm(cli_get(a, "summarizer"))) {
        if (cli_get(a, "generator") || cli_get(a, "generator-url") ||
            cli_get(a, "generator-model") || timeout || cs)
            return ragd_error_set(e, RAGD_EUSAGE,
                                  "ingest uses --generator options only for --summarizer llm; add "
                                  "--summarizer llm or drop them");
        return RAGD_OK;
    }
    generator_config gc = {
        .kind = opt_or_env(a, "generator", "RAGD_GENERATOR"),
        .url = opt_or_env(a, "generator-url", "RAGD_GENERATOR_URL"),
        .model = opt_or_env(a, "generator-model", "RAGD_GENERATOR_MODEL"),
        .api_key = getenv("RAGD_PROVIDER_KEY"),
        .timeout_s = (double)timeout,
        .cost_per_1k = cost,
    };
    if (!gc.kind || !strcmp(gc.kind, "extractive"))
        return ragd_error_set(e, RAGD_EUSAGE,
                              "--summarizer llm needs a generation provider: add --generator "
                              "openai|ollama (or RAGD_GENERATOR) with --generator-url and "
                              "--generator-model%s",
                              gc.kind ? " (the extractive generator is not a language model)" : "");
    return generator_new(&gc, out, e);
}

static int cmd_ingest(const command *cmd, cli_args *a)
{
    (void)cmd;
    ragd_error e;
    ragd_error_clear(&e);
    if (a->npos == 0) {
        fprintf(stderr, "ragd: ingest: no PATH given; usage: ragd ingest [options] PATH...\n");
        return 2;
    }
    ragd_settings s;
    store_settings_init(&s);
    const char *ch = cli_get(a, "chunker");
    if (ch) {
        if (strcmp(ch, "fixed") && strcmp(ch, "semantic") && strcmp(ch, "parent")) {
            fprintf(stderr, "ragd: ingest: unknown --chunker '%s' (fixed, semantic, parent)\n", ch);
            return 2;
        }
        snprintf(s.chunker, sizeof s.chunker, "%s", ch);
    }
    long v = -1;
    if (cli_get_int(a, "chunk-tokens", 16, 8192, &v, &e)) return fail("ingest", &e);
    if (v > 0) s.chunk_tokens = (int)v;
    v = -1;
    if (cli_get_int(a, "overlap", 0, 4096, &v, &e)) return fail("ingest", &e);
    if (v >= 0) s.overlap = (int)v;
    v = -1;
    if (cli_get_int(a, "parent-tokens", 64, 65536, &v, &e)) return fail("ingest", &e);
    if (v > 0) s.parent_tokens = (int)v;
    v = -1;
    if (cli_get_int(a, "semantic-percentile", 1, 99, &v, &e)) return fail("ingest", &e);
    if (v > 0) s.semantic_percentile = (int)v;
    long maxb = 0;
    if (cli_get_int(a, "max-bytes", 1, 1L << 30, &maxb, &e)) return fail("ingest", &e);
    long workers = 0;
    if (cli_get_int(a, "workers", 1, INGEST_MAX_WORKERS, &workers, &e)) return fail("ingest", &e);
    if (workers <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        workers = ncpu < 1 ? 1 : ncpu > 8 ? 8 : ncpu;
    }
    if (s.chunker[0] && s.parent_tokens > 0 && strcmp(s.chunker, "parent") != 0) {
        fprintf(stderr, "ragd: ingest: --parent-tokens applies only to --chunker parent\n");
        return 2;
    }
    if (s.chunker[0] && s.semantic_percentile > 0 && strcmp(s.chunker, "semantic") != 0) {
        fprintf(stderr, "ragd: ingest: --semantic-percentile applies only to --chunker semantic\n");
        return 2;
    }
    if (s.parent_tokens > 0 && s.parent_tokens < (s.chunk_tokens > 0 ? s.chunk_tokens : 256)) {
        fprintf(stderr, "ragd: ingest: --parent-tokens (%d) must be at least --chunk-tokens (%d)\n",
                s.parent_tokens, s.chunk_tokens > 0 ? s.chunk_tokens : 256);
        return 2;
    }
    {
        int ct = s.chunk_tokens > 0 ? s.chunk_tokens : 256;
        if (s.overlap >= ct) {
            fprintf(stderr,
                    "ragd: ingest: --overlap (%d) must be smaller than --chunk-tokens "
                    "(%d)\n",
                    s.overlap, ct);
            return 2;
        }
    }
    const char *idx = cli_get(a, "index");
    if (idx) snprintf(s.index_factory, sizeof s.index_factory, "%s", idx);
    embed_choice choice;
    if (embed_choice_from_args(a, &choice, &e)) return fail("ingest", &e);
    /* Document summaries: checked before anything is opened (exit 2). */
    if (summary_check_summarizer(cli_get(a, "summarizer"), &e)) return fail("ingest", &e);
    /* --- --meta hook (loaders/metadata): repeatable KEY=VALUE, checked before
     * anything is opened (a bad one exits 2), applied by ingest_paths. */
    size_t nmeta = 0;
    const char **meta = cli_get_all(a, "meta", &nmeta);
    if (ingest_meta_parse(meta, nmeta, NULL, &e)) {
        free(meta);
        return fail("ingest", &e);
    }
    /* --- end of the --meta hook */
    ragd_generator *gen = NULL;
    if (summary_generator_from_args(a, &gen, &e)) {
        free(meta);
        return fail("ingest", &e);
    }
    engine eng;
    if (engine_open_ingest(data_dir(a), coll_name(a), &s, &choice, &eng, &e)) {
        free(meta);
        generator_free(gen);
        return fail("ingest", &e);
    }
    ragd_store *st = eng.st;
    ragd_collection coll = eng.coll;
    ingest_opts o = {
        .embedder = eng.embedder,
        .format = cli_get(a, "format"),
        .max_bytes = (size_t)maxb,
        .progress = !cli_flag(a, "no-progress") && !cli_flag(a, "json"),
        .progress_tty = isatty(STDERR_FILENO) != 0,
        .prune = cli_flag(a, "prune"),
        .meta = meta,
        .nmeta = nmeta,
        .summarizer = cli_get(a, "summarizer"),
        .generator = gen,
        .workers = (int)workers,
    };
    json_t *report = NULL;
    ragd_status st_rc = ingest_paths(st, &coll, a->pos, a->npos, &o, &report, &e);
    free(meta);
    if (report) {
        if (cli_flag(a, "json")) {
            print_json(report);
        } else {
            printf("ingested into '%s': %lld added, %lld updated, %lld unchanged, %lld skipped, "
                   "%lld failed; %lld chunks, %.1f KB in %.2fs\n",
                   coll.name, ragd_json_int(report, "added"), ragd_json_int(report, "updated"),
                   ragd_json_int(report, "unchanged"), ragd_json_int(report, "skipped"),
                   ragd_json_int(report, "failed"), ragd_json_int(report, "chunks"),
                   ragd_json_int(report, "bytes") / 1024.0, ragd_json_num(report, "seconds"));
            json_t *g = json_object_get(report, "generator");
            if (g)
                printf(
                    "LLM summaries (%s): %lld calls, %lld documents kept the extractive summary, "
                    "%lld tokens\n",
                    json_string_value(json_object_get(g, "model")), ragd_json_int(g, "calls"),
                    ragd_json_int(g, "failures"), ragd_json_int(g, "tokens"));
        }
        json_decref(report);
    }
    generator_free(gen);
    engine_close(&eng);
    if (st_rc) return fail("ingest", &e);
    return 0;
}

/* --- docs, show, chunks, rm -------------------------------------------------------- */

static const cli_optdef BASIC_OPTS[] = {COMMON_OPTS, {NULL, false, NULL}};

static int cmd_docs(const command *cmd, cli_args *a)
{
    (void)cmd;
    ragd_store *st;
    ragd_collection coll;
    int rc = open_collection(a, NULL, &st, &coll);
    if (rc) return rc;
    ragd_error e;
    json_t *j = NULL;
    if (store_docs_json(st, coll.id, &j, &e)) {
        store_close(st);
        return fail("docs", &e);
    }
    if (cli_flag(a, "json")) {
        print_json(j);
    } else {
        json_t *docs = json_object_get(j, "documents");
        printf("%-40s %7s %9s  %s\n", "ID", "CHUNKS", "BYTES", "TITLE");
        size_t i;
        json_t *d;
        json_array_foreach(docs, i, d)
        {
            printf("%-40s %7lld %9lld  %s\n", ragd_json_str(d, "id"), ragd_json_int(d, "chunks"),
                   ragd_json_int(d, "bytes"), ragd_json_str(d, "title"));
        }
        printf("%zu documents\n", json_array_size(docs));
    }
    json_decref(j);
    store_close(st);
    return 0;
}

static int need_one_arg(const command *cmd, cli_args *a)
{
    if (a->npos != 1) {
        fprintf(stderr, "ragd: %s: expected exactly one %s; usage: ragd %s %s\n", cmd->name,
                cmd->args, cmd->name, cmd->args);
        return 2;
    }
    return 0;
}

static int cmd_show(const command *cmd, cli_args *a)
{
    int rc = need_one_arg(cmd, a);
    if (rc) return rc;
    ragd_store *st;
    ragd_collection coll;
    if ((rc = open_collection(a, NULL, &st, &coll))) return rc;
    ragd_error e;
    json_t *j = NULL;
    if (store_doc_json(st, coll.id, a->pos[0], &j, &e)) {
        store_close(st);
        return fail("show", &e);
    }
    if (cli_flag(a, "json")) {
        print_json(j);
    } else {
        printf("id:     %s\nsource: %s\ntitle:  %s\nformat: %s\nbytes:  %lld\ntokens: %lld\n\n%s\n",
               ragd_json_str(j, "id"), ragd_json_str(j, "source"), ragd_json_str(j, "title"),
               ragd_json_str(j, "format"), ragd_json_int(j, "bytes"), ragd_json_int(j, "tokens"),
               ragd_json_str(j, "text"));
    }
    json_decref(j);
    store_close(st);
    return 0;
}

static int cmd_chunks(const command *cmd, cli_args *a)
{
    int rc = need_one_arg(cmd, a);
    if (rc) return rc;
    ragd_store *st;
    ragd_collection coll;
    if ((rc = open_collection(a, NULL, &st, &coll))) return rc;
    ragd_error e;
    json_t *j = NULL;
    if (store_chunks_json(st, coll.id, a->pos[0], &j, &e)) {
        store_close(st);
        return fail("chunks", &e);
    }
    if (cli_flag(a, "json")) {
        print_json(j);
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(j, "chunks"), i, c)
        {
            bool sum = !strcmp(ragd_json_str(c, "kind"), STORE_KIND_SUMMARY);
            printf("--- chunk %lld  ord %lld  %s %lld..%lld  %lld tokens  [%s]\n%s\n",
                   ragd_json_int(c, "id"), ragd_json_int(c, "ord"),
                   sum ? "summary entry, covers bytes" : "bytes", ragd_json_int(c, "start"),
                   ragd_json_int(c, "end"), ragd_json_int(c, "tokens"),
                   ragd_json_str(c, "heading_path"), ragd_json_str(c, "text"));
        }
    }
    json_decref(j);
    store_close(st);
    return 0;
}

static int cmd_rm(const command *cmd, cli_args *a)
{
    int rc = need_one_arg(cmd, a);
    if (rc) return rc;
    ragd_store *st;
    ragd_collection coll;
    if ((rc = open_collection(a, NULL, &st, &coll))) return rc;
    ragd_error e;
    if (store_doc_delete(st, coll.id, a->pos[0], &e)) {
        store_close(st);
        return fail("rm", &e);
    }
    if (cli_flag(a, "json")) {
        json_t *j = json_pack("{s:s,s:b}", "id", a->pos[0], "deleted", 1);
        print_json(j);
        json_decref(j);
    } else {
        printf("deleted %s\n", a->pos[0]);
    }
    store_close(st);
    return 0;
}

/* Options that tune the search pipeline, shared by search/context/answer and
 * eval so calibration runs and user queries take the same settings. */
#define SEARCH_TUNING_OPTS                                                                         \
    {"mode", true, "hybrid (default) | dense | lexical"},                                          \
        {"fusion", true, "score (default) | rrf"},                                                 \
        {"rrf-k", true, "reciprocal rank fusion constant (default 60)"},                           \
        {"w-lexical", true, "hybrid fusion weight of lexical results, in percent (default 100)"},  \
        {"w-dense", true, "hybrid fusion weight of dense results, in percent (default 30)"},       \
        {"min-evidence", true,                                                                     \
         "validation gate: evidence some top result needs, percent (default 70; lexical 50)"},     \
        {"min-support", true, "validation: evidence every result needs, percent (default 20)"},    \
        {"cosine-floor", true,                                                                     \
         "validation: cosine below which dense similarity is no evidence, percent (default 15)"},  \
    {                                                                                              \
        "mmr", true,                                                                               \
            "diversity: MMR lambda in percent, 100 = relevance only (default: search 100, "        \
            "context 80)"                                                                          \
    }

/* The optional rerank provider (provider/rerank.h), for search/context/answer
 * and eval. */
#define RERANK_OPTS                                                                                \
    {"reranker-url", true,                                                                         \
     "rerank server base URL; POST URL/rerank (env RAGD_RERANKER_URL; default: no rerank)"},       \
        {"reranker-model", true,                                                                   \
         "rerank model (env RAGD_RERANKER_MODEL; required by Cohere and Jina, none for TEI)"},     \
        {"reranker-protocol", true,                                                                \
         "tei | cohere request shape (default: cohere with a model, tei without)"},                \
        {"reranker-timeout", true, "seconds per rerank call (default 10)"},                        \
        {"rerank-depth", true, "best fused candidates sent to the reranker (default 50)"},         \
    {                                                                                              \
        "min-rerank", true,                                                                        \
            "drop results whose rerank score is below this number (server scale; default none)"    \
    }

/* Read RERANK_OPTS: *out is NULL when no reranker URL is given, else a new
 * reranker the caller frees; so gets it with its depth and threshold. */
static ragd_status reranker_from_args(const cli_args *a, search_opts *so, ragd_reranker **out,
                                      ragd_error *e)
{
    *out = NULL;
    long timeout = 0, depth = 0;
    if (cli_get_int(a, "reranker-timeout", 1, 3600, &timeout, e) ||
        cli_get_int(a, "rerank-depth", 1, 1000, &depth, e))
        return RAGD_EUSAGE;
    const char *min = cli_get(a, "min-rerank");
    if (min) {
        char *end;
        double v = strtod(min, &end);
        if (end == min || *end || v != v || v < -1e9 || v > 1e9)
            return ragd_error_set(e, RAGD_EUSAGE, "--min-rerank must be a number, not '%s'", min);
        so->min_rerank = v;
        so->min_rerank_set = true;
    }
    so->rerank_depth = (size_t)depth;
    reranker_config rc = {
        .url = opt_or_env(a, "reranker-url", "RAGD_RERANKER_URL"),
        .model = opt_or_env(a, "reranker-model", "RAGD_RERANKER_MODEL"),
        .api_key = getenv("RAGD_PROVIDER_KEY"),
        .protocol = cli_get(a, "reranker-protocol"),
        .timeout_s = (double)timeout,
    };
    if (!rc.url) {
        if (min || depth || rc.protocol || timeout || cli_get(a, "reranker-model"))
            return ragd_error_set(e, RAGD_EUSAGE,
                                  "--min-rerank, --rerank-depth and --reranker-* options need "
                                  "--reranker-url (or RAGD_RERANKER_URL)");
        return RAGD_OK;
    }
    ragd_status st = reranker_new(&rc, out, e);
    so->reranker = *out;
    return st;
}

/* Read SEARCH_TUNING_OPTS into so (mode, fusion, weights, thresholds).
 * Returns RAGD_EUSAGE with a message for a bad value. */
static ragd_status search_tuning_from_args(const cli_args *a, search_opts *so, ragd_error *e)
{
    long rrf_k = 0, wl = 0, wd = 0, minev = -1, minsup = -1, floor = -1, mmr = -1;
    if (cli_get_int(a, "rrf-k", 1, 100000, &rrf_k, e) ||
        cli_get_int(a, "w-lexical", 1, 10000, &wl, e) ||
        cli_get_int(a, "w-dense", 1, 10000, &wd, e) ||
        cli_get_int(a, "min-evidence", 0, 1000, &minev, e) ||
        cli_get_int(a, "min-support", 0, 1000, &minsup, e) ||
        cli_get_int(a, "cosine-floor", 0, 100, &floor, e) || cli_get_int(a, "mmr", 0, 100, &mmr, e))
        return RAGD_EUSAGE;
    const char *mode = cli_get(a, "mode"), *fusion = cli_get(a, "fusion");
    if (mode && strcmp(mode, "lexical") && strcmp(mode, "dense") && strcmp(mode, "hybrid"))
        return ragd_error_set(e, RAGD_EUSAGE, "unknown --mode '%s' (hybrid, dense, lexical)", mode);
    if (fusion && strcmp(fusion, "score") && strcmp(fusion, "rrf"))
        return ragd_error_set(e, RAGD_EUSAGE, "unknown --fusion '%s' (score, rrf)", fusion);
    so->mode = mode;
    so->fusion = fusion;
    so->rrf_k = (double)rrf_k;
    so->w_lexical = wl / 100.0;
    so->w_dense = wd / 100.0;
    so->min_evidence = minev >= 0 ? minev / 100.0 : -1;
    so->min_support = minsup >= 0 ? minsup / 100.0 : -1;
    so->cosine_floor = floor >= 0 ? floor / 100.0 : -1;
    so->mmr_lambda = mmr >= 0 ? mmr / 100.0 : -1;
    return RAGD_OK;
}

/* --- search, context, answer --------------------------------------------------------- */

static const cli_optdef SEARCH_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    {"k", true, "number of results (default 10)"},
    SEARCH_TUNING_OPTS,
    RERANK_OPTS,
    {"budget", true, "context token budget (context, answer; default 3000)"},
    {"filter", true, "KEY=VALUE: only documents whose metadata matches (repeatable, all must)"},
    {"stream", false, "stream the answer (answer; printed whole for the extractive generator)"},
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
    if (ingest_meta_parse(filters, nf, NULL, e)) { /* same KEY=VALUE rules as --meta */
        free(filters);
        ragd_error_prefix(e, "--filter");
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
        if (strstr(e->msg, "ingest something first"))
            fprintf(stderr, "ragd: %s: %s\n", what, e->msg);
        else
            fprintf(stderr, "ragd: %s: %s; ingest something first (ragd ingest PATH)\n", what,
                    e->msg);
        return 1;
    }
    return fail(what, e);
}

/* Engine options from the command line: embedder overrides and the
 * reranker. */
static ragd_status engine_opts_from_args(const cli_args *a, bool create, ragd_engine_opts *o,
                                         ragd_error *e)
{
    memset(o, 0, sizeof *o);
    o->slots = 1;
    o->create = create;
    if (embed_choice_from_args(a, &o->embed, e)) return RAGD_EUSAGE;
    return rerank_config_from_args(a, &o->rerank, e);
}

static ragd_status generators_from_args(const cli_args *a, generator_config cfg[8], size_t *n,
                                        char **models_buf, ragd_error *e);

typedef ragd_status (*query_fn)(ragd_engine *, const json_t *, json_t **, ragd_error *);

/* Parse, open the engine, call fn, return its result: the shared front half
 * of search, context and answer. */
static int run_query(const command *cmd, cli_args *a, query_fn fn, json_t **res)
{
    *res = NULL;
    ragd_error e;
    ragd_error_clear(&e);
    if (!a->npos) {
        fprintf(stderr, "ragd: %s: no QUERY given; usage: ragd %s [options] QUERY\n", cmd->name,
                cmd->name);
        return 2;
    }
    json_t *req = NULL;
    ragd_engine_opts eo;
    generator_config gens[RAGD_MAX_GENERATORS];
    char *models = NULL;
    if (query_request(cmd, a, &req, &e) || engine_opts_from_args(a, false, &eo, &e) ||
        (!strcmp(cmd->name, "answer") &&
         generators_from_args(a, gens, &eo.ngenerators, &models, &e))) {
        json_decref(req);
        free(models);
        return fail(cmd->name, &e);
    }
    eo.generators = gens;
    eo.prompt_template = cli_get(a, "prompt-template");
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
static const char *place_of(const json_t *r)
{
    const char *h = ragd_json_str(r, "heading_path");
    return h[0] ? h : ragd_json_str(r, "title");
}

static int cmd_search(const command *cmd, cli_args *a)
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
            printf("%2zu. %-32s %7.3f  %s\n    ", i + 1, ragd_json_str(r, "doc_id"),
                   ragd_json_num(r, "score"), place_of(r));
            print_snippet(ragd_json_str(r, "text"), 160);
        }
    }
    json_decref(j);
    return 0;
}

static int cmd_context(const command *cmd, cli_args *a)
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

static const cli_optdef ANSWER_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    {"k", true, "number of results (default 10)"},
    SEARCH_TUNING_OPTS,
    RERANK_OPTS,
    {"budget", true, "context token budget (default 3000)"},
    {"filter", true, "KEY=VALUE: only documents whose metadata matches (repeatable, all must)"},
    {"stream", false, "stream the answer (printed whole for now)"},
    {"generator", true,
     "extractive (default) | openai | ollama (env RAGD_GENERATOR; key from RAGD_PROVIDER_KEY)"},
    {"generator-url", true,
     "generation server base URL: http://host:8080/v1 (openai), http://host:11434 (ollama) (env "
     "RAGD_GENERATOR_URL)"},
    {"generator-model", true, "model name, or M1,M2,... tried in order (env RAGD_GENERATOR_MODEL)"},
    {"generator-timeout", true, "seconds per generation attempt (default 60)"},
    {"generator-cost", true, "cost per 1,000 generation tokens, for usage reports"},
    {"prompt-template", true, "prompt template file overriding the built-in one (docs/answer.md)"},
    {NULL, false, NULL}};

/* The generation providers named on the command line: one configuration
 * per --generator-model name (M1,M2,... tried in order), none for the
 * extractive generator. The model names point into *models_buf (the
 * caller frees it). */
static ragd_status generators_from_args(const cli_args *a, generator_config cfg[8], size_t *n,
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
    *models_buf = ragd_xstrdup(models ? models : "");
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

static int cmd_answer(const command *cmd, cli_args *a)
{
    json_t *j;
    int rc = run_query(cmd, a, ragd_answer, &j);
    if (rc) return rc;
    if (cli_flag(a, "json")) {
        print_json(j);
        json_decref(j);
        return 0;
    }
    printf("%s\n", ragd_json_str(j, "answer"));
    json_t *cites = json_object_get(j, "citations");
    if (json_array_size(cites)) {
        printf("\nSources:\n");
        size_t i, k;
        json_t *s, *c;
        json_array_foreach(json_object_get(j, "sources"), i, s)
        {
            bool cited = false;
            json_array_foreach(cites, k, c) cited |= ragd_json_int(c, "n") == ragd_json_int(s, "n");
            if (cited)
                printf("  [%lld] %s — %s\n", ragd_json_int(s, "n"), ragd_json_str(s, "doc_id"),
                       place_of(s));
        }
        json_t *check = json_object_get(j, "check");
        printf("citations checked: %s (%s)\n",
               json_is_true(json_object_get(check, "ok")) ? "ok" : "problems found",
               ragd_json_str(check, "path"));
    }
    json_decref(j);
    return 0;
}

/* --- eval --------------------------------------------------------------------------- */

static const cli_optdef EVAL_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    {"beir", true, "BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)"},
    {"split", true, "qrels split (default test)"},
    {"k", true, "ranking depth for recall (default 100)"},
    {"per-query", true, "write one JSON line per query to this file"},
    {"subset", true, "all (default) | dev | holdout: a fixed 1/3 / 2/3 split of the queries"},
    {"offtopic", true, "jsonl of questions the corpus cannot answer: report the share rejected"},
    {"citations", true, "jsonl of labelled citation cases: the checker's precision/recall"},
    {"max-queries", true, "evaluate only the first N judged queries"},
    SEARCH_TUNING_OPTS,
    RERANK_OPTS,
    {"embedder", true, "embedder for a new eval collection (default local)"},
    {"embedder-model", true, "embedding model name"},
    {"chunk-tokens", true, "chunk size for a new eval collection"},
    {NULL, false, NULL}};

/* ragd eval --citations FILE (answer_eval_citations). */
static int eval_citations(cli_args *a)
{
    ragd_error e;
    json_t *r = NULL;
    if (answer_eval_citations(cli_get(a, "citations"), &r, &e)) return fail("eval", &e);
    if (cli_flag(a, "json")) {
        print_json(r);
    } else {
        printf("citation checker on %s: %lld cases, \"unsupported\" precision %.3f recall %.3f "
               "(tp %lld fp %lld fn %lld tn %lld)\n",
               cli_get(a, "citations"), ragd_json_int(r, "cases"), ragd_json_num(r, "precision"),
               ragd_json_num(r, "recall"), ragd_json_int(r, "tp"), ragd_json_int(r, "fp"),
               ragd_json_int(r, "fn"), ragd_json_int(r, "tn"));
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(r, "kinds"), k, v)
            printf("  %-22s %3lld cases, %3lld flagged unsupported\n", k, ragd_json_int(v, "cases"),
                   ragd_json_int(v, "flagged"));
    }
    json_decref(r);
    return 0;
}

static int cmd_eval(const command *cmd, cli_args *a)
{
    (void)cmd;
    ragd_error e;
    ragd_error_clear(&e);
    if (cli_get(a, "citations")) return eval_citations(a);
    const char *dir = cli_get(a, "beir");
    if (!dir) {
        fprintf(stderr, "ragd: eval: --beir DIR is required\n");
        return 2;
    }
    long k = 100, maxq = 0, ct = 0;
    search_opts tuning;
    search_opts_init(&tuning);
    if (cli_get_int(a, "k", 1, 1000, &k, &e) ||
        cli_get_int(a, "max-queries", 1, 10000000, &maxq, &e) ||
        cli_get_int(a, "chunk-tokens", 16, 8192, &ct, &e) ||
        search_tuning_from_args(a, &tuning, &e))
        return fail("eval", &e);
    const char *mode = tuning.mode;
    ragd_reranker *reranker = NULL;
    if (reranker_from_args(a, &tuning, &reranker, &e)) return fail("eval", &e);
    /* Check the dataset before creating anything. */
    const char *split = cli_get(a, "split") ? cli_get(a, "split") : "test";
    const char *need[] = {"corpus.jsonl", "queries.jsonl", NULL};
    for (int i = 0; need[i]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, need[i]);
        if (access(p, R_OK) != 0) {
            fprintf(stderr,
                    "ragd: eval: %s: missing or unreadable; --beir needs a BEIR dataset "
                    "directory (corpus.jsonl, queries.jsonl, qrels/%s.tsv)\n",
                    p, split);
            reranker_free(reranker);
            return 1;
        }
    }
    {
        char p[4096];
        snprintf(p, sizeof p, "%s/qrels/%s.tsv", dir, split);
        if (access(p, R_OK) != 0) {
            fprintf(stderr, "ragd: eval: %s: missing or unreadable (is --split right?)\n", p);
            reranker_free(reranker);
            return 1;
        }
    }
    /* The collection: --collection, else "beir-<dataset dir name>". */
    char name[80];
    const char *cn = cli_get(a, "collection");
    if (cn) {
        snprintf(name, sizeof name, "%s", cn);
    } else {
        size_t len = strlen(dir);
        while (len > 1 && dir[len - 1] == '/')
            len--;
        size_t b = len;
        while (b > 0 && dir[b - 1] != '/')
            b--;
        snprintf(name, sizeof name, "beir-%.*s", (int)(len - b > 60 ? 60 : len - b), dir + b);
        for (char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                *p = '_';
    }
    embed_choice choice;
    if (embed_choice_from_args(a, &choice, &e)) {
        reranker_free(reranker);
        return fail("eval", &e);
    }
    ragd_settings s;
    store_settings_init(&s);
    if (ct) s.chunk_tokens = (int)ct;
    engine eng;
    if (engine_open_ingest(data_dir(a), name, &s, &choice, &eng, &e)) {
        reranker_free(reranker);
        return fail("eval", &e);
    }
    /* Ingest (a no-op for documents already there unchanged). */
    char corpus[4096];
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", dir);
    char *paths[1] = {corpus};
    ingest_opts io = {.format = "jsonl",
                      .progress = !cli_flag(a, "json"),
                      .progress_tty = isatty(STDERR_FILENO) != 0,
                      .embedder = eng.embedder};
    json_t *rep = NULL;
    ragd_status rc = ingest_paths(eng.st, &eng.coll, paths, 1, &io, &rep, &e);
    json_decref(rep);
    if (rc) {
        engine_close(&eng);
        reranker_free(reranker);
        return fail("eval: ingest", &e);
    }
    bool dense = !mode || strcmp(mode, "lexical") != 0;
    if (dense && vindex_open(eng.st, &eng.coll, &eng.vindex, NULL, &e)) {
        engine_close(&eng);
        reranker_free(reranker);
        return fail("eval", &e);
    }
    eval_opts eo = {.split = cli_get(a, "split"),
                    .k = (size_t)k,
                    .per_query = cli_get(a, "per-query"),
                    .max_queries = (size_t)maxq};
    eo.search = tuning;
    eo.subset = cli_get(a, "subset");
    eo.offtopic = cli_get(a, "offtopic");
    if (dense) {
        eo.search.embedder = eng.embedder;
        eo.search.vindex = eng.vindex;
    }
    json_t *res = NULL;
    rc = eval_beir(eng.st, &eng.coll, dir, &eo, &res, &e);
    engine_close(&eng);
    reranker_free(reranker);
    if (rc) return fail("eval", &e);
    if (cli_flag(a, "json")) {
        print_json(res);
    } else {
        char rk[32];
        snprintf(rk, sizeof rk, "recall@%ld", k);
        printf(
            "%s (%s split, %lld queries, mode %s)\n  nDCG@10    %.4f\n  %-10s %.4f\n  MRR@10     "
            "%.4f\n  latency    p50 %.2f ms, p99 %.2f ms\n  relevant doc survives validation: "
            "%.1f%%\n",
            dir, ragd_json_str(res, "split"), ragd_json_int(res, "queries"),
            ragd_json_str(res, "mode"), ragd_json_num(res, "ndcg@10"), rk, ragd_json_num(res, rk),
            ragd_json_num(res, "mrr@10"), ragd_json_num(res, "p50_ms"),
            ragd_json_num(res, "p99_ms"),
            100 * json_real_value(
                      json_object_get(json_object_get(res, "validation"), "relevant_survive")));
    }
    json_t *rrep = json_object_get(res, "rerank");
    if (rrep && !cli_flag(a, "json"))
        printf("  reranked queries: %lld, rerank failed: %lld%s%s\n",
               ragd_json_int(rrep, "queries_reranked"), ragd_json_int(rrep, "queries_failed"),
               ragd_json_int(rrep, "queries_failed") ? " — last error: " : "",
               ragd_json_int(rrep, "queries_failed") ? ragd_json_str(rrep, "last_error") : "");
    json_t *off = json_object_get(res, "offtopic");
    if (off && !cli_flag(a, "json"))
        printf("  off-topic questions rejected: %lld of %lld (%.1f%%)\n",
               ragd_json_int(off, "rejected"), ragd_json_int(off, "queries"),
               100 * ragd_json_num(off, "share"));
    json_decref(res);
    return 0;
}

/* --- reindex ------------------------------------------------------------------------ */

static const cli_optdef REINDEX_OPTS[] = {
    COMMON_OPTS,
    {"index", true, "FAISS factory to rebuild with (default: the collection's current one)"},
    {NULL, false, NULL}};

static int cmd_reindex(const command *cmd, cli_args *a)
{
    (void)cmd;
    ragd_store *st;
    ragd_collection coll;
    int rc = open_collection(a, NULL, &st, &coll);
    if (rc) return rc;
    ragd_error e;
    ragd_error_clear(&e);
    const char *factory = cli_get(a, "index");
    char f[64];
    if (factory) vindex_factory_normalize(factory, f);
    ragd_vindex *vi = NULL;
    if (vindex_rebuild(st, &coll, factory ? f : NULL, &vi, &e)) {
        store_close(st);
        return fail("reindex", &e);
    }
    if (factory && store_collection_set_factory(st, coll.id, f, &e)) {
        vindex_free(vi);
        store_close(st);
        return fail("reindex", &e);
    }
    if (cli_flag(a, "json")) {
        json_t *j = json_pack("{s:s,s:s,s:I,s:s}", "collection", coll.name, "index",
                              factory ? f : coll.settings.index_factory, "vectors",
                              (json_int_t)vindex_count(vi), "path", vindex_path(vi));
        print_json(j);
        json_decref(j);
    } else {
        printf("rebuilt the vector index of '%s': %lld vectors, %s, %s\n", coll.name,
               (long long)vindex_count(vi), factory ? f : coll.settings.index_factory,
               vindex_path(vi));
    }
    vindex_free(vi);
    store_close(st);
    return 0;
}

/* --- serve ------------------------------------------------------------------------- */

static const cli_optdef SERVE_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    {"embedder", true, "embedder kind for collections created over HTTP (default local)"},
    {"embedder-model", true, "embedding model for collections created over HTTP"},
    RERANK_OPTS,
    {"listen", true, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 = any free port)"},
    {"threads", true, "worker threads (default: online CPUs)"},
    {"max-body", true, "largest request body in bytes (default 33554432 = 32 MiB)"},
    {"max-connections", true, "open connections at once (default 256)"},
    {"timeout", true, "seconds an idle connection is kept (default 30)"},
    {"drain", true, "seconds to let requests finish on SIGTERM/SIGINT (default 10)"},
    {"cors-origin", true, "allow this browser origin (default: no CORS headers)"},
    {"insecure-no-auth", false, "allow listening on a non-loopback address without API keys"},
    {"ready-file", true, "write HOST:PORT to this file once listening"},
    {"generator", true, "extractive (default) | openai | ollama: answers' generation provider"},
    {"generator-url", true, "generation server base URL (env RAGD_GENERATOR_URL)"},
    {"generator-model", true, "model name, or M1,M2,... tried in order (env RAGD_GENERATOR_MODEL)"},
    {"generator-timeout", true, "seconds per generation attempt (default 60)"},
    {"generator-cost", true, "cost per 1,000 generation tokens, for usage reports"},
    {"prompt-template", true, "prompt template file overriding the built-in one"},
    {"rate-limit", true,
     "requests per second per API key (or client address) (default 50; 0 = off)"},
    {"rate-burst", true,
     "requests a client may send at once before the rate applies (default 2 x rate)"},
    {NULL, false, NULL}};

static int cmd_serve(const command *cmd, cli_args *a)
{
    ragd_error e;
    ragd_error_clear(&e);
    if (a->npos) {
        fprintf(stderr, "ragd: serve: unexpected argument '%s'\n", a->pos[0]);
        return 2;
    }
    api_server_opts so = {0};
    char host[64] = "127.0.0.1";
    so.port = 8080;
    const char *listen = cli_get(a, "listen");
    if (listen) {
        const char *colon = strrchr(listen, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host || !end || *end ||
            end == colon + 1 || port < 0 || port > 65535) {
            fprintf(stderr,
                    "ragd: serve: --listen must be HOST:PORT (e.g. 127.0.0.1:8080), not '%s'\n",
                    listen);
            return 2;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        so.port = (int)port;
    }
    so.host = host;
    long threads = 0, maxb = 0, maxc = 0, timeout = 0, drain = 0;
    if (cli_get_int(a, "threads", 1, 256, &threads, &e) ||
        cli_get_int(a, "max-body", 1024, 1L << 30, &maxb, &e) ||
        cli_get_int(a, "max-connections", 1, 100000, &maxc, &e) ||
        cli_get_int(a, "timeout", 1, 3600, &timeout, &e) ||
        cli_get_int(a, "drain", 1, 3600, &drain, &e))
        return fail(cmd->name, &e);
    so.threads = (int)threads;
    so.max_body = (size_t)maxb;
    so.max_connections = (int)maxc;
    so.timeout_s = (int)timeout;
    so.drain_s = (double)drain;
    so.cors_origin = cli_get(a, "cors-origin");
    so.insecure_no_auth = cli_flag(a, "insecure-no-auth");
    so.ready_file = cli_get(a, "ready-file");
    long rate = 50, burst = 0;
    if (cli_get_int(a, "rate-limit", 0, 1000000, &rate, &e) ||
        cli_get_int(a, "rate-burst", 1, 10000000, &burst, &e))
        return fail(cmd->name, &e);
    so.rate_limit = (double)rate;
    so.rate_burst = (double)burst;
    ragd_engine_opts eo;
    generator_config gens[RAGD_MAX_GENERATORS];
    char *models = NULL;
    if (engine_opts_from_args(a, true, &eo, &e) ||
        generators_from_args(a, gens, &eo.ngenerators, &models, &e)) {
        free(models);
        return fail(cmd->name, &e);
    }
    eo.generators = gens;
    eo.prompt_template = cli_get(a, "prompt-template");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    eo.slots = (size_t)(threads ? threads : (ncpu > 0 ? ncpu : 1)) + 1;
    ragd_engine *eng = NULL;
    ragd_status rc = ragd_engine_open(data_dir(a), &eo, &eng, &e);
    if (!rc) rc = api_serve(eng, &so, &e);
    ragd_engine_free(eng);
    free(models);
    return rc ? fail(cmd->name, &e) : 0;
}

/* --- keys --------------------------------------------------------------------------- */

static const cli_optdef KEYS_OPTS[] = {
    {"data", true, "data directory (env RAGD_DATA, default ./ragd-data)"},
    {"collection", true, "create: a collection the key covers (repeatable; default: every one)"},
    {"scope", true, "create: read | write | admin (admin also creates and deletes collections)"},
    {"name", true, "create: a name to recognise the key by"},
    {"json", false, "print one JSON object to stdout"},
    {"log-format", true, "text | json (structured log lines on stderr)"},
    {"help", false, "show this help"},
    {NULL, false, NULL}};

static int cmd_keys(const command *cmd, cli_args *a)
{
    ragd_error e;
    ragd_error_clear(&e);
    const char *sub = a->npos ? a->pos[0] : "";
    bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"),
         revoke = !strcmp(sub, "revoke");
    if (!create && !list && !revoke) {
        fprintf(stderr, "ragd: keys: usage: ragd keys create --scope read|write|admin "
                        "[--collection C]... [--name N] | list | revoke ID\n");
        return 2;
    }
    if ((create || list) && a->npos != 1) {
        fprintf(stderr, "ragd: keys %s: unexpected argument '%s'\n", sub, a->pos[1]);
        return 2;
    }
    long long id = 0;
    if (revoke) {
        char *end = NULL;
        id = a->npos == 2 ? strtoll(a->pos[1], &end, 10) : 0;
        if (a->npos != 2 || !end || *end || id <= 0) {
            fprintf(stderr, "ragd: keys revoke: expected one key ID (see 'ragd keys list')\n");
            return 2;
        }
    }
    json_t *req = NULL;
    if (create) {
        if (!cli_get(a, "scope")) {
            fprintf(stderr, "ragd: keys create: --scope read|write|admin is required\n");
            return 2;
        }
        req = json_pack("{s:s,s:s}", "scope", cli_get(a, "scope"), "name",
                        cli_get(a, "name") ? cli_get(a, "name") : "");
        size_t n = 0;
        const char **colls = cli_get_all(a, "collection", &n);
        if (n) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_string(colls[i]));
            json_object_set_new(req, "collections", arr);
        }
        free(colls);
    }
    ragd_engine_opts eo = {.slots = 1, .create = create};
    ragd_engine *eng = NULL;
    json_t *res = NULL;
    ragd_status rc = ragd_engine_open(data_dir(a), &eo, &eng, &e);
    if (!rc)
        rc = create ? ragd_keys_create(eng, req, &res, &e)
             : list ? ragd_keys_list(eng, &res, &e)
                    : ragd_key_revoke(eng, id, &res, &e);
    ragd_engine_free(eng);
    json_decref(req);
    if (rc) {
        char what[32];
        snprintf(what, sizeof what, "%s %s", cmd->name, sub);
        return fail(what, &e);
    }
    if (cli_flag(a, "json")) {
        print_json(res);
    } else if (create) {
        printf("%s\n", ragd_json_str(res, "key"));
        fprintf(stderr, "ragd: key %lld (%s) created; it is shown only now: store it safely\n",
                ragd_json_int(res, "id"), ragd_json_str(res, "scope"));
    } else if (list) {
        printf("%-6s %-7s %-20s %-12s %s\n", "ID", "SCOPE", "NAME", "STATE", "COLLECTIONS");
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(res, "keys"), i, k)
        {
            json_t *cs = json_object_get(k, "collections");
            ragd_buf b = RAGD_BUF_INIT;
            size_t j;
            json_t *c;
            json_array_foreach(cs, j, c)
                ragd_buf_printf(&b, "%s%s", j ? "," : "", json_string_value(c));
            printf("%-6lld %-7s %-20s %-12s %s\n", ragd_json_int(k, "id"),
                   ragd_json_str(k, "scope"), ragd_json_str(k, "name"),
                   json_is_null(json_object_get(k, "revoked_at")) ? "active" : "revoked",
                   json_is_array(cs) ? (b.data ? b.data : "") : "(all)");
            ragd_buf_free(&b);
        }
    } else {
        printf("revoked key %lld\n", id);
    }
    json_decref(res);
    return 0;
}

/* --- help --------------------------------------------------------------------------- */

static int cmd_help(const command *cmd, cli_args *a);

static const command COMMANDS[] = {
    {"ingest", "PATH...", "ingest files or directories (txt, md, html, pdf, BEIR jsonl)",
     cmd_ingest, INGEST_OPTS},
    {"docs", "", "list documents", cmd_docs, BASIC_OPTS},
    {"show", "DOC_ID", "show a document, its summary and normalized text", cmd_show, BASIC_OPTS},
    {"chunks", "DOC_ID", "show a document's chunks with byte offsets", cmd_chunks, BASIC_OPTS},
    {"rm", "DOC_ID", "delete a document", cmd_rm, BASIC_OPTS},
    {"search", "QUERY", "search chunks; results pass relevance validation", cmd_search,
     SEARCH_OPTS},
    {"context", "QUERY", "the validated, numbered context for a query", cmd_context, SEARCH_OPTS},
    {"answer", "QUERY", "a grounded answer with checked [n] citations", cmd_answer, ANSWER_OPTS},
    {"eval", "--beir DIR", "retrieval quality (nDCG@10, Recall@100, MRR@10) on a BEIR dataset",
     cmd_eval, EVAL_OPTS},
    {"reindex", "", "rebuild the FAISS vector index from SQLite", cmd_reindex, REINDEX_OPTS},
    {"serve", "", "the HTTP API (docs/http.md)", cmd_serve, SERVE_OPTS},
    {"keys", "create|list|revoke", "API keys for the HTTP API, scoped to collections", cmd_keys,
     KEYS_OPTS},
    {"help", "[COMMAND]", "show help", cmd_help, BASIC_OPTS},
    {NULL, NULL, NULL, NULL, NULL}};

static void print_command_help(FILE *f, const command *c)
{
    fprintf(f, "usage: ragd %s [options] %s\n\n%s\n\noptions:\n", c->name, c->args, c->summary);
    for (int i = 0; c->opts[i].name; i++) {
        char left[40];
        snprintf(left, sizeof left, "--%s%s", c->opts[i].name, c->opts[i].has_value ? " V" : "");
        fprintf(f, "  %-21s %s\n", left, c->opts[i].help);
    }
    fprintf(f, "\nexit codes: 0 ok, 1 bad input, 2 usage, 3 provider/network\n");
}

static void print_usage(FILE *f)
{
    fprintf(f,
            "ragd %s — retrieval-augmented generation with cited answers\n\n"
            "usage: ragd COMMAND [options] [args]\n\ncommands:\n",
            RAGD_VERSION);
    for (int i = 0; COMMANDS[i].name; i++)
        fprintf(f, "  %-8s %-10s %s\n", COMMANDS[i].name, COMMANDS[i].args, COMMANDS[i].summary);
    fprintf(f, "\ncommon options: --data DIR (env RAGD_DATA), --collection NAME, --json,\n"
               "                --log-format text|json\n"
               "run 'ragd COMMAND --help' for a command's options.\n");
}

static int cmd_help(const command *cmd, cli_args *a)
{
    (void)cmd;
    if (a->npos) {
        for (int i = 0; COMMANDS[i].name; i++)
            if (!strcmp(COMMANDS[i].name, a->pos[0])) {
                print_command_help(stdout, &COMMANDS[i]);
                return 0;
            }
        fprintf(stderr, "ragd: help: unknown command '%s'\n", a->pos[0]);
        return 2;
    }
    print_usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGXFSZ, SIG_IGN); /* past `ulimit -f` a write fails (EFBIG) and is reported */
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) name = "help";
    if (!strcmp(name, "--version")) {
        printf("ragd %s\n", RAGD_VERSION);
        return 0;
    }
    const command *cmd = NULL;
    for (int i = 0; COMMANDS[i].name; i++)
        if (!strcmp(COMMANDS[i].name, name)) cmd = &COMMANDS[i];
    if (!cmd) {
        fprintf(stderr, "ragd: unknown command '%s'; run 'ragd help'\n", name);
        return 2;
    }
    cli_args a;
    ragd_error e;
    ragd_error_clear(&e);
    if (cli_parse(argc - 2, argv + 2, cmd->opts, &a, &e)) {
        fprintf(stderr, "ragd: %s: %s; run 'ragd %s --help'\n", cmd->name, e.msg, cmd->name);
        return 2;
    }
    const char *lf = cli_get(&a, "log-format");
    if (lf && strcmp(lf, "text") && strcmp(lf, "json")) {
        fprintf(stderr, "ragd: %s: --log-format must be text or json\n", cmd->name);
        cli_args_free(&a);
        return 2;
    }
    log_configure(lf && !strcmp(lf, "json") ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT, LOG_INFO);
    int rc;
    if (cli_flag(&a, "help")) {
        print_command_help(stdout, cmd);
        rc = 0;
    } else {
        rc = cmd->run(cmd, &a);
    }
    cli_args_free(&a);
    return rc;
}
