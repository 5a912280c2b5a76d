"""Integration tests for embeddings and the FAISS vector index, driving the
real ragd binary against mock model servers on 127.0.0.1 (the only thing
mocked: model servers are outside ragd)."""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests  # noqa: E402

MOCK = os.environ.get("RAGD_MOCK_SERVER") or os.path.join(os.path.dirname(__file__), "..", "build", "tests", "mock_model_server")
DOCS = os.path.join(FIXTURES, "docs")


class Mock:
    """A mock_model_server process; .requests is read when it stops."""

    def __init__(self, *args):
        self.p = subprocess.Popen([MOCK] + [str(a) for a in args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        line = self.p.stdout.readline().decode().strip()
        assert line.isdigit(), f"mock server did not print a port: {line!r}"
        self.port = int(line)
        self.requests = None

    def url(self, ollama=False):
        return f"http://127.0.0.1:{self.port}" + ("" if ollama else "/v1")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        err = self.p.stderr.read().decode()
        for line in err.splitlines():
            if line.startswith("requests:"):
                self.requests = int(line.split(":")[1])
        return self.requests

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def small_corpus(t):
    src = os.path.join(t, "src")
    os.makedirs(src)
    for f in ("short-wifi.txt", "short-parking.txt", "aquarium-cycling.txt", "violin-care.txt"):
        shutil.copy(os.path.join(DOCS, f), src)
    return src


def openai_args(m, model="mock-embed"):
    return ["--embedder", "openai", "--embedder-url", m.url(), "--embedder-model", model]


def doc_ids(data, coll="default"):
    r = ragd("docs", "--json", "--collection", coll, data=data)
    if r.code != 0:
        return []
    return sorted(d["id"] for d in r.json()["documents"])


def test_local_dense_and_hybrid_find_documents():
    with TempDir() as t:
        ragd("ingest", DOCS, data=t, check=0)
        assert os.path.exists(os.path.join(t, "faiss", "default.index"))
        for mode in ("dense", "hybrid"):
            r = ragd("search", "--json", "--mode", mode, "--k", "5", "fishless cycling of a new aquarium with ammonia",
                     data=t, check=0).json()
            assert r["mode"] == mode and r["results"], r
            assert r["results"][0]["doc_id"] == "aquarium-cycling.txt", (mode, r["results"][:2])
            assert "dense" in r["timing_ms"] and "fuse" in r["timing_ms"]
        # morphology: a query word form that never appears verbatim still matches densely
        r = ragd("search", "--json", "--mode", "dense", "beekeepers hive calendars", data=t, check=0).json()
        assert r["results"][0]["doc_id"] == "beekeeping-calendar.md", r["results"][:2]


def test_remote_openai_ingest_remembers_embedder():
    with TempDir() as t, Mock("--dim", 64) as m:
        src = small_corpus(t)
        r = ragd("ingest", "--json", *openai_args(m), src, data=t, check=0).json()
        assert r["added"] == 4 and r["embedding"]["dim"] == 64 and r["embedding"]["calls"] >= 1, r
        # The collection remembers kind, model and URL: no flags needed.
        s = ragd("search", "--json", "--mode", "dense", "violin humidity", data=t, check=0).json()
        assert s["results"] and s["results"][0]["doc_id"] == "violin-care.txt", s["results"][:2]
        # Another embedder for the same collection is refused.
        r = ragd("ingest", "--embedder", "local", src, data=t)
        assert r.code == 1 and "openai" in r.err and "local" in r.err, r.err


def test_explicit_dim_is_requested_and_cost_is_counted():
    with TempDir() as t, Mock("--dim", 64) as m:
        src = small_corpus(t)
        r = ragd("ingest", "--json", *openai_args(m), "--dim", "24", "--embedder-cost", "0.5", src, data=t,
                 check=0).json()
        e = r["embedding"]
        assert e["dim"] == 24, e  # the server honored "dimensions": 24
        assert e["tokens"] > 0 and abs(e["cost"] - e["tokens"] * 0.5 / 1000) < 1e-6, e
        assert ragd("ingest", "--embedder-cost", "cheap", src, data=t).code == 2


def test_ollama_protocol():
    with TempDir() as t, Mock("--dim", 48) as m:
        src = small_corpus(t)
        ragd("ingest", "--embedder", "ollama", "--embedder-url", m.url(ollama=True), "--embedder-model", "mock",
             src, data=t, check=0)
        s = ragd("search", "--json", "--mode", "dense", "visitor parking garage", data=t, check=0).json()
        assert s["results"][0]["doc_id"] == "short-parking.txt"


def create_remote_collection(t, data, src):
    """A collection on a well-behaved server; returns the document left to ingest."""
    with Mock("--dim", 32) as m:
        ragd("ingest", *openai_args(m), os.path.join(src, "short-wifi.txt"), data=data, check=0)
    os.remove(os.path.join(src, "short-wifi.txt"))


def test_retries_on_500_and_429_retry_after():
    with TempDir() as t:
        src = small_corpus(t)
        for d in ("a", "b"):
            create_remote_collection(t, os.path.join(t, d), src)
            shutil.copy(os.path.join(DOCS, "short-wifi.txt"), src)
        os.remove(os.path.join(src, "short-wifi.txt"))
        with Mock("--dim", 32, "--fail-first", 2, "--status", 500) as m:
            r = ragd("ingest", "--json", "--embedder-url", m.url(), src, data=os.path.join(t, "a"), check=0).json()
            assert r["added"] == 3 and r["embedding"]["retries"] >= 2, r
        with Mock("--dim", 32, "--fail-first", 1, "--status", 429, "--retry-after", 1) as m:
            t0 = time.time()
            r = ragd("ingest", "--json", "--embedder-url", m.url(), src, data=os.path.join(t, "b"), check=0).json()
            assert time.time() - t0 >= 1.0, "Retry-After was not honored"
            assert r["added"] == 3 and r["embedding"]["retries"] >= 1, r


def test_hang_past_timeout_is_retried():
    with TempDir() as t:
        src = small_corpus(t)
        create_remote_collection(t, t, src)
        with Mock("--dim", 32, "--fail-first", 1, "--hang", 5) as m:
            t0 = time.time()
            r = ragd("ingest", "--json", "--embedder-timeout", "1", "--embedder-url", m.url(), src, data=t,
                     check=0).json()
            assert r["added"] == 3 and r["embedding"]["retries"] >= 1, r
            assert time.time() - t0 < 5, "the hung call was not cut by the timeout"


def test_provider_down_exit_3_and_nothing_stored():
    with TempDir() as t:
        src = small_corpus(t)
        url = f"http://127.0.0.1:{free_port()}/v1"
        # New collection: the dimension probe fails -> exit 3, no collection.
        r = ragd("ingest", "--embedder", "openai", "--embedder-url", url, "--embedder-model", "m", src, data=t)
        assert r.code == 3 and "127.0.0.1" in r.err, (r.code, r.err)
        assert doc_ids(t) == []
        # Existing collection whose server goes away mid-life.
        with Mock("--dim", 32) as m:
            ragd("ingest", *openai_args(m), os.path.join(src, "short-wifi.txt"), data=t, check=0)
            port = m.port
        r = ragd("ingest", "--embedder-url", f"http://127.0.0.1:{port}/v1", src, data=t)
        assert r.code == 3, (r.code, r.err)
        assert doc_ids(t) == ["short-wifi.txt"]
        db = sqlite3.connect(os.path.join(t, "ragd.db"))
        n_chunks = db.execute("select count(*) from chunks").fetchone()[0]
        n_vec = db.execute("select count(*) from vectors").fetchone()[0]
        n_fts = db.execute("select count(*) from chunks_fts").fetchone()[0]
        assert n_chunks == n_vec == n_fts, (n_chunks, n_vec, n_fts)
        # Queries needing the embedder fail with 3 too; lexical still works.
        assert ragd("search", "wifi", data=t).code == 3
        assert ragd("search", "--mode", "lexical", "wifi", data=t).code == 0


def test_bad_responses_exit_3():
    with TempDir() as t:
        src = small_corpus(t)
        with Mock("--dim", 32) as m:
            ragd("ingest", *openai_args(m), os.path.join(src, "short-wifi.txt"), data=t, check=0)
        before = doc_ids(t)
        with Mock("--dim", 32, "--wrong-dim", 40) as m:
            r = ragd("ingest", "--embedder-url", m.url(), src, data=t)
            assert r.code == 3 and "40" in r.err and "32" in r.err, r.err
        with Mock("--dim", 32, "--malformed") as m:
            r = ragd("ingest", "--embedder-url", m.url(), src, data=t)
            assert r.code == 3 and "JSON" in r.err, r.err
        with Mock("--dim", 32, "--status", 400, "--message", "model not loaded") as m:
            r = ragd("ingest", "--embedder-url", m.url(), src, data=t)
            assert r.code == 3 and "model not loaded" in r.err, r.err
            assert m.stop() == 3, m.requests  # one per document, no retries on 400
        assert doc_ids(t) == before


def test_fallback_server():
    with TempDir() as t, Mock("--dim", 32) as m:
        src = small_corpus(t)
        dead = f"http://127.0.0.1:{free_port()}/v1"
        r = ragd("ingest", "--json", "--embedder", "openai", "--embedder-url", dead, "--embedder-model", "mock-embed",
                 "--embedder-fallback", m.url(), src, data=t, check=0).json()
        assert r["added"] == 4, r


def test_embedding_cache_prevents_repeat_calls():
    with TempDir() as t:
        src = small_corpus(t)
        with Mock("--dim", 32) as m:
            ragd("ingest", *openai_args(m), src, data=t, check=0)
        first = m.requests
        assert first and first >= 2
        with Mock("--dim", 32) as m2:
            # Same texts, same model, another collection: served from the cache
            # (only the dimension probe of the new collection reaches the server).
            r = ragd("ingest", "--json", "--collection", "again", *openai_args(m2), src, data=t, check=0).json()
            assert r["embedding"]["cache_hits"] > 0 and r["embedding"]["texts"] == 0, r
        assert m2.requests == 1, m2.requests


def test_crash_between_commit_and_snapshot_catches_up():
    with TempDir() as t:
        ragd("ingest", os.path.join(DOCS, "short-wifi.txt"), data=t, check=0)
        r = ragd("ingest", os.path.join(DOCS, "aquarium-cycling.txt"), data=t, env={"RAGD_FAULT": "before-snapshot"})
        assert r.code == 99, r.code
        db = sqlite3.connect(os.path.join(t, "ragd.db"))
        last = db.execute("select last_chunk_id from index_state").fetchone()[0]
        maxid = db.execute("select max(chunk_id) from vectors").fetchone()[0]
        assert maxid > last, (maxid, last)  # committed but not in the snapshot
        s = ragd("search", "--json", "--mode", "dense", "fishless cycling ammonia aquarium", data=t, check=0).json()
        assert s["results"][0]["doc_id"] == "aquarium-cycling.txt"
        last2 = sqlite3.connect(os.path.join(t, "ragd.db")).execute("select last_chunk_id from index_state").fetchone()[0]
        assert last2 == maxid


def test_missing_or_corrupt_snapshot_is_rebuilt():
    with TempDir() as t:
        ragd("ingest", DOCS, data=t, check=0)
        path = os.path.join(t, "faiss", "default.index")
        q = ["search", "--json", "--mode", "dense", "sourdough starter feeding"]
        want = ragd(*q, data=t, check=0).json()["results"]
        os.remove(path)
        r = ragd(*q, data=t, check=0)
        assert "rebuilding" in r.err and r.json()["results"] == want, r.err
        with open(path, "wb") as f:
            f.write(b"garbage" * 100)
        r = ragd(*q, data=t, check=0)
        assert "rebuilding" in r.err and r.json()["results"] == want
        assert os.path.getsize(path) > 1000


def test_deleted_documents_leave_dense_results():
    with TempDir() as t:
        ragd("ingest", DOCS, data=t, check=0)
        q = ["search", "--json", "--mode", "dense", "--k", "50", "sourdough starter feeding flour"]
        ids = [x["doc_id"] for x in ragd(*q, data=t, check=0).json()["results"]]
        assert "cooking/sourdough-starter.md" in ids
        ragd("rm", "cooking/sourdough-starter.md", data=t, check=0)
        ids = [x["doc_id"] for x in ragd(*q, data=t, check=0).json()["results"]]
        assert "cooking/sourdough-starter.md" not in ids


def test_reindex_switches_factory_and_hnsw_deletes():
    with TempDir() as t:
        ragd("ingest", DOCS, data=t, check=0)
        r = ragd("reindex", "--json", "--index", "HNSW32", data=t, check=0).json()
        assert r["index"] == "IDMap,HNSW32" and r["vectors"] > 100, r
        q = ["search", "--json", "--mode", "dense", "--k", "50", "violin humidity winter case"]
        ids = [x["doc_id"] for x in ragd(*q, data=t, check=0).json()["results"]]
        assert ids[0] == "violin-care.txt"
        ragd("rm", "violin-care.txt", data=t, check=0)  # HNSW: tombstoned
        ids = [x["doc_id"] for x in ragd(*q, data=t, check=0).json()["results"]]
        assert "violin-care.txt" not in ids
        r = ragd("reindex", "--json", data=t, check=0).json()  # compacts
        assert r["index"] == "IDMap,HNSW32"
        assert ragd("reindex", "--index", "NoSuchIndex", data=t).code == 2


def test_local_embedder_writes_no_cache_rows():
    """The built-in embedder bypasses the embedding cache: its vectors are
    cheaper to compute than to look up, and the rows were never removed
    (bench/churn.sh: ragd.db grew to 11x a fresh ingest of the survivors)."""
    import sqlite3
    with TempDir() as t:
        src = small_corpus(t)
        r = ragd("ingest", "--json", src, data=t, check=0).json()
        assert r["added"] > 0 and r["chunks"] > 0, r
        db = sqlite3.connect(os.path.join(t, "ragd.db"))
        rows = db.execute("SELECT count(*) FROM embed_cache").fetchone()[0]
        db.close()
        assert rows == 0, rows
        # Searching still works with vectors computed the same way.
        res = ragd("search", "--json", "--mode", "dense", "--min-evidence", "0", "wifi password",
                   data=t, check=0).json()
        assert res["results"] and res["results"][0]["doc_id"] == "short-wifi.txt", res


def test_remote_embed_cache_stays_bounded_under_churn():
    """With a remote embedder, rows of texts no live chunk uses are swept
    (store/vectors.c): 2,400 distinct texts ingested and mostly deleted
    (--prune) leave the cache near the live chunks, not at one row per text
    ever embedded (before the fix: 2,400+ rows). Live texts stay cached:
    ingesting the survivors into another collection with the same model
    makes no provider call at all."""
    rounds, per, keep = 12, 200, 10
    with TempDir() as t, Mock("--dim", 16) as m:
        src = os.path.join(t, "churn")
        os.makedirs(src)
        data = os.path.join(t, "d")
        prev = []
        worst = 0
        for rnd in range(rounds):
            names = []
            for i in range(per):
                n = rnd * per + i
                names.append(f"{n:05d}.md")
                with open(os.path.join(src, names[-1]), "w") as f:
                    f.write(f"# Note {n}\n\nChurn note {n} of round {rnd} about tide {n * 7919 % 1000}.\n")
            for i, name in enumerate(prev):
                if i % keep:
                    os.remove(os.path.join(src, name))
            prev = names
            r = ragd("ingest", "--json", "--prune", "--no-progress", *openai_args(m), src, data=data, check=0).json()
            assert r["added"] == per, r
            db = sqlite3.connect(os.path.join(data, "ragd.db"))
            rows = db.execute("SELECT count(*) FROM embed_cache").fetchone()[0]
            chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            db.close()
            worst = max(worst, rows - chunks)
        # Bound: live chunks + max(256, chunks / 4) + the rows put between
        # two checks (1 in 64 on average; 448 = 7x that, deterministic texts).
        assert worst <= 256 + 448, (worst, rows, chunks)
        assert rows < rounds * per / 2, (rows, chunks)
        live = doc_ids(data)
        assert len(live) == per + (rounds - 1) * per // keep, len(live)
        # Every live chunk's text is still cached: no provider call.
        r = ragd("ingest", "--json", "--collection", "again", "--dim", "16", "--no-progress", *openai_args(m), src,
                 data=data, check=0).json()
        assert r["added"] == len(live), r
        assert r["embedding"]["calls"] == 0, r["embedding"]
        # And a re-ingest of the unchanged originals changes and calls nothing.
        r = ragd("ingest", "--json", "--no-progress", src, data=data, check=0).json()
        assert r["added"] == 0 and r["embedding"]["calls"] == 0, r


def collection_settings(data, name="default"):
    db = sqlite3.connect(os.path.join(data, "ragd.db"))
    (js,) = db.execute("SELECT settings FROM collections WHERE name = ?", (name,)).fetchone()
    db.close()
    return json.loads(js)


def test_ef_search_is_stored_per_collection_and_checked():
    """--ef-search (HNSW efSearch) is fixed when the collection is created,
    stored in its settings, kept by later runs and reindexes, and refused
    for non-HNSW indexes, out of range, or a clash with the stored value."""
    with TempDir() as t:
        bad = ragd("ingest", DOCS, "--index", "Flat", "--ef-search", "100", data=t)
        assert bad.code == 2 and "--ef-search applies only to an HNSW index" in bad.err, bad.err
        # Without --index a new collection is Flat: refused too, and not created
        # (the check is the store's, when the collection is created).
        bad = ragd("ingest", DOCS, "--collection", "noidx", "--ef-search", "100", data=t)
        assert bad.code == 2 and "--ef-search applies only to an HNSW index" in bad.err, bad.err
        db = sqlite3.connect(os.path.join(t, "ragd.db"))
        assert db.execute("SELECT count(*) FROM collections WHERE name = 'noidx'").fetchone() == (0,)
        db.close()
        assert ragd("ingest", DOCS, "--index", "HNSW32", "--ef-search", "0", data=t).code == 2
        assert ragd("ingest", DOCS, "--index", "HNSW32", "--ef-search", "5000", data=t).code == 2
        ragd("ingest", DOCS, "--index", "HNSW32", "--ef-search", "200", data=t, check=0)
        s = collection_settings(t)
        assert s["ef_search"] == 200 and s["index_factory"] == "IDMap,HNSW32", s
        q = ["search", "--json", "--mode", "dense", "--k", "5", "violin humidity winter case"]
        ids = [x["doc_id"] for x in ragd(*q, data=t, check=0).json()["results"]]
        assert ids[0] == "violin-care.txt", ids
        # Later runs without the flag keep it; a different value clashes.
        ragd("ingest", DOCS, data=t, check=0)
        ragd("ingest", DOCS, "--ef-search", "200", data=t, check=0)
        clash = ragd("ingest", DOCS, "--ef-search", "32", data=t)
        assert clash.code != 0 and "--ef-search 200, not 32" in clash.err, clash.err
        ragd("reindex", "--json", data=t, check=0)
        assert collection_settings(t)["ef_search"] == 200
        # A collection created without it has no ef_search key (default 64).
        ragd("ingest", DOCS, "--collection", "plain", "--index", "HNSW32", data=t, check=0)
        assert "ef_search" not in collection_settings(t, "plain")


def test_ef_search_over_http():
    from it_serve import Server
    with TempDir() as t:
        data = os.path.join(t, "data")
        ragd("ingest", DOCS, data=data, check=0)
        with Server(data) as s:
            st, b, _ = s.request("POST", "/v1/collections",
                                 {"name": "deep", "index": "HNSW32", "ef_search": 128})
            assert st == 201 and b["settings"]["ef_search"] == 128, (st, b)
            st, b, _ = s.request("POST", "/v1/collections", {"name": "flat", "ef_search": 128})
            assert st == 400 and b["error"]["field"] == "ef_search", (st, b)
            st, b, _ = s.request("POST", "/v1/collections",
                                 {"name": "big", "index": "HNSW32", "ef_search": 0})
            assert st in (400, 422) and b["error"]["field"] == "ef_search", (st, b)


if __name__ == "__main__":
    run_tests([v for k, v in sorted(globals().items()) if k.startswith("test_")])
