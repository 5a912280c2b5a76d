/* index/vector_internal.h — what index/vector.c shares with its build
 * (vector_build.c) and snapshot-verification (vector_verify.c) parts. Not
 * a public interface. */
#ifndef RAGD_INDEX_VECTOR_INTERNAL_H
#define RAGD_INDEX_VECTOR_INTERNAL_H

#include <faiss/c_api/Index_c.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "index/vector.h"

struct ragd_vindex {
    FaissIndex *idx;
    ragd_store *st;
    int64_t coll;
    int dim;
    char factory[64];
    int ef_search; /* HNSW efSearch applied to idx (collection setting) */
    char *path;
    int64_t last_id; /* the last chunk id the index covers */
    bool can_remove; /* remove_ids works for this index type */
    int64_t *tomb;   /* sorted tombstoned chunk ids (when !can_remove) */
    size_t ntomb;
};

/* FAISS's last error as RAGD_EINDEX "what: message". */
ragd_status vindex_faiss_fail(ragd_error *err, const char *what);

/* --- vector_build.c: SQLite -> FAISS in bounded memory ------------------- */

/* Vectors per FAISS add call while streaming from SQLite: 8,192 x 384-d =
 * 12 MB of transient buffer whatever the collection's size. */
#define VINDEX_BATCH 8192

/* HNSW: the incoming level-0 links every new node is given where free
 * slots allow, after a build or catch-up (faiss_ragd_hnsw_repair). Nodes
 * the diversity heuristic leaves with one to five are most of what a
 * search misses. At 100k x 384-d (HNSW32, bench_vector's data) a floor of
 * 8 raised recall@10 at efSearch 64 from 0.9970 to 0.9985 for 16 % more
 * build time; 16 reached 0.9991 for 43 % more (docs/benchmarks.md,
 * thirteenth session). */
#define VINDEX_HNSW_MIN_IN_DEGREE 16

/* Fill v->idx (new, empty, from v->factory) with every vector of the
 * collection and set v->last_id. IDMap,Flat: the ids are read first, the
 * index is sized once and the vectors are written into it in place (peak =
 * the index + 8 bytes per vector). Trained factories (IVF, PQ): trained on
 * a bounded deterministic sample (reservoir), then added in batches. Other
 * types (HNSW): added in batches. */
ragd_status vindex_build_from_store(ragd_vindex *v, ragd_error *err);

/* Catch up from SQLite: add the collection's vectors with chunk id >
 * v->last_id in batches (first removing that id range from the index when
 * it can remove, see vindex_open), and advance v->last_id. *added: how
 * many were added. */
ragd_status vindex_catch_up(ragd_vindex *v, size_t *added, ragd_error *err);

/* --- vector_verify.c: a snapshot's verification, cached ------------------ */

/* Whether the snapshot open as fp (its fstat in *sb) may be trusted without
 * hashing it again: a sidecar file <path>.verified records that a file with
 * this device, inode, size, mtime and ctime was hashed to checksum
 * `checksum` at a time safely after its last change (see vector_verify.c). */
bool vindex_verified_cached(const char *path, const struct stat *sb, const char *checksum);

/* Record that the file (fstat *sb, taken before hashing began at time
 * *hashed_at) hashed to `checksum`; a no-op when its last change is too
 * recent to be told apart from a later one. Errors are ignored (it is a
 * cache). */
void vindex_verified_record(const char *path, const struct stat *sb, const char *checksum,
                            const struct timespec *hashed_at);

/* Remove the sidecar (a new snapshot is being written). */
void vindex_verified_forget(const char *path);

#endif
