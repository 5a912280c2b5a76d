#!/usr/bin/env python3
"""bench/pg_scale.py — PostgreSQL store of record at scale (docs/scaling.md "Measured").
Run through bench/bench_pg_scale.sh. Measures, with the real binary:

  1. SciFact ingest: SQLite (--data) vs PostgreSQL (--store, a fresh cache).
  2. Search latency: `ragd serve --threads 1` on the SQLite store and on a
     node built from the PostgreSQL store, the same SciFact queries sent
     alternately to each (client-side latency over HTTP); top-10 ids compared.
  3. Search QPS: one node vs two nodes on one machine (each --threads 1),
     wrk (bench/bench_http.lua) against one node, then two wrk runs in
     parallel, one per node (their QPS summed); alternated, --rounds times.
  4. Catch-up: a collection of about --copies x SciFact chunks made in the
     store by SQL (SciFact's rows copied under new document keys, with one
     change row per document, as ingest would leave them), then a new node's
     cache built from the store (`ragd docs --store --data EMPTY`): time and
     chunks/s (it caches every collection of the store).

Without --store it starts a throwaway cluster (tests/pgcluster.py). Without
SciFact (/work/shared/data/scifact) it says so and exits 0. Writes a JSON
report (--out) and prints a Markdown table; each figure with the load
average sampled around it.
"""
import argparse
import glob
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
BIN = os.environ.get("RAGD_BIN", os.path.join(HERE, "..", "build", "ragd"))


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def run(*cmd, **kw):
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        raise SystemExit(f"pg_scale: {' '.join(cmd[:3])}… failed: {r.stderr[-600:]}")
    return time.time() - t0, r.stdout


def chunks_in(data):
    import sqlite3
    c = sqlite3.connect(os.path.join(data, "ragd.db"))
    try:
        return c.execute("SELECT count(*) FROM chunks").fetchone()[0]
    finally:
        c.close()


