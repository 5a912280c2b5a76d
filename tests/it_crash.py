"""Crash consistency (issue 12): SIGKILL `ragd ingest`, `ragd reindex` and
`ragd serve` (during a background job) at random moments, restart, and
check the store after every kill.

After each kill:
  - PRAGMA integrity_check is ok;
  - every document is whole: its chunks, one vector and one FTS row per chunk
    and a summary are there, and its text and chunk count equal those of a
    reference ingest of the same file made without kills — or it is absent;
  - no document key twice;
  - dense search (which catches the FAISS index up, or rebuilds a snapshot it
    cannot trust) gives exactly the results of an index rebuilt from SQLite
    (`ragd reindex` on a copy);
and at the end, re-running completes the corpus: the same documents,
chunks and results as the reference, no duplicates.

Kills land at uniformly random times over a run's measured length, plus
RAGD_FAULT=before-snapshot (die after the SQLite commits, before the
snapshot is written) every fifth time. Seeded; the seed is printed.

  quick (CTest):  python3 tests/it_crash.py            25 kills (15 ingest, 6 reindex, 4 serve);
                  under make asan/tsan 10 kills over one copy of the corpus
  longer:         RAGD_CRASH_KILLS=400 python3 tests/it_crash.py
  reproduce:      RAGD_CRASH_SEED=<seed> ...
"""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time

from it_serve import DOCS, Server, big_batch, wait_job
from ragdtest import BIN, TempDir, ragd, run_tests

# Sanitizer builds (make asan / make tsan set these) run everything 10-20x
# slower: fewer kills and one copy of the corpus keep the test near a minute.
SANITIZED = "ASAN_OPTIONS" in os.environ or "TSAN_OPTIONS" in os.environ
KILLS = int(os.environ.get("RAGD_CRASH_KILLS", "10" if SANITIZED else "25"))
COPIES = 1 if SANITIZED else 3
SEED = int(os.environ.get("RAGD_CRASH_SEED", str(int(time.time()))))
QUERIES = ["When was the Greyhollow light first exhibited?", "fishless cycling of a new aquarium",
           "how to store a violin bow", "treaty signed at Saltmere"]


def make_corpus(t, copies=COPIES):
    src = os.path.join(t, "src")
    for i in range(copies):
        shutil.copytree(DOCS, os.path.join(src, f"copy{i}"))
    return src


def doc_state(data):
    """{key: (text sha, chunks)} after checking every document is whole."""
    db = sqlite3.connect(os.path.join(data, "ragd.db"))
    try:
        ic = db.execute("PRAGMA integrity_check").fetchall()
        assert ic == [("ok",)], ic
        rows = db.execute(
            "SELECT d.doc_key, d.text, d.summary, count(c.id), count(v.chunk_id), "
            "(SELECT count(*) FROM chunks_fts f WHERE f.rowid IN (SELECT id FROM chunks WHERE document_id = d.id)) "
            "FROM documents d LEFT JOIN chunks c ON c.document_id = d.id LEFT JOIN vectors v ON v.chunk_id = c.id "
            "GROUP BY d.id").fetchall()
        keys = [r[0] for r in rows]
        assert len(keys) == len(set(keys)), "a document key twice"
        out = {}
        for key, text, summary, nc, nv, nf in rows:
            assert nc > 0 and nc == nv == nf, f"{key}: {nc} chunks, {nv} vectors, {nf} FTS rows"
            s = json.loads(summary)
            assert s.get("title") is not None and "keywords" in s, f"{key}: summary {summary[:80]}"
            out[key] = (text, nc)
        orphans = db.execute("SELECT count(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)").fetchone()[0]
        assert orphans == 0, orphans
        return out
    finally:
        db.close()


def dense_results(data, coll="default"):
    out = []
    for q in QUERIES:
        r = ragd("search", "--json", "--mode", "dense", "--k", "8", "--min-evidence", "0", "--collection", coll, q,
                 data=data, check=0).json()
        out.append([(x["doc_id"], x["start"], x["end"], round(x["score"], 5)) for x in r["results"]])
    return out


def check_after_kill(data, ref, tmp, coll="default"):
    # The store opens after any kill (one killed before its schema was
    # written is an empty database, adopted here), and is never refused.
    r = ragd("keys", "list", "--json", data=data)
    assert r.code == 0, (r.code, r.err)
    state = doc_state(data)
    for key, (text, nc) in state.items():
        assert key in ref, f"unexpected document {key}"
        assert (text, nc) == ref[key], f"{key} differs from the reference ingest"
    if not state:
        return state
    got = dense_results(data, coll)
    rebuilt = os.path.join(tmp, "rebuilt")
    shutil.rmtree(rebuilt, ignore_errors=True)
    shutil.copytree(data, rebuilt)
    ragd("reindex", "--collection", coll, data=rebuilt, check=0)
    assert dense_results(rebuilt, coll) == got, "the FAISS index differs from one rebuilt from SQLite"
    return state


