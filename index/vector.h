/* index/vector.h — the dense vector index: FAISS through its C API.
 *
 * SQLite holds every chunk vector (the system of record); the FAISS index is
 * derived. Its snapshot lives in <data>/faiss/<collection>.index, written to
 * a temporary file, fsync'd and renamed into place; index_state in SQLite
 * records the last chunk id it covers. vindex_open loads the snapshot and
 * catches up: vectors with larger chunk ids are added, chunks deleted since
 * are removed (remove_ids) or, for index types without removal (HNSW),
 * tombstoned and filtered at search time until `ragd reindex` compacts. The
 * snapshot is trusted only if its size and SHA-256 match what SQLite
 * recorded when it was written (checked before FAISS parses it) and the
 * index has the recorded dimension, count and metric; a missing, damaged,
 * stale (an older copy put back) or unreadable snapshot is rebuilt from
 * SQLite with a warning log line, never used. Vectors are L2-normalized and
 * searched by inner product (cosine).
 *
 * Factory strings are FAISS index_factory strings; ids are chunk ids, so
 * "Flat" and "HNSW32" are wrapped as "IDMap,Flat" / "IDMap,HNSW32"
 * automatically ("IVF..." indexes take ids natively and are trained on the
 * collection's vectors when (re)built).
 *
 * Ownership: vindex_open returns a handle released by vindex_free. The store
 * passed in is borrowed and must outlive the handle. Thread-safety: a handle
 * may be searched by one thread at a time; opening is not concurrent-safe
 * with another process writing the same snapshot (the CLI is one process).
 */
#ifndef RAGD_INDEX_VECTOR_H
#define RAGD_INDEX_VECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

typedef struct ragd_vindex ragd_vindex;

typedef struct {
    int64_t chunk_id;
    float score; /* inner product of normalized vectors = cosine */
} vindex_hit;

/* HNSW search depth when a collection sets none (ragd_settings.ef_search
 * 0): recall@10 0.98-0.99 on the bench_vector data (docs/benchmarks.md). */
#define VINDEX_EF_SEARCH_DEFAULT 64

/* What vindex_factory_normalize writes when the normalized factory would
 * not fit in 64 bytes: a string FAISS rejects ("invalid index factory"). */
#define VINDEX_FACTORY_TOO_LONG "(index factory string too long: at most 57 characters)"

/* Normalize a FAISS factory string for chunk-id keyed use ("Flat" ->
 * "IDMap,Flat"). Writes into out (64 bytes). Returns false, with
 * VINDEX_FACTORY_TOO_LONG in out, when the result would not fit (never a
 * truncated factory, which could name another valid index). */
bool vindex_factory_normalize(const char *factory, char out[64]);

/* Open the collection's index (see top comment): load, catch up, save the
 * snapshot when anything changed. `rebuilt` (optional) tells whether it had
 * to be rebuilt from SQLite. A snapshot that cannot be written (full disk,
 * read-only directory) is a warning, not an error: the index built in
 * memory is returned and the next open tries again. */
ragd_status vindex_open(ragd_store *st, const ragd_collection *coll, ragd_vindex **out,
                        bool *rebuilt, ragd_error *err);

/* Rebuild the index from SQLite with `factory` (NULL: the collection's
 * current one), write the snapshot, record it (and the factory) in the
 * collection's index state, and only then forget the deletions and
 * tombstones listed before the rebuild. Failing to write the snapshot is an
 * error here (`ragd reindex`), and leaves the pending deletions listed. */
ragd_status vindex_rebuild(ragd_store *st, const ragd_collection *coll, const char *factory,
                           ragd_vindex **out, ragd_error *err);

/* Top-k chunks for one normalized query vector of the collection's dim.
 * *hits is malloc'd (caller frees); *n <= k. Tombstoned ids never appear. */
ragd_status vindex_search(ragd_vindex *v, const float *query, size_t k, vindex_hit **hits,
                          size_t *n, ragd_error *err);

/* The last chunk id the index covers. */
int64_t vindex_last_chunk_id(const ragd_vindex *v);

/* Vectors in the index (including tombstoned ones). */
int64_t vindex_count(const ragd_vindex *v);

/* Where coll's snapshot lives: <data>/faiss/<name>.index (malloc'd; the
 * caller frees). */
char *vindex_snapshot_path(ragd_store *st, const ragd_collection *coll);

/* The snapshot path (borrowed). */
const char *vindex_path(const ragd_vindex *v);

void vindex_free(ragd_vindex *v);

/* L2-normalize x[0..dim) in place (zero vectors stay zero). */
void vindex_normalize(float *x, int dim);

#endif
