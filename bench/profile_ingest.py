#!/usr/bin/env python3
"""bench/profile_ingest.py — where `ragd ingest` spends its CPU, per stage (perf).

    bench/profile_ingest.py [--corpus FILE] [--ragd PATH] [--json OUT] [--freq HZ]

Runs `ragd ingest --format jsonl --no-progress` (the defaults: fixed chunker,
local embedder, extractive summaries, one worker per core) on SciFact under
`perf record --call-graph dwarf` (Debian linux-perf) into a fresh data
directory, then reads `perf report --children` and attributes the samples of
all threads to the stages of the pipeline by the inclusive share of the
function that implements each (names from ingest/pipeline.c, store/,
provider/local.c, index/vector.c):

  load        next_item (read the JSONL line, jansson)     hash     ragd_sha256_hex
  normalize   text_normalize (utf8proc)                    segment  ingest_parse − text_normalize
  chunk       chunk_document                               summarize summary_for_ingest_llm + summary_extract
  embed       embedder_embed (the local embedder)          embed cache  store_cache_get + store_cache_put
  SQLite write store_doc_put (rows, FTS5 insert, commit)   of which: statement preparation sqlite3_prepare_v2,
              deleting old rows doc_delete_rows, FTS5 flush at commit sqlite3VtabSync
  FAISS       vindex_open (snapshot update at the end)

Shares are of all CPU samples (user + kernel, every thread), so they say
where CPU goes, not what is on the critical path; the commit thread's share
(`commit`) is reported too, because it is serial. Also the top self-time
symbols. Markdown on stdout; --json writes the figures (bench/run.py puts
them in bench/results/profile.json). Skips with a message when perf is
missing or not permitted (perf_event_paranoid; root or CAP_PERFMON).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = [
    ("load (JSONL line read + parse)", ["next_item"]),
    ("content hash (SHA-256)", ["ragd_sha256_hex"]),
    ("normalize (text_normalize, utf8proc)", ["text_normalize"]),
    ("parse + segment (ingest_parse − normalize)", ["ingest_parse", "-text_normalize"]),
    ("chunk (chunk_document)", ["chunk_document"]),
    ("summarize (summary_for_ingest_llm + summary_extract)", ["summary_for_ingest_llm", "summary_extract"]),
    ("embed (embedder_embed, local embedder)", ["embedder_embed"]),
    ("embed cache (store_cache_get + store_cache_put)", ["store_cache_get", "store_cache_put"]),
    ("find existing document (store_doc_find)", ["store_doc_find"]),
    ("SQLite write (store_doc_put: rows, FTS5, commit)", ["store_doc_put"]),
    ("  of which statement preparation (sqlite3_prepare_v2, all callers)", ["sqlite3_prepare_v2"]),
    ("  of which deleting a document's old rows (doc_delete_rows)", ["doc_delete_rows"]),
    ("  of which inserting rows + FTS5 (doc_insert_rows)", ["doc_insert_rows"]),
    ("  of which FTS5 flush at commit (sqlite3VtabSync)", ["sqlite3VtabSync"]),
    ("  of which WAL checkpoints (sqlite3WalCheckpoint)", ["sqlite3WalCheckpoint"]),
    ("FAISS (vindex_open: snapshot add + write)", ["vindex_open"]),
    ("the commit thread, serial (commit)", ["commit"]),
    ("worker threads (worker_main)", ["worker_main"]),
]


def children(report):
    """{symbol: (children %, self %)} from `perf report --children --stdio -g none`."""
    out = {}
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(\S+)", line)
        if m:
            sym = m.group(3)
            c, s = float(m.group(1)), float(m.group(2))
            if sym not in out or out[sym][0] < c:
                out[sym] = (c, s)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = os.path.join(os.environ.get("RAGD_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data")), "scifact", "corpus.jsonl")
    ap.add_argument("--corpus", default=default)
    ap.add_argument("--ragd", default=os.path.join(ROOT, "build", "ragd"))
    ap.add_argument("--json")
    ap.add_argument("--freq", type=int, default=250)
    a = ap.parse_args()
    if not os.path.exists(a.corpus):
        print(f"profile_ingest: skipped: corpus {a.corpus} not found")
        return 0
    perf = shutil.which("perf")
    if not perf:
        print("profile_ingest: skipped: perf not found (apt-get install linux-perf)")
        return 0
    tmp = tempfile.mkdtemp(prefix="ragd-bench-perf-")
    try:
        data, pdata = os.path.join(tmp, "data"), os.path.join(tmp, "perf.data")
        cmd = [perf, "record", "-q", "-F", str(a.freq), "--call-graph", "dwarf,16384", "-o", pdata, "--",
               a.ragd, "ingest", "--format", "jsonl", "--no-progress", "--data", data, a.corpus]
        print(" ".join(cmd), file=sys.stderr)
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if r.returncode or not os.path.exists(pdata):
            print(f"profile_ingest: skipped: perf record failed: {r.stderr.strip()[-300:]}")
            return 0
        rep = subprocess.run([perf, "report", "-i", pdata, "--children", "--stdio", "--sort", "symbol", "-g", "none",
                              "--percent-limit", "0"], capture_output=True, text=True).stdout
        selfrep = subprocess.run([perf, "report", "-i", pdata, "--no-children", "--stdio", "--sort", "dso,symbol", "-g",
                                  "none", "--percent-limit", "0.8"], capture_output=True, text=True).stdout
        nsamp = re.search(r"# Samples: (\S+)", rep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ch = children(rep)
    rows = []
    for label, syms in STAGES:
        pct = 0.0
        for s in syms:
            sign = -1 if s.startswith("-") else 1
            pct += sign * ch.get(s.lstrip("-"), (0.0, 0.0))[0]
        rows.append({"stage": label, "share_pct": round(max(pct, 0.0), 2)})
    top = []
    for line in selfrep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(\S+)", line)
        if m:
            top.append({"self_pct": float(m.group(1)), "dso": m.group(2), "symbol": m.group(3)})
    res = {"command": cmd, "wall_s": wall, "samples": nsamp.group(1) if nsamp else None, "freq_hz": a.freq,
           "stages": rows, "top_self": top[:25]}
    print(f"# ingest profile ({res['samples']} samples at {a.freq} Hz, wall {wall:.1f} s under perf)\n")
    print("| stage | share of CPU samples |\n|---|---|")
    for r_ in rows:
        print(f"| {r_['stage']} | {r_['share_pct']:.1f} % |")
    print("\n| self % | library | symbol |\n|---|---|---|")
    for t in top[:25]:
        print(f"| {t['self_pct']:.2f} | {t['dso']} | `{t['symbol']}` |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