def run_killed(args, delay, fault=False):
    env = dict(os.environ)
    if fault:
        env["RAGD_FAULT"] = "before-snapshot"
    p = subprocess.Popen([BIN] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        p.wait(delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return "killed"
    err = p.stderr.read().decode()
    assert p.returncode in (0, 99), (p.returncode, err)
    return "finished" if p.returncode == 0 else "fault"


def test_sigkill_during_ingest_and_reindex():
    rng = random.Random(SEED)
    print(f"seed {SEED}, {KILLS} kills")
    n_ingest = max(1, KILLS * 15 // 25)
    n_reindex = max(1, KILLS * 6 // 25)
    with TempDir() as tmp:
        src = make_corpus(tmp)
        ref_dir = os.path.join(tmp, "ref")
        t0 = time.time()
        ragd("ingest", src, "--no-progress", data=ref_dir, check=0)
        full = time.time() - t0
        ref = doc_state(ref_dir)
        ref_dense = dense_results(ref_dir)
        data = os.path.join(tmp, "d")
        outcomes = {}
        for i in range(n_ingest):
            fault = i % 5 == 4  # no kill: the process dies at the fault point
            delay = 600 if fault else rng.uniform(0.02, full)
            o = run_killed(["ingest", src, "--no-progress", "--data", data], delay, fault)
            outcomes[o] = outcomes.get(o, 0) + 1
            if os.path.exists(os.path.join(data, "ragd.db")):
                check_after_kill(data, ref, tmp)
            if o != "killed":
                # Start over, so later kills land early in a run too.
                shutil.rmtree(data)
        ragd("ingest", src, "--no-progress", data=data, check=0)
        assert doc_state(data) == ref
        assert dense_results(data) == ref_dense
        assert outcomes.get("fault", 0) == n_ingest // 5, outcomes
        print(f"ingest: {n_ingest} runs ({outcomes}), full run {full:.2f} s")
        # reindex, with deletions pending
        t0 = time.time()
        ragd("reindex", data=data, check=0)
        full = max(0.05, time.time() - t0)
        gone = sorted(ref)[: n_reindex]
        outcomes = {}
        for i in range(n_reindex):
            ragd("rm", gone[i], data=data, check=0)
            o = run_killed(["reindex", "--data", data], rng.uniform(0.005, full * 1.5))
            outcomes[o] = outcomes.get(o, 0) + 1
            state = check_after_kill(data, ref, tmp)
            assert not set(gone[: i + 1]) & set(state), "a deleted document came back"
            for res in dense_results(data):
                assert not {d for d, _, _, _ in res} & set(gone[: i + 1]), "a deleted document is still found"
        print(f"reindex: {n_reindex} runs ({outcomes}), full run {full:.2f} s")
        # Re-ingest restores the deleted ones.
        r = ragd("ingest", "--json", src, "--no-progress", data=data, check=0).json()
        assert r["added"] == n_reindex, r
        assert doc_state(data) == ref


def test_sigkill_serve_during_a_job():
    rng = random.Random(SEED + 1)
    kills = max(1, KILLS * 4 // 25)
    batch = big_batch(400, "crash")
    with TempDir() as tmp:
        data = os.path.join(tmp, "d")
        os.makedirs(data)
        with Server(data) as s:
            st, _, _ = s.request("POST", "/v1/collections", {"name": "default"})
            assert st == 201
            t0 = time.time()
            st, j, _ = s.request("POST", "/v1/collections/default/documents", batch)
            assert st == 202, (st, j)
            wait_job(s, j["id"], timeout=180)
            full = time.time() - t0
        ref = doc_state(data)
        assert len(ref) == 400
        shutil.rmtree(data)
        os.makedirs(data)
        states = {}
        for i in range(kills):
            s = Server(data)
            s.__enter__()
            try:
                if i == 0:
                    s.request("POST", "/v1/collections", {"name": "default"})
                    st, j, _ = s.request("POST", "/v1/collections/default/documents", batch)
                    assert st == 202, (st, j)
                    job = j["id"]
                time.sleep(rng.uniform(0.05, 1.5 * full / kills))
                st, cur, _ = s.request("GET", f"/v1/jobs/{job}")
                states[cur["state"]] = states.get(cur["state"], 0) + 1
            finally:
                s.p.kill()
                s.p.wait()
                s.__exit__()
            check_after_kill(data, ref, tmp)
        with Server(data) as s:
            done = wait_job(s, job, timeout=180)
            assert done["state"] == "completed", done
        assert doc_state(data) == ref
        print(f"serve: {kills} kills during job {job} (states seen {states}), full job {full:.2f} s")


if __name__ == "__main__":
    run_tests([test_sigkill_during_ingest_and_reindex, test_sigkill_serve_during_a_job])
