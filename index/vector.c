/* index/vector.c — FAISS vector index with snapshots and catch-up.
 * See vector.h for the design. Only the upstream FAISS C API is used. */
#include "index/vector.h"

#include <errno.h>
#include <fcntl.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

/* libgomp: FAISS and OpenBLAS threads fight over 2 cores on single-query
 * search (see faiss-notes.md), so searches run on one thread. */
extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);

struct ragd_vindex {
    FaissIndex *idx;
    ragd_store *st;
    int64_t coll;
    int dim;
    char factory[64];
    char *path;
    int64_t last_id; /* the last chunk id the index covers */
    bool can_remove; /* remove_ids works for this index type */
    int64_t *tomb;   /* sorted tombstoned chunk ids (when !can_remove) */
    size_t ntomb;
};

static ragd_status faiss_fail(ragd_error *err, const char *what)
{
    const char *m = faiss_get_last_error();
    return ragd_error_set(err, RAGD_EINDEX, "%s: %s", what, m && *m ? m : "FAISS error");
}

void vindex_normalize(float *x, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)x[i] * x[i];
    if (s <= 0) return;
    float inv = (float)(1.0 / sqrt(s));
    for (int i = 0; i < dim; i++)
        x[i] *= inv;
}

void vindex_factory_normalize(const char *factory, char out[64])
{
    if (!factory || !*factory) factory = "IDMap,Flat";
    if (!strncmp(factory, "IDMap", 5) || !strncmp(factory, "IVF", 3))
        snprintf(out, 64, "%s", factory);
    else
        snprintf(out, 64, "IDMap,%s", factory);
}

static char *snapshot_path(ragd_store *st, const ragd_collection *coll)
{
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_printf(&b, "%s/faiss/%s.index", store_dir(st), coll->name);
    return ragd_buf_steal(&b);
}

static ragd_status new_index(int dim, const char *factory, FaissIndex **out, ragd_error *err)
{
    *out = NULL;
    if (faiss_index_factory(out, dim, factory, METRIC_INNER_PRODUCT))
        return ragd_error_set(err, RAGD_EUSAGE, "invalid index factory '%s': %s", factory,
                              faiss_get_last_error());
    /* HNSW: a recall-friendly default search depth. */
    if (strstr(factory, "HNSW")) {
        FaissParameterSpace *ps = NULL;
        if (!faiss_ParameterSpace_new(&ps)) {
            faiss_ParameterSpace_set_index_parameter(ps, *out, "efSearch", 64);
            faiss_ParameterSpace_free(ps);
        }
    }
    return RAGD_OK;
}

/* Collect vectors into a growable buffer (used for rebuild and catch-up). */
typedef struct {
    float *x;
    int64_t *ids;
    size_t n, cap;
    int dim;
} vec_batch;

static int batch_add(void *ctx, int64_t id, const float *vec, int dim)
{
    vec_batch *b = ctx;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->x = ragd_xrealloc(b->x, b->cap * (size_t)dim * sizeof(float));
        b->ids = ragd_xrealloc(b->ids, b->cap * sizeof(int64_t));
    }
    memcpy(b->x + b->n * (size_t)dim, vec, (size_t)dim * sizeof(float));
    vindex_normalize(b->x + b->n * (size_t)dim, dim);
    b->ids[b->n++] = id;
    return 0;
}

