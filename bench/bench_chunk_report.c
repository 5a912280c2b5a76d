/* bench/bench_chunk_report.c — bench_chunk's Markdown report (stdout) and
 * its --json figures (bench/run.py and bench/report.py read fixed_mb_s,
 * semantic_mb_s and fixed_over_langchain_ratio; keep those keys). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench_chunk.h"
#include "bench/bench_common.h"
#include "bench/bench_json.h"

double median_of(const double *x, size_t n)
{
    return bench_summarize(x, n).p50;
}

double best_of(const double *x, size_t n)
{
    return bench_summarize(x, n).min;
}

/* median(num) / median(den): a throughput ratio when both are seconds. */
static double ratio(const double *num, const double *den, int reps)
{
    return median_of(num, (size_t)reps) / median_of(den, (size_t)reps);
}

static void print_fmt_int(size_t v)
{
    /* 12,345 */
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", v);
    size_t l = strlen(buf);
    for (size_t i = 0; i < l; i++) {
        putchar(buf[i]);
        if ((l - i - 1) % 3 == 0 && i + 1 < l) putchar(',');
    }
}

/* The input and the in-process chunking table. */
static void print_chunking(const bench_run *r)
{
    printf("## Input\n\n");
    printf("| documents | skipped (blank) | bad lines | normalized text MB | ragd tokens | "
           "characters per token | load + parse s (ingest_parse part) |\n"
           "|---|---|---|---|---|---|---|\n");
    printf("| ");
    print_fmt_int(r->c->n);
    printf(" | %zu | %zu | %.2f | ", r->c->skipped, r->c->bad, r->mb);
    print_fmt_int(r->c->tokens);
    printf(" | %.3f | %.2f (%.2f) |\n\n", r->cpt, r->load_s, r->c->parse_s);

    printf("## Chunking only (in process; %d timed passes after a warm-up; each pass in %zu "
           "slices of the corpus, the measures interleaved slice by slice in rotating order)\n\n",
           r->o->reps, r->nsl);
    printf("MB/s and documents/s over the %.2f MB of normalized text, from the median pass "
           "(best pass in parentheses); CPU MB/s from the median pass's CPU seconds (the "
           "process's own, so other load on the machine does not count).\n\n",
           r->mb);
    printf("| measure | median s | best s | MB/s | CPU s | CPU MB/s | documents/s | chunks | mean "
           "chunk tokens | mean chunk bytes | max chunk tokens |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < NMEAS; m++) {
        if (!r->on[m]) continue;
        double med = median_of(r->secs[m], (size_t)r->o->reps),
               best = best_of(r->secs[m], (size_t)r->o->reps);
        size_t ch, tk, by, mx;
        if (m <= M_SEMANTIC) {
            ch = r->cst[m].chunks;
            tk = r->cst[m].tokens;
            by = r->cst[m].bytes;
            mx = r->cst[m].max_tokens;
        } else {
            json_t *jr = r->jrep[m - M_JS_CHARS];
            ch = (size_t)json_integer_value(json_object_get(jr, "chunks"));
            tk = (size_t)json_integer_value(json_object_get(jr, "chunk_tokens"));
            by = (size_t)json_integer_value(json_object_get(jr, "chunk_bytes"));
            mx = (size_t)json_integer_value(json_object_get(jr, "max_chunk_tokens"));
        }
        double cpu = median_of(r->cpu[m], (size_t)r->o->reps);
        printf("| %s | %.3f | %.3f | %.2f (%.2f) | %.3f | %.2f | %.0f (%.0f) | ", MEAS_NAME[m], med,
               best, r->mb / med, r->mb / best, cpu, r->mb / cpu, r->c->n / med, r->c->n / best);
        print_fmt_int(ch);
        printf(" | %.1f | %.0f | %zu |\n", ch ? (double)tk / ch : 0, ch ? (double)by / ch : 0, mx);
    }
    if (r->cst[M_PARENT].parents)
        printf("\nparent chunker: %zu parents for %zu children.\n", r->cst[M_PARENT].parents,
               r->cst[M_PARENT].chunks);
    printf("\nChunk tokens are ragd's count (core/text.h text_count_tokens; for LangChain "
           "chunks, split.mjs's re-implementation of it, which counts ");
    print_fmt_int((size_t)r->js_tokens);
    printf(" tokens in the whole input against ragd's ");
    print_fmt_int(r->c->tokens);
    printf(").\n\n");
}

