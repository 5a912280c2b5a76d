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
 *    rotating order (so the side that goes first alternates):
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
 *    documents/s, chunk counts and sizes, and ragd fixed MB/s / LangChain
 *    MB/s (median, best, and the median of the per-pass ratios).
 * 3. Full ingest per chunker: `ragd ingest --format jsonl --no-progress
 *    --json --chunker X --data DIR corpus.jsonl` (the real CLI with the
 *    default local embedder, a child process, a fresh data directory each)
 *    timed from outside; peak RSS is the child's ru_maxrss from wait4.
 *
 * Skips cleanly (exit 0) when the corpus is absent; the JavaScript side is
 * skipped with a message when node or bench/langchain/node_modules is
 * missing. See bench/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "bench/bench_json.h"
#include "core/error.h"
#include "core/text.h"
#include "ingest/ingest.h"
#include "store/store.h"

#ifndef RAGD_BENCH_SOURCE_DIR
#define RAGD_BENCH_SOURCE_DIR "."
#endif
#ifndef RAGD_BENCH_RAGD_BIN
#define RAGD_BENCH_RAGD_BIN "build/ragd"
#endif

enum { M_FIXED, M_PARENT, M_SEMANTIC, M_JS_CHARS, M_JS_TOKENS, NMEAS };
static const char *MEAS_NAME[NMEAS] = {"ragd fixed", "ragd parent", "ragd semantic",
                                       "LangChain chars", "LangChain tokens"};
static const char *CHUNKER[3] = {"fixed", "parent", "semantic"};

typedef struct {
    const char *corpus;
    const char *ragd;
    const char *node;
    const char *langchain;
    const char *texts;
    const char *json; /* --json FILE: figures for bench/run.py */
    int reps, slices, ingest_reps;
    int chunk_tokens, overlap, parent_tokens;
    bool js, ingest, semantic, keep;
} opts;

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

/* --- loading ---------------------------------------------------------------- */

typedef struct {
    ingest_doc *v;
    size_t n, cap;
    size_t bytes, cps, tokens; /* normalized text: bytes, code points, ragd tokens */
    size_t skipped, bad;
    double parse_s;
} corpus_t;

static void corpus_add(corpus_t *c, const ingest_doc *d)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v) abort();
    }
    c->v[c->n++] = *d;
}

static size_t count_cps(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* Read a BEIR corpus.jsonl into parsed documents, the way `ragd ingest`
 * builds them (ingest_jsonl: title + "\n\n" + text, format "txt", the id as
 * fallback title). */
static int load_corpus(const char *path, corpus_t *c)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    memset(c, 0, sizeof *c);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        const char *id = o ? json_string_value(json_object_get(o, "_id")) : NULL;
        const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
        const char *title = o ? json_string_value(json_object_get(o, "title")) : NULL;
        if (!id || !text) {
            c->bad++;
            json_decref(o);
            continue;
        }
        size_t tl = title ? strlen(title) : 0, xl = strlen(text);
        char *body = malloc(tl + 2 + xl + 1);
        if (!body) abort();
        size_t bl = 0;
        if (tl) {
            memcpy(body, title, tl);
            memcpy(body + tl, "\n\n", 2);
            bl = tl + 2;
        }
        memcpy(body + bl, text, xl + 1);
        bl += xl;
        ingest_doc d;
        ragd_error e;
        ragd_error_clear(&e);
        double t0 = bench_now();
        ragd_status rc = ingest_parse(body, bl, "txt", id, &d, &e);
        c->parse_s += bench_now() - t0;
        free(body);
        json_decref(o);
        if (rc == RAGD_ENOTFOUND) {
            c->skipped++;
            continue;
        }
        if (rc) {
            c->bad++;
            continue;
        }
        c->bytes += d.len;
        c->cps += count_cps(d.text, d.len);
        c->tokens += text_count_tokens(d.text, d.len);
        corpus_add(c, &d);
    }
    free(line);
    fclose(f);
    return 0;
}

/* One JSON string per line: the exact texts the chunkers see. */
static int write_texts(const char *path, const corpus_t *c)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (size_t i = 0; i < c->n; i++) {
        json_t *s = json_stringn(c->v[i].text, c->v[i].len);
        if (!s || json_dumpf(s, f, JSON_ENCODE_ANY) != 0) {
            json_decref(s);
            fclose(f);
            return -1;
        }
        json_decref(s);
        fputc('\n', f);
    }
    return fclose(f);
}

/* --- ragd chunking ------------------------------------------------------------ */

