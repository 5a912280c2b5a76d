/* ingest/embed_cache.c — embedding texts through the embedding cache.
 *
 * Texts are keyed by their SHA-256 under the embedder's model and
 * dimension; the cache's hits are read from a store connection and only
 * the misses go to the provider, in one batch. ingest_embed_lookup hands
 * the misses back for the writer to cache (a worker holds a read-only
 * connection); ingest_embed_texts (ingest.h) looks up and caches at once.
 *
 * The built-in local embedder bypasses the cache: hashing a text into a
 * vector costs less than looking it up, and its rows were 41 % of ragd.db
 * and never removed (bench/churn.sh: 10,000 rows for 500 live chunks).
 */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "index/vector.h"
#include "ingest/pipeline_internal.h"

/* Look texts up in the embedding cache on st and embed the misses in one
 * batch. out receives all n vectors, L2-normalized; the misses' hashes and
 * vectors are handed back (*miss_hash, *miss_vecs, malloc'd; *nmiss) for
 * the writer to cache. */
ragd_status ingest_embed_lookup(ragd_store *st, ragd_embedder *e, const char *const *texts,
                                size_t n, float *out, char (**miss_hash)[65], float **miss_vecs,
                                size_t *nmiss_out, embed_usage *usage, long *cache_hits,
                                ragd_error *err)
{
    *miss_hash = NULL;
    *miss_vecs = NULL;
    *nmiss_out = 0;
    int dim = embedder_dim(e);
    if (embedder_is_local(e)) {
        ragd_status rc = embedder_embed(e, texts, NULL, n, out, usage, err);
        for (size_t i = 0; i < n && !rc; i++)
            vindex_normalize(out + i * (size_t)dim, dim);
        return rc;
    }
    char(*hashes)[65] = ragd_xcalloc(n ? n : 1, sizeof *hashes);
    int *found = ragd_xcalloc(n ? n : 1, sizeof *found);
    for (size_t i = 0; i < n; i++)
        ragd_sha256_hex(texts[i], strlen(texts[i]), hashes[i]);
    ragd_status rc = store_cache_get(st, embedder_model(e), dim, hashes, n, out, found, err);
    size_t nmiss = 0;
    for (size_t i = 0; i < n && !rc; i++)
        nmiss += !found[i];
    if (!rc && nmiss) {
        const char **mt = ragd_xcalloc(nmiss, sizeof *mt);
        char(*mh)[65] = ragd_xcalloc(nmiss, sizeof *mh);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!found[i]) {
                mt[k] = texts[i];
                memcpy(mh[k], hashes[i], 65);
                k++;
            }
        float *mv = ragd_xmalloc(nmiss * (size_t)dim * sizeof *mv);
        rc = embedder_embed(e, mt, NULL, nmiss, mv, usage, err);
        if (!rc && embedder_dim(e) != dim)
            rc = ragd_error_set(err, RAGD_EPROVIDER,
                                "embedder returned %d-d vectors, the collection expects %d-d",
                                embedder_dim(e), dim);
        if (!rc) {
            for (size_t i = 0; i < nmiss; i++)
                vindex_normalize(mv + i * (size_t)dim, dim);
            k = 0;
            for (size_t i = 0; i < n; i++)
                if (!found[i])
                    memcpy(out + i * (size_t)dim, mv + (k++) * (size_t)dim,
                           (size_t)dim * sizeof *mv);
            *miss_hash = mh;
            *miss_vecs = mv;
            *nmiss_out = nmiss;
        } else {
            free(mv);
            free(mh);
        }
        free(mt);
    }
    if (cache_hits) *cache_hits += (long)(n - nmiss);
    free(hashes);
    free(found);
    return rc;
}

ragd_status ingest_embed_texts(ragd_store *st, ragd_embedder *e, const char *const *texts, size_t n,
                               float *out, embed_usage *usage, long *cache_hits, ragd_error *err)
{
    char(*mh)[65] = NULL;
    float *mv = NULL;
    size_t nmiss = 0;
    ragd_status rc =
        ingest_embed_lookup(st, e, texts, n, out, &mh, &mv, &nmiss, usage, cache_hits, err);
    if (!rc && nmiss)
        rc = store_cache_put(st, embedder_model(e), embedder_dim(e), mh, nmiss, mv, err);
    free(mh);
    free(mv);
    return rc;
}
