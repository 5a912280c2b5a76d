/* retrieve/engine.c — see engine.h. */
#include "retrieve/engine.h"

#include "store/pg.h"

#include <stdio.h>
#include <string.h>

void engine_close(engine *e)
{
    if (!e) return;
    vindex_free(e->vindex);
    embedder_free(e->embedder);
    store_close(e->st);
    memset(e, 0, sizeof *e);
}

ragd_status engine_open_ingest(const char *data_dir, const char *name, const ragd_settings *want,
                               const embed_choice *choice, engine *e, ragd_error *err)
{
    return engine_open_ingest_at(data_dir, NULL, name, want, choice, e, err);
}

ragd_status engine_open_ingest_at(const char *data_dir, const char *store_url, const char *name,
                                  const ragd_settings *want, const embed_choice *choice, engine *e,
                                  ragd_error *err)
{
    memset(e, 0, sizeof *e);
    ragd_status rc = store_open(data_dir, &e->st, err);
    if (!rc && store_url) rc = store_pg_attach(e->st, store_url, true, err);
    if (rc) {
        engine_close(e);
        return rc;
    }
    ragd_settings req = *want;
    embed_choice_to_settings(choice, &req);
    rc = store_collection_open(e->st, name, NULL, &e->coll, err);
    if (rc == RAGD_ENOTFOUND) {
        /* New collection: settle the embedder (and its dimension) first. */
        ragd_settings s = req;
        if (!s.embedder[0]) snprintf(s.embedder, sizeof s.embedder, "local");
        if (strcmp(s.embedder, "local") != 0 && choice->dim <= 0) s.dim = 0;
        store_settings_defaults(&s);
        rc = embedder_for_settings(&s, choice, &e->embedder, err);
        if (!rc) {
            char f[64];
            vindex_factory_normalize(s.index_factory, f);
            snprintf(s.index_factory, sizeof s.index_factory, "%s", f);
            rc = store_collection_open(e->st, name, &s, &e->coll, err);
        }
    } else if (!rc) {
        /* Existing: requested settings must match what it was created with. */
        if (req.index_factory[0]) {
            char f[64];
            vindex_factory_normalize(req.index_factory, f);
            snprintf(req.index_factory, sizeof req.index_factory, "%s", f);
            if (strcmp(f, e->coll.settings.index_factory) != 0)
                rc = ragd_error_set(err, RAGD_ECONFLICT,
                                    "collection '%s' uses index '%s', not '%s'; change it with "
                                    "'ragd reindex --index %s'",
                                    name, e->coll.settings.index_factory, f, req.index_factory);
        }
        if (!rc) rc = store_collection_open(e->st, name, &req, &e->coll, err);
        if (!rc) rc = embedder_for_settings(&e->coll.settings, choice, &e->embedder, err);
    }
    if (rc) engine_close(e);
    return rc;
}

ragd_status engine_open(const char *data_dir, const char *name, const embed_choice *choice,
                        bool need_dense, engine *e, ragd_error *err)
{
    memset(e, 0, sizeof *e);
    ragd_status rc = store_open(data_dir, &e->st, err);
    if (!rc) rc = store_collection_open(e->st, name, NULL, &e->coll, err);
    if (!rc && need_dense) {
        rc = embedder_for_settings(&e->coll.settings, choice, &e->embedder, err);
        if (!rc) rc = vindex_open(e->st, &e->coll, &e->vindex, NULL, err);
    }
    if (rc) engine_close(e);
    return rc;
}
