/* fuzz/reply_server.c — see reply_server.h. */
#include "fuzz/reply_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_body;
static size_t g_len;
static int g_status = 200;

void reply_server_set(int status, const char *body, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    pthread_mutex_lock(&g_mu);
    free(g_body);
    g_body = copy;
    g_len = len;
    g_status = status;
    pthread_mutex_unlock(&g_mu);
}

int reply_server_status(unsigned char b)
{
    static const int other[] = {400, 401, 404, 413, 429, 500, 501, 502, 503, 204, 302, 201};
    return b < 0xF0 ? 200 : other[(b - 0xF0) % (sizeof other / sizeof other[0])];
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one request (headers, then Content-Length bytes of body). */
static int read_request(int fd, char *buf, size_t cap, size_t *have)
{
    for (;;) {
        buf[*have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            size_t hl = (size_t)(end + 4 - buf), cl = 0;
            for (char *h = buf; h < end; h = strstr(h, "\r\n") + 2)
                if (!strncasecmp(h, "content-length:", 15)) cl = strtoul(h + 15, NULL, 10);
            if (hl + cl > cap) /* the fuzz targets send small requests */
                return -1;
            while (*have < hl + cl) {
                ssize_t r = recv(fd, buf + *have, cap - *have, 0);
                if (r <= 0) return -1;
                *have += (size_t)r;
            }
            memmove(buf, buf + hl + cl, *have - hl - cl);
            *have -= hl + cl;
            return 0;
        }
        if (*have == cap) return -1;
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r <= 0) return -1;
        *have += (size_t)r;
    }
}

static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap + 1);
    while (read_request(fd, buf, cap, &have) == 0) {
        pthread_mutex_lock(&g_mu);
        int status = g_status;
        size_t len = g_len;
        char *body = malloc(len ? len : 1);
        memcpy(body, g_body, len);
        pthread_mutex_unlock(&g_mu);
        char head[256];
        int hn = snprintf(head, sizeof head,
                          "HTTP/1.1 %d Fuzz\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n%s\r\n",
                          status, len, status == 302 ? "Location: http://127.0.0.1:1/\r\n" : "");
        int bad = send_all(fd, head, (size_t)hn) || send_all(fd, body, len);
        free(body);
        if (bad) break;
    }
    free(buf);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

int reply_server_start(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 64) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("reply_server_start");
        abort();
    }
    reply_server_set(200, "{}", 2);
    pthread_t t;
    if (pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)lfd)) {
        perror("pthread_create");
        abort();
    }
    pthread_detach(t);
    return ntohs(sa.sin_port);
}
