/* cli/main.c — the `ragd` command: a thin front-end over libragd.
 *
 * Each command parses its options, opens the store and collection, calls
 * one library function, and prints its JSON (--json) or a readable view of
 * the same JSON. Nothing here computes what the library should, so the CLI
 * and the HTTP API give the same answers.
 *
 * This file holds the command table, help, the shared option parsers
 * (cli/cli.h) and the store commands (ingest, docs, show, chunks, rm,
 * reindex); search/context/answer are in cmd_query.c, eval in cmd_eval.c,
 * serve and keys in cmd_serve.c, mcp in cmd_mcp.c.
 *
 * Exit codes: 0 ok, 1 bad input (and other failures), 2 usage,
 * 3 provider/network.
 */
#include <jansson.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer/answer.h"
#include "api/server.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/text.h"
#include "ingest/encoding.h"
#include "ingest/ingest.h"
#include "ingest/summary.h"
#include "retrieve/engine.h"
#include "retrieve/eval.h"
#include "retrieve/retrieve.h"
#include "service/ragd.h"
#include "store/pg.h"
#include "store/store.h"

#define RAGD_VERSION "0.1.0"

static bool json_errors; /* process configuration: the command has --json */

void cli_set_json_errors(bool on)
{
    json_errors = on;
}

json_t *cli_error_json(const char *what, const ragd_error *e)
{
    ragd_buf m = RAGD_BUF_INIT;
    if (what) ragd_buf_printf(&m, "%s: ", what);
    ragd_buf_puts(&m, e->msg);
    char *msg = text_escape_invalid(m.data); /* file names may not be UTF-8 */
    json_t *o = json_pack("{s:s,s:s}", "code", ragd_status_api_code(e->code), "message", msg);
    free(msg);
    if (e->field[0]) {
        char *f = text_escape_invalid(e->field);
        json_object_set_new(o, "field", json_string(f));
        free(f);
    }
    ragd_buf_free(&m);
    return json_pack("{s:o}", "error", o);
}

int fail_text(const char *what, const ragd_error *e)
{
    if (what)
        fprintf(stderr, "ragd: %s: %s\n", what, e->msg);
    else
        fprintf(stderr, "ragd: %s\n", e->msg);
    return ragd_status_exit_code(e->code);
}

int fail(const char *what, const ragd_error *e)
{
    if (json_errors) {
        json_t *j = cli_error_json(what, e);
        print_json(j);
        json_decref(j);
    }
    return fail_text(what, e);
}

int fail_msg(ragd_status code, const char *what, const char *fmt, ...)
{
    ragd_error e;
    ragd_error_clear(&e);
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    return fail(what, &e);
}

void print_json(json_t *j)
{
    ragd_json_print(stdout, j);
}

const char *data_dir(const cli_args *a)
{
    const char *d = cli_get(a, "data");
    if (d && *d) return d;
    d = getenv("RAGD_DATA");
    return d && *d ? d : "./ragd-data";
}

const char *coll_name(const cli_args *a)
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
    /* Only ingest-type commands create a store (they pass create); with a
     * PostgreSQL store of record (--store) --data is a cache, made on use. */
    if (!create && !store_url(a) && !store_exists(data_dir(a))) {
        ragd_error_set(&e, RAGD_ENOTFOUND,
                       "no ragd data in '%s'; ingest something first (ragd ingest PATH)",
                       data_dir(a));
        return fail("cannot open data directory", &e);
    }
    if (store_open(data_dir(a), st, &e)) return fail("cannot open data directory", &e);
    if (store_url(a) && store_pg_attach(*st, store_url(a), true, &e)) {
        store_close(*st);
        *st = NULL;
        return fail("store", &e);
    }
    if (store_collection_open(*st, coll_name(a), create, coll, &e)) {
        store_close(*st);
        *st = NULL;
        if (e.code == RAGD_ENOTFOUND)
            return fail_msg(e.code, NULL, "%s; ingest something first (ragd ingest PATH)", e.msg);
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
    {"include", true,
     "GLOB: walk only files matching it (gitignore-style, relative to the directory; "
     "repeatable)"},
    {"exclude", true,
     "GLOB: skip matching files and directories in walks (gitignore-style, '!' re-includes; "
     "repeatable)"},
    {"verbose", false, "list every file a walk skips, with the reason"},
    {"encoding", true,
     "auto (default: guess Latin-1/Windows-1252 for text that is not UTF-8) | utf-8 | latin-1 "
     "| windows-1252"},
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
    {"ef-search", true,
     "HNSW search depth (efSearch, 1..4096) for a new collection's queries (default 64); "
     "higher: better recall, slower"},
    EMBED_OPTS,
    {NULL, false, NULL}};

const char *opt_or_env(const cli_args *a, const char *opt, const char *env)
{
    const char *v = cli_get(a, opt);
    if (v && *v) return v;
    v = getenv(env);
    return v && *v ? v : NULL;
}

const char *store_url(const cli_args *a)
{
    return opt_or_env(a, "store", "RAGD_STORE");
}

