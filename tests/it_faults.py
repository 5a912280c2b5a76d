"""Provider faults (issue 12): the real ragd binary and `ragd serve` against
tests/fault_server.py, a scripted fault-injecting model server (OpenAI and
Ollama protocols).

- Retries stay within the budget (1 attempt + 4 retries for embeddings) and
  its time (full-jitter backoff 0.5, 1, 2, 4 s at most; Retry-After honored).
- Connection resets mid-body, truncated JSON, slow-drip replies and hangs are
  retried within the timeout, and fail with a message when they persist.
- Wrong dimensions are refused without retry and nothing is written.
- The fallback chain engages when the primary fails.
- During `ragd serve`, a provider outage gives 503 for embedding-dependent
  calls while lexical search keeps answering, and service resumes after it.
- A failed ingest leaves every document whole or absent, and the next run
  completes the corpus without duplicates.
(tests/it_vector.py covers the mock_model_server basics: 5xx/429 retried,
a hang cut by the timeout, refused connections, malformed replies.)
"""
import os
import shutil
import sqlite3
import time

from fault_server import FaultServer, drip, hang, ok, reset, status, truncated, wrong_dim
from it_serve import DOCS, Server
from ragdtest import TempDir, ragd, run_tests

CORPUS = ("short-wifi.txt", "short-parking.txt", "aquarium-cycling.txt", "violin-care.txt", "glacier-survey.txt")


def corpus(t, files=CORPUS):
    src = os.path.join(t, "src")
    os.makedirs(src, exist_ok=True)
    for f in files:
        shutil.copy(os.path.join(DOCS, f), src)
    return src


def embed_args(fs, ollama=False):
    return ["--embedder", "ollama" if ollama else "openai", "--embedder-url", fs.url(ollama),
            "--embedder-model", "fault-embed"]


def store_counts(data):
    db = sqlite3.connect(os.path.join(data, "ragd.db"))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        docs = db.execute("SELECT doc_key FROM documents ORDER BY doc_key").fetchall()
        per_doc = db.execute(
            "SELECT d.doc_key, count(c.id), count(v.chunk_id) FROM documents d LEFT JOIN chunks c ON c.document_id = d.id "
            "LEFT JOIN vectors v ON v.chunk_id = c.id GROUP BY d.id").fetchall()
        fts = db.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
        chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return [d[0] for d in docs], per_doc, fts, chunks
    finally:
        db.close()


def assert_whole_or_absent(data):
    docs, per_doc, fts, chunks = store_counts(data)
    assert len(docs) == len(set(docs)), docs
    for key, nc, nv in per_doc:
        assert nc > 0 and nc == nv, f"{key}: {nc} chunks, {nv} vectors (half-written)"
    assert fts == chunks, (fts, chunks)
    return docs


def test_retries_stay_within_budget_and_time():
    for ollama in (False, True):
        with TempDir() as t, FaultServer(dim=16) as fs:
            src = corpus(t, CORPUS[:1])
            data = os.path.join(t, "d")
            ragd("ingest", *embed_args(fs, ollama), os.path.join(DOCS, "violin-care.txt"), data=data, check=0)
            # A burst of 5xx longer than the budget: exactly 5 attempts, then exit 3.
            fs.clear()
            fs.push(status(503), 20)
            t0 = time.time()
            r = ragd("ingest", "--json", *embed_args(fs, ollama), src, data=data)
            took = time.time() - t0
            assert r.code == 3, (r.code, r.err)
            assert fs.count() == 5, fs.count()
            assert "503" in r.err and "5 attempts" in r.err, r.err
            assert took < 0.5 + 1 + 2 + 4 + 5, took
            # A shorter burst is absorbed: 3 failures, then success.
            fs.clear()
            fs.push(status(500), 3)
            r = ragd("ingest", "--json", *embed_args(fs, ollama), src, data=data, check=0).json()
            assert r["added"] == 1 and r["embedding"]["retries"] == 3 and fs.count() == 4, (r, fs.count())
            # 429 with Retry-After: waited for, once.
            os.remove(os.path.join(src, CORPUS[0]))
            shutil.copy(os.path.join(DOCS, CORPUS[1]), src)
            fs.clear()
            fs.push(status(429, retry_after=2, message="slow down"))
            t0 = time.time()
            r = ragd("ingest", "--json", *embed_args(fs, ollama), src, data=data, check=0).json()
            gap = fs.times()[1] - fs.times()[0]
            assert r["added"] == 1 and fs.count() == 2, (r, fs.count())
            assert 1.9 <= gap < 5, gap
            # 400 is not retried.
            shutil.copy(os.path.join(DOCS, CORPUS[2]), src)
            fs.clear()
            fs.push(status(400, message="input too long"))
            r = ragd("ingest", *embed_args(fs, ollama), src, data=data)
            assert r.code == 3 and "input too long" in r.err and fs.count() == 1, (r.code, r.err, fs.count())


