/* bench/vector_search.c — bench_vector's searches: ragd and raw FAISS
 * interleaved query by query, recall@k, and parameter sweeps (efSearch,
 * nprobe) of a raw index. */
#include <faiss/c_api/AutoTune_c.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/vector_bench.h"

static void run_one(vb_runner *r, const vb_opts *o, const float *q, size_t qi, float *dist,
                    idx_t *lab, bool record)
{
    ragd_error e;
    ragd_error_clear(&e);
    size_t k = o->k;
    if (r->v) {
        vindex_hit *h = NULL;
        size_t n = 0;
        double t0 = bench_now();
        if (vindex_search(r->v, q, k, &h, &n, &e)) vb_die_err("vindex_search", &e);
        double t1 = bench_now();
        if (record) {
            r->lat[qi] = t1 - t0;
            for (size_t j = 0; j < k; j++)
                r->ids[qi * k + j] = j < n ? h[j].chunk_id : -1;
        }
        free(h);
    } else {
        double t0 = bench_now();
        if (faiss_Index_search(r->idx, 1, q, (idx_t)k, dist, lab))
            vb_die_faiss("faiss_Index_search");
        double t1 = bench_now();
        if (record) {
            r->lat[qi] = t1 - t0;
            for (size_t j = 0; j < k; j++)
                r->ids[qi * k + j] = lab[j];
        }
    }
}

/* Interleaved single-query search: query i runs every runner, the starting
 * runner rotating with i. A warm-up pass (first min(100, nq) queries) is
 * not recorded. */
void vb_search_all(vb_runner *rs, int nr, const vb_opts *o, const float *qs)
{
    float dist[1024];
    idx_t lab[1024];
    if (o->k > 1024) exit(2);
    omp_set_num_threads(1);
    size_t warm = o->nq < 100 ? o->nq : 100;
    for (size_t i = 0; i < warm; i++)
        for (int r = 0; r < nr; r++)
            run_one(&rs[r], o, qs + i * (size_t)o->dim, i, dist, lab, false);
    for (size_t i = 0; i < o->nq; i++)
        for (int j = 0; j < nr; j++) {
            vb_runner *r = &rs[(j + (int)i) % nr];
            run_one(r, o, qs + i * (size_t)o->dim, i, dist, lab, true);
        }
}

double vb_recall_at_k(const int64_t *ids, const int64_t *gt, size_t nq, size_t k)
{
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++)
                if (ids[i * k + a] == gt[i * k + b] && gt[i * k + b] >= 0) {
                    hit++;
                    break;
                }
    return (double)hit / (double)(nq * k);
}

int vb_param_sweep(vb_run *run, FaissIndex *idx, const char *param, const int *vals, int nvals,
                   const float *qs, const int64_t *gt, vb_sweep_point *pts)
{
    const vb_opts *o = run->o;
    float dist[1024];
    idx_t lab[1024];
    double *lat = calloc(o->nq, sizeof *lat);
    int64_t *ids = calloc(o->nq * o->k, sizeof *ids);
    if (!lat || !ids || o->k > 1024) exit(1);
    omp_set_num_threads(1);
    int np = 0;
    for (int s = 0; s < nvals; s++) {
        FaissParameterSpace *ps = NULL;
        if (faiss_ParameterSpace_new(&ps) ||
            faiss_ParameterSpace_set_index_parameter(ps, idx, param, vals[s]))
            vb_die_faiss("set search parameter");
        faiss_ParameterSpace_free(ps);
        for (size_t i = 0; i < o->nq + 100; i++) {
            size_t qi = i % o->nq;
            double t0 = bench_now();
            if (faiss_Index_search(idx, 1, qs + qi * (size_t)o->dim, (idx_t)o->k, dist, lab))
                vb_die_faiss("faiss_Index_search");
            double t1 = bench_now();
            if (i < 100) continue;
            lat[qi] = t1 - t0;
            for (size_t j = 0; j < o->k; j++)
                ids[qi * o->k + j] = lab[j];
        }
        pts[np++] = (vb_sweep_point){.param = vals[s],
                                     .lat = bench_summarize(lat, o->nq),
                                     .recall = vb_recall_at_k(ids, gt, o->nq, o->k)};
        vb_progress(run, "  %s %d: recall@%zu %.4f, p50 %.3f ms", param, vals[s], o->k,
                    pts[np - 1].recall, pts[np - 1].lat.p50 * 1e3);
    }
    free(lat);
    free(ids);
    return np;
}

ragd_vindex *vb_ragd_ef_sweep(vb_run *run, ragd_store *st, ragd_collection *coll, ragd_vindex *v,
                              FaissIndex *raw, const float *qs, const int64_t *gt)
{
    const vb_opts *o = run->o;
    vb_runner rs[2] = {{.name = "ragd", .v = NULL}, {.name = "raw", .idx = raw}};
    for (int i = 0; i < 2; i++) {
        rs[i].lat = calloc(o->nq, sizeof(double));
        rs[i].ids = calloc(o->nq * o->k, sizeof(int64_t));
        if (!rs[i].lat || !rs[i].ids) exit(1);
    }
    double *pr = calloc(o->nq, sizeof *pr);
    if (!pr) exit(1);
    int saved = coll->settings.ef_search;
    run->nrsweep = 0;
    for (int s = 0; s < o->n_ef_sweep; s++) {
        int ef = o->ef_sweep[s];
        vindex_free(v);
        v = NULL;
        coll->settings.ef_search = ef;
        ragd_error e;
        ragd_error_clear(&e);
        bool rebuilt = false;
        if (vindex_open(st, coll, &v, &rebuilt, &e)) vb_die_err("vindex_open (ef sweep)", &e);
        if (rebuilt) fprintf(stderr, "bench_vector: warning: ef sweep open rebuilt the index\n");
        FaissParameterSpace *ps = NULL;
        if (faiss_ParameterSpace_new(&ps) ||
            faiss_ParameterSpace_set_index_parameter(ps, raw, "efSearch", ef))
            vb_die_faiss("set efSearch");
        faiss_ParameterSpace_free(ps);
        rs[0].v = v;
        vb_search_all(rs, 2, o, qs);
        size_t np = 0;
        for (size_t i = 0; i < o->nq; i++)
            if (rs[1].lat[i] > 0) pr[np++] = rs[0].lat[i] / rs[1].lat[i];
        vb_sweep_point *p = &run->rsweep[run->nrsweep++];
        *p = (vb_sweep_point){.param = ef,
                              .lat = bench_summarize(rs[0].lat, o->nq),
                              .recall = vb_recall_at_k(rs[0].ids, gt, o->nq, o->k),
                              .raw_lat = bench_summarize(rs[1].lat, o->nq),
                              .raw_recall = vb_recall_at_k(rs[1].ids, gt, o->nq, o->k),
                              .paired = bench_summarize(pr, np).p50};
        vb_progress(run,
                    "  ragd ef_search %d: recall@%zu %.4f (raw %.4f), p50 %.3f ms (raw %.3f ms), "
                    "paired ragd/raw %.3f",
                    ef, o->k, p->recall, p->raw_recall, p->lat.p50 * 1e3, p->raw_lat.p50 * 1e3,
                    p->paired);
    }
    coll->settings.ef_search = saved;
    free(pr);
    for (int i = 0; i < 2; i++) {
        free(rs[i].lat);
        free(rs[i].ids);
    }
    return v;
}
