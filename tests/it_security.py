"""Security tests against the real `ragd serve` and `ragd` binary (issue 12).

- Every route of /openapi.json (so routes added later are covered without
  editing this file) refuses a missing, malformed, unknown and revoked key
  with 401, and a key of too low a scope or of another collection with 403;
  public routes are an explicit list. Routes this file does not know yet get
  the generic checks (401s; an admin key is never refused).
- Keys and provider secrets never appear in the server log, error bodies,
  /metrics or the request log lines.
- Collection names and document ids that try to leave the data directory or
  the FAISS snapshot folder (`../x`, `/abs`, NUL, very long) are refused or
  stored as plain keys: nothing is written outside the data directory.
- Oversized headers, bodies and query strings get a 4xx (or a closed
  connection), never a 5xx, and the server stays healthy.
- Invalid Unicode (overlong encodings, lone surrogates, stray bytes) in
  request bodies is a 400.
- Hostile names, ids, metadata keys and filters carrying SQL metacharacters
  are data: stored and matched literally, the database intact.
- FTS5 syntax in user queries (`"`, `*`, `NEAR(`, `OR`, `-`, `:`, `^`) never
  errors and never changes the query's meaning: a lexical search gives the
  results of the same query with those characters read as spaces.
Slow clients: tests/it_serve.py test_slow_client_does_not_hold_a_worker and
test_slow_clients_do_not_starve_workers below.
"""
import http.client
import json
import os
import socket
import subprocess
import time
from urllib.parse import quote

from it_serve import DOCS, Q, Server, assert_error, ingested
from ragdtest import BIN, TempDir, ragd, run_tests

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/openapi.json"), ("GET", "/ui")}
# The scope each known route needs (api/routes.c). A route missing here still
# gets the generic checks; add it to check its scope exactly.
SCOPES = {
    ("GET", "/metrics"): "admin",
    ("GET", "/v1/collections"): "read",
    ("POST", "/v1/collections"): "admin",
    ("GET", "/v1/collections/{c}"): "read",
    ("DELETE", "/v1/collections/{c}"): "admin",
    ("GET", "/v1/collections/{c}/documents"): "read",
    ("POST", "/v1/collections/{c}/documents"): "write",
    ("GET", "/v1/collections/{c}/documents/{id}"): "read",
    ("DELETE", "/v1/collections/{c}/documents/{id}"): "write",
    ("GET", "/v1/jobs/{id}"): "read",
    ("POST", "/v1/search"): "read",
    ("POST", "/v1/context"): "read",
    ("POST", "/v1/answer"): "read",
}
RANK = {"read": 0, "write": 1, "admin": 2}
DOC = "greyhollow-lighthouse.md"


def make_key(data, *args):
    return ragd("keys", "create", "--json", *args, data=data, check=0).json()


def bearer(k):
    return {"Authorization": "Bearer " + (k if isinstance(k, str) else k["key"])}


def fill(path, coll):
    return path.replace("{c}", coll).replace("{id}", DOC if "/documents/" in path else "job-none")


def body_for(method, path):
    if method != "POST":
        return None
    if path.endswith("/documents"):
        return {"id": "sec-probe.txt", "text": "a probe document about tides"}
    if path == "/v1/collections":
        return {"name": "sec-probe"}
    return {"query": Q}


def routes(s):
    st, doc, _ = s.request("GET", "/openapi.json")
    assert st == 200, st
    doc = json.loads(doc) if isinstance(doc, str) else doc
    out = []
    for path, ops in doc["paths"].items():
        for m in ops:
            if m.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                out.append((m.upper(), path))
    assert len(out) >= 16, out
    return out