/* The embedder the user named, from options and the environment. */
ragd_status embed_choice_from_args(const cli_args *a, embed_choice *c, ragd_error *e)
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
ragd_status generator_limits_from_args(const cli_args *a, long *timeout, double *cost,
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

/* " (images 8, scripts 4)" from {"images":8,"scripts":4}, largest first;
 * "" when nothing was skipped. Malloc'd. */
static char *skipped_by_text(const json_t *by)
{
    ragd_buf b = RAGD_BUF_INIT;
    size_t n = json_object_size(by);
    const char **keys = n ? ragd_xcalloc(n, sizeof *keys) : NULL;
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)by, key, v) keys[k++] = key;
    for (size_t i = 0; i < k; i++) /* insertion sort: a handful of reasons */
        for (size_t j = i; j > 0; j--) {
            json_int_t x = json_integer_value(json_object_get(by, keys[j - 1]));
            json_int_t y = json_integer_value(json_object_get(by, keys[j]));
            if (x >= y) break;
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < k; i++)
        ragd_buf_printf(&b, "%s%s %lld", i ? ", " : " (", keys[i],
                        (long long)json_integer_value(json_object_get(by, keys[i])));
    if (k) ragd_buf_putc(&b, ')');
    free(keys);
    return ragd_buf_steal(&b);
}

