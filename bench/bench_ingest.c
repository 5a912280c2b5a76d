/* bench/bench_ingest.c — `ragd ingest` against plain SQLite FTS5 indexing of
 * the same corpus, per corpus size.
 *
 * For each BEIR corpus given (SciFact first; bench/synth_corpus.py makes the
 * larger synthetic ones), --reps rounds, the order of the two sides
 * alternating round by round so background load hits both alike:
 *   ragd   `ragd ingest --format jsonl --no-progress --json --data DIR FILE`
 *          with the defaults (fixed chunker, local embedder, extractive
 *          summaries), a child process, a fresh data directory: seconds,
 *          the child's peak RSS (wait4 ru_maxrss), chunks (every indexed
 *          row: the report's chunks plus its summary_entries, the rows that
 *          SQLite, FTS5 and FAISS all hold; bytes per chunk divide by it),
 *          the sizes of
 *          ragd.db (+ WAL) and of the FAISS snapshot;
 *   FTS5   in this process: read the same file line by line, parse each line
 *          with jansson, INSERT title and text into a fresh
 *          `fts5(title, body, tokenize = 'porter unicode61 remove_diacritics
 *          2')` table (ragd's tokenizer) in one transaction, commit: seconds
 *          and database size. The smallest indexing a search service over
 *          this corpus could do; the baseline of ingest_ragd_over_fts5_ratio.
 * Markdown on stdout; --json FILE writes the figures for bench/run.py
 * (ingest_seconds and ingest_ragd_over_fts5_ratio from the first corpus).
 * --keep-data DIR leaves the first corpus's last ragd data directory there,
 * so bench_query can search it without ingesting again.
 */
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "bench/bench_json.h"

#ifndef RAGD_BENCH_RAGD_BIN
#define RAGD_BENCH_RAGD_BIN "build/ragd"
#endif

#define MAX_CORPORA 16
#define MAX_REPS 16

typedef struct {
    const char *corpus[MAX_CORPORA];
    int ncorpus;
    const char *ragd, *json, *keep_data;
    int reps;
} opts;

typedef struct {
    double ragd_s[MAX_REPS], fts5_s[MAX_REPS];
    double ragd_cpu[MAX_REPS], fts5_cpu[MAX_REPS]; /* user + system CPU seconds */
    double rss_mb;
    long long docs, chunks, summary_entries, db_bytes, faiss_bytes, fts5_db_bytes, file_bytes;
} corpus_result;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_ingest [options] CORPUS.jsonl...\n"
               "  --reps N          rounds per corpus (default 1, at most 16; median reported)\n"
               "  --ragd PATH       the ragd binary (default: this build's)\n"
               "  --json FILE       also write the figures as JSON (bench/run.py)\n"
               "  --keep-data DIR   move the first corpus's last ragd data directory to DIR\n");
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.ragd = RAGD_BENCH_RAGD_BIN, .reps = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--reps") || !strcmp(a, "--ragd") || !strcmp(a, "--json") ||
                     !strcmp(a, "--keep-data");
        if (takes && !v) {
            fprintf(stderr, "bench_ingest: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--reps")) {
            o->reps = atoi(v);
        } else if (!strcmp(a, "--ragd")) {
            o->ragd = v;
        } else if (!strcmp(a, "--json")) {
            o->json = v;
        } else if (!strcmp(a, "--keep-data")) {
            o->keep_data = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "bench_ingest: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (o->ncorpus < MAX_CORPORA) {
            o->corpus[o->ncorpus++] = a;
        }
        if (takes) i++;
    }
    if (o->reps < 1 || o->reps > MAX_REPS || !o->ncorpus) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static double median(const double *v, int n)
{
    return bench_summarize(v, (size_t)n).p50;
}

