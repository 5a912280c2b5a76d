"""Integration tests of PostgreSQL as the store of record (--store, docs/scaling.md).

The test starts a throwaway PostgreSQL cluster (initdb + pg_ctl, Unix socket
only, in a temporary directory; as root the server runs as `nobody`), then
drives the real ragd binary: two `ragd serve` nodes on one database, the CLI
writing through --store, a node killed and restarted, and the same corpus on
PostgreSQL and on SQLite giving the same results. When PostgreSQL cannot be
started here, the test says why and exits 77 (CTest SKIP_RETURN_CODE: never
counted as passed)."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ragdtest import FIXTURES, ragd, run_tests
from it_serve import Server
from pgcluster import SKIP, start_or_skip, search_ids, wait_for

DOCS = os.path.join(FIXTURES, "docs")


PG = None


def node(tmp, name, *extra):
    d = os.path.join(tmp, name, "data")
    os.makedirs(d, exist_ok=True)
    return Server(d, "--store", PG.url, *extra)


def ready(srv):
    st, body, _ = srv.request("GET", "/readyz")
    return body if st == 200 and body.get("ready") else None


def test_two_nodes_write_anywhere_read_everywhere():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        with node(tmp, "a") as a, node(tmp, "b") as b:
            st, body, _ = a.request("POST", "/v1/collections", {"name": "shared"})
            assert st in (200, 201), (st, body)
            doc = {"id": "notes/tides.md", "format": "md",
                   "text": "# Tides\n\nSpring tides follow the quintessential new moon at Vellmar."}
            st, body, _ = a.request("POST", "/v1/collections/shared/documents", doc)
            assert st == 200, (st, body)
            # Written through A, found through B (woken by NOTIFY, or the poll).
            wait_for("B sees A's document",
                     lambda: "notes/tides.md" in search_ids(b, "shared", "quintessential Vellmar"))
            r = wait_for("B ready", lambda: ready(b))
            c = [x for x in r["collections"] if x["name"] == "shared"][0]
            assert r["sync"]["caught_up"] is True and c["lag"] == 0, r
            assert c["store_seq"] >= 2 and r["sync"]["applied_seq"] >= c["store_seq"], r
            # Deleted through B, gone from A.
            st, body, _ = b.request("DELETE", "/v1/collections/shared/documents/notes/tides.md")
            assert st == 200, (st, body)
            wait_for("A no longer finds the deleted document",
                     lambda: "notes/tides.md" not in search_ids(a, "shared", "quintessential Vellmar"))
            st, body, _ = a.request("GET", "/v1/collections/shared/documents/notes/tides.md")
            assert st == 404, (st, body)
            # A collection deleted through A disappears from B.
            st, body, _ = a.request("DELETE", "/v1/collections/shared")
            assert st == 200, (st, body)
            wait_for("B drops the deleted collection",
                     lambda: b.request("GET", "/v1/collections/shared")[0] == 404)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_killed_node_catches_up_on_restart():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        b = node(tmp, "b")
        with b:
            wait_for("B ready", lambda: ready(b))
            b.p.send_signal(signal.SIGKILL)
            b.p.wait()
        # While B is down, the CLI writes through the store from another cache.
        w = os.path.join(tmp, "writer")
        ragd("ingest", os.path.join(DOCS, "greyhollow-lighthouse.md"), "--collection", "late",
             "--no-progress", "--store", PG.url, data=w, check=0)
        with node(tmp, "b") as b2:
            r = wait_for("restarted B ready", lambda: ready(b2))
            assert any(c["name"] == "late" and c["lag"] == 0 for c in r["collections"]), r
            assert "greyhollow-lighthouse.md" in search_ids(
                b2, "late", "When was the Greyhollow light first exhibited?")
        # rm through the CLI on yet another cache: gone for every reader.
        ragd("rm", "greyhollow-lighthouse.md", "--collection", "late", "--store", PG.url,
             data=os.path.join(tmp, "other"), check=0)
        r = ragd("docs", "--collection", "late", "--json", "--store", PG.url, data=w, check=0)
        assert r.json()["documents"] == [], r.out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_keys_shared_by_every_node():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        cli = os.path.join(tmp, "cli")
        with node(tmp, "a") as a, node(tmp, "b") as b:
            wait_for("A ready", lambda: ready(a))
            r = ragd("keys", "create", "--scope", "admin", "--name", "ops", "--json", "--store",
                     PG.url, data=cli, check=0).json()
            key, kid = r["key"], r["id"]
            auth = {"Authorization": f"Bearer {key}"}
            for n in (a, b):  # a key created anywhere: every node now requires it
                wait_for("the node requires the new key",
                         lambda: n.request("GET", "/v1/collections")[0] == 401)
                assert n.request("GET", "/v1/collections", headers=auth)[0] == 200
            keep = ragd("keys", "create", "--scope", "read", "--json", "--store", PG.url,
                        data=b.data, check=0).json()
            listed = ragd("keys", "list", "--json", "--store", PG.url,
                          data=os.path.join(tmp, "cli2"), check=0).json()["keys"]
            assert [k["id"] for k in listed] == [kid, keep["id"]], listed
            # Revoked through node B's cache directory, refused by A; the other key still works.
            ragd("keys", "revoke", str(kid), "--store", PG.url, data=b.data, check=0)
            wait_for("A refuses the revoked key",
                     lambda: a.request("GET", "/v1/collections", headers=auth)[0] == 401)
            other = {"Authorization": f"Bearer {keep['key']}"}
            wait_for("A accepts the key created through B",
                     lambda: a.request("GET", "/v1/collections", headers=other)[0] == 200)
            # Leave the shared database without active keys for the other tests.
            ragd("keys", "revoke", str(keep["id"]), "--store", PG.url, data=cli, check=0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_job_of_a_killed_node_is_finished_by_another():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    os.environ["RAGD_JOB_LEASE_S"] = "2"  # inherited by the servers: a dead node's lease ends soon
    try:
        n = 600
        docs = [{"id": f"j/{i}.txt", "text": f"Job document {i} about harbour pilot number {i}."}
                for i in range(n)]
        a = node(tmp, "a", "--threads", "1")
        with a:
            assert a.request("POST", "/v1/collections", {"name": "jobs"})[0] in (200, 201)
            st, job, _ = a.request("POST", "/v1/collections/jobs/documents", {"documents": docs})
            assert st == 202, (st, job)
            jid = job["id"]
            # Kill A while its runner is part-way through the job.
            def started():
                st, j, _ = a.request("GET", f"/v1/jobs/{jid}")
                return j["progress"].get("done", 0) > 0 and j
            j = wait_for("A's runner starts the job", started, timeout=30)
            a.p.send_signal(signal.SIGKILL)
            a.p.wait()
        assert j["state"] == "running" and j["progress"]["done"] < n, j
        with node(tmp, "b") as b:
            def finished():
                st, j, _ = b.request("GET", f"/v1/jobs/{jid}")
                return st == 200 and j["state"] in ("completed", "failed") and j
            j = wait_for("B finishes A's job", finished, timeout=45)
            assert j["state"] == "completed", j
            assert j["progress"]["done"] == n, j
            wait_for("B holds every document of the job",
                     lambda: b.request("GET", "/v1/collections/jobs")[1].get("documents") == n)
    finally:
        del os.environ["RAGD_JOB_LEASE_S"]
        shutil.rmtree(tmp, ignore_errors=True)


QUERIES = ["When was the Greyhollow light first exhibited?", "how do I cycle an aquarium",
           "bicycle chain maintenance", "tea ceremony cups"]


def test_results_equal_sqlite():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        lite, cache, fresh = (os.path.join(tmp, n) for n in ("lite", "cache", "fresh"))
        ragd("ingest", DOCS, "--collection", "eq", "--no-progress", data=lite, check=0)
        ragd("ingest", DOCS, "--collection", "eq", "--no-progress", "--store", PG.url,
             data=cache, check=0)
        for q in QUERIES:
            want = ragd("search", q, "--collection", "eq", "--json", "--k", "10", data=lite,
                        check=0).json()["results"]
            # A cache built from the store alone (a new node) answers the same.
            got = ragd("search", q, "--collection", "eq", "--json", "--k", "10", "--store",
                       PG.url, data=fresh, check=0).json()["results"]
            assert [(r["doc_id"], r["text"]) for r in got] == \
                [(r["doc_id"], r["text"]) for r in want], (q, got, want)
            for g, w in zip(got, want):
                assert abs(g["score"] - w["score"]) < 1e-5, (q, g, w)
        dl = ragd("chunks", "greyhollow-lighthouse.md", "--collection", "eq", "--json",
                  data=lite, check=0).json()
        dp = ragd("chunks", "greyhollow-lighthouse.md", "--collection", "eq", "--json",
                  "--store", PG.url, data=fresh, check=0).json()
        strip = lambda j: [{k: v for k, v in c.items() if k not in ("id", "parent_id")}
                           for c in j["chunks"]]
        assert strip(dl) == strip(dp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_errors_are_values():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        r = ragd("search", "x", "--store", "mysql://localhost/x", data=os.path.join(tmp, "m"))
        assert r.code == 2 and "postgresql://" in r.err, (r.code, r.err)
        r = ragd("search", "x", "--store", "postgresql://nobody@/x?host=/nonexistent&port=1",
                 data=os.path.join(tmp, "n"))
        assert r.code == 1 and "cannot connect to the PostgreSQL store" in r.err, (r.code, r.err)
        # A data directory that is a SQLite store of record is not taken as a cache.
        lite = os.path.join(tmp, "lite")
        ragd("ingest", os.path.join(DOCS, "violin-care.txt"), "--no-progress", data=lite, check=0)
        r = ragd("search", "violin", "--store", PG.url, data=lite)
        assert r.code == 1 and "not a cache of a PostgreSQL store" in r.err, (r.code, r.err)
        r = ragd("search", "violin", data=lite, check=0)
        # The pool size and the shared log's URL are checked.
        for bad in ("0", "65", "abc"):
            r = ragd("serve", "--store-pool", bad, "--store", PG.url, data=os.path.join(tmp, "p"))
            assert r.code == 2 and "--store-pool" in r.err and bad in r.err, (bad, r.code, r.err)
        r = ragd("log", "--store", "mysql://localhost/x", data=os.path.join(tmp, "m"))
        assert r.code == 2 and "postgresql://" in r.err, (r.code, r.err)
        r = ragd("feedback", "1", "up", "--store", "postgresql://nobody@/x?host=/nonexistent&port=1",
                 data=os.path.join(tmp, "n"))
        assert r.code == 1 and "cannot connect to the PostgreSQL store" in r.err, (r.code, r.err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def psql(url, sql):
    r = subprocess.run([os.path.join(PG.bin, "psql"), url, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode().strip()


def test_schema_migrations():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        psql(PG.url, "CREATE DATABASE mig")
        url = PG.url.replace("/postgres?", "/mig?")
        ragd("ingest", os.path.join(DOCS, "violin-care.txt"), "--no-progress", "--store", url,
             data=os.path.join(tmp, "c1"), check=0)
        assert psql(url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM ragd_schema") == "1,2,3,4"
        # Turn it back into a version-1 store (no api_keys, jobs, call log): the next start
        # migrates it.
        psql(url, "DELETE FROM ragd_schema WHERE version > 1; DROP TABLE api_keys; DROP TABLE jobs;"
             " DROP TABLE answer_feedback; DROP TABLE answer_calls")
        ragd("keys", "create", "--scope", "read", "--store", url, data=os.path.join(tmp, "c2"),
             check=0)
        assert psql(url, "SELECT max(version) FROM ragd_schema") == "4"
        assert psql(url, "SELECT count(*) FROM api_keys") == "1"
        r = ragd("docs", "--json", "--store", url, data=os.path.join(tmp, "c3"), check=0)
        assert [d["id"] for d in r.json()["documents"]] == ["violin-care.txt"], r.out
        # A store newer than this binary is refused, and left alone.
        psql(url, "INSERT INTO ragd_schema VALUES (99)")
        r = ragd("docs", "--store", url, data=os.path.join(tmp, "c4"))
        assert r.code == 1 and "schema version 99, newer than this ragd" in r.err, (r.code, r.err)
        assert psql(url, "SELECT max(version) FROM ragd_schema") == "99"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sqlite_one(db, sql):
    import sqlite3
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = c.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        c.close()


def test_reindex_through_the_store_reaches_every_node():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        with node(tmp, "a") as a, node(tmp, "b") as b:
            assert a.request("POST", "/v1/collections", {"name": "rx"})[0] in (200, 201)
            docs = [{"id": f"rx/{i}.txt", "text": f"Reindex note {i} about lighthouse keeper {i}."}
                    for i in range(20)]
            for d in docs:
                assert a.request("POST", "/v1/collections/rx/documents", d)[0] == 200
            wait_for("B sees the documents",
                     lambda: "rx/7.txt" in search_ids(b, "rx", "lighthouse keeper 7"))
            bdb = os.path.join(b.data, "ragd.db")
            assert sqlite_one(bdb, "SELECT factory FROM index_state") == "IDMap,Flat"
            # Reindexed through a third cache (the CLI): the store's settings change.
            r = ragd("reindex", "--index", "HNSW32", "--collection", "rx", "--json", "--store",
                     PG.url, data=os.path.join(tmp, "cli"), check=0).json()
            assert r["index"] == "IDMap,HNSW32" and r["vectors"] == 20, r
            for n in (a, b):
                wait_for("the node's collection has the new factory",
                         lambda: n.request("GET", "/v1/collections/rx")[1]["settings"]
                         ["index_factory"] == "IDMap,HNSW32")
                # The next search rebuilds the node's FAISS index with it.
                assert "rx/3.txt" in search_ids(n, "rx", "lighthouse keeper 3")
                wait_for("the node's index is rebuilt with HNSW32",
                         lambda: sqlite_one(os.path.join(n.data, "ragd.db"),
                                            "SELECT factory FROM index_state") == "IDMap,HNSW32")
            # A factory FAISS rejects leaves the store unchanged.
            r = ragd("reindex", "--index", "Bogus99", "--collection", "rx", "--store", PG.url,
                     data=os.path.join(tmp, "cli"))
            assert r.code != 0 and "Bogus99" in r.err, (r.code, r.err)
            assert psql(PG.url, "SELECT settings::json->>'index_factory' FROM collections "
                        "WHERE name = 'rx'") == "IDMap,HNSW32"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def answer(srv, coll, q):
    st, a, _ = srv.request("POST", "/v1/answer", {"collection": coll, "query": q})
    assert st == 200 and a["call_id"], (st, a)
    return a


def test_call_log_shared_by_every_node():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    try:
        with node(tmp, "a", "--node", "node-a") as a, node(tmp, "b", "--node", "node-b") as b:
            assert a.request("POST", "/v1/collections", {"name": "logs"})[0] in (200, 201)
            d = {"id": "tide.md", "text": "The Vellmar tide tables are printed every spring."}
            assert a.request("POST", "/v1/collections/logs/documents", d)[0] == 200
            wait_for("B sees the document", lambda: "tide.md" in search_ids(b, "logs", "Vellmar tide"))
            ca = answer(a, "logs", "When are the Vellmar tide tables printed?")
            cb = answer(b, "logs", "What is printed every spring at Vellmar?")
            assert ca["call_id"] != cb["call_id"]
            # Feedback at B on the call answered at A (and unknown calls are 404 everywhere).
            st, f, _ = b.request("POST", "/v1/feedback", {"call_id": ca["call_id"], "rating": "up",
                                                         "comment": "right"})
            assert st == 201 and f["call_id"] == ca["call_id"], (st, f)
            st, f, _ = a.request("POST", "/v1/feedback", {"call_id": 987654321, "rating": "up"})
            assert st == 404 and f["error"]["field"] == "call_id", (st, f)
            # Both nodes' calls, from the CLI (no cache needed).
            log = ragd("log", "--json", "--store", PG.url, data=os.path.join(tmp, "x"),
                       check=0).json()
            by_id = {c["call_id"]: c for c in log["calls"]}
            assert by_id[ca["call_id"]]["node"] == "node-a", by_id
            assert by_id[cb["call_id"]]["node"] == "node-b", by_id
            assert by_id[ca["call_id"]]["request_id"] == ca["request_id"]
            fb = by_id[ca["call_id"]]["feedback"]
            assert [(x["rating"], x["comment"], x["node"]) for x in fb] == \
                [("up", "right", "node-b")], fb
            r = ragd("log", "--store", PG.url, data=os.path.join(tmp, "x"), check=0)
            assert r.out.split("\n")[0].split()[0] == "NODE" and "node-a" in r.out \
                and "node-b" in r.out, r.out
            r = ragd("feedback", str(cb["call_id"]), "down", "--store", PG.url,
                     data=os.path.join(tmp, "x"), check=0)
            assert f"call {cb['call_id']}" in r.out, r.out
            log = ragd("log", "--json", "--store", PG.url, data=os.path.join(tmp, "x"),
                       check=0).json()
            fb = [c for c in log["calls"] if c["call_id"] == cb["call_id"]][0]["feedback"]
            assert [x["rating"] for x in fb] == ["down"], fb
            r = ragd("feedback", "987654321", "up", "--store", PG.url, data=os.path.join(tmp, "x"))
            assert r.code == 1 and "no answer call" in r.err, (r.code, r.err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_concurrent_writes_through_one_node_share_a_bounded_pool():
    from concurrent.futures import ThreadPoolExecutor
    tmp = tempfile.mkdtemp(prefix="ragd-it-pg-")
    url = PG.url + "&application_name=ragd-pool-test"
    try:
        d = os.path.join(tmp, "a", "data")
        os.makedirs(d)
        with Server(d, "--store", url, "--store-pool", "2", "--threads", "4") as a:
            wait_for("A ready", lambda: ready(a))
            assert a.request("POST", "/v1/collections", {"name": "conc"})[0] in (200, 201)
            seed = {"id": "seed.md", "text": "Harbour pilots board ships at the Vellmar buoy."}
            assert a.request("POST", "/v1/collections/conc/documents", seed)[0] == 200
            conns = []

            def write(i):
                doc = {"id": f"c/{i}.txt", "text": f"Concurrent note {i} on pilot boat {i}."}
                return a.request("POST", "/v1/collections/conc/documents", doc)[0]

            def ask(i):
                st, body, _ = a.request("POST", "/v1/answer",
                                        {"collection": "conc", "query": f"Where do pilots board {i}?"})
                return st if body.get("call_id") else -st

            def sample(_):
                conns.append(int(psql(PG.url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                      "application_name = 'ragd-pool-test'")))
                return 200

            with ThreadPoolExecutor(6) as ex:
                jobs = [ex.submit(write, i) for i in range(16)] + \
                       [ex.submit(ask, i) for i in range(16)] + \
                       [ex.submit(sample, i) for i in range(8)]
                codes = [j.result() for j in jobs]
            assert codes == [200] * len(codes), codes
            # At most the pool's 2 connections plus the LISTEN one.
            assert max(conns) <= 3, conns
            pool = ready(a)["sync"]["pool"]
            assert pool["size"] == 2 and 1 <= pool["peak_open"] <= 2, pool
            assert psql(PG.url, "SELECT count(*) FROM documents d JOIN collections c ON "
                        "c.id = d.collection_id WHERE c.name = 'conc'") == "17"
            calls = ragd("log", "--json", "--limit", "1000", "--store", PG.url,
                         data=os.path.join(tmp, "x"), check=0).json()["calls"]
            assert sum(1 for c in calls if c["collection"] == "conc") == 16, calls
            # Connections the server ends are replaced: the next writes work.
            psql(PG.url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                 "application_name = 'ragd-pool-test'")
            time.sleep(0.2)
            assert write(100) == 200
            assert ask(100) == 200
            st, body, _ = a.request("GET", "/v1/collections/conc/documents/c/100.txt")
            assert st == 200, (st, body)
            assert ready(a)["sync"]["pool"]["replaced"] >= 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    PG = start_or_skip("it_pg")
    if not PG:
        sys.exit(SKIP)
    try:
        run_tests([test_two_nodes_write_anywhere_read_everywhere,
                   test_killed_node_catches_up_on_restart, test_results_equal_sqlite,
                   test_keys_shared_by_every_node, test_schema_migrations,
                   test_job_of_a_killed_node_is_finished_by_another,
                   test_errors_are_values,
                   test_reindex_through_the_store_reaches_every_node,
                   test_call_log_shared_by_every_node,
                   test_concurrent_writes_through_one_node_share_a_bounded_pool])
    finally:
        PG.stop()