def test_every_route_refuses_bad_keys():
    with TempDir() as tmp:
        data = ingested(tmp)
        ragd("ingest", "--collection", "other", os.path.join(DOCS, DOC), "--no-progress", data=data, check=0)
        keys = {sc: make_key(data, "--scope", sc) for sc in ("read", "write", "admin")}
        other = make_key(data, "--scope", "admin", "--collection", "other")
        revoked = make_key(data, "--scope", "admin")
        ragd("keys", "revoke", str(revoked["id"]), data=data, check=0)
        bad_headers = [
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer " + "ragd_" + "0" * 40},
            {"Authorization": "Basic " + keys["admin"]["key"]},
            {"Authorization": "Bearer " + keys["admin"]["key"][:-1]},
            {"Authorization": "Bearer " + keys["admin"]["key"] + "x"},
            {"Authorization": "bearer  " + "x" * 5000},
            bearer(revoked),
        ]
        with Server(data) as s:
            all_routes = routes(s)
            # Destructive routes last, on a collection made for them.
            all_routes.sort(key=lambda r: r[0] == "DELETE")
            for method, path in all_routes:
                if (method, path) in PUBLIC:
                    st, _, _ = s.request(method, path)
                    assert st == 200, (method, path, st)
                    continue
                coll = "victim" if (method, path) == ("DELETE", "/v1/collections/{c}") else "default"
                if coll == "victim":
                    st, b, _ = s.request("POST", "/v1/collections", {"name": "victim"}, headers=bearer(keys["admin"]))
                    assert st == 201, b
                url = fill(path, coll)
                for h in bad_headers:
                    st, b, r = s.request(method, url, body_for(method, path), headers=h)
                    assert_error(st, b, 401, "unauthorized")
                    assert r.getheader("WWW-Authenticate", "").startswith("Bearer"), (method, path)
                need = SCOPES.get((method, path))
                if need is not None:
                    for sc, k in keys.items():
                        if RANK[sc] < RANK[need]:
                            st, b, _ = s.request(method, url, body_for(method, path), headers=bearer(k))
                            assert_error(st, b, 403, "forbidden")
                # A key for another collection never reaches this one.
                if "{c}" in path or path in ("/v1/search", "/v1/context", "/v1/answer"):
                    st, b, _ = s.request(method, url, body_for(method, path), headers=bearer(other))
                    assert_error(st, b, 403, "forbidden")
                # The right key gets through (any status but 401/403/5xx).
                st, b, _ = s.request(method, url, body_for(method, path), headers=bearer(keys["admin"]))
                assert st not in (401, 403) and st < 500, (method, path, st, b)
                if need is not None:
                    k = keys[need]
                    if method == "DELETE":
                        continue
                    st, b, _ = s.request(method, url, body_for(method, path), headers=bearer(k))
                    assert st not in (401, 403) and st < 500, (method, path, need, st, b)
        log = open(os.path.join(tmp, "serve.log"), "rb").read()
        for k in list(keys.values()) + [other, revoked]:
            assert k["key"].encode() not in log, "a key reached the log"


def test_key_is_checked_before_the_body():
    """Without a valid key every protected route answers 401, whatever the
    body: malformed JSON, another content type, no body at all, an invalid
    form. (Before the fix the body was parsed first: 400 invalid_json.)
    With the admin key the same bodies are 4xx about the body, so the
    bodies really are bad."""
    bad_bodies = [
        (b'{"query": ', "application/json"),
        (b"\xff\xfe not json", "application/json"),
        (b'{"query": "a", "query": "b"}', "application/json"),
        (b"query=tides", "text/plain"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b"", "application/json"),
    ]
    with TempDir() as tmp:
        data = ingested(tmp)
        admin = make_key(data, "--scope", "admin")
        with Server(data) as s:
            posts = [(m, p) for m, p in routes(s) if m == "POST" and (m, p) not in PUBLIC]
            assert len(posts) >= 5, posts
            for method, path in posts:
                url = fill(path, "default")
                for raw, ctype in bad_bodies:
                    for h in ({}, {"Authorization": "Bearer ragd_" + "0" * 40}):
                        st, b, r = s.request(method, url, raw=raw, headers=dict(h, **{"Content-Type": ctype}))
                        assert st == 401, (method, path, raw, st, b)
                        assert r.getheader("WWW-Authenticate", "").startswith("Bearer"), (method, path)
                # The same bodies with a valid key: about the body, never 401/403/5xx.
                st, b, _ = s.request(method, url, raw=b'{"query": ', headers=dict(bearer(admin), **{"Content-Type": "application/json"}))
                assert 400 <= st < 500 and st not in (401, 403), (method, path, st, b)


