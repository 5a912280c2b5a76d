/* ingest/report.c — what an ingest run reports.
 *
 * Per input: an error (counted as failed, printed on stderr or logged as
 * JSON, and listed under "errors" in the report) or a warning (a skip, a
 * guessed encoding, a failed LLM summary). Per run: the JSON report that
 * ingest_paths / ingest_texts return (counts, bytes, seconds, workers,
 * embedding and generation usage, skips by reason). Writer only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/text.h"
#include "ingest/pipeline_internal.h"

/* A parser's message may quote the bad input (jansson: "invalid escape near
 * '…'") and a label may hold a file name, bytes that need not be UTF-8:
 * both are escaped (text_escape_invalid), or jansson would drop the entry
 * from the report (fuzz_load_jsonl found one missing). */
void ingest_report_error(run *r, const char *file, const ragd_error *e)
{
    r->failed++;
    char *f = text_escape_invalid(file), *m = text_escape_invalid(e->msg);
    if (log_is_json())
        log_write(LOG_ERROR, m, "file", f, NULL);
    else
        fprintf(stderr, "ragd: %s: %s\n", f, m);
    json_array_append_new(r->errors, json_pack("{s:s,s:s}", "file", f, "error", m));
    free(f);
    free(m);
}

void ingest_warn_file(const item *it, const char *msg)
{
    if (log_is_json())
        log_write(LOG_WARN, msg, "file", it->label, NULL);
    else
        fprintf(stderr, "ragd: warning: %s: %s\n", it->label, msg);
}

/* A skipped input: warned about, and counted under its reason. */
void ingest_count_skip(run *r, const item *it)
{
    r->skipped++;
    ingest_warn_file(it, it->err.msg);
    const char *reason = it->skip_reason ? it->skip_reason : "empty";
    json_t *n = json_object_get(r->walk.skipped, reason);
    json_object_set_new(r->walk.skipped, reason, json_integer(n ? json_integer_value(n) + 1 : 1));
}

json_t *ingest_report_build(run *r, int nworkers)
{
    const ingest_opts *o = r->o;
    const ragd_collection *coll = r->coll;
    json_t *emb = json_pack(
        "{s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:f}", "embedder",
        o->embedder ? coll->settings.embedder : "none", "model",
        o->embedder ? embedder_model(o->embedder) : "", "dim",
        o->embedder ? embedder_dim(o->embedder) : 0, "calls", (json_int_t)r->usage.calls, "retries",
        (json_int_t)r->usage.retries, "tokens", (json_int_t)r->usage.tokens, "texts",
        (json_int_t)r->usage.texts, "cache_hits", (json_int_t)r->cache_hits, "cost", r->usage.cost);
    long walk_skipped = 0;
    {
        const char *k;
        json_t *v;
        json_object_foreach(r->walk.skipped, k, v) walk_skipped += (long)json_integer_value(v);
        walk_skipped -= r->skipped; /* the commit's skips are in both */
    }
    json_t *report =
        json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:f,s:i,s:o,s:o}", "added", (int)r->added,
                  "updated", (int)r->updated, "unchanged", (int)r->unchanged, "skipped",
                  (int)(r->skipped + walk_skipped), "failed", (int)r->failed, "pruned",
                  (int)r->pruned, "chunks", (int)r->chunks, "summary_entries",
                  (int)r->summary_entries, "bytes", (json_int_t)r->bytes, "seconds",
                  ingest_now() - r->t0, "workers", nworkers, "embedding", emb, "errors", r->errors);
    json_object_set_new(report, "skipped_by", r->walk.skipped);
    json_object_set_new(report, "walked", json_integer(r->walk.walked));
    /* --summarizer llm: the generation provider's usage. */
    if (r->gen)
        json_object_set_new(
            report, "generator",
            json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:f}", "generator",
                      generator_kind(r->gen), "model", generator_model(r->gen), "calls",
                      (json_int_t)r->gusage.calls, "failures", (json_int_t)r->gusage.failures,
                      "retries", (json_int_t)r->gusage.retries, "prompt_tokens",
                      (json_int_t)r->gusage.prompt_tokens, "completion_tokens",
                      (json_int_t)r->gusage.completion_tokens, "tokens",
                      (json_int_t)(r->gusage.prompt_tokens + r->gusage.completion_tokens),
                      "tokens_estimated", r->gusage.estimated > 0, "cost", r->gusage.cost));
    return report;
}