/* ragd against LangChain, from the same passes. */
static void print_langchain(const bench_run *r)
{
    if (r->have_js) {
        printf("## ragd fixed vs LangChain RecursiveCharacterTextSplitter (same texts, same "
               "run)\n\n");
        printf("LangChain: @langchain/textsplitters %s on node %s; `chars`: chunkSize %d, "
               "chunkOverlap %d characters (%d and %d tokens x %.3f characters per token); "
               "`tokens`: chunkSize %d, chunkOverlap %d with a lengthFunction counting ragd "
               "tokens.\n\n",
               r->js_ver ? r->js_ver : "?", r->js_node ? r->js_node : "?", r->chunk_chars,
               r->overlap_chars, r->o->chunk_tokens, r->o->overlap, r->cpt, r->o->chunk_tokens,
               r->o->overlap);
        printf("| ragd MB/s / | median passes | best passes | median of per-pass ratios | CPU "
               "seconds (median passes) |\n|---|---|---|---|---|\n");
        for (int k = M_FIXED; k <= M_SEMANTIC; k++) {
            if (!r->on[k]) continue;
            double *pr = calloc((size_t)r->o->reps, sizeof *pr);
            for (int p = 0; p < r->o->reps; p++)
                pr[p] = r->secs[M_JS_CHARS][p] / r->secs[k][p];
            printf("| %s / LangChain chars | **%.2f×** | %.2f× | %.2f× | %.2f× |\n", MEAS_NAME[k],
                   ratio(r->secs[M_JS_CHARS], r->secs[k], r->o->reps),
                   best_of(r->secs[M_JS_CHARS], (size_t)r->o->reps) /
                       best_of(r->secs[k], (size_t)r->o->reps),
                   median_of(pr, (size_t)r->o->reps),
                   ratio(r->cpu[M_JS_CHARS], r->cpu[k], r->o->reps));
            free(pr);
        }
        for (int m = M_JS_TOKENS; m <= M_JS_TOKENS; m++) {
            double *pr = calloc((size_t)r->o->reps, sizeof *pr);
            for (int p = 0; p < r->o->reps; p++)
                pr[p] = r->secs[m][p] / r->secs[M_FIXED][p];
            printf("| ragd fixed / %s | **%.2f×** | %.2f× | %.2f× | %.2f× |\n", MEAS_NAME[m],
                   ratio(r->secs[m], r->secs[M_FIXED], r->o->reps),
                   best_of(r->secs[m], (size_t)r->o->reps) /
                       best_of(r->secs[M_FIXED], (size_t)r->o->reps),
                   median_of(pr, (size_t)r->o->reps),
                   ratio(r->cpu[m], r->cpu[M_FIXED], r->o->reps));
            free(pr);
        }
        printf("\n(> 1: ragd is faster.)\n\n");
    } else {
        printf("LangChain comparison skipped: %s\n\n", r->why);
    }
}

/* Every pass, and the full ingest runs. */
static void print_passes(const bench_run *r)
{
    printf("## Per-pass seconds (CPU seconds in parentheses)\n\n| pass |");
    for (int m = 0; m < NMEAS; m++)
        if (r->on[m]) printf(" %s |", MEAS_NAME[m]);
    printf("\n|---|");
    for (int m = 0; m < NMEAS; m++)
        if (r->on[m]) printf("---|");
    printf("\n");
    for (int p = 0; p < r->o->reps; p++) {
        printf("| %d |", p + 1);
        for (int m = 0; m < NMEAS; m++)
            if (r->on[m]) printf(" %.3f (%.3f) |", r->secs[m][p], r->cpu[m][p]);
        printf("\n");
    }
    printf("\n");
}

static void print_ingest(const bench_run *r)
{
    if (r->o->ingest) {
        printf("## Full ingest per chunker (`%s ingest --format jsonl --no-progress --json "
               "--chunker X`, a child process, fresh data directory, local embedder)\n\n",
               r->o->ragd);
        printf("%d run(s) per chunker, the order rotating; seconds is the median run, peak RSS "
               "the largest ru_maxrss (wait4). MB/s over the %.2f MB of normalized text (the "
               "corpus file is %.2f MB); \"chunking share\" = median in-process chunking time / "
               "ingest seconds.\n\n",
               r->o->ingest_reps, r->mb, bench_file_size(r->corpus) / 1048576.0);
        printf("| chunker | documents | chunks | seconds | documents/s | MB/s | peak RSS MB | "
               "chunking share | all runs s |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int k = 0; k < 3; k++) {
            if (!r->ing[k].ran) continue;
            printf("| %s | %ld | %ld | %.2f | %.0f | %.2f | %.0f | %.0f %% |", CHUNKER[k],
                   r->ing[k].docs, r->ing[k].chunks, r->ing[k].secs,
                   r->ing[k].docs / r->ing[k].secs, r->mb / r->ing[k].secs, r->ing[k].rss_mb,
                   100.0 * median_of(r->secs[k], (size_t)r->o->reps) / r->ing[k].secs);
            for (int ir = 0; ir < r->o->ingest_reps; ir++)
                printf("%s%.2f", ir ? ", " : " ", r->isecs[k][ir]);
            printf(" |\n");
        }
        printf("\n");
    }

    printf("peak RSS of this process (ru_maxrss; holds the parsed corpus): %.0f MB; total "
           "%.1f s\n",
           bench_maxrss_mb(RUSAGE_SELF), bench_now() - r->t_start);
    printf("load average at the end: %.2f (2 cores: above ~1 means other processes competed "
           "for the CPU)\n",
           bench_loadavg());
}

