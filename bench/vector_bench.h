/* bench/vector_bench.h — what the parts of bench_vector share: options,
 * results and the run state (no globals: one vb_run per process, passed
 * around). Parts: bench_vector.c (options, main, report), vector_data.c
 * (synthetic data, the store, --export), vector_search.c (interleaved
 * search, recall, sweeps), vector_index.c (one index type: ragd against
 * raw FAISS, build, open and memory; --factory). */
#ifndef RAGD_BENCH_VECTOR_BENCH_H
#define RAGD_BENCH_VECTOR_BENCH_H

#include <faiss/c_api/Index_c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/bench_common.h"
#include "core/error.h"
#include "index/vector.h"
#include "store/store.h"

/* libgomp, as index/vector.c declares it. */
extern void omp_set_num_threads(int);

typedef struct {
    size_t n;
    int dim;
    int clusters;
    size_t nq;
    size_t k;
    unsigned seed;
    double sigma, qsigma;
    bool do_flat, do_hnsw;
    int ef_search;
    int raw_efc;      /* > 0: also a raw HNSW built with this efConstruction */
    size_t raw_batch; /* > 0: the raw builds add this many vectors per call, as ragd does */
    size_t chunks_per_doc;
    const char *data;
    bool keep;
    int threads;
    const char *json;   /* --json FILE: figures for bench/run.py */
    const char *export; /* --export DIR: vectors, queries, ground truth for bench/js */
    int ef_sweep[16];   /* --ef-sweep: raw HNSW efSearch values for the recall curve */
    int n_ef_sweep;
    const char *factory;  /* --factory F: also a ragd index of this FAISS factory */
    int nprobe_sweep[16]; /* --nprobe-sweep: nprobe values for --factory (IVF) */
    int n_nprobe_sweep;
    int opens; /* --opens N: timed reopen pairs (ragd open, raw read_index) */
} vb_opts;

typedef struct {
    const char *label;
    double build_s, load_s;                       /* load_s < 0: n/a */
    double load_first_s;                          /* first open after the save (hashes) */
    double rss_delta_mb, peak_mb, peak_extra_mb;  /* peak_extra: VmHWM - RSS at phase start */
    double raw_load_s;                            /* faiss_read_index_fname of the snapshot */
    double open_rss_delta_mb, open_peak_extra_mb; /* the cached open */
    long long snapshot_bytes;                     /* < 0: n/a */
    double write_s; /* raw: write_index + fsync of the same index; < 0 n/a */
    bench_stats lat;
    double recall;
    double paired; /* ragd: median over queries of ragd ÷ raw latency; 0 n/a */
} vb_result;

typedef struct {
    int param; /* efSearch or nprobe */
    bench_stats lat;
    double recall;
    /* ragd sweep only: the raw index at the same param, searched
     * interleaved with ragd query by query, and the median paired ratio. */
    bench_stats raw_lat;
    double raw_recall;
    double paired;
} vb_sweep_point;

/* --factory: a ragd index of any factory, with an nprobe sweep when IVF. */
typedef struct {
    const char *factory;
    vb_result r;
    vb_sweep_point sweep[16];
    int nsweep;
} vb_factory_run;

typedef struct {
    const vb_opts *o;
    double t_start;
    bool peak_reset_ok;
    vb_result results[8];
    int nresults;
    vb_sweep_point sweep[16]; /* --ef-sweep of the raw HNSW32 */
    int nsweep;
    vb_sweep_point rsweep[16]; /* --ef-sweep of ragd HNSW32 (collection ef_search) */
    int nrsweep;
    vb_factory_run fac;
    bool have_fac;
} vb_run;

/* bench_vector.c */
void vb_progress(const vb_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vb_die_err(const char *what, const ragd_error *e) __attribute__((noreturn));
void vb_die_faiss(const char *what) __attribute__((noreturn));
void vb_phase_begin(vb_run *run, double *rss0);

/* vector_data.c */
void vb_gen_data(const vb_opts *o, float **xs, float **qs);
void vb_write_store(vb_run *run, ragd_store *st, const ragd_collection *coll, const float *x);
void vb_export(const vb_opts *o, const float *x, const float *qs, const int64_t *gt, int64_t first);
/* store_vectors_scan callback counting rows; ctx is a vb_scan. */
typedef struct {
    size_t n;
    int64_t first;
} vb_scan;
int vb_scan_count(void *ctx, int64_t id, const float *vec, int dim);

/* vector_search.c */
typedef struct {
    const char *name;
    ragd_vindex *v;  /* ragd, or */
    FaissIndex *idx; /* raw FAISS */
    double *lat;     /* seconds per query */
    int64_t *ids;    /* nq * k */
} vb_runner;
void vb_search_all(vb_runner *rs, int nr, const vb_opts *o, const float *qs);
double vb_recall_at_k(const int64_t *ids, const int64_t *gt, size_t nq, size_t k);
/* Set `param` (efSearch, nprobe) of idx to each value, search every query
 * one at a time (1 thread, warm-up 100), recall and latency into pts. */
int vb_param_sweep(vb_run *run, FaissIndex *idx, const char *param, const int *vals, int nvals,
                   const float *qs, const int64_t *gt, vb_sweep_point *pts);

/* --ef-sweep through ragd: for each value, reopen the collection's snapshot
 * with settings.ef_search set to it (as `ragd ingest --ef-search` stores),
 * set raw's efSearch to the same, and search both interleaved. v is freed;
 * returns the last reopened vindex. */
ragd_vindex *vb_ragd_ef_sweep(vb_run *run, ragd_store *st, ragd_collection *coll, ragd_vindex *v,
                              FaissIndex *raw, const float *qs, const int64_t *gt);

/* vector_index.c */
void vb_run_type(vb_run *run, ragd_store *st, ragd_collection *coll, const char *factory,
                 const float *x, const float *qs, const idx_t *ids, const int64_t *gt);
void vb_run_factory(vb_run *run, ragd_store *st, ragd_collection *coll, const float *qs,
                    const int64_t *gt);

#endif
