/* tests/unit_helpers.h — helpers shared by the cmocka unit tests: those that
 * talk to local mock servers (unit_provider, unit_rerank, unit_generator,
 * unit_llm_summary) and those that ingest small documents (unit_validate,
 * unit_lexical_idf). Header-only (static), included after <cmocka.h>.
 */
#ifndef RAGD_TESTS_UNIT_HELPERS_H
#define RAGD_TESTS_UNIT_HELPERS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "store/store.h"

/* Fail the test unless needle occurs in hay, printing both. */
#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle))) {                                                            \
            fprintf(stderr, "expected \"%s\" in \"%s\"\n", (needle), (hay));                       \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* Monotonic seconds. */
static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A port on 127.0.0.1 with nothing listening (bound, read, released). */
static inline int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* A store in a temporary directory with a docs/ folder to ingest from, and
 * one collection "v" once coll_fixture_open ran. */
typedef struct {
    char dir[64];
    ragd_store *st;
    ragd_collection coll;
} coll_fixture;

/* A new fixture under /tmp (tag names the test: /tmp/ragd-TAG-XXXXXX);
 * freed by coll_fixture_free. */
static inline coll_fixture *coll_fixture_new(const char *tag)
{
    coll_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ragd-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(fx->dir));
    char p[128];
    snprintf(p, sizeof p, "%s/docs", fx->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    return fx;
}

/* Opens the store and collection "v" with chunk_tokens per chunk and no
 * overlap (the other settings at their defaults). */
static inline void coll_fixture_open(coll_fixture *fx, int chunk_tokens)
{
    ragd_error e;
    assert_int_equal(store_open(fx->dir, &fx->st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    s.chunk_tokens = chunk_tokens;
    s.overlap = 0;
    assert_int_equal(store_collection_open(fx->st, "v", &s, &fx->coll, &e), RAGD_OK);
}

/* Ingests everything in docs/ with the default options. */
static inline void coll_fixture_ingest(coll_fixture *fx)
{
    char p[128];
    snprintf(p, sizeof p, "%s/docs", fx->dir);
    ingest_opts o = {0};
    char *paths[] = {p};
    json_t *report = NULL;
    ragd_error e;
    assert_int_equal(ingest_paths(fx->st, &fx->coll, paths, 1, &o, &report, &e), RAGD_OK);
    json_decref(report);
}

/* Closes the store and removes the directory. */
static inline void coll_fixture_free(coll_fixture *fx)
{
    store_close(fx->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
}

/* A cmocka teardown for a coll_fixture set as the test's state. */
static inline int coll_fixture_teardown(void **state)
{
    coll_fixture_free(*state);
    return 0;
}

/* Writes text to DIR/docs/NAME (the directory must exist). */
static inline void write_doc(const char *dir, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/docs/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#endif
