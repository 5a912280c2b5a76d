/* bench/bench_inproc.c — in-process search throughput: the baseline of the
 * HTTP load benchmark (bench/bench_http.sh).
 *
 * Opens the engine once (ragd_engine_open, as `ragd serve` does, with one
 * request slot per thread + 1), builds one request object per query of
 * queries.jsonl — {"query": TEXT}, the body bench/bench_http.lua sends to
 * POST /v1/search — and, for each thread count of --threads, lets that many
 * threads call ragd_search in a loop (each thread cycling through the
 * queries from its own starting point, releasing the result) for --seconds.
 * A --warmup period (all threads of the first count) precedes the timed
 * runs and loads the collection's index.
 *
 * Prints one JSON object per thread count on stdout:
 *   {"threads":N,"requests":R,"errors":E,"seconds":S,"qps":Q,"p50_ms":…,"p99_ms":…}
 * and progress on stderr. Not the HTTP path: no JSON parsing of a body and
 * no serialization of the result (ragd serve does both).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "service/ragd.h"

typedef struct {
    ragd_engine *eng;
    json_t **reqs;
    size_t nreq;
    size_t start;
    double deadline;
    double *lat; /* seconds per call */
    size_t n, cap;
    size_t errors;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    size_t qi = w->start;
    while (bench_now() < w->deadline) {
        ragd_error e;
        ragd_error_clear(&e);
        json_t *out = NULL;
        double t0 = bench_now();
        ragd_status rc = ragd_search(w->eng, w->reqs[qi], &out, &e);
        double t1 = bench_now();
        json_decref(out);
        if (rc) w->errors++;
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4096;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            if (!w->lat) abort();
        }
        w->lat[w->n++] = t1 - t0;
        qi = (qi + 1) % w->nreq;
    }
    return NULL;
}

/* Runs nthreads workers for secs; prints the JSON line when report. */
static int measure(ragd_engine *eng, json_t **reqs, size_t nreq, int nthreads, double secs,
                   bool report)
{
    worker *w = calloc((size_t)nthreads, sizeof *w);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    if (!w || !th) return -1;
    double t0 = bench_now();
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker){.eng = eng,
                        .reqs = reqs,
                        .nreq = nreq,
                        .start = ((size_t)i * 37u) % nreq,
                        .deadline = t0 + secs};
        if (pthread_create(&th[i], NULL, run, &w[i])) {
            fprintf(stderr, "bench_inproc: pthread_create failed\n");
            return -1;
        }
    }
    size_t total = 0, errors = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        total += w[i].n;
        errors += w[i].errors;
    }
    double elapsed = bench_now() - t0;
    double *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) return -1;
    size_t k = 0;
    for (int i = 0; i < nthreads; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat);
    }
    bench_stats st = bench_summarize(all, total);
    if (report) {
        printf("{\"threads\":%d,\"requests\":%zu,\"errors\":%zu,\"seconds\":%.3f,\"qps\":%.2f,"
               "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f}\n",
               nthreads, total, errors, elapsed, total / elapsed, st.p50 * 1e3, st.p99 * 1e3,
               st.mean * 1e3);
        fflush(stdout);
    }
    fprintf(stderr, "bench_inproc: %s %d threads: %zu searches in %.1f s = %.1f QPS, %zu errors\n",
            report ? "timed" : "warm-up", nthreads, total, elapsed, total / elapsed, errors);
    free(all);
    free(w);
    free(th);
    return 0;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *queries = NULL, *threads = "1,8,64";
    double secs = 20, warmup = 3;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--data") && v)
            data = v;
        else if (!strcmp(argv[i], "--queries") && v)
            queries = v;
        else if (!strcmp(argv[i], "--threads") && v)
            threads = v;
        else if (!strcmp(argv[i], "--seconds") && v)
            secs = atof(v);
        else if (!strcmp(argv[i], "--warmup") && v)
            warmup = atof(v);
        else {
            fprintf(stderr, "usage: bench_inproc --data DIR --queries queries.jsonl "
                            "[--threads 1,8,64] [--seconds 20] [--warmup 3]\n");
            return 2;
        }
        i++;
    }
    if (!data || !queries || secs <= 0 || warmup < 0) {
        fprintf(stderr, "bench_inproc: need --data and --queries; --seconds > 0\n");
        return 2;
    }
    int counts[16], ncounts = 0, maxt = 0;
    for (const char *p = threads; *p && ncounts < 16;) {
        int t = atoi(p);
        if (t < 1 || t > 256) {
            fprintf(stderr, "bench_inproc: bad --threads '%s'\n", threads);
            return 2;
        }
        counts[ncounts++] = t;
        if (t > maxt) maxt = t;
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }

    /* {"query": TEXT} per line of queries.jsonl. */
    FILE *f = fopen(queries, "r");
    if (!f) {
        fprintf(stderr, "bench_inproc: cannot open %s\n", queries);
        return 1;
    }
    json_t **reqs = NULL;
    size_t nreq = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        const char *t = o ? json_string_value(json_object_get(o, "text")) : NULL;
        if (t && *t) {
            if (nreq == cap) {
                cap = cap ? cap * 2 : 512;
                reqs = realloc(reqs, cap * sizeof *reqs);
                if (!reqs) return 1;
            }
            reqs[nreq++] = json_pack("{s:s}", "query", t);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (!nreq) {
        fprintf(stderr, "bench_inproc: no queries in %s\n", queries);
        return 1;
    }

    ragd_engine_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.slots = (size_t)maxt + 1; /* as ragd serve: --threads + 1 */
    ragd_engine *eng = NULL;
    ragd_error e;
    ragd_error_clear(&e);
    if (ragd_engine_open(data, &eo, &eng, &e)) {
        fprintf(stderr, "bench_inproc: ragd_engine_open %s: %s\n", data, e.msg);
        return 1;
    }
    fprintf(stderr, "bench_inproc: %zu queries, threads %s, %.0f s each (warm-up %.0f s)\n", nreq,
            threads, secs, warmup);
    if (warmup > 0 && measure(eng, reqs, nreq, counts[0], warmup, false)) return 1;
    for (int i = 0; i < ncounts; i++)
        if (measure(eng, reqs, nreq, counts[i], secs, true)) return 1;
    fprintf(stderr, "bench_inproc: peak RSS %.0f MB\n", bench_maxrss_mb(RUSAGE_SELF));
    ragd_engine_free(eng);
    for (size_t i = 0; i < nreq; i++)
        json_decref(reqs[i]);
    free(reqs);
    return 0;
}
