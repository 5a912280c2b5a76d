#!/usr/bin/env python3
"""bench/run.py — `make bench`: every benchmark in bench/, the peers, one run.

    bench/run.py [--quick] [--scifact DIR] [--build DIR] [--only STEPS] [--no-report]

Steps (--only picks some; default: ingest,search,chunk,peers in --quick mode,
and search,chunk,peers,profile,ingest in full mode, where the long synthetic
ingest runs last so a cut-short run still has the rest):
  ingest  build/bench/bench_ingest: `ragd ingest` (defaults) against plain
          FTS5 indexing of SciFact, and of synthetic corpora made by
          bench/synth_corpus.py from a seed (full: 5x and 20x SciFact; quick:
          0.5x) for ingest time against corpus size, peak RSS, bytes per chunk.
          -> bench/results/ingest.json
  search  build/bench/bench_query on the SciFact collection ingest left
          (lexical/hybrid/dense against raw FTS5 and embed+vindex, interleaved),
          `ragd eval` (nDCG@10 per mode, k = 100) timed against raw FTS5 top-100,
          build/bench/bench_vector (ragd vs raw FAISS at several collection
          sizes, HNSW recall against efSearch). -> bench/results/search.json
  chunk   build/bench/bench_chunk (fixed/parent/semantic MB/s, fixed against
          LangChain's splitter interleaved in one run). -> bench/results/chunk.json
  profile bench/profile_ingest.py: `ragd ingest` under perf, CPU share per
          stage. -> bench/results/profile.json (full mode, or --only profile)
  peers   raw FTS5 and PostgreSQL full-text (bench/peers_pg.py) for nDCG@10
          and latency against ragd lexical; bench/js/peers.mjs: LanceDB, Orama
          (same chunks, same vectors), hnswlib-node, USearch (same vectors as
          bench_vector), LlamaIndex's and LangChain's splitters (same texts).
          -> bench/results/peers.json (which ran, versions, which were skipped
          and why)
Then bench/report.py regenerates the marked sections of docs/benchmarks.md
and docs/scaling.md and the plots under docs/img/.

Every result file carries the machine facts (CPU, cores, memory, load average
at start and end, library versions, git commit, mode). SciFact: --scifact,
else $RAGD_SHARED_DATA/scifact, else <repo>/../shared/data/scifact; when it is
absent the SciFact steps are recorded as skipped. Progress on stderr; the C
programs' markdown reports are kept in bench/results/logs/ (git-ignored).
"""

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import peers_pg  # noqa: E402
import synth_corpus  # noqa: E402

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=isinstance(cmd, str)).stdout.strip()
    except OSError:
        return ""


def loadavg():
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except OSError:
        return None


def cpu_ticks():
    """(steal, total) CPU ticks of the machine from /proc/stat, or None."""
    try:
        v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (v[7], sum(v)) if len(v) == 8 else None


def steal_pct(t0, t1):
    """The hypervisor's share of the machine's CPU time between two cpu_ticks()."""
    if not t0 or not t1 or t1[1] <= t0[1]:
        return None
    return 100.0 * (t1[0] - t0[0]) / (t1[1] - t0[1])


def machine(build):
    cpu = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = None
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) / 1048576
    faiss = ""
    cache = os.path.join(build, "CMakeCache.txt")
    if os.path.exists(cache):
        for line in open(cache):
            if line.startswith("FAISS_") and "faiss-" in line:
                faiss = line.split("faiss-")[1].split("/")[0]
                break
    versions = {k: sh(["pkg-config", "--modversion", k]) for k in ("sqlite3", "jansson", "libcurl", "libmicrohttpd", "libutf8proc")}
    versions["faiss"] = faiss
    versions["cc"] = sh("cc --version | head -1")
    versions["node"] = sh(["node", "--version"])
    versions["python"] = platform.python_version()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem, 1) if mem else None,
        "kernel": platform.release(),
        "versions": versions,
        "git_commit": sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])),
    }


