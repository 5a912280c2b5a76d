/* bench/bench_mhd_ceiling.c — the HTTP ceiling of this machine: a bare
 * libmicrohttpd server that reads and discards the request body and answers
 * every request with the same fixed JSON body (200, application/json).
 *
 * It uses the daemon flags of api/server.c (internal polling thread, epoll,
 * ITC, a thread pool of --threads workers, the same connection limit,
 * timeout and per-connection memory limit), so wrk against it measures what
 * libmicrohttpd + the kernel's loopback + wrk itself cost here, with no
 * application work: the most QPS `ragd serve` could reach.
 *
 * usage: bench_mhd_ceiling [--threads N] [--body-bytes B] --ready-file F
 * Listens on 127.0.0.1, a free port; writes "127.0.0.1:PORT" to F once
 * listening; runs until SIGTERM or SIGINT. Used by bench/bench_http.sh.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *g_body;
static size_t g_body_len;
static int g_marker; /* *con_cls for a request whose headers have been seen */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    if (!*con_cls) { /* headers only: ask for the body */
        *con_cls = &g_marker;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body: discard it */
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(g_body_len, g_body, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    unsigned threads = 2;
    size_t body_bytes = 64;
    const char *ready = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--threads") && v) {
            threads = (unsigned)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(argv[i], "--body-bytes") && v) {
            body_bytes = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(argv[i], "--ready-file") && v) {
            ready = v;
            i++;
        } else {
            fprintf(stderr, "usage: bench_mhd_ceiling [--threads N] [--body-bytes B] "
                            "--ready-file FILE\n");
            return 2;
        }
    }
    if (!ready || threads < 1 || threads > 256 || body_bytes < 16 || body_bytes > (16u << 20)) {
        fprintf(stderr, "bench_mhd_ceiling: need --ready-file, 1 <= --threads <= 256, "
                        "16 <= --body-bytes <= 16 MiB\n");
        return 2;
    }
    /* A JSON object of exactly body_bytes: {"pad":"xxx…"} */
    g_body_len = body_bytes;
    g_body = malloc(g_body_len + 1);
    if (!g_body) return 1;
    memset(g_body, 'x', g_body_len);
    memcpy(g_body, "{\"pad\":\"", 8);
    memcpy(g_body + g_body_len - 2, "\"}", 2);
    g_body[g_body_len] = '\0';

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by the daemon's threads */
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    /* The flags and options of api/server.c's api_serve. */
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                         MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 256u,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)(128 * 1024), MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench_mhd_ceiling: MHD_start_daemon failed\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", ready);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "127.0.0.1:%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, ready)) {
        fprintf(stderr, "bench_mhd_ceiling: cannot write %s\n", ready);
        MHD_stop_daemon(d);
        return 1;
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    free(g_body);
    return 0;
}
