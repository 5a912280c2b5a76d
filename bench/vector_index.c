/* bench/vector_index.c — one index type, ragd against raw FAISS: build
 * (ragd: vindex_open with no snapshot, i.e. read SQLite, add, write the
 * snapshot; raw: faiss_Index_add_with_ids), memory, the open of a snapshot
 * (ragd: vindex_open; raw: faiss_read_index_fname of the same file, timed
 * alternately), then the interleaved searches. --factory: a ragd index of
 * any factory (build, training, memory, recall per nprobe). */
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/vector_bench.h"
#include "core/buf.h"

static vb_result *new_result(vb_run *run, const char *label)
{
    vb_result *r = &run->results[run->nresults++];
    memset(r, 0, sizeof *r);
    r->label = label;
    r->load_s = -1;
    r->load_first_s = -1;
    r->snapshot_bytes = -1;
    r->write_s = -1;
    r->raw_load_s = -1;
    return r;
}

static FaissIndex *raw_build(vb_run *run, const char *factory, int efc, const float *x,
                             const idx_t *ids, vb_result *r)
{
    const vb_opts *o = run->o;
    FaissIndex *idx = NULL;
    if (faiss_index_factory(&idx, o->dim, factory, METRIC_INNER_PRODUCT))
        vb_die_faiss("faiss_index_factory");
    if (strstr(factory, "HNSW")) {
        FaissParameterSpace *ps = NULL;
        if (faiss_ParameterSpace_new(&ps)) vb_die_faiss("ParameterSpace");
        if (faiss_ParameterSpace_set_index_parameter(ps, idx, "efSearch", o->ef_search))
            vb_die_faiss("set efSearch");
        if (efc > 0 && faiss_ParameterSpace_set_index_parameter(ps, idx, "efConstruction", efc))
            vb_die_faiss("set efConstruction");
        faiss_ParameterSpace_free(ps);
    }
    omp_set_num_threads(o->threads);
    double rss0;
    vb_phase_begin(run, &rss0);
    double t0 = bench_now();
    /* --raw-batch: the same add sequence as ragd's bounded-memory build (HNSW
     * inserts each call's vectors highest level first, so batching can change
     * the graph), to tell the batching apart from the rest of ragd. */
    size_t step = o->raw_batch ? o->raw_batch : o->n;
    for (size_t i = 0; i < o->n; i += step) {
        size_t m = o->n - i < step ? o->n - i : step;
        if (faiss_Index_add_with_ids(idx, (idx_t)m, x + i * (size_t)o->dim, ids + i))
            vb_die_faiss("faiss_Index_add_with_ids");
    }
    r->build_s = bench_now() - t0;
    r->rss_delta_mb = bench_rss_mb() - rss0;
    r->peak_mb = bench_peak_mb();
    r->peak_extra_mb = r->peak_mb - rss0;
    return idx;
}

/* The snapshot-writing part of a ragd build, measured on the raw index:
 * faiss_write_index_fname to the data directory + fsync, then unlink. */
