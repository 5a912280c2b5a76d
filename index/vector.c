/* index/vector.c — FAISS vector index with snapshots and catch-up.
 * See vector.h for the design. The upstream FAISS C API is used, plus
 * ragd's HNSW graph view (index/faiss_ext/) for HNSW searches. */
#include "index/vector.h"

#include <errno.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/durable.h"
#include "core/hash.h"
#include "core/log.h"
#include "index/hnsw_search.h"
#include "index/vector_internal.h"

/* libgomp: FAISS and OpenBLAS threads fight over 2 cores on single-query
 * search (see faiss-notes.md), so searches run on one thread. */
extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);

ragd_status vindex_faiss_fail(ragd_error *err, const char *what)
{
    const char *m = faiss_get_last_error();
    return ragd_error_set(err, RAGD_EINDEX, "%s: %s", what, m && *m ? m : "FAISS error");
}

/* A snapshot write that failed for lack of space (errno `e`, or FAISS's
 * message naming it) as "no space left on device: DIR"; else faiss_fail. */
static ragd_status write_fail(ragd_error *err, int e, const char *dir)
{
    const char *m = faiss_get_last_error();
    if (e == ENOSPC || (m && strstr(m, "No space left on device")))
        return ragd_error_set(
            err, RAGD_EIO, "cannot write vector index snapshot: no space left on device: %s", dir);
    if (e == EFBIG || (m && strstr(m, "File too large")))
        return ragd_error_set(err, RAGD_EIO,
                              "cannot write vector index snapshot: file too large (over the file "
                              "size limit, ulimit -f): %s",
                              dir);
    return vindex_faiss_fail(err, "cannot write vector index snapshot");
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

bool vindex_factory_normalize(const char *factory, char out[64])
{
    if (!factory || !*factory) factory = "IDMap,Flat";
    bool wrap = strncmp(factory, "IDMap", 5) != 0 && strncmp(factory, "IVF", 3) != 0;
    const char *prefix = wrap ? "IDMap," : "";
    size_t np = strlen(prefix), nf = strlen(factory);
    if (np + nf >= 64) {
        /* Never a truncated factory (it could name another valid index):
         * something FAISS rejects, saying why. */
        memcpy(out, VINDEX_FACTORY_TOO_LONG, sizeof VINDEX_FACTORY_TOO_LONG);
        return false;
    }
    memcpy(out, prefix, np);
    memcpy(out + np, factory, nf + 1);
    return true;
}

char *vindex_snapshot_path(ragd_store *st, const ragd_collection *coll)
{
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_printf(&b, "%s/faiss/%s.index", store_dir(st), coll->name);
    return ragd_buf_steal(&b);
}

/* HNSW: set the collection's search depth on idx (built or read from a
 * snapshot: a snapshot keeps the efSearch it was written with, so the
 * setting is applied on every open — changing it needs no rebuild). No-op
 * for other index types. */
static void apply_ef_search(FaissIndex *idx, const char *factory, int ef)
{
    if (!strstr(factory, "HNSW")) return;
    FaissParameterSpace *ps = NULL;
    if (faiss_ParameterSpace_new(&ps)) return;
    faiss_ParameterSpace_set_index_parameter(ps, idx, "efSearch",
                                             ef > 0 ? ef : VINDEX_EF_SEARCH_DEFAULT);
    faiss_ParameterSpace_free(ps);
}

static ragd_status new_index(int dim, const char *factory, int ef, FaissIndex **out,
                             ragd_error *err)
{
    *out = NULL;
    if (faiss_index_factory(out, dim, factory, METRIC_INNER_PRODUCT))
        return ragd_error_set(err, RAGD_EUSAGE, "invalid index factory '%s': %s", factory,
                              faiss_get_last_error());
    apply_ef_search(*out, factory, ef);
    return RAGD_OK;
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

/* Whether remove_ids works (it throws for HNSW). The two families that
 * support it are known without trying: a flat index (IDMap,Flat) and IVF
 * indexes — trying costs a pass over every vector (and, for IVF, over
 * every inverted list: 40 ms of a 140 ms open at 1M IVF-PQ). Anything else
 * is probed: remove an id that cannot exist. */
static bool probe_remove(FaissIndex *idx)
{
    FaissIndexIDMap *m = faiss_IndexIDMap_cast(idx);
    FaissIndex *in = m ? faiss_IndexIDMap_sub_index(m) : idx;
    if ((m && faiss_IndexFlat_cast(in)) || (!m && faiss_IndexIVF_cast(idx))) return true;
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
    if (faiss_IDSelectorBatch_new(&sel, n, ids))
        return vindex_faiss_fail(err, "cannot remove vectors");
    size_t nrem = 0;
    int rc = faiss_Index_remove_ids(v->idx, (FaissIDSelector *)sel, &nrem);
    faiss_IDSelector_free((FaissIDSelector *)sel);
    return rc ? vindex_faiss_fail(err, "cannot remove vectors") : RAGD_OK;
}

/* Write the snapshot atomically (temporary file, fsync, rename, directory
 * fsync), hash what was written, then record in SQLite what it covers and
 * its integrity facts. Only then forget the deleted ids cleared[0..ncleared)
 * that the snapshot no longer holds: those read before its state was
 * captured, never rows a concurrent `rm` added since. */
static ragd_status save(ragd_vindex *v, const int64_t *cleared, size_t ncleared, ragd_error *err)
{
    ragd_buf dir = RAGD_BUF_INIT, tmp = RAGD_BUF_INIT;
    ragd_buf_printf(&dir, "%s/faiss", store_dir(v->st));
    ragd_buf_printf(&tmp, "%s.tmp.%d", v->path, (int)getpid());
    store_index_state stt = {.last_chunk_id = v->last_id,
                             .ntotal = faiss_Index_ntotal(v->idx),
                             .dim = v->dim,
                             .metric = (int)faiss_Index_metric_type(v->idx)};
    snprintf(stt.factory, sizeof stt.factory, "%s", v->factory);
    FILE *fp = NULL;
    ragd_status rc = ragd_durable_begin(dir.data, tmp.data, &fp, err);
    if (!rc) {
        errno = 0;
        if (faiss_write_index(v->idx, fp)) {
            rc = write_fail(err, errno, dir.data);
        } else if ((rc = ragd_durable_sync(fp, tmp.data, err))) {
            int e = errno;
            if (e == ENOSPC || e == EFBIG) rc = write_fail(err, e, dir.data);
        } else {
            /* Hash what is in the file, not what FAISS meant to write. */
            rewind(fp);
            rc = ragd_sha256_stream(fp, stt.checksum, &stt.file_bytes, err);
            if (rc) ragd_error_prefix(err, "cannot read back '%s'", tmp.data);
        }
    }
    if (!rc) {
        vindex_verified_forget(v->path);
        rc = ragd_durable_commit(fp, dir.data, tmp.data, v->path, err);
        fp = NULL;
        if (rc) ragd_error_prefix(err, "cannot save the vector index snapshot");
    }
    if (rc) ragd_durable_abort(fp, tmp.data);
    ragd_buf_free(&tmp);
    ragd_buf_free(&dir);
    if (rc) return rc;
    rc = store_index_state_set(v->st, v->coll, &stt, err);
    if (!rc) rc = store_deleted_clear_ids(v->st, v->coll, cleared, ncleared, err);
    return rc;
}

static ragd_vindex *vindex_alloc(ragd_store *st, const ragd_collection *coll)
{
    ragd_vindex *v = ragd_xcalloc(1, sizeof *v);
    v->st = st;
    v->coll = coll->id;
    v->dim = coll->settings.dim;
    v->ef_search = coll->settings.ef_search;
    v->path = vindex_snapshot_path(st, coll);
    return v;
}

/* A snapshot that cannot be written (full disk, read-only directory) is
 * not fatal to a search: the index built in memory answers it, pending
 * deletions stay listed, and the next open tries again. */
static void warn_unsaved(const ragd_vindex *v, const ragd_error *e)
{
    log_write(LOG_WARN, "cannot save the vector index snapshot; using the index built in memory",
              "path", v->path, "reason", e->msg, NULL);
}

static ragd_status rebuild(ragd_store *st, const ragd_collection *coll, const char *factory,
                           bool must_save, ragd_vindex **out, ragd_error *err)
{
    *out = NULL;
    ragd_vindex *v = vindex_alloc(st, coll);
    if (!vindex_factory_normalize(factory ? factory : coll->settings.index_factory, v->factory)) {
        vindex_free(v);
        return ragd_error_set(err, RAGD_EUSAGE, "invalid index factory: %s",
                              VINDEX_FACTORY_TOO_LONG);
    }
    /* Deleted ids listed now are of chunks already gone from SQLite, so the
     * scan below cannot see them: the new snapshot covers them, and they
     * are forgotten once it is safely written (not before: a failed or
     * killed reindex must leave them pending for the old snapshot). */
    int64_t *del = NULL;
    size_t ndel = 0;
    ragd_status rc = store_deleted_list(st, coll->id, &del, &ndel, err);
    if (!rc) rc = new_index(v->dim, v->factory, v->ef_search, &v->idx, err);
    if (!rc) rc = vindex_build_from_store(v, err);
    if (!rc) v->can_remove = probe_remove(v->idx);
    if (!rc) {
        ragd_error se;
        if ((rc = save(v, del, ndel, &se))) {
            if (must_save) {
                *err = se;
            } else {
                warn_unsaved(v, &se);
                rc = RAGD_OK;
            }
        }
    }
    free(del);
    if (rc) {
        vindex_free(v);
        return rc;
    }
    *out = v;
    return RAGD_OK;
}

ragd_status vindex_rebuild(ragd_store *st, const ragd_collection *coll, const char *factory,
                           ragd_vindex **out, ragd_error *err)
{
    return rebuild(st, coll, factory, true, out, err);
}

/* Open and verify the snapshot against the recorded state: size and
 * SHA-256 of the file first (FAISS trusts the bytes it reads — a damaged
 * count crashes it), then the index's dimension, count and metric. The
 * file is checked and read through one descriptor, so a snapshot renamed
 * into place meanwhile cannot slip in unverified. The hash is skipped when
 * this very file (same inode, size, mtime, ctime) was verified before (see
 * vector_verify.c). Returns NULL on success (v->idx set), or why the
 * snapshot cannot be used. */
static const char *load_verified(ragd_vindex *v, const store_index_state *stt)
{
    static const char *mismatch = "snapshot does not match the checksum recorded in SQLite "
                                  "(damaged, or an older copy put back)";
    if (!stt->checksum[0]) return "no checksum recorded (snapshot written by an older ragd)";
    FILE *fp = fopen(v->path, "rb");
    if (!fp) return errno == ENOENT ? "snapshot file missing" : "snapshot file unreadable";
    struct stat sb;
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    const char *why = NULL;
    if (fstat(fileno(fp), &sb) != 0)
        why = "snapshot file unreadable";
    else if ((int64_t)sb.st_size != stt->file_bytes)
        why = mismatch;
    else if (!vindex_verified_cached(v->path, &sb, stt->checksum)) {
        char hex[RAGD_SHA256_HEX];
        int64_t bytes = 0;
        ragd_error e;
        if (ragd_sha256_stream(fp, hex, &bytes, &e))
            why = "snapshot file unreadable";
        else if (bytes != stt->file_bytes || strcmp(hex, stt->checksum) != 0)
            why = mismatch;
        else
            vindex_verified_record(v->path, &sb, stt->checksum, &t0);
    }
    if (!why && (fseek(fp, 0, SEEK_SET) != 0 || faiss_read_index(fp, 0, &v->idx))) {
        why = "snapshot unreadable (corrupt?)";
        v->idx = NULL;
    }
    fclose(fp);
    if (why) return why;
    if (faiss_Index_d(v->idx) != v->dim || stt->dim != v->dim)
        return "snapshot has the wrong dimension";
    if (faiss_Index_ntotal(v->idx) != stt->ntotal)
        return "snapshot holds another number of vectors than recorded";
    if ((int)faiss_Index_metric_type(v->idx) != stt->metric ||
        stt->metric != (int)METRIC_INNER_PRODUCT)
        return "snapshot has the wrong metric";
    /* The factory's outer type: chunk ids need the IDMap wrapper unless the
     * index takes ids natively (IVF). */
    bool idmap = !strncmp(stt->factory, "IDMap", 5);
    if (!stt->factory[0] || idmap != (faiss_IndexIDMap_cast(v->idx) != NULL))
        return "snapshot is not of the recorded index factory";
    return NULL;
}

ragd_status vindex_open(ragd_store *st, const ragd_collection *coll, ragd_vindex **out,
                        bool *rebuilt, ragd_error *err)
{
    *out = NULL;
    if (rebuilt) *rebuilt = false;
    bool found = false;
    store_index_state stt;
    ragd_status rc = store_index_state_get(st, coll->id, &found, &stt, err);
    if (rc) return rc;
    ragd_vindex *v = vindex_alloc(st, coll);
    const char *why = found ? load_verified(v, &stt) : "no snapshot recorded";
    if (!why) {
        snprintf(v->factory, sizeof v->factory, "%s", stt.factory);
        apply_ef_search(v->idx, v->factory, v->ef_search);
        v->last_id = stt.last_chunk_id;
        v->can_remove = probe_remove(v->idx);
        int64_t *del = NULL;
        size_t ndel = 0;
        rc = store_deleted_list(st, coll->id, &del, &ndel, err);
        if (!rc) rc = remove_ids(v, del, ndel, err);
        /* Catch up, in bounded batches (see vindex_catch_up). */
        size_t added = 0;
        if (!rc) rc = vindex_catch_up(v, &added, err);
        bool changed = added > 0 || (ndel > 0 && v->can_remove);
        /* Tombstones (index types without removal: HNSW) cost memory and
         * recall — a graph mostly made of deleted nodes hides live vectors
         * from the search (bench/churn.sh -i HNSW32: 8 of 12 dense searches
         * missed live documents after 9,500 of 10,000 were deleted). Once
         * they are a quarter of the index, compact: rebuild from SQLite with
         * the same factory, which also forgets the listed deletions. */
        if (!rc && !v->can_remove && v->ntomb &&
            (int64_t)v->ntomb * 4 >= faiss_Index_ntotal(v->idx)) {
            log_write(LOG_INFO, "compacting the vector index: deleted vectors are a quarter of it",
                      "collection", coll->name, NULL);
            free(del);
            vindex_free(v);
            if (rebuilt) *rebuilt = true;
            return rebuild(st, coll, stt.factory, false, out, err);
        }
        /* Removed vectors are gone from the new snapshot; tombstones (no
         * removal) stay listed until a rebuild. */
        if (!rc && changed) {
            ragd_error se;
            if (save(v, del, v->can_remove ? ndel : 0, &se)) warn_unsaved(v, &se);
        }
        free(del);
        if (rc) {
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
    return rebuild(st, coll, found && stt.factory[0] ? stt.factory : NULL, false, out, err);
}

/* Insert id (>= 0) into an open-addressing set of cap slots (a power of 2,
 * more than the ids ever added; -1 = empty). False when already there. */
static bool id_set_add(idx_t *set, size_t cap, idx_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    for (size_t i = (size_t)(h >> 32) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (set[i] == id) return false;
        if (set[i] < 0) {
            set[i] = id;
            return true;
        }
    }
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
    int frc = 0;
#ifdef RAGD_HAVE_FAISS_HNSW_VIEW
    FaissRagdHnswGraph g;
    if (faiss_ragd_hnsw_graph(v->idx, &g) == 0) {
        /* HNSW: ragd's own loop over FAISS's graph (index/hnsw_search.h). */
        size_t got = hnsw_graph_search(&g, query, kk, g.ef_search, dist, lab);
        for (size_t i = got; i < kk; i++)
            lab[i] = -1;
    } else
#endif
    {
        /* One thread for this search only: restore the setting afterwards so
         * index builds later in a long-running process keep their threads. */
        int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        frc = faiss_Index_search(v->idx, 1, query, (idx_t)kk, dist, lab);
        omp_set_num_threads(threads);
    }
    if (frc) {
        free(dist);
        free(lab);
        return vindex_faiss_fail(err, "vector search failed");
    }
    vindex_hit *out = ragd_xcalloc(k, sizeof *out);
    /* An id re-added after a crash may appear twice: keep its first (best)
     * occurrence. A hash set of the ids kept, not a scan of them: the dense
     * channel asks for 1000 (retrieve/search.c), and the pairwise scan cost
     * half a million comparisons per query. */
    size_t cap = 16;
    while (cap < 2 * kk)
        cap *= 2;
    idx_t *seen = ragd_xmalloc(cap * sizeof *seen);
    for (size_t i = 0; i < cap; i++)
        seen[i] = -1;
    size_t m = 0;
    for (size_t i = 0; i < kk && m < k; i++) {
        if (lab[i] < 0 || is_tomb(v, lab[i])) continue;
        if (!id_set_add(seen, cap, lab[i])) continue;
        out[m].chunk_id = lab[i];
        out[m].score = dist[i];
        m++;
    }
    free(seen);
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

int64_t vindex_last_chunk_id(const ragd_vindex *v)
{
    return v->last_id;
}