typedef struct {
    size_t chunks, tokens, bytes, max_tokens, parents;
} chunk_stats;

/* Chunk documents [from, to) with settings s; seconds. With st, the chunk
 * statistics of those documents. */
static double ragd_pass(const corpus_t *c, const ragd_settings *s, size_t from, size_t to,
                        chunk_stats *st)
{
    chunk_stats z = {0};
    double t0 = bench_now();
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
    if (st) *st = z;
    return dt;
}

/* --- the node child ------------------------------------------------------------ */

typedef struct {
    pid_t pid;
    FILE *in;  /* its stdin */
    FILE *out; /* its stdout */
    json_t *ready;
} js_child;

static int js_start(js_child *j, const opts *o, const char *texts, int chunk_chars,
                    int overlap_chars, char *why, size_t whycap)
{
    memset(j, 0, sizeof *j);
    char script[1024], pkg[1100];
    snprintf(script, sizeof script, "%s/split.mjs", o->langchain);
    snprintf(pkg, sizeof pkg, "%s/node_modules/@langchain/textsplitters/package.json",
             o->langchain);
    if (access(script, R_OK) != 0) {
        snprintf(why, whycap, "%s not found", script);
        return -1;
    }
    if (access(pkg, R_OK) != 0) {
        snprintf(why, whycap, "%s/node_modules not installed (run `npm ci` in %s)", o->langchain,
                 o->langchain);
        return -1;
    }
    int pin[2], pout[2];
    if (pipe(pin) || pipe(pout)) {
        snprintf(why, whycap, "pipe: %s", strerror(errno));
        return -1;
    }
    char cc[32], oc[32], ct[32], ot[32];
    snprintf(cc, sizeof cc, "%d", chunk_chars);
    snprintf(oc, sizeof oc, "%d", overlap_chars);
    snprintf(ct, sizeof ct, "%d", o->chunk_tokens);
    snprintf(ot, sizeof ot, "%d", o->overlap);
    char *args[] = {(char *)o->node,  script, "--texts",          (char *)texts,
                    "--chunk-chars",  cc,     "--overlap-chars",  oc,
                    "--chunk-tokens", ct,     "--overlap-tokens", ot,
                    "--serve",        NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pout[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, pin[1]);
    posix_spawn_file_actions_addclose(&fa, pout[0]);
    int rc = posix_spawnp(&j->pid, o->node, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pin[0]);
    close(pout[1]);
    if (rc) {
        close(pin[1]);
        close(pout[0]);
        snprintf(why, whycap, "cannot run %s: %s", o->node, strerror(rc));
        j->pid = 0;
        return -1;
    }
    j->in = fdopen(pin[1], "w");
    j->out = fdopen(pout[0], "r");
    char *line = NULL;
    size_t cap = 0;
    json_error_t je;
    if (getline(&line, &cap, j->out) > 0) j->ready = json_loads(line, 0, &je);
    free(line);
    if (!j->ready || !json_is_true(json_object_get(j->ready, "ready"))) {
        snprintf(why, whycap, "%s %s did not start (see its message above)", o->node, script);
        return -1;
    }
    return 0;
}

/* One timed pass in node over texts [from, to); returns the seconds node
 * measured and, with reply, keeps its answer (chunk statistics for a whole
 * pass). */
static double js_pass(js_child *j, const char *mode, size_t from, size_t to, json_t **reply)
{
    fprintf(j->in, "%s %zu %zu\n", mode, from, to);
    fflush(j->in);
    char *line = NULL;
    size_t cap = 0;
    json_error_t je;
    json_t *r = getline(&line, &cap, j->out) > 0 ? json_loads(line, 0, &je) : NULL;
    free(line);
    json_t *s = r ? json_object_get(r, "seconds") : NULL;
    if (!json_is_number(s)) {
        fprintf(stderr, "bench_chunk: no timing from node for '%s'\n", mode);
        exit(1);
    }
    double secs = json_number_value(s);
    if (reply) {
        json_decref(*reply);
        *reply = r;
    } else {
        json_decref(r);
    }
    return secs;
}

static void js_stop(js_child *j)
{
    if (j->in) {
        fputs("quit\n", j->in);
        fclose(j->in);
    }
    if (j->out) fclose(j->out);
    if (j->pid > 0) {
        int status;
        waitpid(j->pid, &status, 0);
    }
    json_decref(j->ready);
    memset(j, 0, sizeof *j);
}

/* --- full ingest ------------------------------------------------------------------ */

typedef struct {
    bool ran;
    double secs;
    double rss_mb;
    long docs, chunks;
    long long bytes;
} ingest_result;

/* --- report helpers ------------------------------------------------------------------- */

static double median_of(const double *x, size_t n)
{
    return bench_summarize(x, n).p50;
}

static double best_of(const double *x, size_t n)
{
    return bench_summarize(x, n).min;
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

int main(int argc, char **argv)
{
    opts o;
    int prc = parse(argc, argv, &o);
    if (prc) return prc;
    double t_start = bench_now(), load_start = bench_loadavg();
    signal(SIGPIPE, SIG_IGN); /* a node child that dies is reported, not fatal here */

    char corpus[1024];
    const char *shared = getenv("RAGD_SHARED_DATA");
    if (o.corpus)
        snprintf(corpus, sizeof corpus, "%s", o.corpus);
    else if (shared && *shared)
        snprintf(corpus, sizeof corpus, "%s/scifact/corpus.jsonl", shared);
    else
        snprintf(corpus, sizeof corpus, "%s/../shared/data/scifact/corpus.jsonl",
                 RAGD_BENCH_SOURCE_DIR);
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

    printf("# bench_chunk\n\n");
    bench_print_machine(stdout);
    printf("command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\ncorpus: %s (%.2f MB)\n", corpus, bench_file_size(corpus) / 1048576.0);
    printf("settings: --chunk-tokens %d --overlap %d --parent-tokens %d (semantic: local "
           "embedder at %d dimensions, percentile 90)\n\n",
           o.chunk_tokens, o.overlap, o.parent_tokens, CHUNK_SEMANTIC_LOCAL_DIM);
    fflush(stdout);

    /* 1. Load and parse. */
    fprintf(stderr, "bench_chunk: parsing %s\n", corpus);
    corpus_t c;
    double tl0 = bench_now();
    if (load_corpus(corpus, &c) || !c.n) {
        fprintf(stderr, "bench_chunk: no documents in %s\n", corpus);
        return 1;
    }
    double load_s = bench_now() - tl0;
    if (write_texts(texts, &c)) {
        fprintf(stderr, "bench_chunk: cannot write %s: %s\n", texts, strerror(errno));
        return 1;
    }
    double mb = c.bytes / 1048576.0;
    double cpt = (double)c.cps / (double)c.tokens; /* characters per ragd token */
    int chunk_chars = (int)lround(o.chunk_tokens * cpt);
    int overlap_chars = (int)lround(o.overlap * cpt);

    ragd_settings set[3];
    for (int k = 0; k < 3; k++) {
        store_settings_init(&set[k]);
        snprintf(set[k].chunker, sizeof set[k].chunker, "%s", CHUNKER[k]);
        set[k].chunk_tokens = o.chunk_tokens;
        set[k].overlap = o.overlap;
        set[k].parent_tokens = o.parent_tokens;
        store_settings_defaults(&set[k]);
    }

    /* The LangChain child. */
    js_child js = {0};
    bool have_js = false;
    char why[1400] = "--no-js";
    if (o.js) {
        fprintf(stderr, "bench_chunk: starting %s %s/split.mjs\n", o.node, o.langchain);
        have_js = js_start(&js, &o, texts, chunk_chars, overlap_chars, why, sizeof why) == 0;
        if (!have_js) {
            fprintf(stderr, "bench_chunk: LangChain side skipped: %s\n", why);
            js_stop(&js);
        }
    }

    bool on[NMEAS] = {true, true, o.semantic, have_js, have_js};
    chunk_stats cst[3] = {{0}};
    json_t *jrep[2] = {NULL, NULL};

    /* 2. Warm-up pass (also collects the chunk statistics), then timed passes. */
    fprintf(stderr, "bench_chunk: warm-up pass\n");
    for (int m = 0; m < NMEAS; m++) {
        if (!on[m]) continue;
        if (m <= M_SEMANTIC)
            ragd_pass(&c, &set[m], 0, c.n, &cst[m]);
        else
            js_pass(&js, m == M_JS_CHARS ? "chars" : "tokens", 0, c.n, &jrep[m - M_JS_CHARS]);
    }
    double *secs[NMEAS];
    for (int m = 0; m < NMEAS; m++)
        secs[m] = calloc((size_t)o.reps, sizeof(double));
    /* A pass walks the corpus in --slices slices; every measure chunks a
     * slice before the next slice starts, the measures' order rotating per
     * slice and pass, so a burst of load hits all of them alike. */
    size_t nsl = (size_t)o.slices < c.n ? (size_t)o.slices : c.n;
    for (int r = 0; r < o.reps; r++) {
        fprintf(stderr, "bench_chunk: pass %d/%d\n", r + 1, o.reps);
        for (size_t sl = 0; sl < nsl; sl++) {
            size_t from = c.n * sl / nsl, to = c.n * (sl + 1) / nsl;
            for (int j = 0; j < NMEAS; j++) {
                int m = (j + r + (int)sl) % NMEAS;
                if (!on[m]) continue;
                if (m <= M_SEMANTIC)
                    secs[m][r] += ragd_pass(&c, &set[m], from, to, NULL);
                else
                    secs[m][r] +=
                        js_pass(&js, m == M_JS_CHARS ? "chars" : "tokens", from, to, NULL);
            }
        }
    }
    const char *js_node = "", *js_ver = "";
    long js_tokens = 0;
    if (have_js) {
        js_node = json_string_value(json_object_get(js.ready, "node"));
        js_ver = json_string_value(json_object_get(js.ready, "textsplitters"));
        js_tokens = (long)json_integer_value(json_object_get(js.ready, "tokens"));
    }

    /* 3. Full ingest per chunker. */
    ingest_result ing[3] = {{0}};
    double *isecs[3];
    for (int k = 0; k < 3; k++)
        isecs[k] = calloc((size_t)o.ingest_reps, sizeof(double));
    for (int ir = 0; o.ingest && ir < o.ingest_reps; ir++) {
        for (int kk = 0; kk < 3; kk++) {
            int k = (kk + ir) % 3; /* the chunker that goes first rotates */
            if (k == M_SEMANTIC && !o.semantic) continue;
            char data[1100], out[1100], ct[16], ov[16], pt[16];
            snprintf(data, sizeof data, "%s/data-%s", tmpdir, CHUNKER[k]);
            snprintf(out, sizeof out, "%s/ingest-%s.json", tmpdir, CHUNKER[k]);
            snprintf(ct, sizeof ct, "%d", o.chunk_tokens);
            snprintf(ov, sizeof ov, "%d", o.overlap);
            snprintf(pt, sizeof pt, "%d", o.parent_tokens);
            /* --overlap only where it applies (fixed, parent), --parent-tokens
             * only for parent: the CLI refuses them elsewhere. */
            char *args[24];
            int na = 0;
            args[na++] = (char *)o.ragd;
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
            args[na++] = corpus;
            args[na] = NULL;
            fprintf(stderr, "bench_chunk: %s ingest --chunker %s (run %d/%d) ...\n", o.ragd,
                    CHUNKER[k], ir + 1, o.ingest_reps);
            struct rusage ru = {0};
            int rc = bench_run_child("bench_chunk", args, out, &isecs[k][ir], &ru);
            if (rc != 0) {
                fprintf(stderr, "bench_chunk: ragd ingest --chunker %s failed (exit %d)\n",
                        CHUNKER[k], rc);
                if (have_js) js_stop(&js);
                if (!o.keep) bench_rmtree(tmpdir);
                return 1;
            }
            ing[k].ran = true;
            if (ru.ru_maxrss / 1024.0 > ing[k].rss_mb) ing[k].rss_mb = ru.ru_maxrss / 1024.0;
            ing[k].secs = median_of(isecs[k], (size_t)ir + 1);
            json_error_t je;
            json_t *rep = json_load_file(out, 0, &je);
            ing[k].docs = (long)json_integer_value(json_object_get(rep, "added"));
            ing[k].chunks = (long)json_integer_value(json_object_get(rep, "chunks"));
            ing[k].bytes = (long long)json_integer_value(json_object_get(rep, "bytes"));
            json_decref(rep);
            bench_rmtree(data);
        }
    }

    /* --- report --- */
    printf("## Input\n\n");
    printf("| documents | skipped (blank) | bad lines | normalized text MB | ragd tokens | "
           "characters per token | load + parse s (ingest_parse part) |\n"
           "|---|---|---|---|---|---|---|\n");
    printf("| ");
    print_fmt_int(c.n);
    printf(" | %zu | %zu | %.2f | ", c.skipped, c.bad, mb);
    print_fmt_int(c.tokens);
    printf(" | %.3f | %.2f (%.2f) |\n\n", cpt, load_s, c.parse_s);

    printf("## Chunking only (in process; %d timed passes after a warm-up; each pass in %zu "
           "slices of the corpus, the measures interleaved slice by slice in rotating order)\n\n",
           o.reps, nsl);
    printf("MB/s and documents/s over the %.2f MB of normalized text, from the median pass "
           "(best pass in parentheses).\n\n",
           mb);
    printf("| measure | median s | best s | MB/s | documents/s | chunks | mean chunk tokens | "
           "mean chunk bytes | max chunk tokens |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < NMEAS; m++) {
        if (!on[m]) continue;
        double med = median_of(secs[m], (size_t)o.reps), best = best_of(secs[m], (size_t)o.reps);
        size_t ch, tk, by, mx;
        if (m <= M_SEMANTIC) {
            ch = cst[m].chunks;
            tk = cst[m].tokens;
            by = cst[m].bytes;
            mx = cst[m].max_tokens;
        } else {
            json_t *r = jrep[m - M_JS_CHARS];
            ch = (size_t)json_integer_value(json_object_get(r, "chunks"));
            tk = (size_t)json_integer_value(json_object_get(r, "chunk_tokens"));
            by = (size_t)json_integer_value(json_object_get(r, "chunk_bytes"));
            mx = (size_t)json_integer_value(json_object_get(r, "max_chunk_tokens"));
        }
        printf("| %s | %.3f | %.3f | %.2f (%.2f) | %.0f (%.0f) | ", MEAS_NAME[m], med, best,
               mb / med, mb / best, c.n / med, c.n / best);
        print_fmt_int(ch);
        printf(" | %.1f | %.0f | %zu |\n", ch ? (double)tk / ch : 0, ch ? (double)by / ch : 0, mx);
    }
    if (cst[M_PARENT].parents)
        printf("\nparent chunker: %zu parents for %zu children.\n", cst[M_PARENT].parents,
               cst[M_PARENT].chunks);
    printf("\nChunk tokens are ragd's count (core/text.h text_count_tokens; for LangChain "
           "chunks, split.mjs's re-implementation of it, which counts ");
    print_fmt_int((size_t)js_tokens);
    printf(" tokens in the whole input against ragd's ");
    print_fmt_int(c.tokens);
    printf(").\n\n");

    if (have_js) {
        printf("## ragd fixed vs LangChain RecursiveCharacterTextSplitter (same texts, same "
               "run)\n\n");
        printf("LangChain: @langchain/textsplitters %s on node %s; `chars`: chunkSize %d, "
               "chunkOverlap %d characters (%d and %d tokens x %.3f characters per token); "
               "`tokens`: chunkSize %d, chunkOverlap %d with a lengthFunction counting ragd "
               "tokens.\n\n",
               js_ver ? js_ver : "?", js_node ? js_node : "?", chunk_chars, overlap_chars,
               o.chunk_tokens, o.overlap, cpt, o.chunk_tokens, o.overlap);
        printf("| ragd fixed MB/s / | median passes | best passes | median of per-pass ratios "
               "|\n|---|---|---|---|\n");
        for (int m = M_JS_CHARS; m <= M_JS_TOKENS; m++) {
            double *pr = calloc((size_t)o.reps, sizeof *pr);
            for (int r = 0; r < o.reps; r++)
                pr[r] = secs[m][r] / secs[M_FIXED][r];
            printf("| %s MB/s | **%.2f×** | %.2f× | %.2f× |\n", MEAS_NAME[m],
                   median_of(secs[m], (size_t)o.reps) / median_of(secs[M_FIXED], (size_t)o.reps),
                   best_of(secs[m], (size_t)o.reps) / best_of(secs[M_FIXED], (size_t)o.reps),
                   median_of(pr, (size_t)o.reps));
            free(pr);
        }
        printf("\n(> 1: ragd is faster.)\n\n");
    } else {
        printf("LangChain comparison skipped: %s\n\n", why);
    }

    printf("## Per-pass seconds\n\n| pass |");
    for (int m = 0; m < NMEAS; m++)
        if (on[m]) printf(" %s |", MEAS_NAME[m]);
    printf("\n|---|");
    for (int m = 0; m < NMEAS; m++)
        if (on[m]) printf("---|");
    printf("\n");
    for (int r = 0; r < o.reps; r++) {
        printf("| %d |", r + 1);
        for (int m = 0; m < NMEAS; m++)
            if (on[m]) printf(" %.3f |", secs[m][r]);
        printf("\n");
    }
    printf("\n");

    if (o.ingest) {
        printf("## Full ingest per chunker (`%s ingest --format jsonl --no-progress --json "
               "--chunker X`, a child process, fresh data directory, local embedder)\n\n",
               o.ragd);
        printf("%d run(s) per chunker, the order rotating; seconds is the median run, peak RSS "
               "the largest ru_maxrss (wait4). MB/s over the %.2f MB of normalized text (the "
               "corpus file is %.2f MB); \"chunking share\" = median in-process chunking time / "
               "ingest seconds.\n\n",
               o.ingest_reps, mb, bench_file_size(corpus) / 1048576.0);
        printf("| chunker | documents | chunks | seconds | documents/s | MB/s | peak RSS MB | "
               "chunking share | all runs s |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int k = 0; k < 3; k++) {
            if (!ing[k].ran) continue;
            printf("| %s | %ld | %ld | %.2f | %.0f | %.2f | %.0f | %.0f %% |", CHUNKER[k],
                   ing[k].docs, ing[k].chunks, ing[k].secs, ing[k].docs / ing[k].secs,
                   mb / ing[k].secs, ing[k].rss_mb,
                   100.0 * median_of(secs[k], (size_t)o.reps) / ing[k].secs);
            for (int ir = 0; ir < o.ingest_reps; ir++)
                printf("%s%.2f", ir ? ", " : " ", isecs[k][ir]);
            printf(" |\n");
        }
        printf("\n");
    }

    printf("peak RSS of this process (ru_maxrss; holds the parsed corpus): %.0f MB; total "
           "%.1f s\n",
           bench_maxrss_mb(RUSAGE_SELF), bench_now() - t_start);
    printf("load average at the end: %.2f (2 cores: above ~1 means other processes competed "
           "for the CPU)\n",
           bench_loadavg());

    if (o.json) {
        static const char *const KEY[NMEAS] = {"fixed", "parent", "semantic", "langchain_chars",
                                               "langchain_tokens"};
        json_t *j = bench_jnew(argc, argv, load_start), *ms = json_object();
        bench_jset(j, "input_mb", mb);
        json_object_set_new(j, "documents", json_integer((json_int_t)c.n));
        for (int m = 0; m < NMEAS; m++) {
            if (!on[m]) continue;
            double med = median_of(secs[m], (size_t)o.reps);
            json_t *mo = json_object();
            bench_jset(mo, "median_s", med);
            bench_jset(mo, "best_s", best_of(secs[m], (size_t)o.reps));
            bench_jset(mo, "mb_s", mb / med);
            json_object_set_new(ms, KEY[m], mo);
            char key[64];
            snprintf(key, sizeof key, "%s_mb_s", KEY[m]);
            bench_jset(j, key, mb / med);
        }
        json_object_set_new(j, "measures", ms);
        if (have_js) {
            double fx = median_of(secs[M_FIXED], (size_t)o.reps);
            bench_jset(j, "fixed_over_langchain_ratio",
                       median_of(secs[M_JS_CHARS], (size_t)o.reps) / fx);
            bench_jset(j, "fixed_over_langchain_tokens_ratio",
                       median_of(secs[M_JS_TOKENS], (size_t)o.reps) / fx);
            json_object_set_new(j, "langchain_version", json_string(js_ver ? js_ver : "?"));
            json_object_set_new(j, "node_version", json_string(js_node ? js_node : "?"));
        } else {
            json_object_set_new(j, "langchain_skipped", json_string(why));
        }
        json_t *ij = json_object();
        for (int k = 0; k < 3; k++) {
            if (!ing[k].ran) continue;
            json_t *io = json_object();
            bench_jset(io, "seconds", ing[k].secs);
            bench_jset(io, "mb_s", mb / ing[k].secs);
            bench_jset(io, "peak_rss_mb", ing[k].rss_mb);
            bench_jset(io, "chunks", (double)ing[k].chunks);
            json_object_set_new(ij, CHUNKER[k], io);
        }
        json_object_set_new(j, "ingest", ij);
        if (bench_jwrite(j, o.json, "bench_chunk")) return 1;
    }
    if (have_js) js_stop(&js);
    json_decref(jrep[0]);
    json_decref(jrep[1]);
    for (int m = 0; m < NMEAS; m++)
        free(secs[m]);
    for (int k = 0; k < 3; k++)
        free(isecs[k]);
    for (size_t i = 0; i < c.n; i++)
        ingest_doc_free(&c.v[i]);
    free(c.v);
    if (o.keep)
        fprintf(stderr, "bench_chunk: kept %s\n", tmpdir);
    else
        bench_rmtree(tmpdir);
    return 0;
}