def test_resets_truncation_drip_and_hangs():
    with TempDir() as t, FaultServer(dim=16) as fs:
        data = os.path.join(t, "d")
        ragd("ingest", *embed_args(fs), os.path.join(DOCS, "pottery-glazes.txt"), data=data, check=0)
        cases = [
            ("reset", [reset()], True),
            ("truncated once", [truncated()], True),
            ("drip past the timeout", [drip(4)], True),
            ("hang past the timeout", [hang(4)], True),
            ("truncated always", [truncated()] * 2, False),
        ]
        for i, (name, script, succeeds) in enumerate(cases):
            src = os.path.join(t, f"src{i}")
            os.makedirs(src)
            shutil.copy(os.path.join(DOCS, CORPUS[i]), src)
            fs.clear()
            for b in script:
                fs.push(b)
            t0 = time.time()
            r = ragd("ingest", "--json", "--embedder-timeout", "1", *embed_args(fs), src, data=data)
            took = time.time() - t0
            if succeeds:
                assert r.code == 0, (name, r.code, r.err)
                assert r.json()["added"] == 1 and r.json()["embedding"]["retries"] >= 1, (name, r.out)
                assert took < 10, (name, took)
            else:
                assert r.code == 3 and "JSON" in r.err, (name, r.code, r.err)
                assert fs.count() == 2, (name, fs.count())  # a bad 2xx body is retried once at most
            assert_whole_or_absent(data)
        # Persistent hang: five 1-s attempts and the backoff, then a clear error.
        src = os.path.join(t, "hang")
        os.makedirs(src)
        shutil.copy(os.path.join(DOCS, CORPUS[4]), src)
        fs.clear()
        fs.set_default(hang(30))
        t0 = time.time()
        r = ragd("ingest", "--embedder-timeout", "1", *embed_args(fs), src, data=data)
        took = time.time() - t0
        fs.set_default(ok())
        assert r.code == 3 and ("timed out" in r.err or "timeout" in r.err), r.err
        assert fs.count() == 5 and took < 5 * 1 + 7.5 + 5, (fs.count(), took)
        docs = assert_whole_or_absent(data)
        assert CORPUS[4] not in docs


def test_wrong_dimension_writes_nothing():
    with TempDir() as t, FaultServer(dim=16) as fs:
        data = os.path.join(t, "d")
        ragd("ingest", *embed_args(fs), os.path.join(DOCS, "violin-care.txt"), data=data, check=0)
        before = store_counts(data)
        snap = open(os.path.join(data, "faiss", "default.index"), "rb").read()
        src = corpus(t)
        fs.clear()
        fs.set_default(wrong_dim(8))
        r = ragd("ingest", *embed_args(fs), src, data=data)
        assert r.code == 3 and "8" in r.err and "16" in r.err, r.err
        assert fs.count() == len(CORPUS) - 1, fs.count()  # one call per new document, no retries
        assert store_counts(data) == before
        assert open(os.path.join(data, "faiss", "default.index"), "rb").read() == snap


def test_fallback_chain_engages():
    with TempDir() as t, FaultServer(dim=16) as bad, FaultServer(dim=16) as worse, FaultServer(dim=16) as good:
        data = os.path.join(t, "d")
        ragd("ingest", *embed_args(good), os.path.join(DOCS, "violin-care.txt"), data=data, check=0)
        bad.set_default(status(503))
        worse.set_default(reset())
        src = corpus(t, CORPUS[:2])
        good.clear()
        r = ragd("ingest", "--json", "--embedder-url", bad.url(), "--embedder-fallback", f"{worse.url()},{good.url()}",
                 src, data=data, check=0).json()
        assert r["added"] == 2 and r["failed"] == 0, r
        assert bad.count() >= 5 and worse.count() >= 5 and good.count() >= 1, (bad.count(), worse.count(), good.count())
        # Queries use the chain too.
        r = ragd("search", "--json", "--mode", "dense", "--embedder-url", bad.url(), "--embedder-fallback", good.url(),
                 "wifi password", data=data, check=0).json()
        assert r["validation"]["candidates"] > 0, r


