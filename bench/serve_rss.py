#!/usr/bin/env python3
"""Memory of `ragd serve` on an existing data directory, and its bytes per chunk.

Starts `ragd serve --threads 2` on DATA, reads VmRSS after start, sends N
`POST /v1/search` to one collection (dense by default: the first one loads or
builds its vector index), reads VmRSS and VmHWM (peak) at the end. Also
reports the SQLite file and the collection's FAISS snapshot in bytes per
chunk. Used for docs/scaling.md "Measured one node" on bench_vector's data:

    bench/serve_rss.py --data /tmp/d100k --collection synth-n100000-... --n 20

bench/run.py's serve_rss() does the same for `make bench` on ingested corpora
(hybrid searches on the default collection); this one takes any collection
and mode so the synthetic 100k/1M stores can be measured.
"""
import argparse
import glob
import json
import os
import sqlite3
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serveproc import proc_memory, start_serve, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUERIES = ["what causes inflammation", "vector index memory", "gene expression in cancer cells",
           "effect of exercise on blood pressure", "protein folding", "sleep and memory"]


def store_sizes(data, collection):
    db = os.path.join(data, "ragd.db")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (cid,) = con.execute("SELECT id FROM collections WHERE name = ?", (collection,)).fetchone()
    (chunks,) = con.execute("SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id "
                            "WHERE d.collection_id = ?", (cid,)).fetchone()
    con.close()
    db_bytes = sum(os.path.getsize(p) for p in glob.glob(db + "*") if os.path.isfile(p))
    snap = os.path.join(data, "faiss", collection + ".index")  # vindex_snapshot_path
    out = {"chunks": chunks, "sqlite_bytes": db_bytes, "sqlite_bytes_per_chunk": round(db_bytes / chunks)}
    if os.path.exists(snap):
        out["faiss_bytes"] = os.path.getsize(snap)
        out["faiss_bytes_per_chunk"] = round(os.path.getsize(snap) / chunks)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--collection", required=True)
    ap.add_argument("--ragd", default=os.path.join(ROOT, "build", "ragd"))
    ap.add_argument("--n", type=int, default=20, help="searches (default 20)")
    ap.add_argument("--mode", default="dense")
    a = ap.parse_args()
    res = {"data": a.data, "collection": a.collection, "mode": a.mode, "searches": a.n,
           "loadavg": os.getloadavg(), "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    res.update(store_sizes(a.data, a.collection))
    res["settings"] = json.loads(sqlite3.connect(f"file:{os.path.join(a.data, 'ragd.db')}?mode=ro", uri=True).execute(
        "SELECT settings FROM collections WHERE name = ?", (a.collection,)).fetchone()[0])
    with tempfile.TemporaryDirectory() as tmp:
        ready = os.path.join(tmp, "ready")
        try:
            p, port = start_serve(a.ragd, a.data, ready)
        except RuntimeError as e:
            sys.exit(str(e))
        try:
            res["after_start"] = proc_memory(p.pid)
            ok, ms = 0, []
            for i in range(a.n):
                body = {"query": QUERIES[i % len(QUERIES)], "collection": a.collection, "mode": a.mode}
                req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/search", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
                t = time.monotonic()
                with urllib.request.urlopen(req, timeout=300) as resp:
                    ok += resp.status == 200
                    resp.read()
                ms.append(round((time.monotonic() - t) * 1000, 1))
                if i == 0:
                    res["after_first_search"] = proc_memory(p.pid)
            res["after_searches"] = proc_memory(p.pid)
            res["ok"], res["first_search_ms"], res["later_search_ms_max"] = ok, ms[0], max(ms[1:], default=None)
        finally:
            stop(p)
    json.dump(res, sys.stdout, indent=1)
    print()
    return 0 if res.get("ok") == a.n else 1


if __name__ == "__main__":
    sys.exit(main())
