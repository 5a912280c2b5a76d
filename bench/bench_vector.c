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
 * Output: markdown tables on stdout, progress on stderr. See bench/README.md.
 */
#include <errno.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "bench/bench_json.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/hash.h"
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
    int raw_efc; /* > 0: also a raw HNSW built with this efConstruction */
    size_t chunks_per_doc;
    const char *data;
    bool keep;
    int threads;
    const char *json;   /* --json FILE: figures for bench/run.py */
    const char *export; /* --export DIR: vectors, queries, ground truth for bench/js */
    int ef_sweep[16];   /* --ef-sweep: raw HNSW efSearch values for the recall curve */
    int n_ef_sweep;
} opts;

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
            "                      the raw HNSW32 at each (recall against search depth)\n");
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.n = 100000,
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
            if (!o->do_flat && !o->do_hnsw) {
                fprintf(stderr, "bench_vector: --index flat|hnsw|both\n");
                return 2;
            }
        } else if (!strcmp(a, "--ef-search")) {
            NEEDV o->ef_search = atoi(v);
        } else if (!strcmp(a, "--raw-efc")) {
            NEEDV o->raw_efc = atoi(v);
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
            NEEDV for (const char *p = v; *p && o->n_ef_sweep < 16;)
            {
                int ef = atoi(p);
                if (ef <= 0) {
                    fprintf(stderr, "bench_vector: --ef-sweep takes positive integers\n");
                    return 2;
                }
                o->ef_sweep[o->n_ef_sweep++] = ef;
                p = strchr(p, ',');
                if (!p) break;
                p++;
            }
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
        !o->chunks_per_doc || o->threads <= 0 || o->ef_search <= 0) {
        fprintf(stderr, "bench_vector: invalid option values\n");
        return 2;
    }
    return 0;
}

/* --- deterministic data ------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(void) /* (0, 1) */
{
    return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static void gauss_fill(float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i += 2) {
        double u = rng_unit(), v = rng_unit();
        double r = sqrt(-2.0 * log(u)) * scale;
        x[i] = (float)(r * cos(2 * M_PI * v));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(2 * M_PI * v));
    }
}

/* Points (and queries) = normalize(centre + noise). */
static void gen_data(const opts *o, float **xs, float **qs)
{
    rng_state = o->seed;
    size_t d = (size_t)o->dim;
    float *cent = malloc((size_t)o->clusters * d * sizeof *cent);
    float *x = malloc(o->n * d * sizeof *x);
    float *q = malloc(o->nq * d * sizeof *q);
    float *noise = malloc(d * sizeof *noise);
    if (!cent || !x || !q || !noise) {
        fprintf(stderr, "bench_vector: out of memory generating data\n");
        exit(1);
    }
    for (int c = 0; c < o->clusters; c++) {
        gauss_fill(cent + (size_t)c * d, d, 1.0);
        vindex_normalize(cent + (size_t)c * d, o->dim);
    }
    for (size_t i = 0; i < o->n; i++) {
        const float *c = cent + (rng_next() % (uint64_t)o->clusters) * d;
        gauss_fill(noise, d, o->sigma);
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = c[j] + noise[j];
        vindex_normalize(x + i * d, o->dim);
    }
    for (size_t i = 0; i < o->nq; i++) {
        const float *c = cent + (rng_next() % (uint64_t)o->clusters) * d;
        gauss_fill(noise, d, o->qsigma);
        for (size_t j = 0; j < d; j++)
            q[i * d + j] = c[j] + noise[j];
        vindex_normalize(q + i * d, o->dim);
    }
    free(noise);
    free(cent);
    *xs = x;
    *qs = q;
}

/* --- helpers ---------------------------------------------------------------------- */

static void die_err(const char *what, const ragd_error *e)
{
    fprintf(stderr, "bench_vector: %s: %s\n", what, e->msg);
    exit(1);
}