def test_outage_during_serve_503_and_lexical_keeps_answering():
    with TempDir() as t, FaultServer(dim=16) as fs:
        data = os.path.join(t, "d")
        ragd("ingest", *embed_args(fs), corpus(t), data=data, check=0)
        # --cache-size 0: a cached result needs no embedding, and this test
        # is about the calls that do.
        # --breaker-failures 0: every call spends its own retry budget here
        # (the breaker is test_breaker_fails_fast_then_closes below).
        with Server(data, "--embedder-url", fs.url(), "--embedder-timeout", "1",
                    "--cache-size", "0", "--breaker-failures", "0") as s:
            q = {"query": "how do I care for a violin bow", "k": 3, "min_evidence": 0}
            st, healthy, _ = s.request("POST", "/v1/search", q)
            assert st == 200 and healthy["results"], healthy
            st, lex, _ = s.request("POST", "/v1/search", dict(q, mode="lexical"))
            assert st == 200 and lex["results"], lex
            before = store_counts(data)
            # Every embedding-dependent call during a 503 outage; one call
            # each during a hang and a reset outage (each call spends the
            # retry budget: 5 attempts and the backoff).
            for outage, calls in ((status(503), (("/v1/search", q), ("/v1/search", dict(q, mode="dense")),
                                                 ("/v1/context", q), ("/v1/answer", q))),
                                  (hang(30), (("/v1/search", q),)), (reset(), (("/v1/context", q),))):
                fs.set_default(outage)
                for path, body in calls:
                    t0 = time.time()
                    st, b, _ = s.request("POST", path, body)
                    assert st == 503 and b["error"]["code"] == "provider_unavailable", (outage, path, st, b)
                    assert "127.0.0.1" in b["error"]["message"], b
                    assert time.time() - t0 < 5 * 1 + 7.5 + 3, (outage, path, time.time() - t0)
                st, b, _ = s.request("POST", "/v1/search", dict(q, mode="lexical"))
                assert st == 200 and [r["chunk_id"] for r in b["results"]] == [r["chunk_id"] for r in lex["results"]], b
                st, b, _ = s.request("GET", "/healthz")
                assert st == 200
            fs.set_default(status(503))
            st, b, _ = s.request("POST", "/v1/collections/default/documents", {"id": "new.txt", "text": "A new note on bows."})
            assert st in (200, 503), (st, b)
            if st == 200:
                assert b["added"] == 0 and b["failed"] == 1, b
            assert store_counts(data) == before
            fs.set_default(ok())
            st, b, _ = s.request("POST", "/v1/search", q)
            assert st == 200 and b["results"] == healthy["results"], b


def test_breaker_fails_fast_then_closes():
    """The per-provider circuit breaker of `ragd serve` (provider/breaker.h):
    during an outage the first request spends the retry budget and opens
    the breaker (5 failed attempts in a row); the next requests, concurrent
    ones included, get 503 provider_unavailable at once with Retry-After,
    making no provider call; lexical search keeps answering; after the
    cool-down one probe goes through (a failed probe re-opens it for
    another cool-down), and once the server is back the breaker closes and
    the results are as before."""
    import threading
    cool = 3
    with TempDir() as t, FaultServer(dim=16) as fs:
        data = os.path.join(t, "d")
        ragd("ingest", *embed_args(fs), corpus(t), data=data, check=0)
        with Server(data, "--embedder-url", fs.url(), "--embedder-timeout", "1", "--cache-size", "0",
                    "--breaker-failures", "5", "--breaker-cooldown", str(cool), "--threads", "8") as s:
            q = {"query": "how do I care for a violin bow", "k": 3, "min_evidence": 0}
            st, healthy, _ = s.request("POST", "/v1/search", q)
            assert st == 200 and healthy["results"], healthy
            st, lex, _ = s.request("POST", "/v1/search", dict(q, mode="lexical"))
            assert st == 200 and lex["results"], lex
            fs.set_default(status(503))
            fs.clear()
            # Concurrent requests as the outage starts: the attempts of all
            # of them open the breaker, so far fewer than 8 x 5 are made.
            out = []

            def one(i):
                t0 = time.time()
                st, b, r = s.request("POST", "/v1/search", dict(q, mode="dense", query=q["query"] + f" {i}"))
                out.append((st, b, time.time() - t0))

            ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
            for th in ts:
                th.start()
            for th in ts:
                th.join()
            assert all(st == 503 and b["error"]["code"] == "provider_unavailable" for st, b, _ in out), out
            assert fs.count() <= 5 + 8, fs.count()  # at most one attempt in flight per request when it opened
            assert max(d for _, _, d in out) < 5 * 1 + 7.5 + 3, out
            # Open: every embedding-dependent route fails fast, no provider call.
            n0 = fs.count()
            for path, body in (("/v1/search", q), ("/v1/search", dict(q, mode="dense")), ("/v1/context", q),
                               ("/v1/answer", q)):
                t0 = time.time()
                st, b, r = s.request("POST", path, body)
                took = time.time() - t0
                assert st == 503 and b["error"]["code"] == "provider_unavailable", (path, st, b)
                assert "circuit breaker" in b["error"]["message"] and "127.0.0.1" in b["error"]["message"], b
                ra = r.getheader("Retry-After")
                assert ra and 1 <= int(ra) <= cool, (path, ra)
                assert took < 1.0, (path, took)
            assert fs.count() == n0, (fs.count(), n0)
            st, b, _ = s.request("POST", "/v1/search", dict(q, mode="lexical"))
            assert st == 200 and [r["chunk_id"] for r in b["results"]] == [r["chunk_id"] for r in lex["results"]], b
            # After the cool-down, still down: one probe (one attempt), then open again.
            time.sleep(cool + 0.3)
            n0 = fs.count()
            t0 = time.time()
            st, b, _ = s.request("POST", "/v1/search", q)
            assert st == 503 and fs.count() == n0 + 1, (st, fs.count() - n0, b)
            assert time.time() - t0 < 1.5, time.time() - t0
            st, b, r = s.request("POST", "/v1/search", q)
            assert st == 503 and "circuit breaker" in b["error"]["message"] and fs.count() == n0 + 1, b
            # Recovered: the next probe closes it; every request is served again.
            fs.set_default(ok())
            time.sleep(int(r.getheader("Retry-After")) + 0.3)
            for _ in range(3):
                st, b, _ = s.request("POST", "/v1/search", q)
                assert st == 200 and b["results"] == healthy["results"], b
            st, b, _ = s.request("POST", "/v1/context", q)
            assert st == 200, b
        log = open(os.path.join(t, "serve.log"), encoding="utf-8", errors="replace").read()
        assert "circuit open" in log and "circuit closed" in log, log[-2000:]


