/* ingest/progress.c — the ingest progress display.
 *
 * On a TTY (o->progress_tty) a bar redrawn in place on stderr at most every
 * 0.1 s: percent of input bytes, files, documents, MB/s and ETA. Without a
 * TTY the same figures as an "ingest progress" log line every 5 s, and none
 * for a run shorter than that. Writer only (reads the run's counters).
 */
#include <stdio.h>
#include <time.h>

#include "core/log.h"
#include "ingest/pipeline_internal.h"

double ingest_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void ingest_progress(run *r, bool final)
{
    if (!r->o->progress) return;
    double t = ingest_now();
    if (!final && t - r->last_progress < (r->o->progress_tty ? 0.1 : 5.0)) return;
    /* Without a TTY, a run shorter than the period needs no progress line. */
    if (final && !r->o->progress_tty && t - r->t0 < 5.0) return;
    r->last_progress = t;
    double el = t - r->t0;
    double mbps = el > 0 ? r->done_bytes / 1048576.0 / el : 0;
    double frac = r->total_bytes ? (double)r->done_bytes / (double)r->total_bytes : 1.0;
    if (frac > 1) frac = 1;
    double eta = frac > 0 && frac < 1 ? el / frac - el : 0;
    long docs = r->added + r->updated + r->unchanged + r->skipped + r->failed;
    if (r->o->progress_tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '-';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3.0f%% %zu/%zu files %ld docs %.1f MB/s ETA %.0fs ", bar,
                frac * 100, r->files_done, r->files_total, docs, mbps, eta);
        if (final) fputc('\n', stderr);
    } else {
        char files[64], ndocs[32], pct[16], rate[32], etas[32];
        snprintf(files, sizeof files, "%zu/%zu", r->files_done, r->files_total);
        snprintf(ndocs, sizeof ndocs, "%ld", docs);
        snprintf(pct, sizeof pct, "%.0f", frac * 100);
        snprintf(rate, sizeof rate, "%.1f", mbps);
        snprintf(etas, sizeof etas, "%.0f", eta);
        log_write(LOG_INFO, "ingest progress", "percent", pct, "files", files, "docs", ndocs,
                  "mb_per_s", rate, "eta_s", etas, NULL);
    }
}