static void die_faiss(const char *what)
{
    const char *m = faiss_get_last_error();
    fprintf(stderr, "bench_vector: %s: %s\n", what, m && *m ? m : "FAISS error");
    exit(1);
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double t_start;
static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%7.1fs] ", bench_now() - t_start);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static bool peak_reset_ok = true;
static void phase_begin(double *rss0)
{
    if (bench_reset_peak() != 0) peak_reset_ok = false;
    *rss0 = bench_rss_mb();
}

/* --- writing the store -------------------------------------------------------- */

/* Write the vectors as documents of chunks_per_doc chunks, each chunk's text a
 * short unique token and its vector one row of x. */
static void write_store(ragd_store *st, const ragd_collection *coll, const opts *o, const float *x)
{
    ragd_error e;
    ragd_error_clear(&e);
    size_t cpd = o->chunks_per_doc;
    const size_t W = 11; /* "v%09zu " */
    char *text = malloc(cpd * W + 1);
    store_chunk *ch = calloc(cpd, sizeof *ch);
    if (!text || !ch) exit(1);
    size_t ndocs = (o->n + cpd - 1) / cpd;
    double last = bench_now();
    for (size_t dI = 0; dI < ndocs; dI++) {
        size_t first = dI * cpd, m = o->n - first < cpd ? o->n - first : cpd;
        for (size_t j = 0; j < m; j++) {
            snprintf(text + j * W, W + 1, "v%09zu ", first + j);
            ch[j] = (store_chunk){.parent = -1,
                                  .start = j * W,
                                  .end = j * W + W - 1,
                                  .tokens = 1,
                                  .heading_path = "",
                                  .header = "",
                                  .vec = x + (first + j) * (size_t)o->dim};
        }
        char key[32], title[48], hash[RAGD_SHA256_HEX];
        snprintf(key, sizeof key, "doc%07zu", dI);
        snprintf(title, sizeof title, "synthetic document %zu", dI);
        ragd_sha256_hex(text, m * W, hash);
        store_doc doc = {.key = key,
                         .source = "bench_vector",
                         .format = "txt",
                         .title = title,
                         .text = text,
                         .text_len = m * W,
                         .content_hash = hash,
                         .tokens = m,
                         .vec_model = coll->settings.embed_model,
                         .vec_dim = o->dim};
        int64_t rowid = 0;
        if (store_doc_put(st, coll->id, &doc, NULL, 0, ch, m, &rowid, &e))
            die_err("store_doc_put", &e);
        if (bench_now() - last > 10) {
            last = bench_now();
            progress("  stored %zu / %zu vectors", first + m, o->n);
        }
    }
    free(text);
    free(ch);
}

typedef struct {
    size_t n;
    int64_t first;
} scan_ctx;

static int scan_count(void *ctx, int64_t id, const float *vec, int dim)
{
    (void)vec;
    (void)dim;
    scan_ctx *c = ctx;
    if (!c->n++) c->first = id;
    return 0;
}

/* --- participants of a search comparison ------------------------------------ */

typedef struct {
    const char *name;
    ragd_vindex *v;  /* ragd, or */
    FaissIndex *idx; /* raw FAISS */
    double *lat;     /* seconds per query */
    int64_t *ids;    /* nq * k */
} runner;

static void run_one(runner *r, const opts *o, const float *q, size_t qi, float *dist, idx_t *lab,
                    bool record)
{
    ragd_error e;
    ragd_error_clear(&e);
    size_t k = o->k;
    if (r->v) {
        vindex_hit *h = NULL;
        size_t n = 0;
        double t0 = bench_now();
        if (vindex_search(r->v, q, k, &h, &n, &e)) die_err("vindex_search", &e);
        double t1 = bench_now();
        if (record) {
            r->lat[qi] = t1 - t0;
            for (size_t j = 0; j < k; j++)
                r->ids[qi * k + j] = j < n ? h[j].chunk_id : -1;
        }
        free(h);
    } else {
        double t0 = bench_now();
        if (faiss_Index_search(r->idx, 1, q, (idx_t)k, dist, lab)) die_faiss("faiss_Index_search");
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
static void search_all(runner *rs, int nr, const opts *o, const float *qs)
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
            runner *r = &rs[(j + (int)i) % nr];
            run_one(r, o, qs + i * (size_t)o->dim, i, dist, lab, true);
        }
}

