/* bench/bench_chunk_js.c — the LangChain side of bench_chunk: one
 * long-lived node child (bench/langchain/split.mjs --serve). bench_chunk
 * writes "chars FROM TO" or "tokens FROM TO" to its stdin and reads back the
 * seconds (and CPU seconds) node measured around its splitting loop, so
 * node startup and file reading stay outside the clock and the JIT stays
 * warm between the interleaved passes. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_chunk.h"

extern char **environ;

int js_start(js_child *j, const opts *o, const char *texts, int chunk_chars, int overlap_chars,
             char *why, size_t whycap)
{
    memset(j, 0, sizeof *j);
    char script[1024], pkg[1100];
    snprintf(script, sizeof script, "%s/split.mjs", o->langchain);
    snprintf(pkg, sizeof pkg, "%s/node_modules/@langchain/textsplitters/package.json",
             o->langchain);
    if (access(script, R_OK) != 0) {
        snprintf(why, whycap, "%s not found", script);
        return -1;
    }
    if (access(pkg, R_OK) != 0) {
        snprintf(why, whycap, "%s/node_modules not installed (run `npm ci` in %s)", o->langchain,
                 o->langchain);
        return -1;
    }
    int pin[2], pout[2];
    if (pipe(pin) || pipe(pout)) {
        snprintf(why, whycap, "pipe: %s", strerror(errno));
        return -1;
    }
    char cc[32], oc[32], ct[32], ot[32];
    snprintf(cc, sizeof cc, "%d", chunk_chars);
    snprintf(oc, sizeof oc, "%d", overlap_chars);
    snprintf(ct, sizeof ct, "%d", o->chunk_tokens);
    snprintf(ot, sizeof ot, "%d", o->overlap);
    char *args[] = {(char *)o->node,  script, "--texts",          (char *)texts,
                    "--chunk-chars",  cc,     "--overlap-chars",  oc,
                    "--chunk-tokens", ct,     "--overlap-tokens", ot,
                    "--serve",        NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pout[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, pin[1]);
    posix_spawn_file_actions_addclose(&fa, pout[0]);
    int rc = posix_spawnp(&j->pid, o->node, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pin[0]);
    close(pout[1]);
    if (rc) {
        close(pin[1]);
        close(pout[0]);
        snprintf(why, whycap, "cannot run %s: %s", o->node, strerror(rc));
        j->pid = 0;
        return -1;
    }
    j->in = fdopen(pin[1], "w");
    j->out = fdopen(pout[0], "r");
    char *line = NULL;
    size_t cap = 0;
    json_error_t je;
    if (getline(&line, &cap, j->out) > 0) j->ready = json_loads(line, 0, &je);
    free(line);
    if (!j->ready || !json_is_true(json_object_get(j->ready, "ready"))) {
        snprintf(why, whycap, "%s %s did not start (see its message above)", o->node, script);
        return -1;
    }
    return 0;
}

double js_pass(js_child *j, const char *mode, size_t from, size_t to, double *cpu, json_t **reply)
{
    fprintf(j->in, "%s %zu %zu\n", mode, from, to);
    fflush(j->in);
    char *line = NULL;
    size_t cap = 0;
    json_error_t je;
    json_t *r = getline(&line, &cap, j->out) > 0 ? json_loads(line, 0, &je) : NULL;
    free(line);
    json_t *s = r ? json_object_get(r, "seconds") : NULL;
    if (!json_is_number(s)) {
        fprintf(stderr, "bench_chunk: no timing from node for '%s'\n", mode);
        exit(1);
    }
    double secs = json_number_value(s);
    json_t *c = json_object_get(r, "cpu_seconds");
    if (cpu) *cpu = json_is_number(c) ? json_number_value(c) : NAN;
    if (reply) {
        json_decref(*reply);
        *reply = r;
    } else {
        json_decref(r);
    }
    return secs;
}

/* The child's CPU seconds so far, all its threads (V8's GC and compiler
 * threads too): the first field of each /proc/PID/task/TID/schedstat, in
 * nanoseconds. NAN when /proc cannot tell (not Linux). */
static double child_cpu(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *dh = opendir(dir);
    if (!dh) return NAN;
    double ns = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.') continue;
        char path[400];
        snprintf(path, sizeof path, "%s/%s/schedstat", dir, de->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long run = 0;
        if (f) {
            if (fscanf(f, "%llu", &run) == 1) ns += (double)run;
            fclose(f);
        }
    }
    closedir(dh);
    return ns / 1e9;
}

double js_settle(js_child *j)
{
    double first = child_cpu(j->pid);
    if (isnan(first)) return NAN;
    double last = first;
    struct timespec step = {0, 2000000}; /* 2 ms */
    int quiet = 0;
    for (int k = 0; k < 1000 && quiet < 3; k++) { /* at most ~2 s */
        nanosleep(&step, NULL);
        double now = child_cpu(j->pid);
        quiet = now - last < 100e-6 ? quiet + 1 : 0; /* < 0.1 ms of CPU in 2 ms */
        last = now;
    }
    return last - first;
}

void js_stop(js_child *j)
{
    if (j->in) {
        fputs("quit\n", j->in);
        fclose(j->in);
    }
    if (j->out) fclose(j->out);
    if (j->pid > 0) {
        int status;
        waitpid(j->pid, &status, 0);
    }
    json_decref(j->ready);
    memset(j, 0, sizeof *j);
}