static double raw_write(ragd_store *st, FaissIndex *idx, long long *bytes)
{
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_printf(&b, "%s/bench-raw.index", store_dir(st));
    double t0 = bench_now();
    if (faiss_write_index_fname(idx, b.data)) vb_die_faiss("faiss_write_index_fname");
    int fd = open(b.data, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    double t = bench_now() - t0;
    *bytes = bench_file_size(b.data);
    unlink(b.data);
    ragd_buf_free(&b);
    return t;
}

/* ragd: make the collection use `factory`, forget any snapshot, open (a
 * rebuild from SQLite): build time and memory into r. */
static ragd_vindex *ragd_build(vb_run *run, ragd_store *st, ragd_collection *coll,
                               const char *factory, vb_result *r)
{
    ragd_error e;
    ragd_error_clear(&e);
    if (store_collection_set_factory(st, coll->id, factory, &e) ||
        store_index_state_clear(st, coll->id, &e))
        vb_die_err("switching the collection's index", &e);
    char *snap = vindex_snapshot_path(st, coll);
    unlink(snap);
    free(snap);
    char name[128];
    snprintf(name, sizeof name, "%s", coll->name);
    if (store_collection_open(st, name, NULL, coll, &e)) vb_die_err("store_collection_open", &e);
    vb_progress(run, "%s: vindex_open (rebuild from SQLite + snapshot write), %d threads", r->label,
                run->o->threads);
    omp_set_num_threads(run->o->threads);
    double rss0;
    vb_phase_begin(run, &rss0);
    ragd_vindex *v = NULL;
    bool rebuilt = false;
    double t0 = bench_now();
    if (vindex_open(st, coll, &v, &rebuilt, &e)) vb_die_err("vindex_open", &e);
    r->build_s = bench_now() - t0;
    r->rss_delta_mb = bench_rss_mb() - rss0;
    r->peak_mb = bench_peak_mb();
    r->peak_extra_mb = r->peak_mb - rss0;
    r->snapshot_bytes = bench_file_size(vindex_path(v));
    if (!rebuilt) fprintf(stderr, "bench_vector: warning: vindex_open did not rebuild\n");
    if (vindex_count(v) != (int64_t)run->o->n) {
        fprintf(stderr, "bench_vector: index holds %lld vectors, expected %zu\n",
                (long long)vindex_count(v), run->o->n);
        exit(1);
    }
    vb_progress(run, "  built in %.2f s, ΔRSS %.0f MB, peak above start %.0f MB", r->build_s,
                r->rss_delta_mb, r->peak_extra_mb);
    return v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_d);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* The open of a snapshot: the first vindex_open after the save (it hashes
 * the file: too recent for its verification to be cached), then, once the
 * file is more than 3 s old, one more (hashes and records it), then
 * --opens pairs of a cached vindex_open and a bare faiss_read_index_fname
 * of the same file, alternating which goes first; medians. Returns the
 * handle of the last ragd open. */
static ragd_vindex *time_opens(vb_run *run, ragd_store *st, ragd_collection *coll, ragd_vindex *v,
                               vb_result *r)
{
    ragd_error e;
    ragd_error_clear(&e);
    char *path = strdup(vindex_path(v));
    vindex_free(v);
    bool rebuilt = false;
    double t0 = bench_now();
    if (vindex_open(st, coll, &v, &rebuilt, &e)) vb_die_err("vindex_open (snapshot)", &e);
    r->load_first_s = bench_now() - t0;
    if (rebuilt) fprintf(stderr, "bench_vector: warning: the reopen rebuilt\n");
    vb_progress(run, "  first open after the save (hashes the snapshot): %.3f s", r->load_first_s);
    struct stat sb;
    struct timespec now;
    if (stat(path, &sb) == 0 && clock_gettime(CLOCK_REALTIME, &now) == 0) {
        double age = (double)(now.tv_sec - sb.st_ctim.tv_sec) +
                     (double)(now.tv_nsec - sb.st_ctim.tv_nsec) / 1e9;
        if (age < 3.2) usleep((useconds_t)((3.2 - age) * 1e6));
    }
    vindex_free(v);
    if (vindex_open(st, coll, &v, &rebuilt, &e)) vb_die_err("vindex_open (snapshot)", &e);
    vindex_free(v);
    v = NULL;
    int n = run->o->opens;
    double *ro = calloc((size_t)n, sizeof *ro), *rr = calloc((size_t)n, sizeof *rr);
    if (!ro || !rr) exit(1);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2; j++) {
            bool ragd_side = (i + j) % 2 == 0;
            if (ragd_side) {
                vindex_free(v);
                v = NULL;
                double rss0;
                vb_phase_begin(run, &rss0);
                t0 = bench_now();
                if (vindex_open(st, coll, &v, &rebuilt, &e)) vb_die_err("vindex_open", &e);
                ro[i] = bench_now() - t0;
                r->open_rss_delta_mb = bench_rss_mb() - rss0;
                r->open_peak_extra_mb = bench_peak_mb() - rss0;
            } else {
                FaissIndex *tmp = NULL;
                t0 = bench_now();
                if (faiss_read_index_fname(path, 0, &tmp)) vb_die_faiss("faiss_read_index_fname");
                rr[i] = bench_now() - t0;
                faiss_Index_free(tmp);
            }
        }
    r->load_s = median(ro, n);
    r->raw_load_s = median(rr, n);
    vb_progress(run, "  cached open %.3f s, bare faiss_read_index_fname %.3f s (medians of %d)",
                r->load_s, r->raw_load_s, n);
    free(ro);
    free(rr);
    free(path);
    return v;
}

