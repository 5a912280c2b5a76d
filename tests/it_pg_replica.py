"""Integration test of --store-read: a node whose index sync reads a real
streaming replica (docs/scaling.md "Read replicas").

The test starts a throwaway PostgreSQL primary and a hot standby streaming
from it (tests/pgcluster.py: pg_basebackup -R, Unix sockets, as `nobody`
when run as root). Node A writes to the primary; node B runs with
--store the primary and --store-read the standby: it must see A's document
(bounded wait), then not see it once deleted, and /readyz on B reports the
replica's sequence, the primary's and the lag. With replay paused on the
standby, B must not see a new document (so it really reads the replica) and
must report a lag; resumed, it catches up. When PostgreSQL cannot start,
the test says why and exits 77 (skipped, never passed)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from ragdtest import ragd, run_tests
from it_serve import Server
from pgcluster import SKIP, Cluster, search_ids, wait_for

PG = None


def readyz(srv):
    st, body, _ = srv.request("GET", "/readyz")
    return body


def test_follower_reads_the_replica():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pgr-")
    try:
        da, db = os.path.join(tmp, "a", "data"), os.path.join(tmp, "b", "data")
        os.makedirs(da)
        os.makedirs(db)
        with Server(da, "--store", PG.url) as a:
            # The schema exists on the primary (A migrated it); B needs it on the replica.
            assert a.request("POST", "/v1/collections", {"name": "rep"})[0] in (200, 201)
            wait_for("the standby replays the schema",
                     lambda: PG.standby_sql("SELECT count(*) FROM pg_tables WHERE tablename = "
                                            "'ragd_schema'") == "1")
            with Server(db, "--store", PG.url, "--store-read", PG.standby_url) as b:
                doc = {"id": "rep/tide.md", "text": "# Tides\n\nThe Orrinvale tide gauge reads "
                       "low at dawn."}
                assert a.request("POST", "/v1/collections/rep/documents", doc)[0] == 200
                wait_for("B (reading the replica) sees A's document",
                         lambda: "rep/tide.md" in search_ids(b, "rep", "Orrinvale tide gauge"))
                r = wait_for("B ready with no lag",
                             lambda: (lambda z: z.get("ready") and z["sync"].get("lag") == 0
                                      and z)(readyz(b)))
                s = r["sync"]
                assert s["read_replica"] is True and s["caught_up"] is True, r
                assert s["primary_seq"] == s["replica_seq"] == s["applied_seq"] >= 2, r
                c = [x for x in r["collections"] if x["name"] == "rep"][0]
                assert c["lag"] == 0 and c["store_seq"] == s["applied_seq"], r
                # Replay paused: A's next write reaches the primary, not the replica B reads.
                PG.standby_sql("SELECT pg_wal_replay_pause()")
                doc2 = {"id": "rep/gull.md", "text": "Herring gulls nest on the Orrinvale pier."}
                assert a.request("POST", "/v1/collections/rep/documents", doc2)[0] == 200
                r = wait_for("B reports its lag behind the primary",
                             lambda: (lambda z: z["sync"].get("lag", 0) >= 1 and z)(readyz(b)))
                assert r["sync"]["primary_seq"] > r["sync"]["replica_seq"], r
                assert "rep/gull.md" not in search_ids(b, "rep", "herring gulls pier")
                # A reads its own write at once (its syncs after writes read the primary).
                assert "rep/gull.md" in search_ids(a, "rep", "herring gulls pier")
                PG.standby_sql("SELECT pg_wal_replay_resume()")
                wait_for("B catches up once the replica replays",
                         lambda: "rep/gull.md" in search_ids(b, "rep", "herring gulls pier"))
                # Deleted through A (the primary): gone from B.
                st, body, _ = a.request("DELETE", "/v1/collections/rep/documents/rep/tide.md")
                assert st == 200, (st, body)
                wait_for("B no longer finds the deleted document",
                         lambda: "rep/tide.md" not in search_ids(b, "rep", "Orrinvale tide gauge"))
                wait_for("B's lag back to 0", lambda: readyz(b)["sync"].get("lag") == 0)
                # B's writes go to the primary (the replica is read-only).
                doc3 = {"id": "rep/b.md", "text": "Written through B to the primary store."}
                st, body, _ = b.request("POST", "/v1/collections/rep/documents", doc3)
                assert st == 200, (st, body)
                assert "rep/b.md" in search_ids(b, "rep", "written through B primary")
                wait_for("A sees B's write",
                         lambda: "rep/b.md" in search_ids(a, "rep", "written through B primary"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_store_read_errors_are_values():
    tmp = tempfile.mkdtemp(prefix="ragd-it-pgr-")
    try:
        r = ragd("serve", "--store", PG.url, "--store-read", "mysql://x/y",
                 data=os.path.join(tmp, "m"))
        assert r.code == 2 and "--store-read must be a postgresql://" in r.err, (r.code, r.err)
        r = ragd("serve", "--store-read", PG.standby_url, data=os.path.join(tmp, "n"))
        assert r.code == 2 and "--store-read needs --store" in r.err, (r.code, r.err)
        # Another database is not a replica of this store.
        subprocess.run([os.path.join(PG.bin, "psql"), PG.url, "-Atc", "CREATE DATABASE other"],
                       capture_output=True, timeout=30, check=True)
        other = PG.url.replace("/postgres?", "/other?")
        ragd("keys", "list", "--store", other, data=os.path.join(tmp, "o1"), check=0)  # a ragd store
        r = ragd("serve", "--store", PG.url, "--store-read", other, data=os.path.join(tmp, "o2"))
        assert r.code == 1 and "--store-read names another store" in r.err, (r.code, r.err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        PG = Cluster()
        PG.start()
        PG.start_standby()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"it_pg_replica: SKIPPED: cannot start a PostgreSQL primary and standby: {e}")
        if PG:
            PG.stop()
        sys.exit(SKIP)
    try:
        run_tests([test_follower_reads_the_replica, test_store_read_errors_are_values])
    finally:
        PG.stop()