class Node:
    def __init__(self, data, *extra):
        self.data, self.extra = data, list(extra)

    def __enter__(self):
        os.makedirs(self.data, exist_ok=True)
        ready = self.data.rstrip("/") + ".ready"
        if os.path.exists(ready):
            os.unlink(ready)
        self.p = subprocess.Popen([BIN, "serve", "--data", self.data, "--listen", "127.0.0.1:0",
                                   "--threads", "1", "--cache-size", "0", "--rate-limit", "0",
                                   "--ready-file", ready]
                                  + self.extra, stdout=subprocess.DEVNULL,
                                  stderr=open(self.data.rstrip("/") + ".log", "ab"))
        try:
            t0 = time.time()
            while not os.path.exists(ready) or not open(ready).read().strip():
                if self.p.poll() is not None or time.time() - t0 > 600:
                    raise SystemExit(f"pg_scale: ragd serve on {self.data} did not start")
                time.sleep(0.05)
            self.port = int(open(ready).read().strip().rsplit(":", 1)[1])
            while self.get("/readyz")[0] != 200:  # caught up with the store once
                if time.time() - t0 > 900:
                    raise SystemExit("pg_scale: node not ready within 900 s")
                time.sleep(0.2)
            self.ready_s = time.time() - t0
        except BaseException:
            self.__exit__()
            raise
        return self

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()

    def search(self, conn, q):
        conn.request("POST", "/v1/search", json.dumps({"query": q, "k": 10}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 200, body
        return [x["doc_id"] for x in body["results"]]

    def __exit__(self, *a):
        self.p.terminate()
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def latency(lite, pg, queries):
    """Alternate the two nodes query by query; ms lists and agreement."""
    ca = http.client.HTTPConnection("127.0.0.1", lite.port, timeout=60)
    cb = http.client.HTTPConnection("127.0.0.1", pg.port, timeout=60)
    for q in queries[:10]:  # warm both (index load)
        lite.search(ca, q), pg.search(cb, q)
    ta, tb, same = [], [], 0
    for i, q in enumerate(queries):
        order = [(lite, ca, ta), (pg, cb, tb)] if i % 2 == 0 else [(pg, cb, tb), (lite, ca, ta)]
        ids = {}
        for node, conn, out in order:
            t0 = time.perf_counter()
            ids[id(node)] = node.search(conn, q)
            out.append((time.perf_counter() - t0) * 1000)
        same += ids[id(lite)] == ids[id(pg)]
    return ta, tb, same


def cpu_s(pid):
    """User + system CPU seconds of process pid so far."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def wrk(nodes, seconds, queries_file):
    """Parallel wrk runs, one per node; summed QPS, the per-run p50s and the
    nodes' CPU milliseconds per request (independent of the machine's load)."""
    env = dict(os.environ, BENCH_QUERIES=queries_file)
    c0 = sum(cpu_s(n.p.pid) for n in nodes)
    ps = [subprocess.Popen(["wrk", "-t1", "-c2", f"-d{seconds}s", "-s",
                            os.path.join(HERE, "bench_http.lua"), f"http://127.0.0.1:{n.port}"],
                           stdout=subprocess.PIPE, text=True, env=env) for n in nodes]
    qps, p50, nreq = 0.0, [], 0
    for p in ps:
        out, _ = p.communicate()
        line = [l for l in out.splitlines() if l.startswith("BENCH_JSON ")]
        if not line:
            raise SystemExit("pg_scale: wrk printed no BENCH_JSON line:\n" + out)
        j = json.loads(line[0][len("BENCH_JSON "):])
        bad = {k: j[k] for k in ("non_2xx", "connect_errors", "read_errors", "timeouts") if j[k]}
        if bad:
            raise SystemExit(f"pg_scale: wrk saw failed requests: {bad}")
        qps += j["qps"]
        nreq += j["requests"]
        p50.append(j["p50_ms"])
    cpu_ms = (sum(cpu_s(n.p.pid) for n in nodes) - c0) * 1000 / max(1, nreq)
    return qps, p50 + [round(cpu_ms, 2)]


DUP_SQL = """
BEGIN;
SELECT seq FROM ragd_meta WHERE id = 1 FOR UPDATE;
INSERT INTO collections(name, settings, created_at)
  SELECT :'big', settings, created_at FROM collections WHERE name = :'src';
CREATE TEMP TABLE g AS SELECT generate_series(0, :copies - 1) AS g;
CREATE TEMP TABLE ids AS SELECT (SELECT id FROM collections WHERE name = :'src') AS src,
                                (SELECT id FROM collections WHERE name = :'big') AS big;
INSERT INTO documents(collection_id, doc_key, source, format, content_hash, title, metadata,
                      summary, body, tokens, vec_model, vec_dim, ingested_at, seq)
  SELECT ids.big, d.doc_key || '#' || g.g, d.source, d.format, d.content_hash, d.title,
         d.metadata, d.summary, d.body, d.tokens, d.vec_model, d.vec_dim, d.ingested_at, 0
  FROM documents d, ids, g WHERE d.collection_id = ids.src;
INSERT INTO parents
  SELECT n.id, p.ord, p.start_off, p.end_off, p.tokens, p.heading_path
  FROM parents p JOIN documents o ON o.id = p.document_id, ids, g, documents n
  WHERE o.collection_id = ids.src AND n.collection_id = ids.big AND n.doc_key = o.doc_key || '#' || g.g;
INSERT INTO chunks
  SELECT n.id, c.idx, c.parent_ord, c.start_off, c.end_off, c.tokens, c.heading_path, c.header,
         c.meta, c.summary_text, c.vec
  FROM chunks c JOIN documents o ON o.id = c.document_id, ids, g, documents n
  WHERE o.collection_id = ids.src AND n.collection_id = ids.big AND n.doc_key = o.doc_key || '#' || g.g;
INSERT INTO changes(seq, collection, kind, doc_key)
  SELECT (SELECT seq FROM ragd_meta) + 1, :'big', 'c', '';
INSERT INTO changes(seq, collection, kind, doc_key)
  SELECT (SELECT seq FROM ragd_meta) + 1 + row_number() OVER (ORDER BY d.id), :'big', 'd', d.doc_key
  FROM documents d, ids WHERE d.collection_id = ids.big;
UPDATE documents d SET seq = c.seq FROM changes c, ids
  WHERE d.collection_id = ids.big AND c.collection = :'big' AND c.kind = 'd' AND c.doc_key = d.doc_key;
UPDATE ragd_meta SET seq = (SELECT max(seq) FROM changes) WHERE id = 1;
COMMIT;
SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id, ids WHERE d.collection_id = ids.big;
"""


def psql_bin():
    b = shutil.which("psql") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or [None])[-1]
    if not b:
        raise SystemExit("pg_scale: psql not found")
    return b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", help="postgresql://… (default: a throwaway cluster)")
    ap.add_argument("--scifact", default=os.environ.get(
        "RAGD_SCIFACT", os.path.join(HERE, "..", "..", "shared", "data", "scifact")))
    ap.add_argument("--copies", type=int, default=10, help="catch-up collection = copies x SciFact")
    ap.add_argument("--queries", type=int, default=200, help="latency: queries per node")
    ap.add_argument("--seconds", type=int, default=15, help="wrk duration per run")
    ap.add_argument("--rounds", type=int, default=2, help="one-node/two-node QPS alternations")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "pg_scale.json"))
    ap.add_argument("--skip-catchup", action="store_true", help="stop after the QPS runs")
    a = ap.parse_args()
    corpus = os.path.join(a.scifact, "corpus.jsonl")
    qfile = os.path.join(a.scifact, "queries.jsonl")
    if not os.path.exists(corpus):
        print(f"pg_scale: SciFact not found at {a.scifact}: skipped")
        return 0
    cluster = None
    if not a.store:
        from pgcluster import start_or_skip
        cluster = start_or_skip("pg_scale")
        if not cluster:
            return 0
        a.store = cluster.url
    tmp = tempfile.mkdtemp(prefix="ragd-pg-scale-")
    res = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "copies": a.copies}
    try:
        queries = [json.loads(l)["text"] for l in open(qfile) if l.strip()][:a.queries]
        lite, cache = os.path.join(tmp, "lite"), os.path.join(tmp, "pgcache")
        l0 = loadavg()
        t_lite, _ = run(BIN, "ingest", corpus, "--no-progress", "--data", lite)
        l1 = loadavg()
        t_pg, _ = run(BIN, "ingest", corpus, "--no-progress", "--store", a.store, "--data", cache)
        l2 = loadavg()
        n = chunks_in(lite)
        assert chunks_in(cache) == n, (chunks_in(cache), n)
        res["ingest"] = {"chunks": n, "sqlite_s": t_lite, "pg_s": t_pg,
                         "load": [l0, l1, l2]}
        print(f"ingest: {n} chunks; SQLite {t_lite:.1f} s, PostgreSQL {t_pg:.1f} s", flush=True)
        with Node(lite) as sl, Node(os.path.join(tmp, "node1"), "--store", a.store) as n1:
            res["node1_ready_s"] = n1.ready_s
            l0 = loadavg()
            ta, tb, same = latency(sl, n1, queries)
            res["latency"] = {"queries": len(queries), "sqlite_ms": ta, "pg_node_ms": tb,
                              "same_top10": same, "load": [l0, loadavg()]}
            print(f"latency: SQLite p50 {statistics.median(ta):.2f} ms, PG node "
                  f"{statistics.median(tb):.2f} ms; same top-10 {same}/{len(queries)}", flush=True)
        with Node(os.path.join(tmp, "node1"), "--store", a.store) as n1, \
                Node(os.path.join(tmp, "node2"), "--store", a.store) as n2:
            rounds = []
            for r in range(a.rounds):
                l0 = loadavg()
                one, p1 = wrk([n1], a.seconds, qfile)
                l1 = loadavg()
                two, p2 = wrk([n1, n2], a.seconds, qfile)
                rounds.append({"one_node_qps": one, "one_p50_ms": p1, "two_nodes_qps": two,
                               "two_p50_ms": p2, "load": [l0, l1, loadavg()]})
                print(f"qps round {r}: one node {one:.1f}, two nodes {two:.1f} "
                      f"(load {l0}/{l1})", flush=True)
            res["qps"] = rounds
        # Catch-up of a new node: a big collection made in the store by SQL.
        if a.skip_catchup:
            raise StopIteration
        l0 = loadavg()
        r = subprocess.run([psql_bin(), a.store, "-v", "ON_ERROR_STOP=1", "-At", "-v",
                            f"copies={a.copies}", "-v", "src=default", "-v", "big=big"],
                           input=DUP_SQL, capture_output=True, text=True, timeout=3600)
        if r.returncode:
            raise SystemExit("pg_scale: duplicating failed: " + r.stderr[-800:])
        big = int(r.stdout.strip().splitlines()[-1])
        fresh = os.path.join(tmp, "fresh")
        l1 = loadavg()
        t_c, _ = run(BIN, "docs", "--collection", "big", "--json", "--store", a.store,
                     "--data", fresh)
        total = chunks_in(fresh)
        res["catchup"] = {"big_chunks": big, "cache_chunks": total, "seconds": t_c,
                          "chunks_per_s": total / t_c, "load": [l0, l1, loadavg()]}
        print(f"catch-up: {total} chunks ({big} in 'big') in {t_c:.1f} s = "
              f"{total / t_c:.0f} chunks/s", flush=True)
    except StopIteration:
        res["catchup"] = None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if cluster:
            cluster.stop()
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
    i, la = res["ingest"], res["latency"]
    pct = lambda v, p: sorted(v)[int(p * (len(v) - 1))]
    print("\n| measure | SQLite | PostgreSQL |\n|---|---|---|")
    print(f"| SciFact ingest ({i['chunks']} chunks) | {i['sqlite_s']:.1f} s = "
          f"{i['chunks'] / i['sqlite_s']:.0f} chunks/s | {i['pg_s']:.1f} s = "
          f"{i['chunks'] / i['pg_s']:.0f} chunks/s |")
    print(f"| search latency p50 / p95 ({la['queries']} queries, alternated) | "
          f"{statistics.median(la['sqlite_ms']):.2f} / {pct(la['sqlite_ms'], .95):.2f} ms | "
          f"{statistics.median(la['pg_node_ms']):.2f} / {pct(la['pg_node_ms'], .95):.2f} ms |")
    for k, r in enumerate(res["qps"]):
        print(f"| QPS round {k}, PostgreSQL nodes (--threads 1 each): one node / two nodes | "
              f"{r['one_node_qps']:.1f} (CPU {r['one_p50_ms'][-1]} ms/req) | "
              f"{r['two_nodes_qps']:.1f} (CPU {r['two_p50_ms'][-1]} ms/req) |")
    c = res["catchup"]
    if c:
        print(f"| catch-up of a new node | | {c['cache_chunks']} chunks in {c['seconds']:.1f} s = "
          f"{c['chunks_per_s']:.0f} chunks/s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
