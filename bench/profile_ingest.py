#!/usr/bin/env python3
"""bench/profile_ingest.py — where `ragd ingest` spends its CPU, per stage (perf).

    bench/profile_ingest.py [--corpus FILE] [--ragd PATH] [--json OUT] [--freq HZ]

Runs `ragd ingest --format jsonl --no-progress` (the defaults: fixed chunker,
local embedder, extractive summaries, one worker per core) on SciFact under
`perf record --call-graph dwarf` (Debian linux-perf) into a fresh data
directory, then reads every sample's call stack (`perf script`) and gives the
sample to the innermost frame that names a stage (STAGE_OF below; names from
ingest/pipeline.c, ingest/summary.c, store/, provider/local.c, index/vector.c),
so the stages add up to 100 %. Roughly:

  load        next_item (read the JSONL line, jansson; the    hash     ragd_sha256_hex
              parse on the workers: ingest_jsonl_parse)
  normalize   text_normalize (utf8proc)                    segment  ingest_parse − text_normalize
  chunk       chunk_document                               summarize summary_for_ingest_llm + summary_extract
              (since the batched commits: summary_prepare on the workers, summary_for_ingest_pre on the writer)
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
# Each sample goes to the innermost frame of its call stack that names a stage
# (so the stages add up to 100 %: the feature sort inside the local embedder counts as
# embed, statement preparation inside store_doc_put as preparation).
STAGE_OF = {
    "next_item": "load (read JSONL line + jansson)",
    "jsonl_item": "load (read JSONL line + jansson)",
    # The function names of today's tree (the two keys above are older names;
    # next_jsonl_item is static and usually inlined into its caller).
    "next_jsonl_item": "load (read JSONL line + jansson)",
    "ingest_jsonl_item": "load (read JSONL line + jansson)",
    # Since the fourth session the writer hands the line over (ingest_jsonl_line)
    # and the worker parses it (ingest_jsonl_parse).
    "ingest_jsonl_line": "load (read JSONL line + jansson)",
    "ingest_jsonl_parse": "load (read JSONL line + jansson)",
    "ragd_sha256_hex": "content hash (SHA-256)",
    "text_normalize": "normalize (text_normalize, utf8proc)",
    "ingest_parse": "parse + segment (ingest_parse, without normalize)",
    "chunk_document": "chunk (chunk_document)",
    "summary_for_ingest_llm": "summarize (summary_for_ingest_llm, summary_extract)",
    "summary_extract": "summarize (summary_for_ingest_llm, summary_extract)",
    "summary_for_ingest_pre": "summarize on the writer (summary_for_ingest_pre: keyword scoring, JSON)",
    "summary_prepare": "summarize on the workers (summary_prepare: TextRank, language, outline, terms)",
    "summary_pre_fix": "summarize on the workers (summary_prepare: TextRank, language, outline, terms)",
    "local_embed_text": "embed (local embedder)",
    "embedder_embed": "embed (local embedder)",
    "store_cache_get": "embed cache in SQLite (store_cache_get/put)",
    "store_cache_put": "embed cache in SQLite (store_cache_get/put)",
    "sqlite3_prepare_v2": "SQLite statement preparation (sqlite3_prepare_v2, any caller)",
    "sqlite3_prepare_v3": "SQLite statement preparation (sqlite3_prepare_v2, any caller)",
    "sqlite3VtabSync": "FTS5 flush at commit (sqlite3VtabSync)",
    "sqlite3WalCheckpoint": "WAL checkpoint (sqlite3WalCheckpoint)",
    "__GI_fdatasync": "fsync (fdatasync)",
    "fdatasync": "fsync (fdatasync)",
    "doc_delete_rows": "delete the document's old rows (doc_delete_rows)",
    "doc_insert_rows": "insert rows + FTS5 (doc_insert_rows)",
    "store_doc_find": "find existing document (store_doc_find)",
    "store_doc_put": "SQLite write, other (store_doc_put: savepoint, commit)",
    "store_batch_commit": "SQLite write, other (store_doc_put: savepoint, commit)",
    "vindex_open": "FAISS (vindex_open: add + snapshot write)",
}
ORDER = list(dict.fromkeys(STAGE_OF.values())) + ["other (process start, threads, malloc outside stages)"]


def attribute(script):
    """{stage: samples}, {thread role: samples} from `perf script -F tid,ip,sym`."""
    stages, roles, total = {}, {"commit thread (serial)": 0, "workers": 0}, 0
    for block in script.split("\n\n"):
        frames = [ln.split(None, 1)[1] if len(ln.split(None, 1)) == 2 else "" for ln in block.splitlines()[1:]]
        if not frames:
            continue
        total += 1
        stage = next((STAGE_OF[f.split()[0]] for f in frames if f and f.split()[0] in STAGE_OF), ORDER[-1])
        stages[stage] = stages.get(stage, 0) + 1
        names = {f.split()[0] for f in frames if f}
        if "worker_main" in names:
            roles["workers"] += 1
        elif names & {"commit", "ingest_commit", "ingest_run_parallel", "ingest_run_serial",
                       "ingest_batch_flush", "pool_take_head"}:
            roles["commit thread (serial)"] += 1
    return stages, roles, total


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
        script = subprocess.run([perf, "script", "-i", pdata, "-F", "tid,ip,sym"], capture_output=True, text=True).stdout
        selfrep = subprocess.run([perf, "report", "-i", pdata, "--no-children", "--stdio", "--sort", "dso,symbol", "-g",
                                  "none", "--percent-limit", "0.8"], capture_output=True, text=True).stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    counts, roles, total = attribute(script)
    total = total or 1
    rows = [{"stage": st, "share_pct": round(100.0 * counts.get(st, 0) / total, 2)} for st in ORDER]
    role_rows = {k: round(100.0 * v / total, 2) for k, v in roles.items()}
    top = []
    for line in selfrep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(\S+)", line)
        if m:
            top.append({"self_pct": float(m.group(1)), "dso": m.group(2), "symbol": m.group(3)})
    res = {"command": cmd, "wall_s": wall, "samples": total, "freq_hz": a.freq, "stages": rows,
           "threads": role_rows, "top_self": top[:25]}
    print(f"# ingest profile ({res['samples']} samples at {a.freq} Hz, wall {wall:.1f} s under perf)\n")
    print("| stage | share of CPU samples |\n|---|---|")
    for r_ in rows:
        print(f"| {r_['stage']} | {r_['share_pct']:.1f} % |")
    for k, v in role_rows.items():
        print(f"| (all samples in the {k}) | {v:.1f} % |")
    print("\n| self % | library | symbol |\n|---|---|---|")
    for t in top[:25]:
        print(f"| {t['self_pct']:.2f} | {t['dso']} | `{t['symbol']}` |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
