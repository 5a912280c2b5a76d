/* store/schema.h — private to store/: migrations. */
#ifndef RAGD_STORE_SCHEMA_H
#define RAGD_STORE_SCHEMA_H

#include <sqlite3.h>

#include "core/error.h"

/* Bring db from its PRAGMA user_version to STORE_SCHEMA_VERSION, each step
 * in its own transaction. Fails with RAGD_ESTORE when the database is newer
 * than this binary understands. */
ragd_status schema_migrate(sqlite3 *db, ragd_error *err);

/* The v7 -> v8 step's fill: chunks.chunk_words and documents.summary_words
 * of every row (retrieve/words_blob.h), in the caller's transaction,
 * progress-logged past 100,000 chunks. Returns an SQLite result code;
 * *errmsg (sqlite3_free) on failure. */
int schema_fill_words(sqlite3 *db, char **errmsg);

/* The schema version of db (PRAGMA user_version). */
int schema_version(sqlite3 *db);

#endif
