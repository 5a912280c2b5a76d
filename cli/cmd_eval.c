/* cli/cmd_eval.c — `ragd eval`: retrieval quality on a BEIR dataset, and the
 * citation checker's precision and recall (--citations). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/durable.h"
#include "core/json.h"
#include "core/log.h"
#include "ingest/ingest.h"
#include "retrieve/engine.h"
#include "retrieve/eval.h"
#include "answer/answer.h"
#include "api/server.h"

/* --- eval --------------------------------------------------------------------------- */

const cli_optdef EVAL_OPTS[] = {
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
    {"max-bytes", true,
     "largest corpus record accepted, in bytes (default 16 MiB; the file may "
     "be larger)"},
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

/* Whether the fingerprint file fp_path holds the current fingerprint of
 * corpus and the eval collection (then ingesting it again would change
 * nothing). Any error means "ingest". */
static bool eval_corpus_unchanged(engine *eng, const char *corpus, size_t max_bytes,
                                  const char *fp_path)
{
    ragd_error e;
    char *now = NULL, *saved = NULL;
    size_t n = 0;
    bool same = !eval_corpus_fingerprint(eng->st, &eng->coll, corpus, max_bytes, &now, &e) &&
                !ingest_read_file(fp_path, 1 << 16, &saved, &n, &e) && strlen(now) == n &&
                !memcmp(now, saved, n);
    free(now);
    free(saved);
    return same;
}

/* Record the fingerprint after a successful ingest; a failure to write it
 * only means the next eval ingests again. */
static void eval_corpus_record(engine *eng, const char *corpus, size_t max_bytes,
                               const char *fp_path)
{
    ragd_error e;
    char *fp = NULL;
    if (eval_corpus_fingerprint(eng->st, &eng->coll, corpus, max_bytes, &fp, &e) ||
        ragd_write_durable(store_dir(eng->st), fp_path, fp, strlen(fp), &e))
        log_write(LOG_WARN, "cannot record the eval corpus fingerprint", "error", e.msg, NULL);
    free(fp);
}

int cmd_eval(const command *cmd, cli_args *a)
{
    (void)cmd;
    ragd_error e;
    ragd_error_clear(&e);
    if (cli_get(a, "citations")) return eval_citations(a);
    const char *dir = cli_get(a, "beir");
    if (!dir) {
        return fail_msg(RAGD_EUSAGE, "eval", "--beir DIR is required");
    }
    long k = 100, maxq = 0, ct = 0, maxb = 0;
    search_opts tuning;
    search_opts_init(&tuning);
    if (cli_get_int(a, "k", 1, 1000, &k, &e) ||
        cli_get_int(a, "max-queries", 1, 10000000, &maxq, &e) ||
        cli_get_int(a, "chunk-tokens", 16, 8192, &ct, &e) ||
        cli_get_int(a, "max-bytes", 1, 1L << 30, &maxb, &e) ||
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
            reranker_free(reranker);
            return fail_msg(RAGD_EINPUT, "eval",
                            "%s: missing or unreadable; --beir needs a BEIR dataset "
                            "directory (corpus.jsonl, queries.jsonl, qrels/%s.tsv)",
                            p, split);
        }
    }
    {
        char p[4096];
        snprintf(p, sizeof p, "%s/qrels/%s.tsv", dir, split);
        if (access(p, R_OK) != 0) {
            reranker_free(reranker);
            return fail_msg(RAGD_EINPUT, "eval", "%s: missing or unreadable (is --split right?)",
                            p);
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
    /* Ingest (a no-op for documents already there unchanged), unless the
     * fingerprint recorded after the last successful ingest of this corpus
     * says that it would be one (eval_corpus_fingerprint). */
    char corpus[4096];
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", dir);
    ragd_status rc = RAGD_OK;
    char fp_path[4200];
    snprintf(fp_path, sizeof fp_path, "%s/eval-%lld.fingerprint", store_dir(eng.st),
             (long long)eng.coll.id);
    if (!eval_corpus_unchanged(&eng, corpus, (size_t)maxb, fp_path)) {
        char *paths[1] = {corpus};
        ingest_opts io = {.format = "jsonl",
                          .max_bytes = (size_t)maxb,
                          .progress = !cli_flag(a, "json"),
                          .progress_tty = isatty(STDERR_FILENO) != 0,
                          .embedder = eng.embedder};
        json_t *rep = NULL;
        rc = ingest_paths(eng.st, &eng.coll, paths, 1, &io, &rep, &e);
        if (!rc && ragd_json_int(rep, "failed") == 0)
            eval_corpus_record(&eng, corpus, (size_t)maxb, fp_path);
        json_decref(rep);
    } else if (!cli_flag(a, "json")) {
        fprintf(stderr, "%s: unchanged since the last eval ingest into '%s'; not ingesting again\n",
                corpus, name);
    }
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