def test_failed_ingest_is_whole_or_absent_and_rerun_completes():
    with TempDir() as t, FaultServer(dim=16) as fs:
        data = os.path.join(t, "d")
        src = corpus(t, CORPUS[:4] + ("night-ferry-story.txt", "treaty-of-saltmere.md"))
        # One document of the corpus is stored already (the same file, so
        # the same id when the directory is ingested).
        ragd("ingest", *embed_args(fs), os.path.join(src, "violin-care.txt"), data=data, check=0)
        fs.clear()
        fs.push(ok(), 2)
        fs.set_default(status(500))
        r = ragd("ingest", *embed_args(fs), src, data=data)
        assert r.code == 3, (r.code, r.err)
        docs = assert_whole_or_absent(data)
        assert 1 < len(docs) < 6, docs  # violin-care.txt is in src too
        fs.set_default(ok())
        r = ragd("ingest", "--json", *embed_args(fs), src, data=data, check=0).json()
        assert r["failed"] == 0 and r["added"] == 6 - len(docs), (r, docs)
        docs = assert_whole_or_absent(data)
        assert sorted(docs) == sorted(os.listdir(src)), docs
        r = ragd("ingest", "--json", *embed_args(fs), src, data=data, check=0).json()
        assert r["added"] == 0 and r["unchanged"] == 6, r


def test_generator_faults():
    with TempDir() as t, FaultServer(dim=16) as fs:
        data = os.path.join(t, "d")
        ragd("ingest", corpus(t), data=data, check=0)
        gen = ["--generator", "openai", "--generator-url", fs.url(), "--generator-model", "g", "--generator-timeout", "1"]
        q = "How should a violin bow be stored?"
        fs.push(status(429, retry_after=1))
        r = ragd("answer", "--json", *gen, q, data=data, check=0).json()
        u = r["usage"]
        assert u["generator_called"] and u["retries"] == 1 and u["attempts"] == fs.count() >= 2, (u, fs.count())
        for b in (hang(30), reset(), truncated(), status(503)):
            fs.clear()
            fs.set_default(b)
            t0 = time.time()
            r = ragd("answer", "--json", *gen, q, data=data)
            assert r.code in (0, 3), (b, r.code, r.err)
            if r.code == 0:  # the documented fallback: an extractive answer, flagged
                assert r.json()["usage"]["generator_called"], r.out
            assert time.time() - t0 < 2 * (3 * 1 + 0.5 + 1) + 10, (b, time.time() - t0)
            assert 1 <= fs.count() <= 6, (b, fs.count())  # (1 + 2 retries) x (answer + repair) at most
        fs.set_default(ok())


if __name__ == "__main__":
    run_tests([test_retries_stay_within_budget_and_time, test_resets_truncation_drip_and_hangs,
               test_wrong_dimension_writes_nothing, test_fallback_chain_engages,
               test_outage_during_serve_503_and_lexical_keeps_answering, test_breaker_fails_fast_then_closes,
               test_failed_ingest_is_whole_or_absent_and_rerun_completes, test_generator_faults])