static double recall_at_k(const int64_t *ids, const int64_t *gt, size_t nq, size_t k)
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

/* --- results ---------------------------------------------------------------------- */

typedef struct {
    const char *label;
    double build_s, load_s;                      /* load_s < 0: n/a */
    double rss_delta_mb, peak_mb, peak_extra_mb; /* peak_extra: VmHWM - RSS at phase start */
    double raw_load_s;                           /* faiss_read_index_fname of the snapshot */
    long long snapshot_bytes;                    /* < 0: n/a */
    double write_s; /* raw: write_index + fsync of the same index; < 0 n/a */
    bench_stats lat;
    double recall;
    double paired; /* ragd: median over queries of ragd ÷ raw latency; 0 n/a */
} result;

static result results[8];
static int nresults;

static result *new_result(const char *label)
{
    result *r = &results[nresults++];
    memset(r, 0, sizeof *r);
    r->label = label;
    r->load_s = -1;
    r->snapshot_bytes = -1;
    r->write_s = -1;
    r->raw_load_s = -1;
    return r;
}

/* --- one index type ----------------------------------------------------------- */

static char *snapshot_file(ragd_store *st, const ragd_collection *coll)
{
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_printf(&b, "%s/faiss/%s.index", store_dir(st), coll->name);
    return ragd_buf_steal(&b);
}

