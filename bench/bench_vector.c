/* bench/bench_vector.c — dense search through ragd versus raw FAISS.
 *
 * Synthetic clustered vectors (default 100,000 x 384-d around 1,000 gaussian
 * cluster centres; uniform random data makes HNSW pathological, see
 * ../shared/faiss-notes.md) are written into a real ragd store through the
 * public store API (store_doc_put, --chunks-per-doc vectors per document),
 * then for each index type (IDMap,Flat and IDMap,HNSW32):
 *   ragd: vindex_open (rebuilds from SQLite and writes the snapshot), a second
 *         vindex_open (loads the snapshot: what every CLI dense query pays),
 *         vindex_search per query;
 *   raw:  faiss_index_factory + faiss_Index_add_with_ids on the same vectors
 *         and ids, faiss_Index_search per query (1 OpenMP thread);
 * in the same process, the two searches interleaved query by query (the one
 * that goes first alternates) so machine noise hits both alike. Recall@k of
 * every index is measured against exact ground truth (a batch flat search).
 * Index builds run with --threads OpenMP threads (default: all cores) for
 * both sides.
 *
 * The open of a snapshot is timed as the first vindex_open after the save
 * (it hashes the file) and as the later, cached opens, alternately with a
 * bare faiss_read_index_fname of the same file. --factory adds a ragd
 * index of any FAISS factory (IVF-PQ: training, memory, recall per nprobe).
 *
 * Output: markdown tables on stdout, progress on stderr. See bench/README.md.
 * The parts: vector_bench.h.
 */
#include <errno.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench_json.h"
#include "bench/vector_bench.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_vector [options]\n"
            "  --n N               vectors (default 100000; 1000000 for the large run)\n"
            "  --dim D             dimension (default 384)\n"
            "  --clusters C        gaussian clusters (default 1000)\n"
            "  --queries Q         queries, drawn near cluster centres (default 1000)\n"
            "  --k K               neighbours per query (default 10)\n"
            "  --seed S            RNG seed (default 42)\n"
            "  --sigma X           per-dimension noise of points around their centre "
            "(default 0.05)\n"
            "  --qsigma X          per-dimension noise of queries (default 0.025)\n"
            "  --index flat|hnsw|both   index types (default both)\n"
            "  --ef-search N       HNSW efSearch for raw FAISS (default 64, as ragd)\n"
            "  --raw-efc N         also build a raw HNSW with efConstruction N (ragd cannot set\n"
            "                      it: FAISS's default 40); default 0 = skip (200 takes ~10 min "
            "at 100k)\n"
            "  --raw-batch N       raw builds add N vectors per faiss_Index_add_with_ids call\n"
            "                      (ragd's builds add 8192 at a time); default 0 = all in one\n"
            "  --chunks-per-doc N  vectors per stored document (default 1000)\n"
            "  --data DIR          ragd data directory to use and keep; a collection with the "
            "same\n"
            "                      parameters already there is reused (no SQLite write)\n"
            "                      (default: a fresh temporary directory, removed at the end)\n"
            "  --keep              keep the temporary data directory\n"
            "  --threads N         OpenMP threads for index builds (default: all cores)\n"
            "  --json FILE         also write the figures as JSON (bench/run.py)\n"
            "  --export DIR        write base.f32, queries.f32, gt.i32 (row numbers) and\n"
            "                      meta.json for the JavaScript peers (bench/js/peers.mjs)\n"
            "  --ef-sweep LIST     comma-separated efSearch values: recall@k and latency of\n"
            "                      the raw HNSW32 at each (recall against search depth)\n"
            "  --index none        no Flat/HNSW comparison (with --factory)\n"
            "  --factory F         also a ragd index of FAISS factory F (e.g. IVF1024,PQ48):\n"
            "                      build/training time, memory, recall through ragd\n"
            "  --nprobe-sweep LIST nprobe values: recall@k and latency of the --factory index\n"
            "                      (ragd's own snapshot, read as a raw index)\n"
            "  --opens N           timed pairs of cached vindex_open / bare read_index "
            "(default 3)\n");
}

static int parse_list(const char *opt, const char *v, int *out, int *n)
{
    for (const char *p = v; *p && *n < 16;) {
        int x = atoi(p);
        if (x <= 0) {
            fprintf(stderr, "bench_vector: %s takes positive integers\n", opt);
            return 2;
        }
        out[(*n)++] = x;
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }
    return 0;
}

