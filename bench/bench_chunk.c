/* bench/bench_chunk.c — chunking and ingest throughput per chunker on a BEIR
 * corpus (SciFact by default), and ragd's fixed chunker against LangChain's
 * JavaScript RecursiveCharacterTextSplitter on the same texts, in one run.
 *
 * 1. Load: every line of corpus.jsonl becomes the document `ragd ingest`
 *    makes of it (title + "\n\n" + text, as ingest_jsonl_item in
 *    ingest/jsonl_records.c builds it), parsed by ingest_parse as "txt" — the
 *    project's own parser, so the chunkers see exactly the normalized text
 *    and blocks they see during ingest. The normalized texts are written to
 *    a JSONL file (one JSON string per line) that the JavaScript side reads,
 *    so both sides chunk identical input.
 * 2. Chunking only, in process: a warm-up pass, then --reps timed passes;
 *    each pass runs every measure once over all documents, the measures in
 *    a shuffled order per slice (so no side always goes first, or always
 *    follows the same one):
 *      ragd fixed | parent | semantic   chunk_document with the collection
 *                                       defaults (256/32, parent 1024, local
 *                                       embedder for semantic), including
 *                                       chunk_list_free;
 *      LangChain chars     RecursiveCharacterTextSplitter, chunkSize and
 *                          chunkOverlap in characters = ragd's token sizes x
 *                          the corpus's characters per ragd token;
 *      LangChain tokens    the same splitter with chunkSize 256 / overlap 32
 *                          and a lengthFunction counting ragd tokens.
 *    The LangChain passes run in one long-lived node child
 *    (bench/langchain/split.mjs --serve): bench_chunk writes "chars" or
 *    "tokens" to its stdin and reads back the seconds node measured around
 *    its splitting loop. Node startup and file reading are outside the
 *    clock; JIT warm-up is the warm-up pass.
 *    Reported: best and median seconds, MB/s (normalized text bytes),
 *    documents/s, CPU seconds (this process's for ragd, node's own
 *    process.cpuUsage for LangChain, so load from other processes on a
 *    shared machine does not count), chunk counts and sizes, and each ragd
 *    chunker's MB/s / LangChain's (median, best, the median of the per-pass
 *    ratios, and by CPU seconds).
 * 3. Full ingest per chunker: `ragd ingest --format jsonl --no-progress
 *    --json --chunker X --data DIR corpus.jsonl` (the real CLI with the
 *    default local embedder, a child process, a fresh data directory each)
 *    timed from outside; peak RSS is the child's ru_maxrss from wait4.
 *
 * The parts: bench_chunk_input.c (corpus), bench_chunk_js.c (node child),
 * bench_chunk_report.c (report, --json), this file (options, passes,
 * ingest runs); bench_chunk.h lists them.
 *
 * Skips cleanly (exit 0) when the corpus is absent; the JavaScript side is
 * skipped with a message when node or bench/langchain/node_modules is
 * missing. See bench/README.md.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_chunk.h"
#include "bench/bench_common.h"
#include "core/error.h"
#include "ingest/ingest.h"
#include "store/store.h"

#ifndef RAGD_BENCH_SOURCE_DIR
#define RAGD_BENCH_SOURCE_DIR "."
#endif
#ifndef RAGD_BENCH_RAGD_BIN
#define RAGD_BENCH_RAGD_BIN "build/ragd"
#endif

const char *const MEAS_NAME[NMEAS] = {"ragd fixed", "ragd parent", "ragd semantic",
                                      "LangChain chars", "LangChain tokens"};
const char *const CHUNKER[3] = {"fixed", "parent", "semantic"};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_chunk [options] [CORPUS.jsonl]\n"
            "  CORPUS.jsonl      a BEIR corpus; default $RAGD_SHARED_DATA/scifact/corpus.jsonl,\n"
            "                    else <repo>/../shared/data/scifact/corpus.jsonl\n"
            "  --reps N          timed passes per measure (default 5, after one warm-up)\n"
            "  --slices N        interleave the measures over N slices of the corpus per pass\n"
            "                    (default 20)\n"
            "  --ingest-reps N   full ingest runs per chunker (default 1; median reported)\n"
            "  --chunk-tokens N  --overlap N  --parent-tokens N   (defaults 256, 32, 1024)\n"
            "  --no-semantic     skip the semantic chunker (the slow one)\n"
            "  --no-js           skip the LangChain comparison\n"
            "  --no-ingest       skip the full `ragd ingest` runs\n"
            "  --node PATH       node binary (default: node on PATH)\n"
            "  --langchain DIR   the npm package with split.mjs (default <repo>/bench/langchain)\n"
            "  --texts PATH      where to write the chunked texts (default: temporary, removed)\n"
            "  --ragd PATH       the ragd binary for ingest (default: this build's)\n"
            "  --keep            keep the temporary directory\n"
            "  --json FILE       also write the figures as JSON (bench/run.py)\n");
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.ragd = RAGD_BENCH_RAGD_BIN,
                .node = "node",
                .langchain = RAGD_BENCH_SOURCE_DIR "/bench/langchain",
                .reps = 5,
                .slices = 20,
                .ingest_reps = 1,
                .chunk_tokens = 256,
                .overlap = 32,
                .parent_tokens = 1024,
                .js = true,
                .ingest = true,
                .semantic = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--reps") || !strcmp(a, "--slices") ||
                     !strcmp(a, "--ingest-reps") || !strcmp(a, "--chunk-tokens") ||
                     !strcmp(a, "--overlap") || !strcmp(a, "--parent-tokens") ||
                     !strcmp(a, "--node") || !strcmp(a, "--langchain") || !strcmp(a, "--texts") ||
                     !strcmp(a, "--ragd") || !strcmp(a, "--json");
        if (takes && !v) {
            fprintf(stderr, "bench_chunk: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--reps")) {
            o->reps = atoi(v);
        } else if (!strcmp(a, "--slices")) {
            o->slices = atoi(v);
        } else if (!strcmp(a, "--ingest-reps")) {
            o->ingest_reps = atoi(v);
        } else if (!strcmp(a, "--chunk-tokens")) {
            o->chunk_tokens = atoi(v);
        } else if (!strcmp(a, "--overlap")) {
            o->overlap = atoi(v);
        } else if (!strcmp(a, "--parent-tokens")) {
            o->parent_tokens = atoi(v);
        } else if (!strcmp(a, "--node")) {
            o->node = v;
        } else if (!strcmp(a, "--langchain")) {
            o->langchain = v;
        } else if (!strcmp(a, "--texts")) {
            o->texts = v;
        } else if (!strcmp(a, "--ragd")) {
            o->ragd = v;
        } else if (!strcmp(a, "--json")) {
            o->json = v;
        } else if (!strcmp(a, "--no-semantic")) {
            o->semantic = false;
        } else if (!strcmp(a, "--no-js")) {
            o->js = false;
        } else if (!strcmp(a, "--no-ingest")) {
            o->ingest = false;
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "bench_chunk: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!o->corpus) {
            o->corpus = a;
        } else {
            fprintf(stderr, "bench_chunk: one corpus only\n");
            return 2;
        }
        if (takes) i++;
    }
    if (o->reps <= 0 || o->slices <= 0 || o->ingest_reps <= 0 || o->chunk_tokens <= 0 ||
        o->overlap < 0 || o->overlap >= o->chunk_tokens || o->parent_tokens <= 0) {
        fprintf(stderr, "bench_chunk: invalid --reps or chunk sizes\n");
        return 2;
    }
    return 0;
}

/* --- ragd chunking ------------------------------------------------------------ */

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Chunk documents [from, to) with settings s; wall seconds, and in *cpu the
 * process's CPU seconds. With st, the chunk statistics of those documents. */
