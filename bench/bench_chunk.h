/* bench/bench_chunk.h — what the parts of bench_chunk share (see
 * bench_chunk.c for what it measures):
 *   bench_chunk_input.c   the corpus, parsed as `ragd ingest` parses it, and
 *                         the texts file the JavaScript side reads;
 *   bench_chunk_js.c      the long-lived node child running LangChain's
 *                         splitter (bench/langchain/split.mjs --serve);
 *   bench_chunk_report.c  the Markdown report and the --json figures;
 *   bench_chunk.c         options, the interleaved passes, the ingest runs.
 * Not part of libragd; single-threaded.
 */
#ifndef RAGD_BENCH_CHUNK_H
#define RAGD_BENCH_CHUNK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench/bench_json.h"
#include "ingest/ingest.h"

enum { M_FIXED, M_PARENT, M_SEMANTIC, M_JS_CHARS, M_JS_TOKENS, NMEAS };
extern const char *const MEAS_NAME[NMEAS];
extern const char *const CHUNKER[3];

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

/* --- input (bench_chunk_input.c) --- */

typedef struct {
    ingest_doc *v;
    size_t n, cap;
    size_t bytes, cps, tokens; /* normalized text: bytes, code points, ragd tokens */
    size_t skipped, bad;
    double parse_s;
} corpus_t;

/* Read a BEIR corpus.jsonl into parsed documents, the way `ragd ingest`
 * builds them. -1 when the file cannot be opened. */
int load_corpus(const char *path, corpus_t *c);
void corpus_free(corpus_t *c);

/* One JSON string per line: the exact texts the chunkers see. */
int write_texts(const char *path, const corpus_t *c);

/* --- the node child (bench_chunk_js.c) --- */

typedef struct {
    pid_t pid;
    FILE *in;  /* its stdin */
    FILE *out; /* its stdout */
    json_t *ready;
} js_child;

/* Start split.mjs --serve on texts; -1 with why set when it cannot run. */
int js_start(js_child *j, const opts *o, const char *texts, int chunk_chars, int overlap_chars,
             char *why, size_t whycap);

/* One timed pass in node over texts [from, to): the seconds node measured
 * (and in *cpu the CPU seconds it used, when it reports them); with reply,
 * keeps its answer (chunk statistics for a whole pass). */
double js_pass(js_child *j, const char *mode, size_t from, size_t to, double *cpu, json_t **reply);
void js_stop(js_child *j);

/* Wait until node is idle after a pass — V8 goes on with garbage
 * collection and compilation on its background threads after it has
 * replied, which on a small machine takes CPU from whatever runs next — and
 * return the CPU seconds it used meanwhile (NAN without /proc). */
double js_settle(js_child *j);

/* --- results and the report (bench_chunk_report.c) --- */

typedef struct {
    size_t chunks, tokens, bytes, max_tokens, parents;
} chunk_stats;

typedef struct {
    bool ran;
    double secs;
    double rss_mb;
    long docs, chunks;
    long long bytes;
} ingest_result;

/* Everything one run measured. */
typedef struct {
    const opts *o;
    const char *corpus;
    const corpus_t *c;
    double mb, cpt, load_s, t_start;
    bench_mark start; /* load average and CPU ticks at the start */
    int chunk_chars, overlap_chars;
    bool on[NMEAS];
    size_t nsl;
    double *secs[NMEAS]; /* per pass: wall seconds */
    double *cpu[NMEAS];  /* per pass: CPU seconds of the process doing the work */
    double js_after[2];  /* node's CPU seconds after its clock stopped, all passes */
    chunk_stats cst[3];
    json_t *jrep[2];
    bool have_js;
    const char *why; /* why the JavaScript side did not run */
    const char *js_node, *js_ver;
    long js_tokens;
    ingest_result ing[3];
    double *isecs[3];
} bench_run;

double median_of(const double *x, size_t n);
double best_of(const double *x, size_t n);

void report_print(const bench_run *r);
/* Write the --json figures; nonzero on failure. */
int report_json(const bench_run *r, int argc, char **argv);

#endif