/* The FTS5 baseline: returns seconds, or -1 (message on stderr). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double fts5_index(const char *corpus, const char *dir, long long *db_bytes, double *cpu)
{
    double c0 = cpu_now();
    char path[1024];
    snprintf(path, sizeof path, "%s/fts5.db", dir);
    unlink(path);
    double t0 = bench_now();
    FILE *f = fopen(corpus, "r");
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    if (!f || sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; CREATE VIRTUAL TABLE docs USING fts5(title, body, "
                     "tokenize = 'porter unicode61 remove_diacritics 2'); BEGIN;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO docs(title, body) VALUES (?, ?)", -1, &ins, NULL)) {
        fprintf(stderr, "bench_ingest: FTS5 baseline: %s\n",
                db ? sqlite3_errmsg(db) : strerror(errno));
        if (f) fclose(f);
        sqlite3_close(db);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o) continue;
        const char *title = json_string_value(json_object_get(o, "title"));
        const char *text = json_string_value(json_object_get(o, "text"));
        sqlite3_bind_text(ins, 1, title ? title : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, text ? text : "", -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            fprintf(stderr, "bench_ingest: FTS5 insert: %s\n", sqlite3_errmsg(db));
        sqlite3_reset(ins);
        json_decref(o);
    }
    free(line);
    fclose(f);
    sqlite3_finalize(ins);
    int rc = sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
    sqlite3_close(db);
    double secs = bench_now() - t0;
    *cpu = cpu_now() - c0;
    *db_bytes = bench_file_size(path);
    unlink(path);
    return rc == SQLITE_OK ? secs : -1;
}

/* One ragd ingest into a fresh directory under dir; returns seconds or -1. */
static double ragd_ingest(const opts *o, const char *corpus, const char *data, corpus_result *r,
                          double *cpu)
{
    char out[1100];
    snprintf(out, sizeof out, "%s.json", data);
    /* Files above ragd's default --max-bytes (16 MiB: the synthetic corpora)
     * get a limit just large enough; the defaults are otherwise unchanged. */
    char maxb[32];
    long long fsz = bench_file_size(corpus);
    snprintf(maxb, sizeof maxb, "%lld", fsz + 1);
    bool big = fsz > 16LL * 1024 * 1024;
    char *args[] = {(char *)o->ragd, "ingest", "--format", "jsonl",
                    "--no-progress", "--json", "--data",   (char *)data,
                    (char *)corpus,  NULL,     NULL,       NULL};
    if (big) {
        args[8] = "--max-bytes";
        args[9] = maxb;
        args[10] = (char *)corpus;
    }
    double secs = -1;
    struct rusage ru = {0};
    int rc = bench_run_child("bench_ingest", args, out, &secs, &ru);
    if (rc != 0) {
        fprintf(stderr, "bench_ingest: ragd ingest %s failed (exit %d)\n", corpus, rc);
        return -1;
    }
    *cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
    if (ru.ru_maxrss / 1024.0 > r->rss_mb) r->rss_mb = ru.ru_maxrss / 1024.0;
    json_error_t je;
    json_t *rep = json_load_file(out, 0, &je);
    r->docs = (long long)json_integer_value(json_object_get(rep, "added"));
    r->summary_entries = (long long)json_integer_value(json_object_get(rep, "summary_entries"));
    r->chunks = (long long)json_integer_value(json_object_get(rep, "chunks")) + r->summary_entries;
    json_decref(rep);
    unlink(out);
    char p[1100];
    snprintf(p, sizeof p, "%s/ragd.db", data);
    r->db_bytes = bench_file_size(p);
    snprintf(p, sizeof p, "%s/ragd.db-wal", data);
    long long wal = bench_file_size(p);
    if (wal > 0) r->db_bytes += wal;
    snprintf(p, sizeof p, "%s/faiss/default.index", data);
    r->faiss_bytes = bench_file_size(p);
    return secs;
}

