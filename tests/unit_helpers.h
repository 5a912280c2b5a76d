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
#include <unistd.h>

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
