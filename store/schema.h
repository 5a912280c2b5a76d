/* store/schema.h — private to store/: migrations. */
#ifndef RAGD_STORE_SCHEMA_H
#define RAGD_STORE_SCHEMA_H

#include <sqlite3.h>

#include "core/error.h"

/* Bring db from its PRAGMA user_version to STORE_SCHEMA_VERSION, each step
 * in its own transaction. Fails with RAGD_ESTORE when the database is newer
 * than this binary understands. */
ragd_status schema_migrate(sqlite3 *db, ragd_error *err);

/* The schema version of db (PRAGMA user_version). */
int schema_version(sqlite3 *db);

#endif