def matched_recall(ragd_sweep, peer_sweep):
    """ragd's p50 at each of the peer's recall points, read off ragd's own
    efSearch sweep by linear interpolation between the two ragd points whose
    recalls bracket it (ragd's curve made monotone: the cheapest latency at
    or above each recall). ratio = ragd p50 / peer p50; None where ragd's
    sweep never reaches the peer's recall."""
    pts = sorted((p["recall"], p["latency"]["p50_ms"], p["ef_search"]) for p in ragd_sweep)
    # Cheapest latency reaching at least each recall: scan from the top.
    mono, best = [], None
    for rec, lat, ef in reversed(pts):
        best = lat if best is None else min(best, lat)
        mono.append((rec, best, ef))
    mono.reverse()
    rows = []
    for p in peer_sweep:
        r, t = p["recall"], p["latency"]["p50_ms"]
        row = {"peer_ef": p["ef_search"], "peer_recall": r, "peer_p50_ms": t, "ragd_p50_ms": None, "ratio": None}
        above = [m for m in mono if m[0] >= r]
        if above:
            hi = above[0]
            below = [m for m in mono if m[0] < r]
            lat = hi[1]
            if below:
                lo = below[-1]
                lat = lo[1] + (hi[1] - lo[1]) * (r - lo[0]) / (hi[0] - lo[0])
            row.update({"ragd_p50_ms": lat, "ratio": lat / t if t else None, "ragd_ef_at_or_above": hi[2]})
        rows.append(row)
    return rows