static double ragd_pass(const corpus_t *c, const ragd_settings *s, size_t from, size_t to,
                        double *cpu, chunk_stats *st)
{
    chunk_stats z = {0};
    double c0 = cpu_now(), t0 = bench_now();
    for (size_t i = from; i < to; i++) {
        chunk_list cl;
        ragd_error e;
        ragd_error_clear(&e);
        if (chunk_document(&c->v[i], s, NULL, NULL, &cl, &e)) {
            fprintf(stderr, "bench_chunk: chunk_document (%s): %s\n", s->chunker, e.msg);
            exit(1);
        }
        if (st) {
            z.chunks += cl.n;
            z.parents += cl.nparents;
            for (size_t k = 0; k < cl.n; k++) {
                z.tokens += cl.v[k].tokens;
                z.bytes += cl.v[k].end - cl.v[k].start;
                if (cl.v[k].tokens > z.max_tokens) z.max_tokens = cl.v[k].tokens;
            }
        }
        chunk_list_free(&cl);
    }
    double dt = bench_now() - t0;
    if (cpu) *cpu = cpu_now() - c0;
    if (st) *st = z;
    return dt;
}

/* One measure over documents [from, to): seconds, CPU seconds in *cpu. */
static double measure(bench_run *r, js_child *js, const ragd_settings *set, int m, size_t from,
                      size_t to, double *cpu, bool stats)
{
    if (m <= M_SEMANTIC) return ragd_pass(r->c, &set[m], from, to, cpu, stats ? &r->cst[m] : NULL);
    double secs = js_pass(js, m == M_JS_CHARS ? "chars" : "tokens", from, to, cpu,
                          stats ? &r->jrep[m - M_JS_CHARS] : NULL);
    /* Let node finish what its pass left running (GC, JIT threads) before
     * the next measure starts, so that work does not slow ragd's clock;
     * what it costs node is reported, not added to LangChain's time. */
    double after = js_settle(js);
    if (!stats && !isnan(after)) r->js_after[m - M_JS_CHARS] += after;
    return secs;
}