static int cmd_ingest(const command *cmd, cli_args *a)
{
    (void)cmd;
    ragd_error e;
    ragd_error_clear(&e);
    if (a->npos == 0) {
        return fail_msg(RAGD_EUSAGE, "ingest",
                        "no PATH given; usage: ragd ingest [options] PATH...");
    }
    ragd_settings s;
    store_settings_init(&s);
    const char *ch = cli_get(a, "chunker");
    if (ch) {
        if (strcmp(ch, "fixed") && strcmp(ch, "semantic") && strcmp(ch, "parent")) {
            return fail_msg(RAGD_EUSAGE, "ingest",
                            "unknown --chunker '%s' (fixed, semantic, parent)", ch);
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
        return fail_msg(RAGD_EUSAGE, "ingest", "--parent-tokens applies only to --chunker parent");
    }
    if (s.chunker[0] && s.semantic_percentile > 0 && strcmp(s.chunker, "semantic") != 0) {
        return fail_msg(RAGD_EUSAGE, "ingest",
                        "--semantic-percentile applies only to --chunker semantic");
    }
    if (s.parent_tokens > 0 && s.parent_tokens < (s.chunk_tokens > 0 ? s.chunk_tokens : 256)) {
        return fail_msg(RAGD_EUSAGE, "ingest",
                        "--parent-tokens (%d) must be at least --chunk-tokens (%d)",
                        s.parent_tokens, s.chunk_tokens > 0 ? s.chunk_tokens : 256);
    }
    {
        int ct = s.chunk_tokens > 0 ? s.chunk_tokens : 256;
        if (s.overlap >= ct) {
            return fail_msg(RAGD_EUSAGE, "ingest",
                            "--overlap (%d) must be smaller than --chunk-tokens (%d)", s.overlap,
                            ct);
        }
    }
    const char *idx = cli_get(a, "index");
    if (idx) snprintf(s.index_factory, sizeof s.index_factory, "%s", idx);
    v = -1;
    if (cli_get_int(a, "ef-search", 1, 4096, &v, &e)) return fail("ingest", &e);
    if (v > 0) s.ef_search = (int)v; /* HNSW only: checked when the collection is created */
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
    if (ingest_encoding_check(cli_get(a, "encoding"), &e)) {
        free(meta);
        return fail("ingest", &e);
    }
    ragd_generator *gen = NULL;
    if (summary_generator_from_args(a, &gen, &e)) {
        free(meta);
        return fail("ingest", &e);
    }
    engine eng;
    if (engine_open_ingest_at(data_dir(a), store_url(a), coll_name(a), &s, &choice, &eng, &e)) {
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
        .verbose = cli_flag(a, "verbose"),
        .encoding = cli_get(a, "encoding"),
    };
    const char **incl = cli_get_all(a, "include", &o.ninclude);
    const char **excl = cli_get_all(a, "exclude", &o.nexclude);
    o.include = incl;
    o.exclude = excl;
    json_t *report = NULL;
    ragd_status st_rc = ingest_paths(st, &coll, a->pos, a->npos, &o, &report, &e);
    free(meta);
    free(incl);
    free(excl);
    bool reported = false;
    if (report) {
        if (cli_flag(a, "json")) {
            /* One JSON object: the counts, and the error when there is one. */
            if (st_rc) {
                json_t *ej = cli_error_json("ingest", &e);
                json_object_set(report, "error", json_object_get(ej, "error"));
                json_decref(ej);
            }
            print_json(report);
            reported = true;
        } else {
            char *by = skipped_by_text(json_object_get(report, "skipped_by"));
            printf("ingested into '%s': %lld added, %lld updated, %lld unchanged, %lld skipped%s, "
                   "%lld failed; %lld chunks, %.1f KB in %.2fs\n",
                   coll.name, ragd_json_int(report, "added"), ragd_json_int(report, "updated"),
                   ragd_json_int(report, "unchanged"), ragd_json_int(report, "skipped"), by,
                   ragd_json_int(report, "failed"), ragd_json_int(report, "chunks"),
                   ragd_json_int(report, "bytes") / 1024.0, ragd_json_num(report, "seconds"));
            free(by);
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
    if (st_rc) return reported ? fail_text("ingest", &e) : fail("ingest", &e);
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
        return fail_msg(RAGD_EUSAGE, cmd->name, "expected exactly one %s; usage: ragd %s %s",
                        cmd->args, cmd->name, cmd->args);
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

/* Read RERANK_OPTS: *out is NULL when no reranker URL is given, else a new
 * reranker the caller frees; so gets it with its depth and threshold. */
ragd_status reranker_from_args(const cli_args *a, search_opts *so, ragd_reranker **out,
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
ragd_status search_tuning_from_args(const cli_args *a, search_opts *so, ragd_error *e)
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

/* --- reindex ------------------------------------------------------------------------ */

static const cli_optdef REINDEX_OPTS[] = {
    COMMON_OPTS,
    {"index", true,
     "FAISS factory to rebuild with (default: the collection's current one); with --store, "
     "every node rebuilds with it"},
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
    /* With --store the factory is now the store's: every node (this cache
     * too, which forgot its index state) rebuilds with it. The first build
     * checked the factory before the store was changed; build this cache's
     * snapshot again under the new state. */
    if (factory && store_pg_attached(st)) {
        vindex_free(vi);
        vi = NULL;
        snprintf(coll.settings.index_factory, sizeof coll.settings.index_factory, "%s", f);
        if (vindex_rebuild(st, &coll, f, &vi, &e)) {
            store_close(st);
            return fail("reindex", &e);
        }
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
    {"mcp", "", "the MCP server on stdin/stdout (docs/compat.md)", cmd_mcp, MCP_OPTS},
    {"keys", "create|list|revoke", "API keys for the HTTP API, scoped to collections", cmd_keys,
     KEYS_OPTS},
    {"log", "", "recent answer calls (prompt, response, model, tokens, check)", cmd_log, LOG_OPTS},
    {"feedback", "CALL_ID up|down", "rate an answer call (--comment TEXT)", cmd_feedback,
     FEEDBACK_OPTS},
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

/* A command as JSON: {"name","args","summary","options":[{"name","value","help"}]}. */
static json_t *command_json(const command *c)
{
    json_t *opts = json_array();
    for (int i = 0; c->opts[i].name; i++)
        json_array_append_new(opts, json_pack("{s:s,s:b,s:s}", "name", c->opts[i].name, "value",
                                              c->opts[i].has_value, "help", c->opts[i].help));
    return json_pack("{s:s,s:s,s:s,s:o}", "name", c->name, "args", c->args, "summary", c->summary,
                     "options", opts);
}

static int cmd_help(const command *cmd, cli_args *a)
{
    (void)cmd;
    if (cli_flag(a, "json")) {
        json_t *out = NULL;
        if (a->npos) {
            for (int i = 0; COMMANDS[i].name && !out; i++)
                if (!strcmp(COMMANDS[i].name, a->pos[0])) out = command_json(&COMMANDS[i]);
            if (!out) return fail_msg(RAGD_EUSAGE, "help", "unknown command '%s'", a->pos[0]);
        } else {
            json_t *arr = json_array();
            for (int i = 0; COMMANDS[i].name; i++)
                json_array_append_new(arr, command_json(&COMMANDS[i]));
            out = json_pack("{s:s,s:o,s:[ssss]}", "version", RAGD_VERSION, "commands", arr,
                            "exit_codes", "0 ok", "1 bad input", "2 usage", "3 provider/network");
        }
        print_json(out);
        json_decref(out);
        return 0;
    }
    if (a->npos) {
        for (int i = 0; COMMANDS[i].name; i++)
            if (!strcmp(COMMANDS[i].name, a->pos[0])) {
                print_command_help(stdout, &COMMANDS[i]);
                return 0;
            }
        return fail_msg(RAGD_EUSAGE, "help", "unknown command '%s'", a->pos[0]);
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
    /* --json anywhere (before "--") makes errors JSON too, even those
     * found while the options are parsed. */
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json")) cli_set_json_errors(true);
    if (!cmd) return fail_msg(RAGD_EUSAGE, NULL, "unknown command '%s'; run 'ragd help'", name);
    cli_args a;
    ragd_error e;
    ragd_error_clear(&e);
    if (cli_parse(argc - 2, argv + 2, cmd->opts, &a, &e)) {
        size_t n = strlen(e.msg);
        snprintf(e.msg + n, sizeof e.msg - n, "; run 'ragd %s --help'", cmd->name);
        return fail(cmd->name, &e);
    }
    cli_set_json_errors(cli_flag(&a, "json"));
    const char *lf = cli_get(&a, "log-format");
    if (lf && strcmp(lf, "text") && strcmp(lf, "json")) {
        cli_args_free(&a);
        return fail_msg(RAGD_EUSAGE, cmd->name, "--log-format must be text or json");
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
