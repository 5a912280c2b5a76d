/* tests/preload_slow_epoll_del.c — fault injection for it_serve.py: an
 * LD_PRELOAD library whose epoll_ctl sleeps 0-2 ms (pseudo-randomly)
 * before every EPOLL_CTL_DEL, then does the real call.
 *
 * Why: libmicrohttpd 0.9.75's MHD_quiesce_daemon, on a thread pool with
 * MHD_USE_EPOLL, removes the listen socket from each worker's epoll set
 * while the worker, awake under load, may remove it too; the loser's
 * ENOENT is a panic (SIGABRT at SIGTERM). The race window is nanoseconds
 * wide, so the bug showed once in many ASan runs; stretching every removal
 * makes it show in most stops (15 of 20 with 4 workers under load), which
 * is what lets a test fail before the fix (api/server.c no longer calls
 * MHD_quiesce_daemon: see on_accept there) and pass after it.
 *
 * Thread-safe in what it needs: rand_r on a per-thread seed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

typedef int (*epoll_ctl_fn)(int, int, int, struct epoll_event *);

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    static _Thread_local unsigned seed;
    epoll_ctl_fn real = (epoll_ctl_fn)(uintptr_t)dlsym(RTLD_NEXT, "epoll_ctl");
    if (op == EPOLL_CTL_DEL) {
        if (!seed) seed = (unsigned)(uintptr_t)&seed | 1u;
        struct timespec ts = {0, (long)(rand_r(&seed) % 2000) * 1000};
        nanosleep(&ts, NULL);
    }
    return real(epfd, op, fd, ev);
}