static FaissIndex *raw_build(const opts *o, const char *factory, int efc, const float *x,
                             const idx_t *ids, result *r)
{
    FaissIndex *idx = NULL;
    if (faiss_index_factory(&idx, o->dim, factory, METRIC_INNER_PRODUCT))
        die_faiss("faiss_index_factory");
    if (strstr(factory, "HNSW")) {
        FaissParameterSpace *ps = NULL;
        if (faiss_ParameterSpace_new(&ps)) die_faiss("ParameterSpace");
        if (faiss_ParameterSpace_set_index_parameter(ps, idx, "efSearch", o->ef_search))
            die_faiss("set efSearch");
        if (efc > 0 && faiss_ParameterSpace_set_index_parameter(ps, idx, "efConstruction", efc))
            die_faiss("set efConstruction");
        faiss_ParameterSpace_free(ps);
    }
    omp_set_num_threads(o->threads);
    double rss0;
    phase_begin(&rss0);
    double t0 = bench_now();
    if (faiss_Index_add_with_ids(idx, (idx_t)o->n, x, ids)) die_faiss("faiss_Index_add_with_ids");
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
    if (faiss_write_index_fname(idx, b.data)) die_faiss("faiss_write_index_fname");
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

/* Recall against search depth: the raw HNSW searched at each --ef-sweep
 * efSearch (one query at a time, 1 thread, after a warm-up of 100). */
typedef struct {
    int ef;
    bench_stats lat;
    double recall;
} sweep_point;
static sweep_point sweep[16];
static int nsweep;

static void ef_sweep_run(const opts *o, FaissIndex *raw, const float *qs, const int64_t *gt)
{
    float dist[1024];
    idx_t lab[1024];
    double *lat = calloc(o->nq, sizeof *lat);
    int64_t *ids = calloc(o->nq * o->k, sizeof *ids);
    if (!lat || !ids) exit(1);
    omp_set_num_threads(1);
    for (int s = 0; s < o->n_ef_sweep; s++) {
        FaissParameterSpace *ps = NULL;
        if (faiss_ParameterSpace_new(&ps) ||
            faiss_ParameterSpace_set_index_parameter(ps, raw, "efSearch", o->ef_sweep[s]))
            die_faiss("set efSearch");
        faiss_ParameterSpace_free(ps);
        for (size_t i = 0; i < o->nq + 100; i++) {
            size_t qi = i % o->nq;
            double t0 = bench_now();
            if (faiss_Index_search(raw, 1, qs + qi * (size_t)o->dim, (idx_t)o->k, dist, lab))
                die_faiss("faiss_Index_search");
            double t1 = bench_now();
            if (i < 100) continue;
            lat[qi] = t1 - t0;
            for (size_t j = 0; j < o->k; j++)
                ids[qi * o->k + j] = lab[j];
        }
        sweep[nsweep++] = (sweep_point){.ef = o->ef_sweep[s],
                                        .lat = bench_summarize(lat, o->nq),
                                        .recall = recall_at_k(ids, gt, o->nq, o->k)};
        progress("  efSearch %d: recall@%zu %.4f, p50 %.3f ms", o->ef_sweep[s], o->k,
                 sweep[nsweep - 1].recall, sweep[nsweep - 1].lat.p50 * 1e3);
    }
    free(lat);
    free(ids);
}

/* --export DIR: the data set for the JavaScript peers, so hnswlib-node and
 * USearch index exactly these vectors: float32 row-major, ground truth as
 * row numbers (int32, k per query). */
static void export_data(const opts *o, const float *x, const float *qs, const int64_t *gt,
                        int64_t first)
{
    char path[1200];
    struct {
        const char *name;
        const void *p;
        size_t bytes;
    } f[2] = {{"base.f32", x, o->n * (size_t)o->dim * sizeof(float)},
              {"queries.f32", qs, o->nq * (size_t)o->dim * sizeof(float)}};
    mkdir(o->export, 0755);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", o->export, f[i].name);
        FILE *out = fopen(path, "wb");
        if (!out || fwrite(f[i].p, 1, f[i].bytes, out) != f[i].bytes || fclose(out)) {
            fprintf(stderr, "bench_vector: cannot write %s\n", path);
            exit(1);
        }
    }
    snprintf(path, sizeof path, "%s/gt.i32", o->export);
    FILE *out = fopen(path, "wb");
    for (size_t i = 0; out && i < o->nq * o->k; i++) {
        int32_t row = (int32_t)(gt[i] - first);
        fwrite(&row, sizeof row, 1, out);
    }
    if (!out || fclose(out)) {
        fprintf(stderr, "bench_vector: cannot write %s\n", path);
        exit(1);
    }
    json_t *m =
        json_pack("{sisisisisisi}", "n", (json_int_t)o->n, "dim", o->dim, "nq", (json_int_t)o->nq,
                  "k", (json_int_t)o->k, "hnsw_m", 32, "ef_construction", 40);
    json_object_set_new(m, "ef_search", json_integer(o->ef_search));
    snprintf(path, sizeof path, "%s/meta.json", o->export);
    if (json_dump_file(m, path, JSON_INDENT(2))) exit(1);
    json_decref(m);
}