void report_print(const bench_run *r)
{
    print_chunking(r);
    print_langchain(r);
    print_passes(r);
    print_ingest(r);
}

int report_json(const bench_run *r, int argc, char **argv)
{
    static const char *const KEY[NMEAS] = {"fixed", "parent", "semantic", "langchain_chars",
                                           "langchain_tokens"};
    json_t *j = bench_jnew(argc, argv, r->start), *ms = json_object();
    bench_jset(j, "input_mb", r->mb);
    json_object_set_new(j, "documents", json_integer((json_int_t)r->c->n));
    for (int m = 0; m < NMEAS; m++) {
        if (!r->on[m]) continue;
        double med = median_of(r->secs[m], (size_t)r->o->reps);
        json_t *mo = json_object();
        bench_jset(mo, "median_s", med);
        bench_jset(mo, "best_s", best_of(r->secs[m], (size_t)r->o->reps));
        bench_jset(mo, "mb_s", r->mb / med);
        double cpu = median_of(r->cpu[m], (size_t)r->o->reps);
        bench_jset(mo, "cpu_s", cpu);
        bench_jset(mo, "cpu_mb_s", r->mb / cpu);
        json_object_set_new(ms, KEY[m], mo);
        char key[64];
        snprintf(key, sizeof key, "%s_mb_s", KEY[m]);
        bench_jset(j, key, r->mb / med);
    }
    json_object_set_new(j, "measures", ms);
    if (r->have_js) {
        /* node's CPU after its clock stopped (GC, compilation), per timed
         * pass: bench_chunk waits it out before the next measure. */
        bench_jset(j, "langchain_chars_cpu_after_clock_s", r->js_after[0] / r->o->reps);
        bench_jset(j, "langchain_tokens_cpu_after_clock_s", r->js_after[1] / r->o->reps);
        double fx = median_of(r->secs[M_FIXED], (size_t)r->o->reps);
        bench_jset(j, "fixed_over_langchain_ratio",
                   median_of(r->secs[M_JS_CHARS], (size_t)r->o->reps) / fx);
        bench_jset(j, "fixed_over_langchain_tokens_ratio",
                   median_of(r->secs[M_JS_TOKENS], (size_t)r->o->reps) / fx);
        /* Each ragd chunker against LangChain chars, wall and CPU. */
        for (int k = M_FIXED; k <= M_SEMANTIC; k++) {
            if (!r->on[k]) continue;
            char key[64];
            snprintf(key, sizeof key, "%s_over_langchain_ratio", KEY[k]);
            if (k != M_FIXED)
                bench_jset(j, key, ratio(r->secs[M_JS_CHARS], r->secs[k], r->o->reps));
            snprintf(key, sizeof key, "%s_over_langchain_cpu_ratio", KEY[k]);
            bench_jset(j, key, ratio(r->cpu[M_JS_CHARS], r->cpu[k], r->o->reps));
        }
        json_object_set_new(j, "langchain_version", json_string(r->js_ver ? r->js_ver : "?"));
        json_object_set_new(j, "node_version", json_string(r->js_node ? r->js_node : "?"));
    } else {
        json_object_set_new(j, "langchain_skipped", json_string(r->why));
    }
    json_t *ij = json_object();
    for (int k = 0; k < 3; k++) {
        if (!r->ing[k].ran) continue;
        json_t *io = json_object();
        bench_jset(io, "seconds", r->ing[k].secs);
        bench_jset(io, "mb_s", r->mb / r->ing[k].secs);
        bench_jset(io, "peak_rss_mb", r->ing[k].rss_mb);
        bench_jset(io, "chunks", (double)r->ing[k].chunks);
        json_object_set_new(ij, CHUNKER[k], io);
    }
    json_object_set_new(j, "ingest", ij);
    return bench_jwrite(j, r->o->json, "bench_chunk");
}
