/* bench/vector_data.c — bench_vector's data: deterministic clustered
 * vectors, writing them into a ragd store, --export for bench/js. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/vector_bench.h"
#include "core/hash.h"

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *state) /* (0, 1) */
{
    return ((double)(rng_next(state) >> 11) + 0.5) / 9007199254740992.0;
}

static void gauss_fill(uint64_t *state, float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i += 2) {
        double u = rng_unit(state), v = rng_unit(state);
        double r = sqrt(-2.0 * log(u)) * scale;
        x[i] = (float)(r * cos(2 * M_PI * v));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(2 * M_PI * v));
    }
}

/* Points (and queries) = normalize(centre + noise). */
void vb_gen_data(const vb_opts *o, float **xs, float **qs)
{
    uint64_t rng = o->seed;
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
        gauss_fill(&rng, cent + (size_t)c * d, d, 1.0);
        vindex_normalize(cent + (size_t)c * d, o->dim);
    }
    for (size_t i = 0; i < o->n; i++) {
        const float *c = cent + (rng_next(&rng) % (uint64_t)o->clusters) * d;
        gauss_fill(&rng, noise, d, o->sigma);
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = c[j] + noise[j];
        vindex_normalize(x + i * d, o->dim);
    }
    for (size_t i = 0; i < o->nq; i++) {
        const float *c = cent + (rng_next(&rng) % (uint64_t)o->clusters) * d;
        gauss_fill(&rng, noise, d, o->qsigma);
        for (size_t j = 0; j < d; j++)
            q[i * d + j] = c[j] + noise[j];
        vindex_normalize(q + i * d, o->dim);
    }
    free(noise);
    free(cent);
    *xs = x;
    *qs = q;
}

/* Write the vectors as documents of chunks_per_doc chunks, each chunk's text a
 * short unique token and its vector one row of x. */
void vb_write_store(vb_run *run, ragd_store *st, const ragd_collection *coll, const float *x)
{
    const vb_opts *o = run->o;
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
            vb_die_err("store_doc_put", &e);
        if (bench_now() - last > 10) {
            last = bench_now();
            vb_progress(run, "  stored %zu / %zu vectors", first + m, o->n);
        }
    }
    free(text);
    free(ch);
}

int vb_scan_count(void *ctx, int64_t id, const float *vec, int dim)
{
    (void)vec;
    (void)dim;
    vb_scan *c = ctx;
    if (!c->n++) c->first = id;
    return 0;
}

/* --export DIR: the data set for the JavaScript peers, so hnswlib-node and
 * USearch index exactly these vectors: float32 row-major, ground truth as
 * row numbers (int32, k per query). */
void vb_export(const vb_opts *o, const float *x, const float *qs, const int64_t *gt, int64_t first)
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
