"""Integration tests of `ragd serve`: the real server on a random loopback
port, driven over HTTP with the standard library, against real SQLite and
FAISS. The CLI and the HTTP API must return the same objects."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time

from ragdtest import BIN, FIXTURES, TempDir, ragd, run_tests

DOCS = os.path.join(FIXTURES, "docs")
Q = "When was the Greyhollow light first exhibited?"


class Server:
    """`ragd serve --listen 127.0.0.1:0` on data; .port once it listens."""

    def __init__(self, data, *extra, env=None):
        self.data = data
        self.extra = list(extra)
        self.env = env  # the server's whole environment; None: inherit ours
        self.p = None

    def __enter__(self):
        # One process per Server: entering twice would start a second server
        # and leave the first one running after the test.
        assert self.p is None, "Server entered twice"
        ready = os.path.join(self.data, "..", f"ready-{os.getpid()}-{time.time_ns()}")
        self.log = open(os.path.join(self.data, "..", "serve.log"), "ab")
        self.p = subprocess.Popen([BIN, "serve", "--data", self.data, "--listen", "127.0.0.1:0",
                                   "--ready-file", ready] + self.extra,
                                  stdout=subprocess.DEVNULL, stderr=self.log, env=self.env)
        t0 = time.time()
        while not os.path.exists(ready) or not open(ready).read().strip():
            if self.p.poll() is not None:
                raise AssertionError(f"ragd serve exited {self.p.returncode}")
            if time.time() - t0 > 30:
                raise AssertionError("ragd serve did not start within 30 s")
            time.sleep(0.02)
        self.port = int(open(ready).read().strip().rsplit(":", 1)[1])
        os.unlink(ready)
        return self

    def __exit__(self, exc_type=None, *a):
        """Stop the server with SIGTERM and check that it exits 0, as
        documented (docs/http.md "Shutdown"): a crash or a hang at shutdown
        fails the test. A server the test itself SIGKILLed (-9) is fine; a
        test already failing keeps its own error."""
        hung = False
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                hung = True
                self.p.kill()
                self.p.wait()
        self.log.close()
        if exc_type is None:
            assert not hung, "ragd serve did not exit within 20 s of SIGTERM"
            assert self.p.returncode in (0, -signal.SIGKILL), \
                f"ragd serve exited {self.p.returncode} at shutdown; serve.log ends:\n" + self.log_tail()

    def log_tail(self, n=3000):
        """The last n bytes of serve.log (the temp dir is gone after the test)."""
        with open(self.log.name, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - n))
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, body=None, headers=None, raw=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        c.close()
        ctype = r.getheader("Content-Type", "")
        out = json.loads(payload) if ctype.startswith("application/json") else payload.decode()
        return r.status, out, r


def ingested(tmp):
    data = os.path.join(tmp, "d")
    ragd("ingest", DOCS, "--no-progress", data=data, check=0)
    return data


def without_timing(o):
    o = json.loads(json.dumps(o))
    o.pop("timing_ms", None)
    o.pop("call_id", None)  # each answer is its own row in the call log
    o.pop("request_id", None)
    o.pop("cache", None)  # a repeated search is a cache hit (it_cache.py)
    if isinstance(o.get("usage"), dict):
        o["usage"].pop("latency_ms", None)
        o["usage"].pop("cache", None)
        o["usage"].pop("timing_ms", None)
    return o


def assert_error(status, body, want_status, want_code, field=None):
    assert status == want_status, (status, body)
    assert set(body) == {"error"}, body
    e = body["error"]
    assert e["code"] == want_code, e
    assert isinstance(e["message"], str) and e["message"], e
    if field is not None:
        assert e["field"] == field, e


def test_health_ready_request_id():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        st, body, r = s.request("GET", "/healthz")
        assert st == 200 and body == {"status": "ok"}
        rid = r.getheader("X-Request-Id")
        assert rid, "a request id is generated"
        st, _, r2 = s.request("GET", "/healthz")
        assert r2.getheader("X-Request-Id") != rid, "ids differ per request"
        st, _, r = s.request("GET", "/healthz", headers={"X-Request-Id": "client-id.42"})
        assert r.getheader("X-Request-Id") == "client-id.42"
        st, _, r = s.request("GET", "/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
        assert r.getheader("X-Request-Id") != "bad id\twith spaces"
        st, body, _ = s.request("GET", "/readyz")
        assert st == 200 and body["ready"] is True, body
        assert body["collections"][0]["vectors"] > 0, body


def test_cli_and_http_give_the_same_objects():
    with TempDir() as tmp:
        data = ingested(tmp)
        cases = [
            ("search", {"query": Q}, []),
            ("search", {"query": Q, "k": 3, "mode": "lexical"}, ["--k", "3", "--mode", "lexical"]),
            ("search", {"query": "lighthouse keeper duties", "mode": "dense", "k": 5},
             ["--mode", "dense", "--k", "5"]),
            ("search", {"query": "quantum chromodynamics of neutron stars"}, []),
            ("search", {"query": Q, "mmr": 0.5, "w_dense": 0.5}, ["--mmr", "50", "--w-dense", "50"]),
            ("context", {"query": Q, "budget": 400}, ["--budget", "400"]),
            ("answer", {"query": Q}, []),
            ("answer", {"query": "quantum chromodynamics of neutron stars"}, []),
        ]
        cli = {}
        for i, (op, body, flags) in enumerate(cases):
            cli[i] = ragd(op, "--json", *flags, body["query"], data=data, check=0).json()
        with Server(data) as s:
            for i, (op, body, flags) in enumerate(cases):
                st, got, _ = s.request("POST", f"/v1/{op}", body)
                assert st == 200, (op, st, got)
                a, b = without_timing(cli[i]), without_timing(got)
                assert a == b, f"{op} {body}: CLI and HTTP differ\nCLI:  {json.dumps(a)[:800]}\nHTTP: {json.dumps(b)[:800]}"
            assert cli[3]["relevant"] is False and cli[0]["relevant"] is True


def test_error_classes():
    with TempDir() as tmp, Server(ingested(tmp), "--max-body", "16384") as s:
        st, b, _ = s.request("POST", "/v1/search", raw=b'{"query": ', headers={"Content-Type": "application/json"})
        assert_error(st, b, 400, "invalid_json")
        st, b, _ = s.request("POST", "/v1/search", raw=b'[1,2]', headers={"Content-Type": "application/json"})
        assert_error(st, b, 400, "invalid_request")
        st, b, _ = s.request("POST", "/v1/search", raw=b'{"query":"a","query":"b"}', headers={"Content-Type": "application/json"})
        assert_error(st, b, 400, "invalid_json")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "kk": 3})
        assert_error(st, b, 400, "invalid_request", "kk")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "k": "3"})
        assert_error(st, b, 400, "invalid_request", "k")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "k": 1001})
        assert_error(st, b, 422, "out_of_range", "k")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "k": 2.5})
        assert_error(st, b, 400, "invalid_request", "k")
        st, b, _ = s.request("POST", "/v1/search", {"k": 3})
        assert_error(st, b, 400, "invalid_request", "query")
        st, b, _ = s.request("POST", "/v1/search", {"query": "   "})
        assert_error(st, b, 422, "out_of_range", "query")
        st, b, _ = s.request("POST", "/v1/search", {"query": "x" * 5000})
        assert_error(st, b, 422, "out_of_range", "query")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "mode": "fuzzy"})
        assert_error(st, b, 422, "out_of_range", "mode")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "filter": {"lang": 3}})
        assert_error(st, b, 400, "invalid_request", "filter.lang")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "budget": 100})
        assert_error(st, b, 400, "invalid_request", "budget")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "collection": "nope"})
        assert_error(st, b, 404, "not_found", "collection")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "collection": "../etc"})
        assert_error(st, b, 400, "invalid_request", "collection")
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "rerank_depth": 5})
        assert_error(st, b, 400, "invalid_request", "rerank_depth")
        st, b, _ = s.request("POST", "/v1/search", raw=json.dumps({"query": Q}).encode(), headers={"Content-Type": "text/plain"})
        assert_error(st, b, 415, "unsupported_media_type")
        st, b, _ = s.request("POST", "/v1/search", raw=b"", headers={"Content-Type": "application/json"})
        assert_error(st, b, 400, "invalid_request")
        st, b, _ = s.request("POST", "/v1/search", {"query": "x" * 20000})
        assert_error(st, b, 413, "payload_too_large")
        st, b, _ = s.request("GET", "/v1/search")
        assert_error(st, b, 405, "method_not_allowed")
        st, b, _ = s.request("GET", "/v1/nothing")
        assert_error(st, b, 404, "not_found")
        st, b, _ = s.request("GET", "/v1/collections/default/documents/absent.md")
        assert_error(st, b, 404, "not_found", "id")
        # An oversized header is refused by the daemon (431 or a closed connection), never 500.
        try:
            st, b, _ = s.request("GET", "/healthz", headers={"X-Big": "a" * 200000})
            assert 400 <= st < 500, st
        except (ConnectionError, http.client.HTTPException):
            pass
        # The server is still healthy and nothing changed.
        st, b, _ = s.request("GET", "/v1/collections/default")
        assert st == 200 and b["documents"] == 38, b


def test_documents_and_collections():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        st, b, _ = s.request("POST", "/v1/collections", {"name": "notes", "chunk_tokens": 64})
        assert st == 201 and b["name"] == "notes" and b["settings"]["chunk_tokens"] == 64, (st, b)
        st, b, _ = s.request("POST", "/v1/collections", {"name": "notes"})
        assert_error(st, b, 409, "conflict", "name")
        st, b, _ = s.request("POST", "/v1/collections", {"name": "bad", "chunker": "magic"})
        assert_error(st, b, 422, "out_of_range", "chunker")
        st, b, _ = s.request("POST", "/v1/collections", {"name": "bad", "embedder": "openai"})
        assert_error(st, b, 400, "invalid_request", "embedder")
        doc = {"id": "ops/zebra.md", "format": "md", "metadata": {"team": "ops", "rev": 3},
               "text": "# Zebra crossings\n\nThe quagga migration route crosses the Okavango delta every November.\n"}
        st, b, _ = s.request("POST", "/v1/collections/notes/documents", doc)
        assert st == 200 and b["added"] == 1 and b["failed"] == 0, (st, b)
        st, b, _ = s.request("POST", "/v1/collections/notes/documents", doc)
        assert st == 200 and b["unchanged"] == 1, b
        st, b, _ = s.request("GET", "/v1/collections/notes/documents/ops/zebra.md")
        assert st == 200 and b["id"] == "ops/zebra.md" and b["metadata"]["team"] == "ops", b
        st, b, _ = s.request("POST", "/v1/search", {"collection": "notes", "query": "quagga migration Okavango"})
        assert st == 200 and b["relevant"] and b["results"][0]["doc_id"] == "ops/zebra.md", b
        st, b, _ = s.request("POST", "/v1/search", {"collection": "notes", "query": "quagga migration Okavango",
                                                    "filter": {"team": "dev"}})
        assert st == 200 and not b["results"], b
        batch = {"documents": [{"id": f"b{i}.txt", "title": f"Note {i}", "text": f"Batch note {i} about the aardvark colony {i}."} for i in range(5)]}
        st, b, _ = s.request("POST", "/v1/collections/notes/documents", batch)
        assert st == 200 and b["added"] == 5, b
        st, b, _ = s.request("POST", "/v1/collections/notes/documents", {"documents": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]})
        assert_error(st, b, 400, "invalid_request", "documents")
        st, b, _ = s.request("POST", "/v1/collections/notes/documents", {"documents": [{"id": "y", "text": "a", "colour": 1}]})
        assert_error(st, b, 400, "invalid_request", "documents[0].colour")
        st, b, _ = s.request("POST", "/v1/collections/notes/documents", {"documents": []})
        assert_error(st, b, 422, "out_of_range", "documents")
        st, b, _ = s.request("POST", "/v1/collections/absent/documents", doc)
        assert_error(st, b, 404, "not_found", "collection")
        st, b, _ = s.request("GET", "/v1/collections/notes/documents")
        assert st == 200 and len(b["documents"]) == 6, b
        seen, after = [], None
        while True:
            st, b, _ = s.request("GET", "/v1/collections/notes/documents?limit=4" + (f"&after={after}" if after else ""))
            assert st == 200, b
            seen += [d["id"] for d in b["documents"]]
            if not b["has_more"]:
                assert b["next_after"] is None
                break
            after = b["next_after"]
        assert seen == sorted(seen) and len(seen) == 6, seen
        st, b, _ = s.request("GET", "/v1/collections/notes/documents?limit=0")
        assert_error(st, b, 422, "out_of_range", "limit")
        st, b, _ = s.request("GET", "/v1/collections/notes/documents?limit=x")
        assert_error(st, b, 400, "invalid_request", "limit")
        st, b, _ = s.request("DELETE", "/v1/collections/notes/documents/ops/zebra.md")
        assert st == 200 and b["deleted"] is True, b
        st, b, _ = s.request("POST", "/v1/search", {"collection": "notes", "query": "quagga migration Okavango", "mode": "dense"})
        assert st == 200 and all(r["doc_id"] != "ops/zebra.md" for r in b["results"]), b
        st, b, _ = s.request("DELETE", "/v1/collections/notes/documents/ops/zebra.md")
        assert_error(st, b, 404, "not_found", "id")
        st, b, _ = s.request("GET", "/v1/collections")
        assert [c["name"] for c in b["collections"]] == ["default", "notes"], b
        st, b, _ = s.request("DELETE", "/v1/collections/notes")
        assert st == 200, b
        st, b, _ = s.request("GET", "/v1/collections/notes")
        assert_error(st, b, 404, "not_found", "collection")
        # The CLI sees what the server wrote.
        r = ragd("docs", "--json", data=s.data, check=0).json()
        assert len(r["documents"]) == 38


def test_answer_stream_is_sse():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        st, whole, _ = s.request("POST", "/v1/answer", {"query": Q})
        st, text, r = s.request("POST", "/v1/answer", {"query": Q, "stream": True})
        assert st == 200 and r.getheader("Content-Type").startswith("text/event-stream"), (st, text)
        events = [e for e in text.split("\n\n") if e.strip()]
        # The extractive answer has no tokens of its own: one token event with all of it.
        assert [e.split("\n")[0] for e in events] == ["event: token", "event: done"], events
        first = json.loads(events[0].split("data: ", 1)[1])
        done = json.loads(events[1].split("data: ", 1)[1])
        assert first["text"] == whole["answer"]
        assert done.pop("stream") == {"tokens": 1, "answer_replaced": False}, done
        assert without_timing(done) == without_timing(whole)
        st, b, _ = s.request("POST", "/v1/search", {"query": Q, "stream": True})
        assert_error(st, b, 400, "invalid_request", "stream")


def test_concurrent_searches_while_ingesting():
    with TempDir() as tmp:
        data = ingested(tmp)
        queries = [Q, "Who designed the lantern?", "fog signal", "keeper's logbook"]
        want = {q: without_timing(ragd("search", "--json", q, data=data, check=0).json()) for q in queries}
        with Server(data, "--threads", "4", "--rate-limit", "0") as s:
            s.request("POST", "/v1/collections", {"name": "bulk"})
            errors, done = [], []

            def client(i):
                for j in range(6):
                    q = queries[(i + j) % len(queries)]
                    st, b, _ = s.request("POST", "/v1/search", {"query": q})
                    if st != 200 or "results" not in b:
                        errors.append((st, b))
                done.append(i)

            def ingester():
                for n in range(3):
                    docs = {"documents": [{"id": f"n{n}-{i}.txt", "text": f"Bulk text {n} {i} on basalt columns and tides. " * 20} for i in range(40)]}
                    st, b, _ = s.request("POST", "/v1/collections/bulk/documents", docs, timeout=120)
                    if st != 200 or b.get("added") != 40:
                        errors.append(("ingest", st, b))

            ts = [threading.Thread(target=client, args=(i,)) for i in range(16)] + [threading.Thread(target=ingester)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(180)
            assert not errors, errors[:3]
            assert len(done) == 16
            # Afterwards HTTP and CLI agree again on the same store (scores may have moved
            # with corpus-wide BM25 statistics, so compare with a fresh CLI run).
            for q in queries:
                st, b, _ = s.request("POST", "/v1/search", {"query": q})
                now = ragd("search", "--json", q, data=data, check=0).json()
                assert without_timing(b) == without_timing(now), q
                assert b["relevant"] == want[q]["relevant"], q


def test_sigterm_finishes_requests_in_flight():
    with TempDir() as tmp:
        data = ingested(tmp)
        s = Server(data, "--threads", "2")
        s.__enter__()
        results = []

        def client():
            try:
                st, b, _ = s.request("POST", "/v1/answer", {"query": Q, "budget": 3000})
                results.append(st)
            except OSError as e:
                results.append(repr(e))

        ts = [threading.Thread(target=client) for _ in range(6)]
        for t in ts:
            t.start()
        time.sleep(0.05)
        s.p.send_signal(signal.SIGTERM)
        for t in ts:
            t.join(60)
        code = s.p.wait(30)
        s.__exit__()
        assert code == 0, code
        # Requests that reached the server finished; none got a 5xx.
        assert all(r == 200 or isinstance(r, str) for r in results), results
        assert results.count(200) >= 1, results


def test_sigterm_under_load_exits_0():
    """Regression: SIGTERM while every worker is busy aborted the server
    (libmicrohttpd 0.9.75 with epoll: "Failed to remove listen FD from epoll
    set", exit -6) in some stops, from MHD_quiesce_daemon; api/server.c now
    stops accepting through its accept policy instead (on_accept).
    The race is nanoseconds wide, so the test widens it: the server runs with
    tests/preload_slow_epoll_del.c preloaded (every EPOLL_CTL_DEL sleeps 0-2
    ms), which made 15 of 20 stops abort before the fix. Each round: 8
    keep-alive clients hammer /healthz on 4 workers, then SIGTERM; the server
    must exit 0 every time."""
    shim = os.environ.get("RAGD_PRELOAD_SLOW_EPOLL_DEL")
    assert shim and os.path.exists(shim), f"fault-injection library missing: {shim!r}"
    env = dict(os.environ)
    env["LD_PRELOAD"] = shim
    # An ASan build wants its runtime first among loaded libraries; the
    # preloaded one comes before it (and only wraps epoll_ctl).
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
    with TempDir() as tmp:
        data = ingested(tmp)
        for rnd in range(10):
            s = Server(data, "--threads", "4", env=env)
            s.__enter__()
            stop = threading.Event()
            served = [0] * 8

            def client(i):
                while not stop.is_set():
                    try:
                        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
                        while not stop.is_set():
                            c.request("GET", "/healthz")
                            c.getresponse().read()
                            served[i] += 1
                    except (OSError, http.client.HTTPException):
                        time.sleep(0.001)  # refused or closed once the server stops

            ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
            for t in ts:
                t.start()
            t0 = time.time()
            while sum(served) < 200 and time.time() - t0 < 20:
                time.sleep(0.01)
            s.p.send_signal(signal.SIGTERM)
            try:
                code = s.p.wait(30)
            finally:
                stop.set()
                for t in ts:
                    t.join(30)
            assert sum(served) >= 200, f"round {rnd}: only {sum(served)} requests served"
            assert code == 0, f"round {rnd}: ragd serve exited {code} on SIGTERM under load; " \
                f"serve.log ends:\n{s.log_tail(600)}"
            s.__exit__()


def test_sigterm_stops_accepting_while_draining():
    """After SIGTERM, while a request is still in flight, a new connection
    gets no reply (refused, or closed as soon as it is accepted), and the
    request in flight still finishes with its 200 (docs/http.md, "Shutdown")."""
    with TempDir() as tmp:
        s = Server(ingested(tmp), "--threads", "2")
        s.__enter__()
        body = json.dumps({"query": Q}).encode()
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        slow.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:5])
        time.sleep(0.5)  # the headers are in: the request is in flight
        s.p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert s.p.poll() is None, "the server did not wait for the request in flight"
        got = b""
        try:
            late = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            late.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            got = late.recv(100)
            late.close()
        except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
            pass
        assert got == b"", f"a connection made after SIGTERM was served: {got!r}"
        slow.sendall(body[5:])
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = slow.recv(4096)
            if not chunk:
                break
            reply += chunk
        slow.close()
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert s.p.wait(30) == 0
        s.__exit__()


def test_slow_client_does_not_hold_a_worker():
    with TempDir() as tmp, Server(ingested(tmp), "--threads", "1", "--timeout", "1") as s:
        slow = socket.create_connection(("127.0.0.1", s.port))
        slow.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        t0 = time.time()
        st, b, _ = s.request("POST", "/v1/search", {"query": Q}, timeout=10)
        assert st == 200 and time.time() - t0 < 5, (st, time.time() - t0)
        slow.settimeout(5)
        time.sleep(1.5)
        try:
            got = slow.recv(100)
        except (ConnectionResetError, socket.timeout):
            got = b""
        assert got == b"" or got.startswith(b"HTTP/1.1 4"), got
        slow.close()


def test_refuses_public_bind_and_bad_listen():
    with TempDir() as tmp:
        data = ingested(tmp)
        r = ragd("serve", "--listen", "0.0.0.0:0", data=data, timeout=20)
        assert r.code == 2 and "--insecure-no-auth" in r.err, (r.code, r.err)
        r = ragd("serve", "--listen", "nonsense", data=data, timeout=20)
        assert r.code == 2 and "HOST:PORT" in r.err, r.err


# The OpenAI-compatible routes (api/routes_openai.c, docs/compat.md).
OPENAI_ROUTES = {("GET", "/v1/files"), ("POST", "/v1/files"), ("GET", "/v1/files/{id}"),
                 ("DELETE", "/v1/files/{id}"), ("GET", "/v1/vector_stores"),
                 ("POST", "/v1/vector_stores"), ("GET", "/v1/vector_stores/{c}"),
                 ("DELETE", "/v1/vector_stores/{c}"), ("GET", "/v1/vector_stores/{c}/files"),
                 ("POST", "/v1/vector_stores/{c}/files"), ("GET", "/v1/vector_stores/{c}/files/{id}"),
                 ("DELETE", "/v1/vector_stores/{c}/files/{id}"),
                 ("POST", "/v1/vector_stores/{c}/search"), ("GET", "/v1/models"),
                 ("GET", "/v1/models/{id}"), ("POST", "/v1/chat/completions")}


def test_openapi_matches_the_routes_served():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        st, doc, _ = s.request("GET", "/openapi.json")
        assert st == 200 and doc["openapi"].startswith("3.1"), doc
        documented = set()
        for path, item in doc["paths"].items():
            for method in item:
                if method == "parameters":
                    continue
                documented.add((method.upper(), path))
                concrete = path.replace("{c}", "default").replace("{id}", "absent.md")
                body = {} if method in ("post",) else None
                st, b, _ = s.request(method.upper(), concrete, body)
                # Served: the route exists (a 404 must be about the named thing, never "no such route").
                assert st != 405, (method, path, b)
                if st == 404:
                    e = b["error"]  # ragd's shape names "field", OpenAI's (compat routes) "param"
                    assert e.get("field", e.get("param")) in ("collection", "id", "vector_store_id",
                                                              "file_id", "model"), (method, path, b)
        # Every route the server answers is documented: probe the API surface.
        served = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/openapi.json"),
                  ("GET", "/v1/collections"), ("POST", "/v1/collections"), ("GET", "/v1/collections/{c}"),
                  ("DELETE", "/v1/collections/{c}"), ("GET", "/v1/collections/{c}/documents"),
                  ("POST", "/v1/collections/{c}/documents"), ("GET", "/v1/collections/{c}/documents/{id}"),
                  ("DELETE", "/v1/collections/{c}/documents/{id}"), ("POST", "/v1/search"),
                  ("POST", "/v1/context"), ("POST", "/v1/answer"), ("GET", "/v1/jobs/{id}"),
                  ("POST", "/mcp"), ("DELETE", "/mcp"), ("GET", "/ui"), ("POST", "/v1/feedback")}
        served |= OPENAI_ROUTES
        assert served == documented, (served ^ documented)


def test_metrics_count_requests():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        for _ in range(3):
            s.request("POST", "/v1/search", {"query": Q})
        s.request("POST", "/v1/search", {"query": Q, "k": 0})
        st, text, _ = s.request("GET", "/metrics")
        assert st == 200
        assert 'ragd_http_requests_total{route="/v1/search",method="POST",status="200"} 3' in text, text[:2000]
        assert 'ragd_http_requests_total{route="/v1/search",method="POST",status="422"} 1' in text
        assert 'ragd_http_request_duration_seconds_count{route="/v1/search"} 4' in text
        assert 'ragd_search_stage_duration_seconds_count{stage="total"}' in text
        assert "ragd_index_vectors{" in text
        assert "ragd_http_open_connections" in text


def test_keys_and_scopes():
    with TempDir() as tmp:
        data = ingested(tmp)
        ragd("ingest", "--collection", "notes", os.path.join(DOCS, "greyhollow-lighthouse.md"), "--no-progress", data=data, check=0)

        def key(*args):
            r = ragd("keys", "create", "--json", *args, data=data, check=0).json()
            assert r["key"].startswith("ragd_") and len(r["key"]) == 45, r
            return r

        admin = key("--scope", "admin", "--name", "ops")
        reader = key("--scope", "read", "--collection", "default")
        writer = key("--scope", "write", "--collection", "notes")
        r = ragd("keys", "create", "--scope", "root", data=data)
        assert r.code == 1 and "scope" in r.err, (r.code, r.err)
        listed = ragd("keys", "list", "--json", data=data, check=0).json()["keys"]
        assert [k["scope"] for k in listed] == ["admin", "read", "write"], listed
        assert all("key" not in k and "key_hash" not in k for k in listed), listed
        raw = open(os.path.join(data, "ragd.db"), "rb").read()
        for k in (admin, reader, writer):
            assert k["key"].encode() not in raw, "a key is stored in the clear"

        def auth(k):
            return {"Authorization": "Bearer " + k["key"]}

        with Server(data) as s:
            st, b, r = s.request("POST", "/v1/search", {"query": Q})
            assert_error(st, b, 401, "unauthorized")
            assert r.getheader("WWW-Authenticate", "").startswith("Bearer"), r.getheaders()
            st, b, _ = s.request("POST", "/v1/search", {"query": Q}, headers={"Authorization": "Bearer ragd_" + "0" * 40})
            assert_error(st, b, 401, "unauthorized")
            st, b, _ = s.request("GET", "/healthz")
            assert st == 200
            st, b, _ = s.request("GET", "/metrics")
            assert_error(st, b, 401, "unauthorized")
            st, b, _ = s.request("GET", "/metrics", headers=auth(reader))
            assert_error(st, b, 403, "forbidden")
            st, _, _ = s.request("GET", "/metrics", headers=auth(admin))
            assert st == 200
            st, b, _ = s.request("POST", "/v1/search", {"query": Q}, headers=auth(reader))
            assert st == 200 and b["relevant"], b
            st, b, _ = s.request("POST", "/v1/search", {"query": Q, "collection": "notes"}, headers=auth(reader))
            assert_error(st, b, 403, "forbidden", "collection")
            st, b, _ = s.request("POST", "/v1/collections/default/documents", {"id": "x", "text": "y"}, headers=auth(reader))
            assert_error(st, b, 403, "forbidden")
            st, b, _ = s.request("POST", "/v1/collections/notes/documents", {"id": "x.txt", "text": "a note on tides"}, headers=auth(writer))
            assert st == 200 and b["added"] == 1, b
            st, b, _ = s.request("DELETE", "/v1/collections/default/documents/greyhollow-lighthouse.md", headers=auth(writer))
            assert_error(st, b, 403, "forbidden", "collection")
            st, b, _ = s.request("POST", "/v1/collections", {"name": "new"}, headers=auth(writer))
            assert_error(st, b, 403, "forbidden")
            st, b, _ = s.request("POST", "/v1/collections", {"name": "new"}, headers=auth(admin))
            assert st == 201, b
            st, b, _ = s.request("GET", "/v1/collections", headers=auth(reader))
            assert [c["name"] for c in b["collections"]] == ["default"], b
            st, b, _ = s.request("GET", "/v1/collections", headers=auth(admin))
            assert [c["name"] for c in b["collections"]] == ["default", "new", "notes"], b
            # Revocation from another process reaches the running server within a second.
            ragd("keys", "revoke", str(reader["id"]), data=data, check=0)
            time.sleep(1.2)
            st, b, _ = s.request("POST", "/v1/search", {"query": Q}, headers=auth(reader))
            assert_error(st, b, 401, "unauthorized")
            st, b, _ = s.request("POST", "/v1/search", {"query": Q}, headers=auth(admin))
            assert st == 200
        log = open(os.path.join(tmp, "serve.log"), "rb").read()
        for k in (admin, reader, writer):
            assert k["key"].encode() not in log, "a key reached the log"
        assert b"key_id=" in log


def test_rate_limit():
    with TempDir() as tmp, Server(ingested(tmp), "--rate-limit", "2", "--rate-burst", "3") as s:
        got = [s.request("POST", "/v1/search", {"query": Q})[0] for _ in range(4)]
        assert got[:3] == [200, 200, 200] and got[3] == 429, got
        st, b, r = s.request("POST", "/v1/search", {"query": Q})
        assert_error(st, b, 429, "rate_limited")
        retry = int(r.getheader("Retry-After"))
        assert 1 <= retry <= 2, retry
        time.sleep(retry + 0.1)
        st, _, _ = s.request("POST", "/v1/search", {"query": Q})
        assert st == 200


def wait_job(s, job_id, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        st, j, _ = s.request("GET", f"/v1/jobs/{job_id}")
        assert st == 200, (st, j)
        if j["state"] in ("completed", "failed"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {j}")


def big_batch(n, tag):
    return {"documents": [{"id": f"{tag}-{i:04d}.txt", "title": f"Record {i}",
                           "text": f"Record {i} of the {tag} ledger: the pier at station {i} was rebuilt in granite. " * 12}
                          for i in range(n)]}


def test_large_batch_runs_as_a_job():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        s.request("POST", "/v1/collections", {"name": "bulk"})
        st, j, _ = s.request("POST", "/v1/collections/bulk/documents", big_batch(100, "a"))
        assert st == 202 and j["object"] == "job" and j["state"] in ("queued", "running"), (st, j)
        done = wait_job(s, j["id"])
        assert done["state"] == "completed", done
        assert done["progress"]["done"] == 100 and done["result"]["added"] == 100, done
        st, b, _ = s.request("GET", "/v1/collections/bulk")
        assert b["documents"] == 100, b
        st, b, _ = s.request("POST", "/v1/search", {"collection": "bulk", "query": "pier at station 42 rebuilt"})
        assert st == 200 and b["relevant"], b
        st, b, _ = s.request("GET", "/v1/jobs/job_nope")
        assert_error(st, b, 404, "not_found", "id")
        st, text, _ = s.request("GET", "/metrics")
        assert 'ragd_jobs{state="completed"} 1' in text, text[-500:]
        # A bad document fails the request, not the job later.
        bad = big_batch(80, "c")
        bad["documents"][70]["format"] = "pdf"
        st, b, _ = s.request("POST", "/v1/collections/bulk/documents", bad)
        assert_error(st, b, 422, "out_of_range", "documents[70].format")


def test_job_survives_kill_and_restart():
    with TempDir() as tmp:
        data = ingested(tmp)
        s = Server(data)
        s.__enter__()
        s.request("POST", "/v1/collections", {"name": "bulk"})
        st, j, _ = s.request("POST", "/v1/collections/bulk/documents", big_batch(1000, "k"))
        assert st == 202, (st, j)
        t0 = time.time()
        while time.time() - t0 < 60:
            st, cur, _ = s.request("GET", f"/v1/jobs/{j['id']}")
            if cur["progress"].get("done", 0) >= 32:
                break
            time.sleep(0.02)
        assert cur["state"] == "running" and cur["progress"]["done"] < 1000, cur
        s.p.kill()
        s.p.wait()
        s.__exit__()
        with Server(data) as s2:
            done = wait_job(s2, j["id"], timeout=180)
            assert done["state"] == "completed", done
            st, b, _ = s2.request("GET", "/v1/collections/bulk")
            assert b["documents"] == 1000, b
        r = ragd("docs", "--json", "--collection", "bulk", data=data, check=0).json()
        ids = [d["id"] for d in r["documents"]]
        assert len(ids) == 1000 and len(set(ids)) == 1000
        assert not os.listdir(os.path.join(data, "jobs")), "the finished job's file is removed"


def test_server_sees_other_processes_writes():
    """A document ingested or removed by the CLI while the server runs is
    seen by the server's next dense search (its in-memory FAISS index is
    reloaded when the store changed), not only after a restart."""
    with TempDir() as tmp:
        data = ingested(tmp)
        q = {"query": "zircon marmalade orbital elevator tether", "mode": "dense", "k": 3}
        with Server(data) as s:
            st, before, _ = s.request("POST", "/v1/search", q)
            assert st == 200, before
            st, ready, _ = s.request("GET", "/readyz")
            n0 = ready["collections"][0]["vectors"]
            doc = os.path.join(tmp, "tether.md")
            with open(doc, "w") as f:
                f.write("# Zircon tether\n\nThe zircon marmalade orbital elevator tether is "
                        "spun from braided zircon fibre and climbs to a geostationary anchor.\n")
            ragd("ingest", doc, "--no-progress", data=data, check=0)
            st, after, _ = s.request("POST", "/v1/search", q)
            assert st == 200, after
            top = after["results"][0]
            assert "zircon" in top["text"].lower(), after
            assert not any("zircon" in r["text"].lower() for r in before.get("results", [])), before
            st, ready, _ = s.request("GET", "/readyz")
            assert ready["collections"][0]["vectors"] > n0, (n0, ready)
            ragd("rm", top["doc_id"], data=data, check=0)
            st, gone, _ = s.request("POST", "/v1/search", q)
            assert not any(r["doc_id"] == top["doc_id"] for r in gone["results"]), gone
            st, ready, _ = s.request("GET", "/readyz")
            assert ready["collections"][0]["vectors"] == n0, (n0, ready)


if __name__ == "__main__":
    run_tests([test_health_ready_request_id, test_cli_and_http_give_the_same_objects, test_error_classes,
               test_documents_and_collections, test_answer_stream_is_sse,
               test_concurrent_searches_while_ingesting, test_sigterm_finishes_requests_in_flight,
               test_sigterm_under_load_exits_0, test_sigterm_stops_accepting_while_draining,
               test_slow_client_does_not_hold_a_worker, test_refuses_public_bind_and_bad_listen,
               test_openapi_matches_the_routes_served, test_metrics_count_requests, test_keys_and_scopes,
               test_rate_limit, test_large_batch_runs_as_a_job, test_job_survives_kill_and_restart,
               test_server_sees_other_processes_writes])