static int parse(int argc, char **argv, vb_opts *o)
{
    *o = (vb_opts){.n = 100000,
                   .dim = 384,
                   .clusters = 1000,
                   .nq = 1000,
                   .k = 10,
                   .seed = 42,
                   .sigma = 0.05,
                   .qsigma = 0.025,
                   .do_flat = true,
                   .do_hnsw = true,
                   .ef_search = 64,
                   .raw_efc = 0,
                   .chunks_per_doc = 1000,
                   .opens = 3,
                   .threads = (int)sysconf(_SC_NPROCESSORS_ONLN)};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV                                                                                      \
    if (!v) {                                                                                      \
        fprintf(stderr, "bench_vector: %s needs a value\n", a);                                    \
        return 2;                                                                                  \
    }                                                                                              \
    i++;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--n")) {
            NEEDV o->n = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--dim")) {
            NEEDV o->dim = atoi(v);
        } else if (!strcmp(a, "--clusters")) {
            NEEDV o->clusters = atoi(v);
        } else if (!strcmp(a, "--queries")) {
            NEEDV o->nq = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--k")) {
            NEEDV o->k = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--seed")) {
            NEEDV o->seed = (unsigned)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--sigma")) {
            NEEDV o->sigma = atof(v);
        } else if (!strcmp(a, "--qsigma")) {
            NEEDV o->qsigma = atof(v);
        } else if (!strcmp(a, "--index")) {
            NEEDV o->do_flat = !strcmp(v, "flat") || !strcmp(v, "both");
            o->do_hnsw = !strcmp(v, "hnsw") || !strcmp(v, "both");
            if (!o->do_flat && !o->do_hnsw && strcmp(v, "none")) {
                fprintf(stderr, "bench_vector: --index flat|hnsw|both|none\n");
                return 2;
            }
        } else if (!strcmp(a, "--ef-search")) {
            NEEDV o->ef_search = atoi(v);
        } else if (!strcmp(a, "--raw-efc")) {
            NEEDV o->raw_efc = atoi(v);
        } else if (!strcmp(a, "--raw-batch")) {
            NEEDV o->raw_batch = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--chunks-per-doc")) {
            NEEDV o->chunks_per_doc = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--data")) {
            NEEDV o->data = v;
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else if (!strcmp(a, "--json")) {
            NEEDV o->json = v;
        } else if (!strcmp(a, "--export")) {
            NEEDV o->export = v;
        } else if (!strcmp(a, "--ef-sweep")) {
            NEEDV if (parse_list(a, v, o->ef_sweep, &o->n_ef_sweep)) return 2;
        } else if (!strcmp(a, "--nprobe-sweep")) {
            NEEDV if (parse_list(a, v, o->nprobe_sweep, &o->n_nprobe_sweep)) return 2;
        } else if (!strcmp(a, "--factory")) {
            NEEDV o->factory = v;
        } else if (!strcmp(a, "--opens")) {
            NEEDV o->opens = atoi(v);
        } else if (!strcmp(a, "--threads")) {
            NEEDV o->threads = atoi(v);
        } else {
            fprintf(stderr, "bench_vector: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
#undef NEEDV
    }
    if (!o->n || o->dim <= 0 || o->clusters <= 0 || !o->nq || !o->k || o->k > o->n ||
        !o->chunks_per_doc || o->threads <= 0 || o->ef_search <= 0 || o->opens <= 0) {
        fprintf(stderr, "bench_vector: invalid option values\n");
        return 2;
    }
    return 0;
}

static void vb_vprogress(const vb_run *run, const char *fmt, va_list ap)
{
    fprintf(stderr, "[%7.1fs] ", bench_now() - run->t_start);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void vb_progress(const vb_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vb_vprogress(run, fmt, ap);
    va_end(ap);
}

void vb_die_err(const char *what, const ragd_error *e)
{
    fprintf(stderr, "bench_vector: %s: %s\n", what, e->msg);
    exit(1);
}

void vb_die_faiss(const char *what)
{
    const char *m = faiss_get_last_error();
    fprintf(stderr, "bench_vector: %s: %s\n", what, m && *m ? m : "FAISS error");
    exit(1);
}

void vb_phase_begin(vb_run *run, double *rss0)
{
    if (bench_reset_peak() != 0) run->peak_reset_ok = false;
    *rss0 = bench_rss_mb();
}

typedef struct {
    double gen_s, write_s, write_delta, write_peak;
    long long db_bytes, wal_bytes;
    double scan_s;
    size_t scanned;
    double catchup_s;
    bench_mark start;
} vb_setup;

static void report_md(const vb_run *run, const vb_setup *S)
{
    const vb_opts *o = run->o;
    double vec_mb = (double)o->n * o->dim * sizeof(float) / 1048576.0;
    printf("## Setup\n\n| step | figure |\n|---|---|\n");
    printf("| generate vectors + queries | %.2f s |\n", S->gen_s);
    if (S->write_s >= 0)
        printf("| write to SQLite (store_doc_put, %zu vectors/doc) | %.1f s = %.0f vectors/s, "
               "%.1f MB/s of vector data; RSS +%.0f MB, phase peak %.0f MB |\n",
               o->chunks_per_doc, S->write_s, o->n / S->write_s, vec_mb / S->write_s,
               S->write_delta, S->write_peak);
    else
        printf("| write to SQLite | reused from an earlier run (not measured) |\n");
    printf("| database size | ragd.db %.1f MB + WAL %.1f MB (raw vector data %.1f MB) |\n",
           S->db_bytes / 1048576.0, S->wal_bytes > 0 ? S->wal_bytes / 1048576.0 : 0.0, vec_mb);
    printf("| store_vectors_scan (SQLite read part of a rebuild) | %.2f s = %.0f vectors/s |\n",
           S->scan_s, S->scanned / S->scan_s);
    printf("| store_vectors_scan after the last id (the catch-up query of every vindex_open, 0 "
           "rows) | %.3f s |\n\n",
           S->catchup_s);

    printf("## Index build and memory\n\n");
    printf("ragd build = `vindex_open` with no snapshot: read SQLite, normalize, add, write + "
           "fsync the snapshot. raw build = `faiss_Index_add_with_ids` only. Both with %d "
           "OpenMP threads. ΔRSS = resident memory after − before the build (what the index "
           "keeps); peak above start = VmHWM during the build − RSS before it (transient + "
           "kept)%s.\n\n",
           o->threads,
           run->peak_reset_ok ? " (reset per phase via /proc/self/clear_refs)"
                              : " (could not be reset: process peak so far)");
    printf("| index | build s | build vectors/s | snapshot write s | snapshot load s (raw "
           "read_index) | snapshot MB | ΔRSS MB | bytes/vector | build peak above start MB | "
           "peak ÷ ΔRSS |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < run->nresults; i++) {
        const vb_result *r = &run->results[i];
        char load[32] = "—", snap[32] = "—", wr[32] = "in build";
        if (r->load_s >= 0) snprintf(load, sizeof load, "%.2f (%.2f)", r->load_s, r->raw_load_s);
        if (r->write_s >= 0)
            snprintf(wr, sizeof wr, "%.2f (separate)", r->write_s);
        else if (strncmp(r->label, "ragd ", 5))
            snprintf(wr, sizeof wr, "—");
        if (r->snapshot_bytes >= 0)
            snprintf(snap, sizeof snap, "%.0f", r->snapshot_bytes / 1048576.0);
        printf("| %s | %.2f | %.0f | %s | %s | %s | %.0f | %.0f | %.0f | %.2f |\n", r->label,
               r->build_s, o->n / r->build_s, wr, load, snap, r->rss_delta_mb,
               r->rss_delta_mb * 1048576.0 / (double)o->n, r->peak_extra_mb,
               r->rss_delta_mb > 0 ? r->peak_extra_mb / r->rss_delta_mb : 0.0);
    }
    const vb_result *opened[9];
    int nopened = 0;
    for (int i = 0; i < run->nresults; i++)
        if (run->results[i].load_s >= 0) opened[nopened++] = &run->results[i];
    if (run->have_fac) opened[nopened++] = &run->fac.r;
    if (nopened) {
        printf("\n## Opening a snapshot (vindex_open, what every CLI dense query pays)\n\n"
               "first = the first vindex_open after the save (the snapshot is hashed: too "
               "recent for its verification to be cached); cached = later opens (medians of %d, "
               "alternating with a bare `faiss_read_index_fname` of the same file).\n\n"
               "| index | first open s | cached open s | bare read_index s | cached ÷ bare | "
               "open ΔRSS MB | open peak above start MB |\n|---|---|---|---|---|---|---|\n",
               o->opens);
        for (int i = 0; i < nopened; i++) {
            const vb_result *r = opened[i];
            printf("| %s | %.3f | %.3f | %.3f | %.2f× | %.0f | %.0f |\n", r->label, r->load_first_s,
                   r->load_s, r->raw_load_s, r->raw_load_s > 0 ? r->load_s / r->raw_load_s : 0.0,
                   r->open_rss_delta_mb, r->open_peak_extra_mb);
        }
    }
    if (run->have_fac) {
        const vb_result *r = &run->fac.r;
        printf("\n## --factory %s (ragd only: trained on a bounded sample, added in batches)\n\n"
               "| build s (train + add + snapshot) | ΔRSS MB | bytes/vector | build peak above "
               "start MB | snapshot MB | recall@%zu via ragd | p50 ms via ragd |\n"
               "|---|---|---|---|---|---|---|\n"
               "| %.2f | %.0f | %.1f | %.0f | %.1f | %.4f | %.3f |\n",
               run->fac.factory, o->k, r->build_s, r->rss_delta_mb,
               r->rss_delta_mb * 1048576.0 / (double)o->n, r->peak_extra_mb,
               r->snapshot_bytes / 1048576.0, r->recall, r->lat.p50 * 1e3);
        if (run->fac.nsweep) {
            printf("\n| nprobe | recall@%zu | p50 ms | p99 ms |\n|---|---|---|---|\n", o->k);
            for (int i = 0; i < run->fac.nsweep; i++) {
                const vb_sweep_point *p = &run->fac.sweep[i];
                printf("| %d | %.4f | %.3f | %.3f |\n", p->param, p->recall, p->lat.p50 * 1e3,
                       p->lat.p99 * 1e3);
            }
        }
    }

    printf("\n## Search (one query at a time, 1 thread, k = %zu, %zu queries, interleaved)\n\n",
           o->k, o->nq);
    printf("| index | p50 ms | p90 ms | p99 ms | mean ms | QPS | recall@%zu vs exact | "
           "flat scan GB/s at p50 |\n|---|---|---|---|---|---|---|---|\n",
           o->k);
    for (int i = 0; i < run->nresults; i++) {
        const vb_result *r = &run->results[i];
        char bw[32] = "—";
        if (strstr(r->label, "Flat"))
            snprintf(bw, sizeof bw, "%.1f",
                     (double)o->n * o->dim * sizeof(float) / r->lat.p50 / 1e9);
        printf("| %s | %.3f | %.3f | %.3f | %.3f | %.0f | %.4f | %s |\n", r->label,
               r->lat.p50 * 1e3, r->lat.p90 * 1e3, r->lat.p99 * 1e3, r->lat.mean * 1e3,
               r->lat.n / r->lat.sum, r->recall, bw);
    }
    printf("\n## ragd / raw FAISS ratios (same run)\n\n"
           "| index | build | search p50 | search p99 | search mean |\n|---|---|---|---|---|\n");
    for (int i = 0; i + 1 < run->nresults; i++) {
        const vb_result *a = &run->results[i], *b = &run->results[i + 1];
        if (strncmp(a->label, "ragd ", 5) || strncmp(b->label, "raw FAISS ", 10)) continue;
        printf("| %s | %.2f× | %.2f× | %.2f× | %.2f× |\n", a->label + 5, a->build_s / b->build_s,
               a->lat.p50 / b->lat.p50, a->lat.p99 / b->lat.p99, a->lat.mean / b->lat.mean);
    }
    printf("\npeak RSS of the whole process (ru_maxrss): %.0f MB; total time %.1f s\n",
           bench_maxrss_mb(RUSAGE_SELF), bench_now() - run->t_start);
    printf("load average at the end: %.2f (2 cores: above ~1 means other processes competed "
           "for the CPU)\n",
           bench_loadavg());
}

static int report_json(const vb_run *run, const vb_setup *S, int argc, char **argv)
{
    const vb_opts *o = run->o;

    json_t *j = bench_jnew(argc, argv, S->start);
    json_object_set_new(j, "n", json_integer((json_int_t)o->n));
    json_object_set_new(j, "dim", json_integer(o->dim));
    json_object_set_new(j, "queries", json_integer((json_int_t)o->nq));
    json_object_set_new(j, "k", json_integer((json_int_t)o->k));
    json_object_set_new(j, "ef_search", json_integer(o->ef_search));
    json_object_set_new(j, "raw_batch", json_integer((json_int_t)o->raw_batch));
    bench_jset(j, "store_S->write_s", S->write_s);
    bench_jset(j, "S->db_bytes",
               (double)S->db_bytes + (S->wal_bytes > 0 ? (double)S->wal_bytes : 0));
    bench_jset(j, "S->catchup_scan_s", S->catchup_s);
    json_t *arr = json_array();
    for (int i = 0; i < run->nresults; i++) {
        const vb_result *r = &run->results[i];
        json_t *ro = json_pack("{ss}", "label", r->label);
        bench_jset(ro, "build_s", r->build_s);
        bench_jset(ro, "load_s", r->load_s);
        bench_jset(ro, "raw_load_s", r->raw_load_s);
        bench_jset(ro, "rss_delta_mb", r->rss_delta_mb);
        bench_jset(ro, "build_peak_above_start_mb", r->peak_extra_mb);
        bench_jset(ro, "load_first_s", r->load_first_s);
        bench_jset(ro, "open_rss_delta_mb", r->open_rss_delta_mb);
        bench_jset(ro, "open_peak_above_start_mb", r->open_peak_extra_mb);
        bench_jset(ro, "snapshot_bytes", (double)r->snapshot_bytes);
        bench_jset(ro, "recall", r->recall);
        json_object_set_new(ro, "latency", bench_jstats(r->lat));
        json_array_append_new(arr, ro);
    }
    json_object_set_new(j, "indexes", arr);
    for (int i = 0; i + 1 < run->nresults; i++) {
        const vb_result *a = &run->results[i], *b = &run->results[i + 1];
        if (strncmp(a->label, "ragd ", 5) || strncmp(b->label, "raw FAISS ", 10)) continue;
        char key[96];
        snprintf(key, sizeof key, "%s_ragd_over_faiss_p50",
                 strstr(a->label, "HNSW") ? "hnsw" : "flat");
        bench_jset(j, key, a->lat.p50 / b->lat.p50);
        snprintf(key, sizeof key, "%s_ragd_over_faiss_paired",
                 strstr(a->label, "HNSW") ? "hnsw" : "flat");
        bench_jset(j, key, a->paired);
    }
    json_t *sw = json_array();
    for (int i = 0; i < run->nsweep; i++) {
        json_t *p = json_pack("{si}", "ef_search", run->sweep[i].param);
        bench_jset(p, "recall", run->sweep[i].recall);
        json_object_set_new(p, "latency", bench_jstats(run->sweep[i].lat));
        json_array_append_new(sw, p);
    }
    json_object_set_new(j, "ef_sweep", sw);
    json_t *rsw = json_array();
    for (int i = 0; i < run->nrsweep; i++) {
        const vb_sweep_point *q = &run->rsweep[i];
        json_t *p = json_pack("{si}", "ef_search", q->param);
        bench_jset(p, "recall", q->recall);
        json_object_set_new(p, "latency", bench_jstats(q->lat));
        bench_jset(p, "raw_recall", q->raw_recall);
        json_object_set_new(p, "raw_latency", bench_jstats(q->raw_lat));
        bench_jset(p, "ragd_over_faiss_paired", q->paired);
        json_array_append_new(rsw, p);
    }
    json_object_set_new(j, "ragd_ef_sweep", rsw);
    if (run->have_fac) {
        const vb_result *r = &run->fac.r;
        json_t *fo = json_pack("{ss}", "factory", run->fac.factory);
        bench_jset(fo, "build_s", r->build_s);
        bench_jset(fo, "rss_delta_mb", r->rss_delta_mb);
        bench_jset(fo, "build_peak_above_start_mb", r->peak_extra_mb);
        bench_jset(fo, "snapshot_bytes", (double)r->snapshot_bytes);
        bench_jset(fo, "load_first_s", r->load_first_s);
        bench_jset(fo, "load_s", r->load_s);
        bench_jset(fo, "raw_load_s", r->raw_load_s);
        bench_jset(fo, "recall", r->recall);
        json_object_set_new(fo, "latency", bench_jstats(r->lat));
        json_t *np = json_array();
        for (int i = 0; i < run->fac.nsweep; i++) {
            json_t *p = json_pack("{si}", "nprobe", run->fac.sweep[i].param);
            bench_jset(p, "recall", run->fac.sweep[i].recall);
            json_object_set_new(p, "latency", bench_jstats(run->fac.sweep[i].lat));
            json_array_append_new(np, p);
        }
        json_object_set_new(fo, "nprobe_sweep", np);
        json_object_set_new(j, "factory", fo);
    }

    bench_jset(j, "peak_rss_mb", bench_maxrss_mb(RUSAGE_SELF));
    return bench_jwrite(j, o->json, "bench_vector") ? 1 : 0;
}

/* --- main ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    vb_opts o;
    int prc = parse(argc, argv, &o);
    if (prc) return prc;
    vb_run R = {.o = &o, .t_start = bench_now(), .peak_reset_ok = true};
    vb_run *run = &R;
    bench_mark start = bench_mark_now();
    ragd_error e;
    ragd_error_clear(&e);

    char tmpdir[512] = "";
    const char *data = o.data;
    if (!data) {
        if (bench_mkdtemp("ragd-bench-vector", tmpdir, sizeof tmpdir)) {
            fprintf(stderr, "bench_vector: cannot create a temporary directory: %s\n",
                    strerror(errno));
            return 1;
        }
        data = tmpdir;
    }

    printf("# bench_vector\n\n");
    bench_print_machine(stdout);
    printf("command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    printf(
        "data: %zu x %d-d vectors around %d gaussian centres (sigma %.3g/dim), %zu queries "
        "(sigma %.3g/dim), seed %u; k = %zu; HNSW efSearch %d; build threads %d; data dir %s\n\n",
        o.n, o.dim, o.clusters, o.sigma, o.nq, o.qsigma, o.seed, o.k, o.ef_search, o.threads, data);
    fflush(stdout);

    double rss0;
    vb_phase_begin(run, &rss0);
    double t0 = bench_now();
    float *x = NULL, *qs = NULL;
    vb_gen_data(&o, &x, &qs);
    double gen_s = bench_now() - t0;
    vb_progress(run, "generated %zu vectors + %zu queries in %.2f s", o.n, o.nq, gen_s);

    /* The store and collection. */
    ragd_store *st = NULL;
    if (store_open(data, &st, &e)) vb_die_err("store_open", &e);
    char cname[128];
    snprintf(cname, sizeof cname, "synth-n%zu-d%d-c%d-s%u-g%d-q%d", o.n, o.dim, o.clusters, o.seed,
             (int)lround(o.sigma * 1000), (int)lround(o.qsigma * 1000));
    ragd_settings s;
    store_settings_init(&s);
    s.dim = o.dim;
    snprintf(s.index_factory, sizeof s.index_factory, "IDMap,Flat");
    ragd_collection coll;
    if (store_collection_open(st, cname, &s, &coll, &e)) vb_die_err("store_collection_open", &e);
    int64_t ndocs = 0, nchunks = 0;
    if (store_counts(st, coll.id, &ndocs, &nchunks, &e)) vb_die_err("store_counts", &e);
    double write_s = -1, write_peak = 0, write_delta = 0;
    if (nchunks == 0) {
        vb_progress(run, "writing %zu vectors into SQLite via store_doc_put (%zu per document)",
                    o.n, o.chunks_per_doc);
        vb_phase_begin(run, &rss0);
        t0 = bench_now();
        vb_write_store(run, st, &coll, x);
        write_s = bench_now() - t0;
        write_delta = bench_rss_mb() - rss0;
        write_peak = bench_peak_mb();
        vb_progress(run, "  written in %.2f s (%.0f vectors/s)", write_s, o.n / write_s);
    } else if ((size_t)nchunks == o.n) {
        vb_progress(run, "reusing collection '%s' in %s (%lld vectors already stored)", cname, data,
                    (long long)nchunks);
    } else {
        fprintf(stderr,
                "bench_vector: collection '%s' in %s holds %lld chunks, not %zu; use a "
                "fresh --data\n",
                cname, data, (long long)nchunks, o.n);
        return 1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/ragd.db", data);
    long long db_bytes = bench_file_size(path);
    snprintf(path, sizeof path, "%s/ragd.db-wal", data);
    long long wal_bytes = bench_file_size(path);

    /* The SQLite read part of a rebuild, alone; it also yields the chunk ids
     * (contiguous, in write order: checked). */
    vb_scan sc = {0};
    t0 = bench_now();
    if (store_vectors_scan(st, coll.id, 0, o.dim, vb_scan_count, &sc, NULL, &e))
        vb_die_err("store_vectors_scan", &e);
    double scan_s = bench_now() - t0;
    size_t scanned = sc.n;
    vb_progress(run, "store_vectors_scan of %zu vectors: %.2f s", scanned, scan_s);
    int64_t first = sc.first, maxid = 0;
    if (store_vectors_max_id(st, coll.id, &maxid, &e)) vb_die_err("store_vectors_max_id", &e);
    if (scanned != o.n || maxid - first + 1 != (int64_t)o.n) {
        fprintf(stderr,
                "bench_vector: chunk ids %lld..%lld (%zu vectors) are not contiguous for "
                "%zu vectors\n",
                (long long)first, (long long)maxid, scanned, o.n);
        return 1;
    }
    idx_t *ids = malloc(o.n * sizeof *ids);
    if (!ids) return 1;
    for (size_t i = 0; i < o.n; i++)
        ids[i] = (idx_t)(first + (int64_t)i);
    /* What every vindex_open pays to find vectors newer than the snapshot
     * when there are none (the catch-up query). */
    vb_scan none = {0};
    t0 = bench_now();
    if (store_vectors_scan(st, coll.id, maxid, o.dim, vb_scan_count, &none, NULL, &e))
        vb_die_err("store_vectors_scan", &e);
    double catchup_s = bench_now() - t0;
    vb_progress(run, "store_vectors_scan after the last id (catch-up, 0 rows): %.3f s", catchup_s);

    /* Exact ground truth: batch flat search, all threads. */
    vb_progress(run, "ground truth (batch exact search)");
    int64_t *gt = malloc(o.nq * o.k * sizeof *gt);
    float *gd = malloc(o.nq * o.k * sizeof *gd);
    {
        FaissIndex *flat = NULL;
        if (faiss_index_factory(&flat, o.dim, "IDMap,Flat", METRIC_INNER_PRODUCT))
            vb_die_faiss("faiss_index_factory");
        omp_set_num_threads(o.threads);
        if (faiss_Index_add_with_ids(flat, (idx_t)o.n, x, ids)) vb_die_faiss("add");
        if (faiss_Index_search(flat, (idx_t)o.nq, qs, (idx_t)o.k, gd, (idx_t *)gt))
            vb_die_faiss("search");
        faiss_Index_free(flat);
    }
    free(gd);
    if (o.export) vb_export(&o, x, qs, gt, first);

    if (o.do_flat) vb_run_type(run, st, &coll, "IDMap,Flat", x, qs, ids, gt);
    if (o.do_hnsw) vb_run_type(run, st, &coll, "IDMap,HNSW32", x, qs, ids, gt);
    if (o.factory) vb_run_factory(run, st, &coll, qs, gt);
    /* Leave the collection as created (Flat) for a later --data reuse. */
    if (store_collection_set_factory(st, coll.id, "IDMap,Flat", &e) ||
        store_index_state_clear(st, coll.id, &e))
        vb_die_err("resetting the collection's index", &e);
    store_close(st);

    vb_setup S = {.gen_s = gen_s,
                  .write_s = write_s,
                  .write_delta = write_delta,
                  .write_peak = write_peak,
                  .db_bytes = db_bytes,
                  .wal_bytes = wal_bytes,
                  .scan_s = scan_s,
                  .scanned = scanned,
                  .catchup_s = catchup_s,
                  .start = start};
    report_md(run, &S);
    if (o.json && report_json(run, &S, argc, argv)) return 1;
    free(ids);
    free(gt);
    free(x);
    free(qs);
    if (tmpdir[0]) {
        if (o.keep)
            fprintf(stderr, "bench_vector: kept %s\n", tmpdir);
        else
            bench_rmtree(tmpdir);
    }
    return 0;
}
