/* ingest/pipeline.c — ingest_paths and ingest_texts: one ingest run.
 *
 * For every input file: read (size-limited), hash the raw bytes, and compare
 * with the stored hash under the same document id. Equal: nothing to do.
 * Different or new: parse, chunk, and store_doc_put (one transaction that
 * replaces the old version). A file that fails is reported and skipped; the
 * store is never left with half a document.
 *
 * Document ids: a file given directly is keyed by its base name; a file
 * found under a directory argument by its path relative to that directory
 * ("space/mars.md"); a JSONL record by its "_id".
 *
 * User metadata (--meta key=value) is merged over a JSONL record's extra
 * fields (the user's keys win) and is part of the content hash, so changing
 * it updates the document. Paged documents (PDF) give each chunk its page in
 * the chunk's metadata: {"page": first page, "page_end": last page}.
 *
 * Threads (ingest.h has the contract): with workers > 1, worker threads run
 * prepare (read, format, hash, parse, chunk, embed through a read-only
 * cache connection) and the calling thread, the only writer, runs commit
 * in input order through a ring that bounds what is in flight. With one
 * worker both phases run inline, one input at a time: the serial path.
 *
 * This file checks the options, sets up the run, walks the paths
 * (walk.c), drives the inputs (workers.c), prunes (prune.c), brings the
 * vector index up to date and returns the report (report.c). The other
 * parts are listed in pipeline_internal.h.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/vector.h"
#include "ingest/pipeline_internal.h"

/* The pipeline over files and directories (paths) and in-memory documents
 * (texts), in that order; see ingest_paths and ingest_texts. */
static ragd_status ingest_inputs(ragd_store *st, const ragd_collection *coll, char *const *paths,
                                 size_t npaths, const ingest_text *texts, size_t ntexts,
                                 const ingest_opts *o, json_t **report, ragd_error *err)
{
    *report = NULL;
    if (o->format && *o->format) {
        ragd_error fe;
        if (!ingest_detect_format("", o->format, "", 0, &fe))
            return ragd_error_set(err, fe.code, "%s", fe.msg);
    }
    json_t *meta = NULL;
    if (o->nmeta) {
        ragd_error me;
        if (ingest_meta_parse(o->meta, o->nmeta, &meta, &me))
            return ragd_error_set(err, me.code, "%s", me.msg);
    }
    if (summary_is_llm(o->summarizer) && !o->generator) {
        json_decref(meta);
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--summarizer llm needs a generation provider: --generator "
                              "openai|ollama with --generator-url and --generator-model");
    }
    summary_ctx *sum = NULL;
    {
        ragd_error se;
        if (summary_ctx_new(st, coll->id, o->summarizer, &sum, &se)) {
            json_decref(meta);
            return ragd_error_set(err, se.code, "%s", se.msg);
        }
    }
    run r = {.st = st,
             .coll = coll,
             .o = o,
             .errors = json_array(),
             .meta = meta,
             .sum = sum,
             .seen = json_object(),
             .gen = summary_is_llm(o->summarizer) ? o->generator : NULL};
    r.t0 = ingest_now();
    r.last_progress = r.t0;
    file_list files = {0};
    walk_opts wo = {.include = o->include,
                    .ninclude = o->ninclude,
                    .exclude = o->exclude,
                    .nexclude = o->nexclude,
                    .verbose = o->verbose};
    r.walk.skipped = json_object();
    walk_inputs(paths, npaths, &wo, &files, &r.walk);
    r.files_total = files.n + ntexts;
    for (size_t i = 0; i < files.n; i++)
        r.total_bytes += (size_t)files.v[i].size;
    for (size_t i = 0; i < ntexts; i++)
        r.total_bytes += texts[i].len;
    int nworkers =
        o->workers > 1 ? (o->workers < INGEST_MAX_WORKERS ? o->workers : INGEST_MAX_WORKERS) : 1;
    input_iter in = {.files = &files, .texts = texts, .ntexts = ntexts};
    ragd_status rc = nworkers > 1 ? ingest_run_parallel(&r, &in, nworkers, err)
                                  : ingest_run_serial(&r, &in, err);
    if (in.jf) fclose(in.jf);
    free(in.jline_buf);
    free(in.jsource);
    ingest_progress(&r, true);
    if (!rc && o->prune && npaths) rc = ingest_prune(&r, paths, npaths, err);
    json_decref(r.seen);
    file_list_free(&files);
    json_decref(meta);
    summary_ctx_free(sum);
    /* Fault injection for the crash-consistency tests: die after the SQLite
     * commits and before the snapshot, as a killed process would. */
    const char *fault = getenv("RAGD_FAULT");
    if (fault && !strcmp(fault, "before-snapshot")) _exit(99);
    /* Bring the vector index up to date and snapshot it. */
    if (!rc && o->embedder) {
        ragd_vindex *vi = NULL;
        rc = vindex_open(st, coll, &vi, NULL, err);
        vindex_free(vi);
    }
    *report = ingest_report_build(&r, nworkers);
    if (rc) return rc;
    if (r.provider_failed)
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "%ld document(s) not stored: the embedding provider failed",
                              r.provider_failed);
    if (r.failed)
        return ragd_error_set(err, RAGD_EINPUT, "%ld of %ld inputs failed", r.failed, r.inputs);
    return RAGD_OK;
}

ragd_status ingest_paths(ragd_store *st, const ragd_collection *coll, char *const *paths,
                         size_t npaths, const ingest_opts *o, json_t **report, ragd_error *err)
{
    return ingest_inputs(st, coll, paths, npaths, NULL, 0, o, report, err);
}

ragd_status ingest_texts(ragd_store *st, const ragd_collection *coll, const ingest_text *texts,
                         size_t n, const ingest_opts *o, json_t **report, ragd_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!texts[i].id || !*texts[i].id || !texts[i].text)
            return ragd_error_set(err, RAGD_EINPUT, "document %zu needs an id and a text", i);
    return ingest_inputs(st, coll, NULL, 0, texts, n, o, report, err);
}