/* The order of the measures for round q (a slice of a pass): a shuffle
 * seeded by q, so that no measure always runs right after the same one (a
 * rotation kept ragd fixed behind LangChain tokens in every round, and
 * whatever a measure leaves running, node's GC or the page cache's
 * write-back, always fell on the same successor). Deterministic: the same
 * run gives the same orders. */
static void round_order(unsigned q, int order[NMEAS])
{
    uint64_t x = 0x9E3779B97F4A7C15ULL * (q + 1);
    for (int i = 0; i < NMEAS; i++)
        order[i] = i;
    for (int i = NMEAS - 1; i > 0; i--) {
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ULL;
        x ^= x >> 29;
        int j = (int)(x % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* 2. A warm-up pass (also collecting the chunk statistics), then --reps
 * timed passes. A pass walks the corpus in --slices slices; every measure
 * chunks a slice before the next slice starts, the measures' order shuffled
 * per slice and pass (round_order), so a burst of load hits all of them
 * alike. */
static void run_passes(bench_run *r, js_child *js, const ragd_settings *set)
{
    const opts *o = r->o;
    const corpus_t *c = r->c;
    fprintf(stderr, "bench_chunk: warm-up pass\n");
    for (int m = 0; m < NMEAS; m++) {
        double cpu;
        if (r->on[m]) measure(r, js, set, m, 0, c->n, &cpu, true);
    }
    for (int m = 0; m < NMEAS; m++) {
        r->secs[m] = calloc((size_t)o->reps, sizeof(double));
        r->cpu[m] = calloc((size_t)o->reps, sizeof(double));
    }
    r->nsl = (size_t)o->slices < c->n ? (size_t)o->slices : c->n;
    for (int p = 0; p < o->reps; p++) {
        fprintf(stderr, "bench_chunk: pass %d/%d\n", p + 1, o->reps);
        for (size_t sl = 0; sl < r->nsl; sl++) {
            size_t from = c->n * sl / r->nsl, to = c->n * (sl + 1) / r->nsl;
            int order[NMEAS];
            round_order((unsigned)((size_t)p * r->nsl + sl), order);
            for (int j = 0; j < NMEAS; j++) {
                int m = order[j];
                if (!r->on[m]) continue;
                double cpu = 0;
                r->secs[m][p] += measure(r, js, set, m, from, to, &cpu, false);
                r->cpu[m][p] += cpu;
            }
        }
    }
}

/* 3. Full ingest per chunker: the real CLI in a child, a fresh data
 * directory each, the order of the chunkers rotating per run. */
static int run_ingest(bench_run *r, const char *tmpdir)
{
    const opts *o = r->o;
    for (int ir = 0; o->ingest && ir < o->ingest_reps; ir++) {
        for (int kk = 0; kk < 3; kk++) {
            int k = (kk + ir) % 3; /* the chunker that goes first rotates */
            if (k == M_SEMANTIC && !o->semantic) continue;
            char data[1100], out[1100], ct[16], ov[16], pt[16];
            snprintf(data, sizeof data, "%s/data-%s", tmpdir, CHUNKER[k]);
            snprintf(out, sizeof out, "%s/ingest-%s.json", tmpdir, CHUNKER[k]);
            snprintf(ct, sizeof ct, "%d", o->chunk_tokens);
            snprintf(ov, sizeof ov, "%d", o->overlap);
            snprintf(pt, sizeof pt, "%d", o->parent_tokens);
            /* --overlap only where it applies (fixed, parent), --parent-tokens
             * only for parent: the CLI refuses them elsewhere. */
            char *args[24];
            int na = 0;
            args[na++] = (char *)o->ragd;
            args[na++] = "ingest";
            args[na++] = "--format";
            args[na++] = "jsonl";
            args[na++] = "--no-progress";
            args[na++] = "--json";
            args[na++] = "--chunker";
            args[na++] = (char *)CHUNKER[k];
            args[na++] = "--chunk-tokens";
            args[na++] = ct;
            if (k != M_SEMANTIC) {
                args[na++] = "--overlap";
                args[na++] = ov;
            }
            if (k == M_PARENT) {
                args[na++] = "--parent-tokens";
                args[na++] = pt;
            }
            args[na++] = "--data";
            args[na++] = data;
            args[na++] = (char *)r->corpus;
            args[na] = NULL;
            fprintf(stderr, "bench_chunk: %s ingest --chunker %s (run %d/%d) ...\n", o->ragd,
                    CHUNKER[k], ir + 1, o->ingest_reps);
            struct rusage ru = {0};
            int rc = bench_run_child("bench_chunk", args, out, &r->isecs[k][ir], &ru);
            if (rc != 0) {
                fprintf(stderr, "bench_chunk: ragd ingest --chunker %s failed (exit %d)\n",
                        CHUNKER[k], rc);
                return 1;
            }
            r->ing[k].ran = true;
            if (ru.ru_maxrss / 1024.0 > r->ing[k].rss_mb) r->ing[k].rss_mb = ru.ru_maxrss / 1024.0;
            r->ing[k].secs = median_of(r->isecs[k], (size_t)ir + 1);
            json_error_t je;
            json_t *rep = json_load_file(out, 0, &je);
            r->ing[k].docs = (long)json_integer_value(json_object_get(rep, "added"));
            r->ing[k].chunks = (long)json_integer_value(json_object_get(rep, "chunks"));
            r->ing[k].bytes = (long long)json_integer_value(json_object_get(rep, "bytes"));
            json_decref(rep);
            bench_rmtree(data);
        }
    }
    return 0;
}

/* The corpus path: the argument, else $RAGD_SHARED_DATA's or the one next to
 * the source tree. */
static void corpus_path(const opts *o, char *corpus, size_t cap)
{
    const char *shared = getenv("RAGD_SHARED_DATA");
    if (o->corpus)
        snprintf(corpus, cap, "%s", o->corpus);
    else if (shared && *shared)
        snprintf(corpus, cap, "%s/scifact/corpus.jsonl", shared);
    else
        snprintf(corpus, cap, "%s/../shared/data/scifact/corpus.jsonl", RAGD_BENCH_SOURCE_DIR);
}

static void print_header(const opts *o, const char *corpus, int argc, char **argv)
{
    printf("# bench_chunk\n\n");
    bench_print_machine(stdout);
    printf("command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\ncorpus: %s (%.2f MB)\n", corpus, bench_file_size(corpus) / 1048576.0);
    printf("settings: --chunk-tokens %d --overlap %d --parent-tokens %d (semantic: local "
           "embedder at %d dimensions, percentile 90)\n\n",
           o->chunk_tokens, o->overlap, o->parent_tokens, CHUNK_SEMANTIC_LOCAL_DIM);
    fflush(stdout);
}

static void settings_for(const opts *o, ragd_settings set[3])
{
    for (int k = 0; k < 3; k++) {
        store_settings_init(&set[k]);
        snprintf(set[k].chunker, sizeof set[k].chunker, "%s", CHUNKER[k]);
        set[k].chunk_tokens = o->chunk_tokens;
        set[k].overlap = o->overlap;
        set[k].parent_tokens = o->parent_tokens;
        store_settings_defaults(&set[k]);
    }
}

int main(int argc, char **argv)
{
    opts o;
    int prc = parse(argc, argv, &o);
    if (prc) return prc;
    bench_run r = {.o = &o, .t_start = bench_now(), .start = bench_mark_now()};
    signal(SIGPIPE, SIG_IGN); /* a node child that dies is reported, not fatal here */

    char corpus[1024];
    corpus_path(&o, corpus, sizeof corpus);
    r.corpus = corpus;
    if (access(corpus, R_OK) != 0) {
        printf("bench_chunk: skipped: corpus %s not found. Pass a BEIR corpus.jsonl path or set "
               "RAGD_SHARED_DATA.\n",
               corpus);
        return 0;
    }
    char tmpdir[512] = "";
    if (bench_mkdtemp("ragd-bench-chunk", tmpdir, sizeof tmpdir)) {
        fprintf(stderr, "bench_chunk: cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    char texts[1100];
    if (o.texts)
        snprintf(texts, sizeof texts, "%s", o.texts);
    else
        snprintf(texts, sizeof texts, "%s/texts.jsonl", tmpdir);
    print_header(&o, corpus, argc, argv);

    /* 1. Load and parse. */
    fprintf(stderr, "bench_chunk: parsing %s\n", corpus);
    corpus_t c;
    double tl0 = bench_now();
    if (load_corpus(corpus, &c) || !c.n) {
        fprintf(stderr, "bench_chunk: no documents in %s\n", corpus);
        return 1;
    }
    r.c = &c;
    r.load_s = bench_now() - tl0;
    if (write_texts(texts, &c)) {
        fprintf(stderr, "bench_chunk: cannot write %s: %s\n", texts, strerror(errno));
        return 1;
    }
    r.mb = c.bytes / 1048576.0;
    r.cpt = (double)c.cps / (double)c.tokens; /* characters per ragd token */
    r.chunk_chars = (int)lround(o.chunk_tokens * r.cpt);
    r.overlap_chars = (int)lround(o.overlap * r.cpt);
    ragd_settings set[3];
    settings_for(&o, set);

    /* The LangChain child. */
    js_child js = {0};
    char why[1400] = "--no-js";
    if (o.js) {
        fprintf(stderr, "bench_chunk: starting %s %s/split.mjs\n", o.node, o.langchain);
        r.have_js = js_start(&js, &o, texts, r.chunk_chars, r.overlap_chars, why, sizeof why) == 0;
        if (!r.have_js) {
            fprintf(stderr, "bench_chunk: LangChain side skipped: %s\n", why);
            js_stop(&js);
        }
    }
    r.why = why;
    bool on[NMEAS] = {true, true, o.semantic, r.have_js, r.have_js};
    memcpy(r.on, on, sizeof on);
    run_passes(&r, &js, set);
    r.js_node = r.js_ver = "";
    if (r.have_js) {
        r.js_node = json_string_value(json_object_get(js.ready, "node"));
        r.js_ver = json_string_value(json_object_get(js.ready, "textsplitters"));
        r.js_tokens = (long)json_integer_value(json_object_get(js.ready, "tokens"));
    }
    for (int k = 0; k < 3; k++)
        r.isecs[k] = calloc((size_t)o.ingest_reps, sizeof(double));
    int rc = run_ingest(&r, tmpdir);
    if (!rc) {
        report_print(&r);
        if (o.json) rc = report_json(&r, argc, argv);
    }
    if (r.have_js) js_stop(&js);
    json_decref(r.jrep[0]);
    json_decref(r.jrep[1]);
    for (int m = 0; m < NMEAS; m++) {
        free(r.secs[m]);
        free(r.cpu[m]);
    }
    for (int k = 0; k < 3; k++)
        free(r.isecs[k]);
    corpus_free(&c);
    if (o.keep)
        fprintf(stderr, "bench_chunk: kept %s\n", tmpdir);
    else
        bench_rmtree(tmpdir);
    return rc;
}