static void batch_free(vec_batch *b)
{
    free(b->x);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool is_tomb(const ragd_vindex *v, int64_t id)
{
    return v->ntomb && bsearch(&id, v->tomb, v->ntomb, sizeof id, cmp_i64) != NULL;
}

/* Probe whether remove_ids works (it throws for HNSW): remove an id that
 * cannot exist. */
static bool probe_remove(FaissIndex *idx)
{
    FaissIDSelectorRange *sel = NULL;
    if (faiss_IDSelectorRange_new(&sel, -2, -1)) return false;
    size_t nrem = 0;
    int rc = faiss_Index_remove_ids(idx, (FaissIDSelector *)sel, &nrem);
    faiss_IDSelectorRange_free(sel);
    return rc == 0;
}

static ragd_status remove_ids(ragd_vindex *v, const int64_t *ids, size_t n, ragd_error *err)
{
    if (!n) return RAGD_OK;
    if (!v->can_remove) {
        v->tomb = ragd_xrealloc(v->tomb, (v->ntomb + n) * sizeof *v->tomb);
        memcpy(v->tomb + v->ntomb, ids, n * sizeof *ids);
        v->ntomb += n;
        qsort(v->tomb, v->ntomb, sizeof *v->tomb, cmp_i64);
        return RAGD_OK;
    }
    FaissIDSelectorBatch *sel = NULL;
    if (faiss_IDSelectorBatch_new(&sel, n, ids)) return faiss_fail(err, "cannot remove vectors");
    size_t nrem = 0;
    int rc = faiss_Index_remove_ids(v->idx, (FaissIDSelector *)sel, &nrem);
    faiss_IDSelector_free((FaissIDSelector *)sel);
    return rc ? faiss_fail(err, "cannot remove vectors") : RAGD_OK;
}

static ragd_status add_batch(ragd_vindex *v, vec_batch *b, ragd_error *err)
{
    if (!b->n) return RAGD_OK;
    if (!faiss_Index_is_trained(v->idx)) {
        if (faiss_Index_train(v->idx, (idx_t)b->n, b->x))
            return faiss_fail(err, "cannot train the vector index (too few vectors for this "
                                   "factory? use a Flat or HNSW index for small collections)");
    }
    if (faiss_Index_add_with_ids(v->idx, (idx_t)b->n, b->x, (const idx_t *)b->ids))
        return faiss_fail(err, "cannot add vectors");
    return RAGD_OK;
}

/* Write the snapshot atomically, then record what it covers. */
static ragd_status save(ragd_vindex *v, ragd_error *err)
{
    ragd_buf dir = RAGD_BUF_INIT, tmp = RAGD_BUF_INIT;
    ragd_buf_printf(&dir, "%s/faiss", store_dir(v->st));
    if (mkdir(dir.data, 0755) != 0 && errno != EEXIST) {
        ragd_error_set(err, RAGD_EIO, "cannot create '%s': %s", dir.data, strerror(errno));
        ragd_buf_free(&dir);
        return RAGD_EIO;
    }
    ragd_buf_printf(&tmp, "%s.tmp.%d", v->path, (int)getpid());
    ragd_status rc = RAGD_OK;
    if (faiss_write_index_fname(v->idx, tmp.data)) {
        rc = faiss_fail(err, "cannot write vector index snapshot");
    } else {
        int fd = open(tmp.data, O_RDONLY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        if (rename(tmp.data, v->path) != 0) {
            rc = ragd_error_set(err, RAGD_EIO, "cannot rename snapshot to '%s': %s", v->path,
                                strerror(errno));
        } else {
            int dfd = open(dir.data, O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
    }
    if (rc) unlink(tmp.data);
    ragd_buf_free(&tmp);
    ragd_buf_free(&dir);
    if (rc) return rc;
    rc = store_index_state_set(v->st, v->coll, v->factory, v->last_id, err);
    /* Removed vectors are gone from the snapshot; tombstones stay listed
     * until a rebuild. */
    if (!rc && v->can_remove) rc = store_deleted_clear(v->st, v->coll, INT64_MAX, err);
    return rc;
}

static ragd_vindex *vindex_alloc(ragd_store *st, const ragd_collection *coll)
{
    ragd_vindex *v = ragd_xcalloc(1, sizeof *v);
    v->st = st;
    v->coll = coll->id;
    v->dim = coll->settings.dim;
    v->path = snapshot_path(st, coll);
    return v;
}

ragd_status vindex_rebuild(ragd_store *st, const ragd_collection *coll, const char *factory,
                           ragd_vindex **out, ragd_error *err)
{
    *out = NULL;
    ragd_vindex *v = vindex_alloc(st, coll);
    vindex_factory_normalize(factory ? factory : coll->settings.index_factory, v->factory);
    ragd_status rc = new_index(v->dim, v->factory, &v->idx, err);
    vec_batch b = {.dim = v->dim};
    if (!rc) rc = store_vectors_scan(st, coll->id, 0, v->dim, batch_add, &b, &v->last_id, err);
    if (!rc) rc = add_batch(v, &b, err);
    batch_free(&b);
    if (!rc) {
        v->can_remove = probe_remove(v->idx);
        /* A rebuild holds no deleted vectors: forget every tombstone. */
        rc = store_deleted_clear(st, coll->id, INT64_MAX, err);
    }
    if (!rc) rc = save(v, err);
    if (rc) {
        vindex_free(v);
        return rc;
    }
    *out = v;
    return RAGD_OK;
}

ragd_status vindex_open(ragd_store *st, const ragd_collection *coll, ragd_vindex **out,
                        bool *rebuilt, ragd_error *err)
{
    *out = NULL;
    if (rebuilt) *rebuilt = false;
    bool found = false;
    char factory[64] = "";
    int64_t last = 0;
    ragd_status rc = store_index_state_get(st, coll->id, &found, factory, &last, err);
    if (rc) return rc;
    ragd_vindex *v = vindex_alloc(st, coll);
    const char *why = NULL;
    if (!found) {
        why = "no snapshot recorded";
    } else if (access(v->path, F_OK) != 0) {
        why = "snapshot file missing";
    } else if (faiss_read_index_fname(v->path, 0, &v->idx)) {
        why = "snapshot unreadable (corrupt?)";
        v->idx = NULL;
    } else if (faiss_Index_d(v->idx) != v->dim) {
        why = "snapshot has the wrong dimension";
    }
    if (!why) {
        snprintf(v->factory, sizeof v->factory, "%s", factory);
        v->last_id = last;
        v->can_remove = probe_remove(v->idx);
        int64_t *del = NULL;
        size_t ndel = 0;
        rc = store_deleted_list(st, coll->id, &del, &ndel, err);
        if (!rc) rc = remove_ids(v, del, ndel, err);
        free(del);
        /* Catch up. Ids above `last` may already be in the snapshot if a
         * previous run died between writing it and recording it, so remove
         * that range first (re-adding is then idempotent). */
        vec_batch b = {.dim = v->dim};
        int64_t maxid = last;
        if (!rc) rc = store_vectors_scan(st, coll->id, last, v->dim, batch_add, &b, &maxid, err);
        if (!rc && b.n && v->can_remove) {
            FaissIDSelectorRange *sel = NULL;
            size_t nrem = 0;
            if (!faiss_IDSelectorRange_new(&sel, last + 1, INT64_MAX)) {
                faiss_Index_remove_ids(v->idx, (FaissIDSelector *)sel, &nrem);
                faiss_IDSelectorRange_free(sel);
            }
        }
        if (!rc) rc = add_batch(v, &b, err);
        bool changed = b.n > 0 || (ndel > 0 && v->can_remove);
        batch_free(&b);
        v->last_id = maxid;
        if (rc) {
            vindex_free(v);
            return rc;
        }
        if (changed && (rc = save(v, err))) {
            vindex_free(v);
            return rc;
        }
        *out = v;
        return RAGD_OK;
    }
    /* Rebuild from SQLite. */
    if (found || access(v->path, F_OK) == 0)
        log_write(LOG_WARN, "rebuilding vector index from SQLite", "collection", coll->name,
                  "reason", why, NULL);
    vindex_free(v);
    if (rebuilt) *rebuilt = true;
    return vindex_rebuild(st, coll, found ? factory : NULL, out, err);
}

ragd_status vindex_search(ragd_vindex *v, const float *query, size_t k, vindex_hit **hits,
                          size_t *n, ragd_error *err)
{
    *hits = NULL;
    *n = 0;
    int64_t total = faiss_Index_ntotal(v->idx);
    if (!k || total == 0) return RAGD_OK;
    /* Ask for more when tombstones may be filtered out. */
    size_t kk = k + v->ntomb;
    if ((int64_t)kk > total) kk = (size_t)total;
    float *dist = ragd_xmalloc(kk * sizeof *dist);
    idx_t *lab = ragd_xmalloc(kk * sizeof *lab);
    /* One thread for this search only: restore the setting afterwards so
     * index builds later in a long-running process keep their threads. */
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    int frc = faiss_Index_search(v->idx, 1, query, (idx_t)kk, dist, lab);
    omp_set_num_threads(threads);
    if (frc) {
        free(dist);
        free(lab);
        return faiss_fail(err, "vector search failed");
    }
    vindex_hit *out = ragd_xcalloc(k, sizeof *out);
    size_t m = 0;
    for (size_t i = 0; i < kk && m < k; i++) {
        if (lab[i] < 0 || is_tomb(v, lab[i])) continue;
        bool dup = false; /* an id re-added after a crash may appear twice */
        for (size_t j = 0; j < m && !dup; j++)
            dup = out[j].chunk_id == lab[i];
        if (dup) continue;
        out[m].chunk_id = lab[i];
        out[m].score = dist[i];
        m++;
    }
    free(dist);
    free(lab);
    *hits = out;
    *n = m;
    return RAGD_OK;
}

int64_t vindex_count(const ragd_vindex *v)
{
    return faiss_Index_ntotal(v->idx);
}

const char *vindex_path(const ragd_vindex *v)
{
    return v->path;
}

void vindex_free(ragd_vindex *v)
{
    if (!v) return;
    if (v->idx) faiss_Index_free(v->idx);
    free(v->path);
    free(v->tomb);
    free(v);
}
