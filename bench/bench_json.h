/* bench/bench_json.h — machine-readable output for the benchmark programs.
 *
 * Every bench program that `make bench` runs takes `--json FILE` and writes
 * one JSON object there beside its markdown report: its figures (seconds,
 * milliseconds and ratios as plain numbers) under stable keys. bench/run.py
 * adds the machine facts and merges the objects into bench/results/<name>.json,
 * and bench/report.py turns those into the tables of docs/benchmarks.md.
 * Header-only (static inline), jansson; not part of libragd. Not thread-safe
 * (the programs are single-threaded where they build the object).
 */
#ifndef RAGD_BENCH_JSON_H
#define RAGD_BENCH_JSON_H

#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "bench/bench_common.h"

/* A number, or null when it is not finite (a ratio over zero). */
static inline json_t *bench_jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static inline void bench_jset(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, bench_jnum(v));
}

/* Latency summary in milliseconds: {n, p50_ms, p90_ms, p99_ms, mean_ms, qps}. */
static inline json_t *bench_jstats(bench_stats st)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)st.n));
    bench_jset(o, "p50_ms", st.p50 * 1e3);
    bench_jset(o, "p90_ms", st.p90 * 1e3);
    bench_jset(o, "p99_ms", st.p99 * 1e3);
    bench_jset(o, "mean_ms", st.mean * 1e3);
    bench_jset(o, "qps", st.sum > 0 ? (double)st.n / st.sum : NAN);
    return o;
}

/* The command line and the load average, which every result carries. */
static inline json_t *bench_jnew(int argc, char **argv, double load_start)
{
    json_t *o = json_object(), *cmd = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    json_object_set_new(o, "command", cmd);
    bench_jset(o, "load_start", load_start);
    return o;
}

/* Adds load_end and writes o to path (when path is set); steals o. Returns 0,
 * or -1 with a message on stderr. */
static inline int bench_jwrite(json_t *o, const char *path, const char *who)
{
    int rc = 0;
    if (path) {
        bench_jset(o, "load_end", bench_loadavg());
        if (json_dump_file(o, path, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6))) {
            fprintf(stderr, "%s: cannot write %s\n", who, path);
            rc = -1;
        }
    }
    json_decref(o);
    return rc;
}

#endif
