/* retrieve/engine.h — opening a collection with everything a request needs.
 *
 * Both front-ends (CLI and HTTP API) use these two functions, so they open
 * stores, create collections, pick embedders and load vector indexes the
 * same way:
 *   engine_open_ingest  create-or-open for writing: a new collection gets
 *                       the requested settings (a remote embedder's
 *                       dimension is probed first); an existing one must not
 *                       be asked for different settings (RAGD_ECONFLICT);
 *   engine_open         open an existing collection for queries; the vector
 *                       index is loaded (and caught up) only when asked.
 *
 * Ownership: an engine owns its store, embedder and index; release with
 * engine_close. Thread-safety: one engine per thread.
 */
#ifndef RAGD_RETRIEVE_ENGINE_H
#define RAGD_RETRIEVE_ENGINE_H

#include <stdbool.h>

#include "core/error.h"
#include "index/vector.h"
#include "provider/collection.h"
#include "provider/provider.h"
#include "store/store.h"

typedef struct {
    ragd_store *st;
    ragd_collection coll;
    ragd_embedder *embedder; /* NULL when not requested */
    ragd_vindex *vindex;     /* NULL when not requested */
} engine;

/* Open data_dir and create-or-open collection `name` for ingesting with the
 * requested settings (unspecified fields zero / -1; see store_settings_init)
 * and embedder choice. The embedder is always created. */
ragd_status engine_open_ingest(const char *data_dir, const char *name, const ragd_settings *want,
                               const embed_choice *choice, engine *e, ragd_error *err);

/* Open an existing collection. With need_dense, also create its embedder
 * (choice may override URL, key, timeouts) and open its vector index. */
/* engine_open_ingest with a PostgreSQL store of record (store/pg.h) when
 * store_url is not NULL: the data directory is its local cache. */
ragd_status engine_open_ingest_at(const char *data_dir, const char *store_url, const char *name,
                                  const ragd_settings *want, const embed_choice *choice, engine *e,
                                  ragd_error *err);

ragd_status engine_open(const char *data_dir, const char *name, const embed_choice *choice,
                        bool need_dense, engine *e, ragd_error *err);

void engine_close(engine *e);

#endif