def test_secrets_never_leak():
    """API keys and the provider key never appear in logs, error bodies,
    /metrics or the request log, even when the provider refuses the key and
    a client sends a wrong one."""
    secret = "sk-PROVIDER-SECRET-0123456789"
    mock = os.environ.get("RAGD_MOCK_SERVER")
    assert mock, "RAGD_MOCK_SERVER not set"
    with TempDir() as tmp:
        data = ingested(tmp)
        admin = make_key(data, "--scope", "admin")
        # The mock wants another key: every generation call fails with 401.
        m = subprocess.Popen([mock, "--key", "another-key"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            port = int(m.stdout.readline())
            p_out = []
            # The provider key reaches the server only, through its environment.
            server = Server(data, "--generator", "openai", "--generator-url", f"http://127.0.0.1:{port}/v1",
                            "--generator-model", "m", "--log-format", "json",
                            env=dict(os.environ, RAGD_PROVIDER_KEY=secret))
            with server as s:
                wrong = "ragd_" + "7" * 40
                for h in ({}, bearer(wrong), bearer(admin)):
                    for path, body in (("/v1/answer", {"query": Q}), ("/v1/search", {"query": Q}),
                                       ("/v1/collections", None), ("/v1/nope", None)):
                        st, b, r = s.request("POST" if body else "GET", path, body, headers=h)
                        p_out.append(json.dumps(b) if not isinstance(b, str) else b)
                        p_out.append(json.dumps(r.getheaders()))
                st, metrics, _ = s.request("GET", "/metrics", headers=bearer(admin))
                assert st == 200
                p_out.append(metrics)
                st, b, _ = s.request("POST", "/v1/answer", {"query": Q}, headers=bearer(admin))
                # The failed generation is reported (extractive fallback or a 503), without the key.
                assert st in (200, 503), (st, b)
            log = open(os.path.join(tmp, "serve.log"), "rb").read().decode("utf-8", "replace")
        finally:
            m.terminate()
            m.wait(10)
        everything = "\n".join(p_out) + log
        for needle in (secret, admin["key"], wrong, "another-key"):
            assert needle not in everything, f"{needle!r} leaked"
        assert "request" in log, log[:500]


def snapshot_tree(root):
    out = set()
    for dp, dn, fn in os.walk(root):
        for f in fn + dn:
            out.add(os.path.relpath(os.path.join(dp, f), root))
    return out


def test_names_and_ids_cannot_escape_the_data_dir():
    with TempDir() as tmp:
        data = ingested(tmp)
        before = snapshot_tree(tmp)
        hostile = ["../x", "../../x", "/abs", "/tmp/ragd-escape", "a/b", ".", "..", "a\\b", "x" * 5000,
                   "faiss/../../y", "-rf", " lead", "tab\tname"]
        for name in hostile:
            r = ragd("ingest", "--collection", name, os.path.join(DOCS, DOC), "--no-progress", data=data)
            assert r.code in (1, 2), (name, r.code, r.err)
            assert "collection" in r.err, (name, r.err)
            assert "Traceback" not in r.err and r.err.count("\n") < 5, r.err
        with Server(data) as s:
            for name in hostile + ["nul\u0000byte"]:
                st, b, _ = s.request("POST", "/v1/collections", {"name": name})
                assert st in (400, 422), (name, st, b)
            for raw in (b'{"name":"a\\u0000b"}', b'{"name":"\xc0\xae\xc0\xae/x"}'):
                st, b, _ = s.request("POST", "/v1/collections", raw=raw, headers={"Content-Type": "application/json"})
                assert st == 400, (raw, st, b)
            for path in ("/v1/collections/..%2F..%2Fetc/documents", "/v1/collections/%2Fabs",
                         "/v1/collections/../../etc/passwd", "/v1/collections/default/documents/..%2F..%2Fragd.db",
                         "/v1/collections/" + "x" * 3000):
                st, b, _ = s.request("GET", path)
                assert st in (400, 404, 414, 422), (path, st, b)
            # Document ids are keys, never paths: stored verbatim, no file made.
            ids = ["../../escape.txt", "/abs/path.txt", "faiss/../../z.md", "a" * 1000 + ".txt"]
            for i in ids:
                st, b, _ = s.request("POST", "/v1/collections/default/documents", {"id": i, "text": "tide tables " + i[:20]})
                assert st == 200 and b["added"] == 1, (i, st, b)
                st, b, _ = s.request("GET", "/v1/collections/default/documents/" + quote(i, safe=""))
                assert st == 200 and b["id"] == i, (i, st, b)
            st, b, _ = s.request("POST", "/v1/collections/default/documents", {"id": "x" * 100000, "text": "t"})
            assert 400 <= st < 500, st
            st, b, _ = s.request("POST", "/v1/search", {"query": "tide tables", "mode": "hybrid"})
            assert st == 200, b
        after = snapshot_tree(tmp)
        new = {p for p in after - before if not p.startswith("d" + os.sep) and p != "serve.log"}
        assert not new, f"written outside the data directory: {sorted(new)}"
        assert not os.path.exists("/tmp/ragd-escape") and not os.path.exists("/abs")
        faiss = sorted(os.listdir(os.path.join(data, "faiss")))
        assert all(f.endswith(".index") and "/" not in f for f in faiss), faiss


def raw_exchange(port, payload, timeout=10):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        c.sendall(payload)
        got = b""
        while True:
            try:
                part = c.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not part:
                break
            got += part
            if b"\r\n\r\n" in got:
                head = got.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
                cl = [l for l in head.split("\r\n") if l.startswith("content-length:")]
                if cl and len(got.split(b"\r\n\r\n", 1)[1]) >= int(cl[0].split(":")[1]):
                    break
        return got
    finally:
        c.close()


def status_of(reply):
    if not reply:
        return None
    return int(reply.split(b" ", 2)[1])


def test_oversized_requests_get_4xx():
    with TempDir() as tmp:
        data = ingested(tmp)
        with Server(data, "--max-body", "65536") as s:
            cases = {
                "header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n",
                "many headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n",
                "query string": b"GET /v1/collections?" + b"a=b&" * 50000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                "path": b"GET /v1/collections/" + b"x" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                "body": b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
                        + b'{"query":"' + b"a" * 199980 + b'"}',
                "declared body": b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}",
                "chunked body": b"POST /v1/search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + (b"ffff\r\n" + b"a" * 0xffff + b"\r\n") * 3 + b"0\r\n\r\n",
            }
            for name, payload in cases.items():
                st = status_of(raw_exchange(s.port, payload))
                assert st is None or 400 <= st < 500, (name, st)
            st, b, _ = s.request("POST", "/v1/search", {"query": "q" * 5000})
            assert st in (400, 422), (st, b)
            st, b, _ = s.request("POST", "/v1/search", {"query": Q, "k": 10 ** 30})
            assert st in (400, 422), (st, b)
            st, _, _ = s.request("GET", "/healthz")
            assert st == 200
            st, b, _ = s.request("POST", "/v1/search", {"query": Q})
            assert st == 200 and b["results"], b


def test_slow_clients_do_not_starve_workers():
    """More half-sent requests than worker threads: each is dropped after the
    connection timeout and a normal request is served meanwhile."""
    with TempDir() as tmp:
        data = ingested(tmp)
        with Server(data, "--threads", "2", "--timeout", "1") as s:
            slow = []
            for _ in range(8):
                c = socket.create_connection(("127.0.0.1", s.port))
                c.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"qu")
                slow.append(c)
            t0 = time.time()
            st, b, _ = s.request("POST", "/v1/search", {"query": Q}, timeout=15)
            assert st == 200 and time.time() - t0 < 8, (st, time.time() - t0)
            time.sleep(2.5)
            for c in slow:
                c.settimeout(5)
                try:
                    got = c.recv(100)
                except (ConnectionResetError, socket.timeout):
                    got = b""
                assert got == b"" or got.startswith(b"HTTP/1.1 4"), got
                c.close()