static void run_type(const opts *o, ragd_store *st, ragd_collection *coll, const char *factory,
                     const float *x, const float *qs, const idx_t *ids, const int64_t *gt)
{
    ragd_error e;
    ragd_error_clear(&e);
    bool hnsw = strstr(factory, "HNSW") != NULL;
    const char *tname = hnsw ? "HNSW32" : "Flat";

    /* ragd: make the collection use `factory`, forget any snapshot, open. */
    if (store_collection_set_factory(st, coll->id, factory, &e) ||
        store_index_state_clear(st, coll->id, &e))
        die_err("switching the collection's index", &e);
    char *snap = snapshot_file(st, coll);
    unlink(snap);
    free(snap);
    char name[128];
    snprintf(name, sizeof name, "%s", coll->name);
    if (store_collection_open(st, name, NULL, coll, &e)) die_err("store_collection_open", &e);

    static char lab_ragd[2][64], lab_raw[2][64], lab_efc[64];
    int li = hnsw ? 1 : 0;
    snprintf(lab_ragd[li], sizeof lab_ragd[li], "ragd %s", tname);
    snprintf(lab_raw[li], sizeof lab_raw[li], "raw FAISS %s", tname);
    result *rr = new_result(lab_ragd[li]);
    progress("%s: vindex_open (rebuild from SQLite + snapshot write), %d threads", lab_ragd[li],
             o->threads);
    omp_set_num_threads(o->threads);
    double rss0;
    phase_begin(&rss0);
    ragd_vindex *v = NULL;
    bool rebuilt = false;
    double t0 = bench_now();
    if (vindex_open(st, coll, &v, &rebuilt, &e)) die_err("vindex_open", &e);
    rr->build_s = bench_now() - t0;
    rr->rss_delta_mb = bench_rss_mb() - rss0;
    rr->peak_mb = bench_peak_mb();
    rr->peak_extra_mb = rr->peak_mb - rss0;
    rr->snapshot_bytes = bench_file_size(vindex_path(v));
    if (!rebuilt) fprintf(stderr, "bench_vector: warning: vindex_open did not rebuild\n");
    if (vindex_count(v) != (int64_t)o->n) {
        fprintf(stderr, "bench_vector: index holds %lld vectors, expected %zu\n",
                (long long)vindex_count(v), o->n);
        exit(1);
    }
    progress("  built in %.2f s; reopening from the snapshot", rr->build_s);
    vindex_free(v);
    t0 = bench_now();
    if (vindex_open(st, coll, &v, &rebuilt, &e)) die_err("vindex_open (snapshot)", &e);
    rr->load_s = bench_now() - t0;
    progress("  snapshot loaded in %.2f s", rr->load_s);
    {
        FaissIndex *tmp = NULL;
        t0 = bench_now();
        if (faiss_read_index_fname(vindex_path(v), 0, &tmp)) die_faiss("faiss_read_index_fname");
        rr->raw_load_s = bench_now() - t0;
        faiss_Index_free(tmp);
        progress("  faiss_read_index_fname of the same file: %.2f s", rr->raw_load_s);
    }

    result *rw = new_result(lab_raw[li]);
    progress("%s: faiss_Index_add_with_ids, %d threads", lab_raw[li], o->threads);
    FaissIndex *raw = raw_build(o, factory, 0, x, ids, rw);
    progress("  added in %.2f s", rw->build_s);
    rw->write_s = raw_write(st, raw, &rw->snapshot_bytes);
    progress("  faiss_write_index_fname + fsync: %.2f s", rw->write_s);

    result *re = NULL;
    FaissIndex *rawe = NULL;
    if (hnsw && o->raw_efc > 0) {
        snprintf(lab_efc, sizeof lab_efc, "raw FAISS HNSW32 efC %d", o->raw_efc);
        re = new_result(lab_efc);
        progress("%s: faiss_Index_add_with_ids, %d threads", lab_efc, o->threads);
        rawe = raw_build(o, factory, o->raw_efc, x, ids, re);
        progress("  added in %.2f s", re->build_s);
    }

    runner rs[3];
    int nr = 0;
    rs[nr++] = (runner){.name = rr->label, .v = v};
    rs[nr++] = (runner){.name = rw->label, .idx = raw};
    if (rawe) rs[nr++] = (runner){.name = re->label, .idx = rawe};
    for (int i = 0; i < nr; i++) {
        rs[i].lat = calloc(o->nq, sizeof(double));
        rs[i].ids = calloc(o->nq * o->k, sizeof(int64_t));
        if (!rs[i].lat || !rs[i].ids) exit(1);
    }
    progress("searching %zu queries x %d runners, interleaved, 1 thread", o->nq, nr);
    search_all(rs, nr, o, qs);
    {
        double *pr = calloc(o->nq, sizeof *pr);
        size_t np = 0;
        for (size_t i = 0; pr && i < o->nq; i++)
            if (rs[1].lat[i] > 0) pr[np++] = rs[0].lat[i] / rs[1].lat[i];
        rr->paired = bench_summarize(pr, np).p50;
        free(pr);
    }
    result *res[3] = {rr, rw, re};
    for (int i = 0; i < nr; i++) {
        res[i]->lat = bench_summarize(rs[i].lat, o->nq);
        res[i]->recall = recall_at_k(rs[i].ids, gt, o->nq, o->k);
        free(rs[i].lat);
        free(rs[i].ids);
    }
    progress("  p50 ragd %.3f ms, raw %.3f ms", rr->lat.p50 * 1e3, rw->lat.p50 * 1e3);
    if (hnsw && o->n_ef_sweep) ef_sweep_run(o, raw, qs, gt);
    vindex_free(v);
    faiss_Index_free(raw);
    if (rawe) faiss_Index_free(rawe);
}

