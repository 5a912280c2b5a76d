/* bench/bench_common.h — small helpers shared by the benchmark programs:
 * a monotonic clock, latency statistics, memory readings, machine facts and
 * temporary data directories. Header-only (static inline) so each benchmark
 * is one translation unit. Not part of libragd.
 */
#ifndef RAGD_BENCH_COMMON_H
#define RAGD_BENCH_COMMON_H

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Latency summary of n samples (seconds). Sorts a copy. */
typedef struct {
    size_t n;
    double p50, p90, p99, mean, min, max, sum;
} bench_stats;

static inline double bench_pct_sorted(const double *s, size_t n, double p)
{
    if (!n) return 0;
    double pos = p * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return s[n - 1];
    double f = pos - (double)i;
    return s[i] * (1 - f) + s[i + 1] * f;
}

static inline bench_stats bench_summarize(const double *x, size_t n)
{
    bench_stats st = {0};
    st.n = n;
    /* The bound also tells GCC's -O3 (Release) that n * 8 cannot wrap: without
     * it -Wstringop-overflow fails the build. */
    if (!n || n > SIZE_MAX / sizeof(double)) return st;
    double *s = malloc(n * sizeof *s);
    if (!s) abort();
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, bench_cmp_double);
    for (size_t i = 0; i < n; i++)
        st.sum += s[i];
    st.mean = st.sum / (double)n;
    st.min = s[0];
    st.max = s[n - 1];
    st.p50 = bench_pct_sorted(s, n, 0.50);
    st.p90 = bench_pct_sorted(s, n, 0.90);
    st.p99 = bench_pct_sorted(s, n, 0.99);
    free(s);
    return st;
}

/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 if unreadable. */
static inline long bench_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static inline double bench_rss_mb(void)
{
    return bench_status_kb("VmRSS") / 1024.0;
}

/* Peak RSS since the last bench_reset_peak (VmHWM), in MB. */
static inline double bench_peak_mb(void)
{
    return bench_status_kb("VmHWM") / 1024.0;
}

/* Reset VmHWM to the current RSS (Linux: "5" > /proc/self/clear_refs), so
 * each phase reports its own peak. Returns 0 on success; when it fails the
 * peak is the process peak so far (documented in the output). */
static inline int bench_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Process peak RSS (getrusage ru_maxrss), MB; never reset. */
static inline double bench_maxrss_mb(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return -1;
    return ru.ru_maxrss / 1024.0;
}

static inline long long bench_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* 1-minute load average, or -1. */
static inline double bench_loadavg(void)
{
    double la = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &la) != 1) la = -1;
        fclose(f);
    }
    return la;
}

/* Machine facts for the report header. */
static inline void bench_print_machine(FILE *out)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    p++;
                    while (*p == ' ' || *p == '\t')
                        p++;
                    p[strcspn(p, "\n")] = '\0';
                    snprintf(model, sizeof model, "%s", p);
                }
                break;
            }
        }
        fclose(f);
    }
    long mem_kb = -1;
    f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        if (fgets(line, sizeof line, f)) sscanf(line, "MemTotal: %ld", &mem_kb);
        fclose(f);
    }
    char date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
    fprintf(out,
            "machine: %ld cores (nproc), CPU \"%s\", %.1f GB RAM; load average %.2f at start\n",
            sysconf(_SC_NPROCESSORS_ONLN), model, mem_kb / 1048576.0, bench_loadavg());
    fprintf(out, "date: %s\n", date);
}

static inline int bench_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf path. */
static inline void bench_rmtree(const char *path)
{
    nftw(path, bench_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create a fresh temporary directory /tmp/<prefix>-XXXXXX into out. */
static inline int bench_mkdtemp(const char *prefix, char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    return mkdtemp(out) ? 0 : -1;
}

/* Run argv[0] (a path) with argv; its stdout goes to out_path (created or
 * truncated), or to our stderr when out_path is NULL. *secs receives the
 * wall time and *ru the child's rusage (peak RSS in ru_maxrss). Returns the
 * child's exit status, or -1 when it could not run or did not exit (a
 * message names `who`). */
static inline int bench_run_child(const char *who, char *const *argv, const char *out_path,
                                  double *secs, struct rusage *ru)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_path)
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
    else
        posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid;
    double t0 = bench_now();
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        fprintf(stderr, "%s: cannot run %s: %s\n", who, argv[0], strerror(rc));
        return -1;
    }
    int status = 0;
    if (wait4(pid, &status, 0, ru) < 0) return -1;
    *secs = bench_now() - t0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