class Run:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.build = os.path.abspath(args.build)
        self.out = os.path.abspath(args.out)
        self.logs = os.path.join(self.out, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="ragd-bench-run-")
        self.facts = machine(self.build)
        sf = args.scifact or (os.path.join(os.environ["RAGD_SHARED_DATA"], "scifact") if os.environ.get("RAGD_SHARED_DATA") else os.path.join(ROOT, "..", "shared", "data", "scifact"))
        self.scifact = os.path.abspath(sf)
        self.have_scifact = all(os.path.exists(os.path.join(self.scifact, f)) for f in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"))
        self.data = os.path.join(self.tmp, "scifact-data")  # the ingested collection, shared by steps
        self.store_export = os.path.join(self.tmp, "store-export")
        self.vec_export = os.path.join(self.tmp, "vector-export")
        self.texts = os.path.join(self.tmp, "texts.jsonl")
        self.results = {}
        self.ticks_mark = cpu_ticks()

    def prog(self, name):
        return os.path.join(self.build, "bench", name)

    def c_bench(self, name, argv, tag):
        """Runs a C bench with --json; its markdown goes to logs/<tag>.md."""
        jpath = os.path.join(self.tmp, f"{tag}.json")
        cmd = [self.prog(name)] + argv + ["--json", jpath]
        log(" ".join(cmd))
        with open(os.path.join(self.logs, f"{tag}.md"), "w") as md, open(os.path.join(self.logs, f"{tag}.err"), "w") as err:
            rc = subprocess.run(cmd, stdout=md, stderr=err).returncode
        if rc != 0:
            raise RuntimeError(f"{name} exited {rc} (see bench/results/logs/{tag}.err)")
        if not os.path.exists(jpath):
            raise RuntimeError(f"{name} wrote no JSON (skipped? see bench/results/logs/{tag}.md)")
        return json.load(open(jpath))

    def write(self, name, body, load_start):
        doc = {"name": name, "mode": "quick" if self.quick else "full",
               "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "machine": self.facts, "load_start": load_start, "load_end": loadavg()}
        # Steal since the previous step's result: the steps run one after
        # the other. A C bench's own steal_pct (its run only) wins.
        now = cpu_ticks()
        doc["steal_pct"] = steal_pct(self.ticks_mark, now)
        self.ticks_mark = now
        doc.update(body)
        path = os.path.join(self.out, f"{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        self.results[name] = doc
        log(f"wrote {os.path.relpath(path, ROOT)}")

    # --- steps ---------------------------------------------------------------

    def step_ingest(self):
        la = loadavg()
        if not self.have_scifact:
            return self.write("ingest", {"skipped": f"SciFact not found at {self.scifact}"}, la)
        corpus = os.path.join(self.scifact, "corpus.jsonl")
        scales = [] if self.quick else [5, 20]
        corpora = [corpus]
        for s in scales:
            path = os.path.join(self.tmp, f"synth-{s}x.jsonl")
            synth_corpus.generate(corpus, path, scale=s, seed=42)
            corpora.append(path)
        # Three alternated rounds in quick mode too (about 10 s more): with
        # one, the headline ratio was whatever a single FTS5 round gave, and
        # that baseline swings by ±20 % on a shared machine (0.53-0.76 s).
        reps = 3 if self.quick else 5
        r = self.c_bench("bench_ingest", ["--reps", str(reps), "--keep-data", self.data, corpus], "ingest")
        r["synthetic"] = {"generator": "bench/synth_corpus.py", "seed": 42, "scales": scales}
        r["sqlite_tables"] = db_tables(os.path.join(self.data, "ragd.db"))
        queries = [json.loads(l)["text"] for l in open(os.path.join(self.scifact, "queries.jsonl"))]
        r["corpora"][0]["serve"] = serve_rss(self, self.data, queries)
        self.write("ingest", r, la)  # SciFact first, so a run cut short during the long ones keeps it
        for s, path in zip(scales, corpora[1:]):
            keep = os.path.join(self.tmp, f"synth-data-{s}x")
            r2 = self.c_bench("bench_ingest", ["--keep-data", keep, path], f"ingest-synth-{s}x")
            for c in r2["corpora"]:
                c["synthetic_scale"] = float(s)
                c["serve"] = serve_rss(self, keep, queries)
            shutil.rmtree(keep, ignore_errors=True)
            r["corpora"] += r2["corpora"]
            self.write("ingest", r, la)

    def step_search(self):
        la = loadavg()
        body = {}
        if self.have_scifact:
            if not os.path.exists(os.path.join(self.data, "ragd.db")):
                self.c_bench("bench_ingest", ["--keep-data", self.data, os.path.join(self.scifact, "corpus.jsonl")], "ingest-for-search")
            argv = ["--data", self.data, "--skip-ingest", "--export", self.store_export, "--scifact", self.scifact]
            argv += ["--reps", "1", "--max-queries", "100", "--cli", "0"] if self.quick else ["--reps", "3", "--cli", "20"]
            q = self.c_bench("bench_query", argv, "query")
            body["query"] = q
            for k in ("lexical_ragd_over_fts5_ratio", "hybrid_ragd_over_fts5_ratio"):
                body[k] = q.get(k)
            body["eval"] = self.ragd_eval(q)
        else:
            body["query_skipped"] = f"SciFact not found at {self.scifact}"
        sizes = [(5000, "flat"), (10000, "both")] if self.quick else [(10000, "flat"), (30000, "flat"), (100000, "both"), (300000, "flat")]
        main_n = 10000 if self.quick else 100000
        runs = []
        for n, index in sizes:
            argv = ["--n", str(n), "--index", index, "--queries", "300" if self.quick or n > 100000 else "1000"]
            if n == main_n:
                # 24 and 48 only refine ragd's recall curve (they cost ragd
                # a second each; the peers sweep 16,32,64,128,256).
                argv += ["--ef-sweep", "16,24,32,48,64,128,256", "--export", self.vec_export]
            runs.append(self.c_bench("bench_vector", argv, f"vector-{n}"))
        body["vector"] = runs
        main = next(r for r in runs if r["n"] == main_n)
        body["dense_ragd_over_faiss_ratio"] = main.get("flat_ragd_over_faiss_p50")
        body["hnsw_ragd_over_faiss_ratio"] = main.get("hnsw_ragd_over_faiss_p50")
        body["dense_ragd_over_faiss_paired"] = main.get("flat_ragd_over_faiss_paired")
        self.write("search", body, la)

    def fts5_top100_now(self, tag, max_queries):
        """Raw FTS5 LIMIT 100 p50 (ms) over the eval's queries, measured now
        (bench_query --only fts5_limit100: one pass after its warm-up)."""
        argv = ["--data", self.data, "--skip-ingest", "--scifact", self.scifact, "--only", "fts5_limit100",
                "--reps", "1", "--cli", "0"]
        if max_queries:
            argv += ["--max-queries", str(max_queries)]
        return self.c_bench("bench_query", argv, tag)["measures"]["fts5_limit100"]["p50_ms"]

    def ragd_eval(self, q):
        """`ragd eval` per mode at k = 100 (a process, wall time) against raw
        FTS5 top-100. The lexical CLI run is paired: raw FTS5 is timed right
        before and after each of its rounds (the host's speed drifts by a
        third between minutes), and the round's ratio is its p50 over the
        geometric mean of the two; the headline is the median round."""
        out = {}
        fts_p50 = q["measures"]["fts5_limit100"]["p50_ms"]
        out["fts5_top100_p50_ms"] = fts_p50
        maxq = 30 if self.quick else 0
        rounds = []
        fts_before = self.fts5_top100_now("eval-fts5-0", maxq)
        for mode in ("lexical", "dense", "hybrid"):
            cmd = [os.path.join(self.build, "ragd"), "eval", "--beir", self.scifact, "--data", self.data,
                   "--collection", "default", "--mode", mode, "--k", "100", "--json"]
            if maxq:
                cmd += ["--max-queries", str(maxq)]
            nrounds = (1 if self.quick else 3) if mode == "lexical" else 1
            for rnd in range(nrounds):
                log(" ".join(cmd))
                t0 = time.monotonic()
                r = subprocess.run(cmd, capture_output=True, text=True)
                secs = time.monotonic() - t0
                if r.returncode:
                    out[mode] = {"error": r.stderr.strip()[-300:]}
                    break
                j = json.loads(r.stdout)
                nq = j.get("queries") or 300
                out[mode] = {"seconds": secs, "queries": nq, "ndcg@10": j.get("ndcg@10"), "recall@100": j.get("recall@100"),
                             "mrr@10": j.get("mrr@10"), "p50_ms": j.get("p50_ms"), "p99_ms": j.get("p99_ms")}
                if mode == "lexical" and j.get("p50_ms"):
                    fts_after = self.fts5_top100_now(f"eval-fts5-{rnd + 1}", maxq)
                    base = math.sqrt(fts_before * fts_after)
                    rounds.append({"eval_p50_ms": j["p50_ms"], "fts5_before_p50_ms": fts_before,
                                   "fts5_after_p50_ms": fts_after, "ratio": j["p50_ms"] / base})
                    fts_before = fts_after
        if rounds:
            out["lexical_rounds"] = rounds
            out["eval_lexical_over_fts5_top100_ratio"] = statistics.median(r["ratio"] for r in rounds)
            out["eval_lexical_p50_ms_median"] = statistics.median(r["eval_p50_ms"] for r in rounds)
        return out

    def step_chunk(self):
        la = loadavg()
        if not self.have_scifact:
            return self.write("chunk", {"skipped": f"SciFact not found at {self.scifact}"}, la)
        argv = ["--texts", self.texts]
        argv += ["--reps", "3", "--slices", "5", "--no-ingest"] if self.quick else ["--reps", "5", "--ingest-reps", "1"]
        argv.append(os.path.join(self.scifact, "corpus.jsonl"))
        self.write("chunk", self.c_bench("bench_chunk", argv, "chunk"), la)

    def step_peers(self):
        la = loadavg()
        ran, skipped = {}, {}
        qrels = self.load_qrels() if self.have_scifact else {}
        have_store = os.path.exists(os.path.join(self.store_export, "chunks.jsonl"))
        ragd_p50 = None
        if have_store:
            q = self.results.get("search", {}).get("query", {})
            ragd_p50 = q.get("measures", {}).get("ragd_lexical", {}).get("p50_ms")
            fts = {}
            for line in open(os.path.join(self.store_export, "queries.jsonl")):
                o = json.loads(line)
                fts[o["id"]] = o["fts5_top"][:10]
            ran["sqlite_fts5"] = {"version": self.facts["versions"]["sqlite3"], "modes": {"lexical": {
                "ndcg@10": ndcg(fts, qrels), "queries_scored": scored(fts, qrels),
                "latency": q.get("measures", {}).get("fts5_limit50")}},
                "note": "bm25 over ragd's own chunks_fts (the query ragd's lexical mode wraps); latency from bench_query, same run"}
            try:
                pg = peers_pg.run(self.store_export, log)
                m = pg["modes"]["lexical"]
                m["latency"] = stats(m.pop("latency_ms"))
                m["ndcg@10"] = ndcg(m["runs"], qrels)
                m["queries_scored"] = scored(m["runs"], qrels)
                del m["runs"]
                if ragd_p50 and m["latency"]["p50_ms"]:
                    m["ragd_lexical_over_peer_p50"] = ragd_p50 / m["latency"]["p50_ms"]
                ran["postgresql"] = pg
            except Exception as e:  # noqa: BLE001 — any failure is a skip reason
                skipped["postgresql"] = str(e)
        else:
            skipped["sqlite_fts5"] = skipped["postgresql"] = "no exported SciFact collection (search step skipped or failed)"
        node = shutil.which("node")
        if not node:
            for p in ("lancedb", "orama", "hnswlib", "usearch", "llamaindex_sentence_splitter", "langchain_recursive_splitter"):
                skipped[p] = "node not found on PATH (scripts/install-bench-deps)"
        elif not os.path.isdir(os.path.join(ROOT, "bench", "js", "node_modules")):
            for p in ("lancedb", "orama", "hnswlib", "usearch", "llamaindex_sentence_splitter", "langchain_recursive_splitter"):
                skipped[p] = "bench/js/node_modules missing (scripts/install-bench-deps runs npm ci there)"
        else:
            jout = os.path.join(self.tmp, "peers-js.json")
            cmd = [node, os.path.join(ROOT, "bench", "js", "peers.mjs"), "--out", jout]
            if have_store:
                cmd += ["--store", self.store_export]
            if os.path.exists(os.path.join(self.vec_export, "meta.json")):
                cmd += ["--vectors", self.vec_export]
            if os.path.exists(self.texts):
                cmd += ["--texts", self.texts]
            if self.quick:
                cmd.append("--quick")
            log(" ".join(cmd))
            with open(os.path.join(self.logs, "peers-js.err"), "w") as err:
                rc = subprocess.run(cmd, stderr=err, env=dict(os.environ, RUST_LOG="error")).returncode
            if rc or not os.path.exists(jout):
                skipped["javascript peers"] = f"bench/js/peers.mjs exited {rc} (bench/results/logs/peers-js.err)"
            else:
                js = json.load(open(jout))
                skipped.update(js["skipped"])
                for name, p in js["peers"].items():
                    for m in p.get("modes", {}).values():
                        m["ndcg@10"] = ndcg(m["runs"], qrels)
                        m["queries_scored"] = scored(m["runs"], qrels)
                        del m["runs"]
                    ran[name] = p
                ran.setdefault("_node", js["node"])
        ev = self.results.get("search", {}).get("eval", {})
        ragd = {"modes": {m: {"ndcg@10": ev.get(m, {}).get("ndcg@10")} for m in ("lexical", "dense", "hybrid")}}
        q = self.results.get("search", {}).get("query", {}).get("measures", {})
        for m in ("lexical", "dense", "hybrid"):
            ragd["modes"][m]["latency"] = q.get(f"ragd_{m}")
        ingest = self.results.get("ingest", {})
        ragd["ingest_s"] = ingest.get("ingest_seconds")
        node_v = ran.pop("_node", None)
        body = {"ran": sorted(ran), "versions": {k: v.get("version") for k, v in sorted(ran.items())},
                "skipped": skipped, "peers": ran, "ragd": ragd, "node": node_v, "ragd_lexical_p50_ms": ragd_p50}
        vec = next((v for v in self.results.get("search", {}).get("vector", []) if v.get("ragd_ef_sweep")), None)
        for name in ("hnswlib", "usearch"):
            if vec and ran.get(name, {}).get("ef_sweep"):
                rows = matched_recall(vec["ragd_ef_sweep"], ran[name]["ef_sweep"])
                body[f"hnsw_matched_recall_{name}"] = rows
                ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
                body[f"hnsw_ragd_over_{name}_equal_recall"] = max(ratios) if ratios else None
                body[f"hnsw_{name}_points_ragd_does_not_reach"] = sum(r["ratio"] is None for r in rows)
        self.write("peers", body, la)

    def step_profile(self):
        la = loadavg()
        if not self.have_scifact:
            return self.write("profile", {"skipped": f"SciFact not found at {self.scifact}"}, la)
        jpath = os.path.join(self.tmp, "profile.json")
        cmd = [sys.executable, os.path.join(ROOT, "bench", "profile_ingest.py"), "--ragd", os.path.join(self.build, "ragd"),
               "--corpus", os.path.join(self.scifact, "corpus.jsonl"), "--json", jpath]
        log(" ".join(cmd))
        with open(os.path.join(self.logs, "profile.md"), "w") as md:
            subprocess.run(cmd, stdout=md, stderr=subprocess.DEVNULL)
        if not os.path.exists(jpath):
            return self.write("profile", {"skipped": open(os.path.join(self.logs, "profile.md")).read().strip()[-300:]}, la)
        self.write("profile", json.load(open(jpath)), la)

    def load_qrels(self):
        qrels = {}
        with open(os.path.join(self.scifact, "qrels", "test.tsv")) as f:
            next(f)
            for line in f:
                qid, did, score = line.rstrip("\n").split("\t")
                if int(score) > 0:
                    qrels.setdefault(qid, {})[did] = int(score)
        return qrels


def serve_rss(run, data, queries, n=50):
    """`ragd serve` on a data directory: VmRSS after start, after n POST /v1/search, VmHWM."""
    import urllib.request

    from serveproc import proc_memory, start_serve, stop

    ready = os.path.join(run.tmp, f"serve-{os.path.basename(data)}.ready")
    try:
        p, port = start_serve(os.path.join(run.build, "ragd"), data, ready, timeout_s=60)
    except RuntimeError as e:
        return {"error": str(e)}
    try:
        start = proc_memory(p.pid)
        ok = 0
        for q in queries[:n]:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/search", data=json.dumps({"query": q}).encode(),
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    ok += resp.status == 200
            except OSError:
                pass
        end = proc_memory(p.pid)
        return {"rss_after_start_mb": start.get("VmRSS"), "rss_after_queries_mb": end.get("VmRSS"),
                "peak_rss_mb": end.get("VmHWM"), "queries": n, "ok": ok}
    finally:
        stop(p)


def db_tables(path):
    """Bytes per table and index of a ragd database (SQLite dbstat), or None."""
    try:
        import sqlite3
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        con.close()
        return {n: b for n, b in rows}
    except Exception as e:  # noqa: BLE001 — dbstat may be compiled out
        log(f"no per-table sizes: {e}")
        return None


def stats(ms):
    s = sorted(ms)
    if not s:
        return {"n": 0}

    def pct(p):
        pos = p * (len(s) - 1)
        i = int(pos)
        return s[i] if i + 1 >= len(s) else s[i] * (1 - (pos - i)) + s[i + 1] * (pos - i)

    return {"n": len(s), "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99), "mean_ms": sum(s) / len(s),
            "qps": 1000 * len(s) / sum(s) if sum(s) else None}


def scored(runs, qrels):
    return sum(1 for q in runs if q in qrels)


def ndcg(runs, qrels, k=10):
    """BEIR nDCG@k over the queries that have relevance judgements and a run."""
    vals = []
    for qid, rel in qrels.items():
        if qid not in runs:
            continue
        dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(runs[qid][:k]))
        ideal = sorted(rel.values(), reverse=True)[:k]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        vals.append(dcg / idcg if idcg else 0.0)
    return sum(vals) / len(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run, under 5 minutes")
    ap.add_argument("--scifact", help="SciFact directory (BEIR)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--only", help="comma-separated steps (ingest, search, chunk, peers, profile)")
    ap.add_argument("--no-report", action="store_true", help="do not regenerate docs/")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    run = Run(args)
    log(f"mode {'quick' if args.quick else 'full'}; SciFact {'at ' + run.scifact if run.have_scifact else 'absent'}; temp {run.tmp}")
    failed = []
    try:
        steps = args.only or ("ingest,search,chunk,peers" if args.quick else "search,chunk,peers,profile,ingest")
        for step in steps.split(","):
            try:
                getattr(run, f"step_{step}")()
            except Exception as e:  # noqa: BLE001 — report and go on with the other steps
                log(f"step {step} failed: {e}")
                failed.append(step)
                run.write(step, {"failed": str(e)}, None)
    finally:
        if args.keep:
            log(f"kept {run.tmp}")
        else:
            shutil.rmtree(run.tmp, ignore_errors=True)
    if not args.no_report:
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "report.py"), "--results", args.out])
    log(f"done in {time.monotonic() - T0:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