/* --- main ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    opts o;
    int prc = parse(argc, argv, &o);
    if (prc) return prc;
    t_start = bench_now();
    double load_start = bench_loadavg();
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
    phase_begin(&rss0);
    double t0 = bench_now();
    float *x = NULL, *qs = NULL;
    gen_data(&o, &x, &qs);
    double gen_s = bench_now() - t0;
    progress("generated %zu vectors + %zu queries in %.2f s", o.n, o.nq, gen_s);

    /* The store and collection. */
    ragd_store *st = NULL;
    if (store_open(data, &st, &e)) die_err("store_open", &e);
    char cname[128];
    snprintf(cname, sizeof cname, "synth-n%zu-d%d-c%d-s%u-g%d-q%d", o.n, o.dim, o.clusters, o.seed,
             (int)lround(o.sigma * 1000), (int)lround(o.qsigma * 1000));
    ragd_settings s;
    store_settings_init(&s);
    s.dim = o.dim;
    snprintf(s.index_factory, sizeof s.index_factory, "IDMap,Flat");
    ragd_collection coll;
    if (store_collection_open(st, cname, &s, &coll, &e)) die_err("store_collection_open", &e);
    int64_t ndocs = 0, nchunks = 0;
    if (store_counts(st, coll.id, &ndocs, &nchunks, &e)) die_err("store_counts", &e);
    double write_s = -1, write_peak = 0, write_delta = 0;
    if (nchunks == 0) {
        progress("writing %zu vectors into SQLite via store_doc_put (%zu per document)", o.n,
                 o.chunks_per_doc);
        phase_begin(&rss0);
        t0 = bench_now();
        write_store(st, &coll, &o, x);
        write_s = bench_now() - t0;
        write_delta = bench_rss_mb() - rss0;
        write_peak = bench_peak_mb();
        progress("  written in %.2f s (%.0f vectors/s)", write_s, o.n / write_s);
    } else if ((size_t)nchunks == o.n) {
        progress("reusing collection '%s' in %s (%lld vectors already stored)", cname, data,
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
    scan_ctx sc = {0};
    t0 = bench_now();
    if (store_vectors_scan(st, coll.id, 0, o.dim, scan_count, &sc, NULL, &e))
        die_err("store_vectors_scan", &e);
    double scan_s = bench_now() - t0;
    size_t scanned = sc.n;
    progress("store_vectors_scan of %zu vectors: %.2f s", scanned, scan_s);
    int64_t first = sc.first, maxid = 0;
    if (store_vectors_max_id(st, coll.id, &maxid, &e)) die_err("store_vectors_max_id", &e);
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
    scan_ctx none = {0};
    t0 = bench_now();
    if (store_vectors_scan(st, coll.id, maxid, o.dim, scan_count, &none, NULL, &e))
        die_err("store_vectors_scan", &e);
    double catchup_s = bench_now() - t0;
    progress("store_vectors_scan after the last id (catch-up, 0 rows): %.3f s", catchup_s);

    /* Exact ground truth: batch flat search, all threads. */
    progress("ground truth (batch exact search)");
    int64_t *gt = malloc(o.nq * o.k * sizeof *gt);
    float *gd = malloc(o.nq * o.k * sizeof *gd);
    {
        FaissIndex *flat = NULL;
        if (faiss_index_factory(&flat, o.dim, "IDMap,Flat", METRIC_INNER_PRODUCT))
            die_faiss("faiss_index_factory");
        omp_set_num_threads(o.threads);
        if (faiss_Index_add_with_ids(flat, (idx_t)o.n, x, ids)) die_faiss("add");
        if (faiss_Index_search(flat, (idx_t)o.nq, qs, (idx_t)o.k, gd, (idx_t *)gt))
            die_faiss("search");
        faiss_Index_free(flat);
    }
    free(gd);
    if (o.export) export_data(&o, x, qs, gt, first);

    if (o.do_flat) run_type(&o, st, &coll, "IDMap,Flat", x, qs, ids, gt);
    if (o.do_hnsw) run_type(&o, st, &coll, "IDMap,HNSW32", x, qs, ids, gt);
    /* Leave the collection as created (Flat) for a later --data reuse. */
    if (store_collection_set_factory(st, coll.id, "IDMap,Flat", &e) ||
        store_index_state_clear(st, coll.id, &e))
        die_err("resetting the collection's index", &e);
    store_close(st);

    /* --- report --- */
    double vec_mb = (double)o.n * o.dim * sizeof(float) / 1048576.0;
    printf("## Setup\n\n| step | figure |\n|---|---|\n");
    printf("| generate vectors + queries | %.2f s |\n", gen_s);
    if (write_s >= 0)
        printf("| write to SQLite (store_doc_put, %zu vectors/doc) | %.1f s = %.0f vectors/s, "
               "%.1f MB/s of vector data; RSS +%.0f MB, phase peak %.0f MB |\n",
               o.chunks_per_doc, write_s, o.n / write_s, vec_mb / write_s, write_delta, write_peak);
    else
        printf("| write to SQLite | reused from an earlier run (not measured) |\n");
    printf("| database size | ragd.db %.1f MB + WAL %.1f MB (raw vector data %.1f MB) |\n",
           db_bytes / 1048576.0, wal_bytes > 0 ? wal_bytes / 1048576.0 : 0.0, vec_mb);
    printf("| store_vectors_scan (SQLite read part of a rebuild) | %.2f s = %.0f vectors/s |\n",
           scan_s, scanned / scan_s);
    printf("| store_vectors_scan after the last id (the catch-up query of every vindex_open, 0 "
           "rows) | %.3f s |\n\n",
           catchup_s);

    printf("## Index build and memory\n\n");
    printf("ragd build = `vindex_open` with no snapshot: read SQLite, normalize, add, write + "
           "fsync the snapshot. raw build = `faiss_Index_add_with_ids` only. Both with %d "
           "OpenMP threads. ΔRSS = resident memory after − before the build (what the index "
           "keeps); peak above start = VmHWM during the build − RSS before it (transient + "
           "kept)%s.\n\n",
           o.threads,
           peak_reset_ok ? " (reset per phase via /proc/self/clear_refs)"
                         : " (could not be reset: process peak so far)");
    printf("| index | build s | build vectors/s | snapshot write s | snapshot load s (raw "
           "read_index) | snapshot MB | ΔRSS MB | bytes/vector | build peak above start MB |\n"
           "|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < nresults; i++) {
        result *r = &results[i];
        char load[32] = "—", snap[32] = "—", wr[32] = "in build";
        if (r->load_s >= 0) snprintf(load, sizeof load, "%.2f (%.2f)", r->load_s, r->raw_load_s);
        if (r->write_s >= 0)
            snprintf(wr, sizeof wr, "%.2f (separate)", r->write_s);
        else if (strncmp(r->label, "ragd ", 5))
            snprintf(wr, sizeof wr, "—");
        if (r->snapshot_bytes >= 0)
            snprintf(snap, sizeof snap, "%.0f", r->snapshot_bytes / 1048576.0);
        printf("| %s | %.2f | %.0f | %s | %s | %s | %.0f | %.0f | %.0f |\n", r->label, r->build_s,
               o.n / r->build_s, wr, load, snap, r->rss_delta_mb,
               r->rss_delta_mb * 1048576.0 / (double)o.n, r->peak_extra_mb);
    }
    printf("\n## Search (one query at a time, 1 thread, k = %zu, %zu queries, interleaved)\n\n",
           o.k, o.nq);
    printf("| index | p50 ms | p90 ms | p99 ms | mean ms | QPS | recall@%zu vs exact | "
           "flat scan GB/s at p50 |\n|---|---|---|---|---|---|---|---|\n",
           o.k);
    for (int i = 0; i < nresults; i++) {
        result *r = &results[i];
        char bw[32] = "—";
        if (strstr(r->label, "Flat"))
            snprintf(bw, sizeof bw, "%.1f", (double)o.n * o.dim * sizeof(float) / r->lat.p50 / 1e9);
        printf("| %s | %.3f | %.3f | %.3f | %.3f | %.0f | %.4f | %s |\n", r->label,
               r->lat.p50 * 1e3, r->lat.p90 * 1e3, r->lat.p99 * 1e3, r->lat.mean * 1e3,
               r->lat.n / r->lat.sum, r->recall, bw);
    }
    printf("\n## ragd / raw FAISS ratios (same run)\n\n"
           "| index | build | search p50 | search p99 | search mean |\n|---|---|---|---|---|\n");
    for (int i = 0; i + 1 < nresults; i++) {
        result *a = &results[i], *b = &results[i + 1];
        if (strncmp(a->label, "ragd ", 5) || strncmp(b->label, "raw FAISS ", 10)) continue;
        printf("| %s | %.2f× | %.2f× | %.2f× | %.2f× |\n", a->label + 5, a->build_s / b->build_s,
               a->lat.p50 / b->lat.p50, a->lat.p99 / b->lat.p99, a->lat.mean / b->lat.mean);
    }
    printf("\npeak RSS of the whole process (ru_maxrss): %.0f MB; total time %.1f s\n",
           bench_maxrss_mb(RUSAGE_SELF), bench_now() - t_start);
    printf("load average at the end: %.2f (2 cores: above ~1 means other processes competed "
           "for the CPU)\n",
           bench_loadavg());

    if (o.json) {
        json_t *j = bench_jnew(argc, argv, load_start);
        json_object_set_new(j, "n", json_integer((json_int_t)o.n));
        json_object_set_new(j, "dim", json_integer(o.dim));
        json_object_set_new(j, "queries", json_integer((json_int_t)o.nq));
        json_object_set_new(j, "k", json_integer((json_int_t)o.k));
        json_object_set_new(j, "ef_search", json_integer(o.ef_search));
        bench_jset(j, "store_write_s", write_s);
        bench_jset(j, "db_bytes", (double)db_bytes + (wal_bytes > 0 ? (double)wal_bytes : 0));
        bench_jset(j, "catchup_scan_s", catchup_s);
        json_t *arr = json_array();
        for (int i = 0; i < nresults; i++) {
            result *r = &results[i];
            json_t *ro = json_pack("{ss}", "label", r->label);
            bench_jset(ro, "build_s", r->build_s);
            bench_jset(ro, "load_s", r->load_s);
            bench_jset(ro, "raw_load_s", r->raw_load_s);
            bench_jset(ro, "rss_delta_mb", r->rss_delta_mb);
            bench_jset(ro, "build_peak_above_start_mb", r->peak_extra_mb);
            bench_jset(ro, "snapshot_bytes", (double)r->snapshot_bytes);
            bench_jset(ro, "recall", r->recall);
            json_object_set_new(ro, "latency", bench_jstats(r->lat));
            json_array_append_new(arr, ro);
        }
        json_object_set_new(j, "indexes", arr);
        for (int i = 0; i + 1 < nresults; i++) {
            result *a = &results[i], *b = &results[i + 1];
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
        for (int i = 0; i < nsweep; i++) {
            json_t *p = json_pack("{si}", "ef_search", sweep[i].ef);
            bench_jset(p, "recall", sweep[i].recall);
            json_object_set_new(p, "latency", bench_jstats(sweep[i].lat));
            json_array_append_new(sw, p);
        }
        json_object_set_new(j, "ef_sweep", sw);
        bench_jset(j, "peak_rss_mb", bench_maxrss_mb(RUSAGE_SELF));
        if (bench_jwrite(j, o.json, "bench_vector")) return 1;
    }
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