def test_invalid_unicode_is_rejected():
    with TempDir() as tmp:
        data = ingested(tmp)
        make_key(data, "--scope", "read")
        ok = {"Content-Type": "application/json"}
        bad = [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff", b"abc\xc3"]
        with Server(data) as s:
            for raw in bad:
                for path, tmpl in (("/v1/search", b'{"query":"cats %s"}'),
                                   ("/v1/collections/default/documents", b'{"id":"u.txt","text":"x %s"}'),
                                   ("/v1/collections/default/documents", b'{"id":"u%s.txt","text":"x"}'),
                                   ("/v1/search", b'{"query":"x","filter":{"k%s":"v"}}')):
                    st, b, _ = s.request("POST", path, raw=tmpl.replace(b"%s", raw), headers=ok)
                    # The body is parsed before the key is checked (api/server.c):
                    # 400 invalid_json, or 401; never 5xx, never accepted.
                    assert st in (400, 401), (path, raw, st, b)
            for esc in (b"\\ud800", b"\\udfff", b"\\ud800\\u0041", b"\\u0000"):
                st, b, _ = s.request("POST", "/v1/search", raw=b'{"query":"cats ' + esc + b'"}', headers=ok)
                assert st in (400, 401), (esc, st, b)
            # Invalid bytes in the URL path and the key header.
            st = status_of(raw_exchange(s.port, b"GET /v1/collections/\xc0\xaf HTTP/1.1\r\nHost: x\r\n\r\n"))
            assert st is None or 400 <= st < 500, st
            st = status_of(raw_exchange(s.port, b"GET /v1/collections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n"))
            assert st == 401, st
            st, _, _ = s.request("GET", "/healthz")
            assert st == 200
        # Without keys (no authentication) the same bodies reach validation: 400.
        ragd("keys", "revoke", "1", data=data, check=0)
        with Server(data) as s:
            for raw in bad:
                for path, tmpl in (("/v1/search", b'{"query":"cats %s"}'),
                                   ("/v1/collections/default/documents", b'{"id":"u.txt","text":"x %s"}'),
                                   ("/v1/collections/default/documents", b'{"id":"u%s.txt","text":"x"}'),
                                   ("/v1/search", b'{"query":"x","filter":{"k%s":"v"}}')):
                    st, b, _ = s.request("POST", path, raw=tmpl.replace(b"%s", raw), headers=ok)
                    assert st == 400 and b["error"]["code"] in ("invalid_json", "invalid_request"), (raw, st, b)
            for esc in (b"\\ud800", b"\\udfff", b"\\ud800\\u0041", b"\\u0000"):
                st, b, _ = s.request("POST", "/v1/search", raw=b'{"query":"cats ' + esc + b'"}', headers=ok)
                assert st == 400 and b["error"]["code"] in ("invalid_json", "invalid_request"), (esc, st, b)
            st = status_of(raw_exchange(s.port, b"GET /v1/collections/\xc0\xaf HTTP/1.1\r\nHost: x\r\n\r\n"))
            assert st is None or 400 <= st < 500, st
        for q in (b"cats \xed\xa0\x80", b"cats \xc0\xaf", b"\xff"):
            for cmd in ("search", "context", "answer"):
                r = subprocess.run([BIN.encode(), cmd.encode(), q, b"--data", data.encode()], capture_output=True, timeout=60)
                assert r.returncode == 1 and b"not valid UTF-8" in r.stderr, (cmd, q, r.returncode, r.stderr)


def test_sql_metacharacters_are_data():
    with TempDir() as tmp:
        data = os.path.join(tmp, "d")
        os.makedirs(data)
        nasty_ids = ["x'; DROP TABLE documents; --", 'q" OR "1"="1', "semi;colon", "%_wild*", "back\\slash"]
        meta_keys = ["k'ey", 'k"ey', "k;ey", "k%", "k_"]
        with Server(data) as s:
            st, b, _ = s.request("POST", "/v1/collections", {"name": "default"})
            assert st == 201, b
            for i, did in enumerate(nasty_ids):
                meta = {meta_keys[i]: "x", "topic": f"v'{i}\"; DELETE FROM chunks; --"}
                st, b, _ = s.request("POST", "/v1/collections/default/documents",
                                     {"id": did, "text": f"Tide table number {i} for the harbour.", "metadata": meta})
                assert st == 200 and b["added"] == 1, (did, st, b)
            st, b, _ = s.request("GET", "/v1/collections/default/documents")
            assert sorted(d["id"] for d in b["documents"]) == sorted(nasty_ids), b
            for i, did in enumerate(nasty_ids):
                st, b, _ = s.request("POST", "/v1/search", {"query": "tide table harbour", "mode": "lexical", "k": 10,
                                                            "filter": {"topic": f"v'{i}\"; DELETE FROM chunks; --"}})
                assert st == 200 and [r["doc_id"] for r in b["results"]] == [did], (did, b)
                st, b, _ = s.request("GET", "/v1/collections/default/documents/" + quote(did, safe=""))
                assert st == 200 and b["metadata"][meta_keys[i]] == "x", (did, b)
            # Values are compared literally (no LIKE wildcards, no SQL).
            for f in ({"topic": "' OR '1'='1"}, {"topic": "%"}, {"topic": "v_0%"}, {"topic": "*"}):
                st, b, _ = s.request("POST", "/v1/search", {"query": "tide", "mode": "lexical", "filter": f})
                assert st == 200 and b["results"] == [], (f, st, b)
            # Filter keys are names ([A-Za-z0-9_.-]{1,64}): others are a 400 naming the field.
            for k in meta_keys[:4] + ["' OR 1=1 --"]:
                st, b, _ = s.request("POST", "/v1/search", {"query": "tide", "filter": {k: "x"}})
                assert_error(st, b, 400, "invalid_request", "filter." + k)
            st, b, _ = s.request("DELETE", "/v1/collections/default/documents/" + quote(nasty_ids[0], safe=""))
            assert st == 200, (st, b)
            st, b, _ = s.request("GET", "/v1/collections/default/documents")
            assert len(b["documents"]) == len(nasty_ids) - 1, b
        r = subprocess.run(["sqlite3", os.path.join(data, "ragd.db"), "PRAGMA integrity_check; SELECT count(*) FROM documents;"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            assert r.stdout.split() == ["ok", str(len(nasty_ids) - 1)], r.stdout


def test_fts_syntax_in_queries_is_text():
    with TempDir() as tmp:
        data = ingested(tmp)
        with Server(data) as s:
            def ids(q, mode="lexical"):
                st, b, _ = s.request("POST", "/v1/search", {"query": q, "mode": mode, "k": 10})
                assert st == 200, (q, st, b)
                return [(r["chunk_id"], round(r["score"], 6)) for r in b["results"]]

            base = "Greyhollow light exhibited"
            want = ids(base)
            assert want, "the base query finds nothing"
            variants = ['"Greyhollow" light exhibited', 'Greyhollow* light exhibited', 'NEAR(Greyhollow light) exhibited',
                        'Greyhollow -light exhibited', 'Greyhollow light:exhibited', '^Greyhollow light exhibited',
                        'Greyhollow "light exhibited', '(Greyhollow) {light} exhibited', 'Greyhollow + light exhibited']
            for v in variants:
                plain = v.translate(str.maketrans('"*():^{}+-', " " * 10))
                assert ids(v) == ids(plain), (v, ids(v), ids(plain))
            # Operators as words are words (stop words or terms), never operators.
            assert ids("Greyhollow OR light exhibited") == ids("Greyhollow or light exhibited")
            assert ids("Greyhollow AND light NOT exhibited") == ids("Greyhollow and light not exhibited")
            for q in ['"', '*', 'NEAR(', 'OR', '-', ':', '^', '""', 'NEAR(a b, 2)', 'a OR', 'AND NOT',
                      'col:value', '"unterminated phrase', "'", "a'b", "-- comment", "chunks_fts MATCH 'x'"]:
                for mode in ("lexical", "hybrid"):
                    st, b, _ = s.request("POST", "/v1/search", {"query": q, "mode": mode})
                    assert st == 200, (q, mode, st, b)


if __name__ == "__main__":
    run_tests([test_every_route_refuses_bad_keys, test_key_is_checked_before_the_body, test_secrets_never_leak, test_names_and_ids_cannot_escape_the_data_dir,
               test_oversized_requests_get_4xx, test_slow_clients_do_not_starve_workers, test_invalid_unicode_is_rejected,
               test_sql_metacharacters_are_data, test_fts_syntax_in_queries_is_text])