int main(int argc, char **argv)
{
    opts o;
    int prc = parse(argc, argv, &o);
    if (prc) return prc;
    bench_mark start = bench_mark_now();
    double t_start = bench_now();
    for (int c = 0; c < o.ncorpus; c++)
        if (access(o.corpus[c], R_OK) != 0) {
            printf("bench_ingest: skipped: corpus %s not found\n", o.corpus[c]);
            return 0;
        }
    char tmp[512];
    if (bench_mkdtemp("ragd-bench-ingest", tmp, sizeof tmp)) {
        fprintf(stderr, "bench_ingest: cannot create a temporary directory\n");
        return 1;
    }
    printf("# bench_ingest\n\n");
    bench_print_machine(stdout);
    printf("command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n\n");
    fflush(stdout);

    static corpus_result res[MAX_CORPORA];
    for (int c = 0; c < o.ncorpus; c++) {
        corpus_result *r = &res[c];
        r->file_bytes = bench_file_size(o.corpus[c]);
        for (int rep = 0; rep < o.reps; rep++) {
            char data[600];
            snprintf(data, sizeof data, "%s/data-%d-%d", tmp, c, rep);
            for (int side = 0; side < 2; side++) {
                bool ragd_side = (side + rep) % 2 == 0;
                fprintf(stderr, "bench_ingest: %s round %d/%d: %s\n", o.corpus[c], rep + 1, o.reps,
                        ragd_side ? "ragd ingest" : "FTS5");
                if (ragd_side) {
                    r->ragd_s[rep] = ragd_ingest(&o, o.corpus[c], data, r, &r->ragd_cpu[rep]);
                    if (r->ragd_s[rep] < 0) return 1;
                } else {
                    r->fts5_s[rep] =
                        fts5_index(o.corpus[c], tmp, &r->fts5_db_bytes, &r->fts5_cpu[rep]);
                    if (r->fts5_s[rep] < 0) return 1;
                }
            }
            bool keep = c == 0 && rep == o.reps - 1 && o.keep_data;
            if (keep) {
                bench_rmtree(o.keep_data);
                if (rename(data, o.keep_data) != 0) {
                    fprintf(stderr, "bench_ingest: cannot move %s to %s: %s\n", data, o.keep_data,
                            strerror(errno));
                    return 1;
                }
            } else {
                bench_rmtree(data);
            }
        }
    }

    printf("| corpus | MB | documents | chunks | ragd ingest s | FTS5 s | ragd ÷ FTS5 | ragd MB/s "
           "| ragd peak RSS MB | ragd.db MB | FAISS MB | SQLite bytes/chunk | FAISS bytes/chunk "
           "| FTS5-only db MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    json_t *j = bench_jnew(argc, argv, start);
    json_t *arr = json_array();
    for (int c = 0; c < o.ncorpus; c++) {
        corpus_result *r = &res[c];
        double rs = median(r->ragd_s, o.reps), fs = median(r->fts5_s, o.reps);
        double mb = r->file_bytes / 1048576.0, ch = r->chunks > 0 ? (double)r->chunks : 1;
        printf("| %s | %.1f | %lld | %lld | %.2f | %.2f | %.1f× | %.2f | %.0f | %.1f | %.1f | %.0f "
               "| %.0f | %.1f |\n",
               o.corpus[c], mb, r->docs, r->chunks, rs, fs, rs / fs, mb / rs, r->rss_mb,
               r->db_bytes / 1048576.0, r->faiss_bytes / 1048576.0, r->db_bytes / ch,
               r->faiss_bytes / ch, r->fts5_db_bytes / 1048576.0);
        json_t *co = json_pack("{ss}", "corpus", o.corpus[c]);
        bench_jset(co, "corpus_bytes", (double)r->file_bytes);
        bench_jset(co, "documents", (double)r->docs);
        bench_jset(co, "chunks", (double)r->chunks);
        bench_jset(co, "summary_entries", (double)r->summary_entries);
        bench_jset(co, "ragd_s", rs);
        bench_jset(co, "fts5_s", fs);
        bench_jset(co, "ragd_over_fts5", rs / fs);
        double rc = median(r->ragd_cpu, o.reps), fc = median(r->fts5_cpu, o.reps);
        bench_jset(co, "ragd_cpu_s", rc);
        bench_jset(co, "fts5_cpu_s", fc);
        bench_jset(co, "ragd_over_fts5_cpu", rc / fc);
        bench_jset(co, "ragd_peak_rss_mb", r->rss_mb);
        bench_jset(co, "sqlite_bytes", (double)r->db_bytes);
        bench_jset(co, "faiss_bytes", (double)r->faiss_bytes);
        bench_jset(co, "fts5_db_bytes", (double)r->fts5_db_bytes);
        json_t *runs = json_array(), *fruns = json_array();
        for (int rep = 0; rep < o.reps; rep++) {
            json_array_append_new(runs, bench_jnum(r->ragd_s[rep]));
            json_array_append_new(fruns, bench_jnum(r->fts5_s[rep]));
        }
        json_object_set_new(co, "ragd_runs_s", runs);
        json_object_set_new(co, "fts5_runs_s", fruns);
        json_array_append_new(arr, co);
        if (c == 0) {
            bench_jset(j, "ingest_seconds", rs);
            bench_jset(j, "ingest_ragd_over_fts5_ratio", rs / fs);
            bench_jset(j, "fts5_seconds", fs);
            bench_jset(j, "ingest_cpu_seconds", rc);
            bench_jset(j, "ingest_ragd_over_fts5_cpu_ratio", rc / fc);
        }
    }
    json_object_set_new(j, "corpora", arr);
    json_object_set_new(j, "reps", json_integer(o.reps));
    printf("\n%d round(s) per corpus, sides alternating; medians. Total %.1f s; load average at "
           "the end %.2f.\n",
           o.reps, bench_now() - t_start, bench_loadavg());
    bench_rmtree(tmp);
    return bench_jwrite(j, o.json, "bench_ingest") ? 1 : 0;
}
