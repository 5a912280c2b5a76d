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

/* The machine's CPU ticks from /proc/stat's "cpu" line: *steal the ticks
 * the hypervisor gave to other guests, *total all of them. 0 on success;
 * on failure -1, and nothing is written. */
static inline int bench_cpu_ticks(double *steal, double *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8) return -1;
    *steal = (double)v[7];
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += (double)v[i];
    return 0;
}

/* Where a bench run starts: the load average and the CPU tick counters
 * (steal < 0 when /proc/stat cannot be read). Taken before any work. */
typedef struct {
    double load, steal, total;
} bench_mark;

static inline bench_mark bench_mark_now(void)
{
    bench_mark m = {.load = bench_loadavg(), .steal = -1, .total = 0};
    (void)bench_cpu_ticks(&m.steal, &m.total); /* on failure it writes nothing */
    return m;
}

/* The command line, the load average at the start, and the tick counters
 * that bench_jwrite turns into steal_pct, which every result carries. */
static inline json_t *bench_jnew(int argc, char **argv, bench_mark start)
{
    json_t *o = json_object(), *cmd = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    json_object_set_new(o, "command", cmd);
    bench_jset(o, "load_start", start.load);
    if (start.steal >= 0)
        json_object_set_new(o, "cpu_ticks_start",
                            json_pack("{s:f,s:f}", "steal", start.steal, "total", start.total));
    return o;
}

/* Adds load_end and steal_pct (the share of the machine's CPU time taken by
 * the hypervisor for other guests since bench_jnew: on a shared virtual
 * machine wall times stretch by about that much, and load average does not
 * show it) and writes o to path (when path is set); steals o. Returns 0, or
 * -1 with a message on stderr. */
static inline int bench_jwrite(json_t *o, const char *path, const char *who)
{
    int rc = 0;
    json_t *t0 = json_object_get(o, "cpu_ticks_start");
    double steal, total;
    if (t0 && !bench_cpu_ticks(&steal, &total)) {
        double ds = steal - json_real_value(json_object_get(t0, "steal")),
               dt = total - json_real_value(json_object_get(t0, "total"));
        if (dt > 0) bench_jset(o, "steal_pct", 100.0 * ds / dt);
    }
    json_object_del(o, "cpu_ticks_start");
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