void vb_run_type(vb_run *run, ragd_store *st, ragd_collection *coll, const char *factory,
                 const float *x, const float *qs, const idx_t *ids, const int64_t *gt)
{
    const vb_opts *o = run->o;
    bool hnsw = strstr(factory, "HNSW") != NULL;
    const char *tname = hnsw ? "HNSW32" : "Flat";
    static char lab_ragd[2][64], lab_raw[2][64], lab_efc[64];
    int li = hnsw ? 1 : 0;
    snprintf(lab_ragd[li], sizeof lab_ragd[li], "ragd %s", tname);
    snprintf(lab_raw[li], sizeof lab_raw[li], "raw FAISS %s", tname);
    vb_result *rr = new_result(run, lab_ragd[li]);
    ragd_vindex *v = ragd_build(run, st, coll, factory, rr);
    v = time_opens(run, st, coll, v, rr);

    vb_result *rw = new_result(run, lab_raw[li]);
    vb_progress(run, "%s: faiss_Index_add_with_ids, %d threads", lab_raw[li], o->threads);
    FaissIndex *raw = raw_build(run, factory, 0, x, ids, rw);
    vb_progress(run, "  added in %.2f s", rw->build_s);
    rw->write_s = raw_write(st, raw, &rw->snapshot_bytes);
    vb_progress(run, "  faiss_write_index_fname + fsync: %.2f s", rw->write_s);

    vb_result *re = NULL;
    FaissIndex *rawe = NULL;
    if (hnsw && o->raw_efc > 0) {
        snprintf(lab_efc, sizeof lab_efc, "raw FAISS HNSW32 efC %d", o->raw_efc);
        re = new_result(run, lab_efc);
        vb_progress(run, "%s: faiss_Index_add_with_ids, %d threads", lab_efc, o->threads);
        rawe = raw_build(run, factory, o->raw_efc, x, ids, re);
        vb_progress(run, "  added in %.2f s", re->build_s);
    }

    vb_runner rs[3];
    int nr = 0;
    rs[nr++] = (vb_runner){.name = rr->label, .v = v};
    rs[nr++] = (vb_runner){.name = rw->label, .idx = raw};
    if (rawe) rs[nr++] = (vb_runner){.name = re->label, .idx = rawe};
    for (int i = 0; i < nr; i++) {
        rs[i].lat = calloc(o->nq, sizeof(double));
        rs[i].ids = calloc(o->nq * o->k, sizeof(int64_t));
        if (!rs[i].lat || !rs[i].ids) exit(1);
    }
    vb_progress(run, "searching %zu queries x %d runners, interleaved, 1 thread", o->nq, nr);
    vb_search_all(rs, nr, o, qs);
    {
        double *pr = calloc(o->nq, sizeof *pr);
        size_t np = 0;
        for (size_t i = 0; pr && i < o->nq; i++)
            if (rs[1].lat[i] > 0) pr[np++] = rs[0].lat[i] / rs[1].lat[i];
        rr->paired = bench_summarize(pr, np).p50;
        free(pr);
    }
    vb_result *res[3] = {rr, rw, re};
    for (int i = 0; i < nr; i++) {
        res[i]->lat = bench_summarize(rs[i].lat, o->nq);
        res[i]->recall = vb_recall_at_k(rs[i].ids, gt, o->nq, o->k);
        free(rs[i].lat);
        free(rs[i].ids);
    }
    vb_progress(run, "  p50 ragd %.3f ms, raw %.3f ms", rr->lat.p50 * 1e3, rw->lat.p50 * 1e3);
    if (hnsw && o->n_ef_sweep)
        run->nsweep =
            vb_param_sweep(run, raw, "efSearch", o->ef_sweep, o->n_ef_sweep, qs, gt, run->sweep);
    if (hnsw && o->n_ef_sweep) v = vb_ragd_ef_sweep(run, st, coll, v, raw, qs, gt);
    vindex_free(v);
    faiss_Index_free(raw);
    if (rawe) faiss_Index_free(rawe);
}

void vb_run_factory(vb_run *run, ragd_store *st, ragd_collection *coll, const float *qs,
                    const int64_t *gt)
{
    const vb_opts *o = run->o;
    vb_factory_run *f = &run->fac;
    static char label[96];
    char norm[64];
    if (!vindex_factory_normalize(o->factory, norm)) {
        fprintf(stderr, "bench_vector: --factory too long\n");
        exit(2);
    }
    snprintf(label, sizeof label, "ragd %s", norm);
    f->factory = o->factory;
    f->r = (vb_result){
        .label = label, .load_s = -1, .load_first_s = -1, .raw_load_s = -1, .write_s = -1};
    run->have_fac = true;
    ragd_vindex *v = ragd_build(run, st, coll, norm, &f->r);
    v = time_opens(run, st, coll, v, &f->r);
    vb_runner r = {.name = label, .v = v};
    r.lat = calloc(o->nq, sizeof(double));
    r.ids = calloc(o->nq * o->k, sizeof(int64_t));
    if (!r.lat || !r.ids) exit(1);
    vb_progress(run, "searching %zu queries through ragd (FAISS's default search parameters)",
                o->nq);
    vb_search_all(&r, 1, o, qs);
    f->r.lat = bench_summarize(r.lat, o->nq);
    f->r.recall = vb_recall_at_k(r.ids, gt, o->nq, o->k);
    vb_progress(run, "  recall@%zu %.4f, p50 %.3f ms", o->k, f->r.recall, f->r.lat.p50 * 1e3);
    free(r.lat);
    free(r.ids);
    if (o->n_nprobe_sweep) {
        /* ragd's own snapshot, read as a raw index, so nprobe can be set. */
        FaissIndex *idx = NULL;
        if (faiss_read_index_fname(vindex_path(v), 0, &idx)) vb_die_faiss("read snapshot");
        f->nsweep = vb_param_sweep(run, idx, "nprobe", o->nprobe_sweep, o->n_nprobe_sweep, qs, gt,
                                   f->sweep);
        faiss_Index_free(idx);
    }
    vindex_free(v);
}
