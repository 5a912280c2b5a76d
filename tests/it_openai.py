"""Integration tests of the OpenAI-compatible API at the HTTP level (the
real `ragd serve`, real SQLite and FAISS): multipart uploads to
/v1/collections/{c}/documents (same report as the JSON body; malformed,
boundary-less and over-limit bodies), files, vector stores, attaching
files (completed, unsupported_file, invalid_file), cursor paging, search
filters (typed; bad filters are 400 in OpenAI's error shape), relevance
validation, models, chat completions (streaming equals non-streaming;
follow-up questions; a generation model behind it), auth and scopes.
The official openai npm client is driven by tests/js/openai.test.mjs
(it_openai_js.py)."""
import http.client
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from it_serve import Server, assert_error  # noqa: E402
from ragdtest import FIXTURES, TempDir, ragd, run_tests  # noqa: E402

LIGHT = ("# Greyhollow keeper's log\n\nThe Greyhollow light was first exhibited in 1871 by "
         "keeper Ada Wren. Its lamp burned colza oil until 1902.\n")
FERRY = ("# Night ferry timetable\n\nThe night ferry to Saltmere leaves at 23:40 and the "
         "crossing takes ninety minutes.\n")
Q = "When was the Greyhollow light first exhibited?"


def fresh(tmp):
    """A data directory whose "default" collection holds one small note."""
    data = os.path.join(tmp, "d")
    seed = os.path.join(tmp, "seed.md")
    with open(seed, "w") as f:
        f.write("# Seed\n\nA short note about garden peas.\n")
    ragd("ingest", seed, "--no-progress", data=data, check=0)
    return data


def multipart(fields, files, boundary=None):
    """fields: {name: value}; files: [(field, filename, bytes, ctype)]."""
    b = boundary or "ragd-" + uuid.uuid4().hex
    out = bytearray()
    for k, v in fields.items():
        out += f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
    for field, name, data, ctype in files:
        out += (f"--{b}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{b}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={b}"


def post_form(s, path, fields, files, headers=None, boundary=None):
    body, ct = multipart(fields, files, boundary)
    h = {"Content-Type": ct}
    h.update(headers or {})
    return s.request("POST", path, raw=body, headers=h)


def openai_error(status, body, want_status, param=None, typ=None):
    assert status == want_status, (status, body)
    assert set(body) == {"error"}, body
    e = body["error"]
    assert set(e) == {"message", "type", "param", "code"}, e
    assert e["message"], e
    if param is not None:
        assert e["param"] == param, e
    if typ is not None:
        assert e["type"] == typ, e
    return e


def wait_file(s, vs, fid, h=None):
    t0 = time.time()
    while True:
        st, o, _ = s.request("GET", f"/v1/vector_stores/{vs}/files/{fid}", headers=h)
        assert st == 200, (st, o)
        if o["status"] != "in_progress":
            return o
        assert time.time() - t0 < 30, o
        time.sleep(0.05)


def upload(s, name, data, ctype="text/markdown", h=None):
    st, f, _ = post_form(s, "/v1/files", {"purpose": "assistants"}, [("file", name, data, ctype)], h)
    assert st == 200, (st, f)
    return f


def store_with(s, docs, h=None, **create):
    st, vs, _ = s.request("POST", "/v1/vector_stores", dict({"name": "t"}, **create), headers=h)
    assert st == 200, (st, vs)
    ids = []
    for name, data, attrs in docs:
        f = upload(s, name, data, h=h)
        st, o, _ = s.request("POST", f"/v1/vector_stores/{vs['id']}/files",
                             {"file_id": f["id"], "attributes": attrs}, headers=h)
        assert st == 200, (st, o)
        assert wait_file(s, vs["id"], f["id"], h)["status"] == "completed"
        ids.append(f["id"])
    return vs["id"], ids


def test_multipart_documents_same_as_json():
    with TempDir() as tmp:
        with Server(fresh(tmp)) as s:
            for c in ("a", "b"):
                assert s.request("POST", "/v1/collections", {"name": c})[0] == 201
            st, rj, _ = s.request("POST", "/v1/collections/a/documents",
                                  {"id": "light.md", "text": LIGHT, "metadata": {"year": 1871}})
            assert st == 200, rj
            st, rm, _ = post_form(s, "/v1/collections/b/documents", {"metadata": '{"year": 1871}'},
                                  [("file", "light.md", LIGHT.encode(), "text/markdown")])
            assert st == 200, rm
            for k in ("added", "updated", "unchanged", "failed", "chunks", "bytes"):
                assert rj[k] == rm[k], (k, rj, rm)
            _, da, _ = s.request("GET", "/v1/collections/a/documents/light.md")
            _, db, _ = s.request("GET", "/v1/collections/b/documents/light.md")
            for k in ("title", "text", "metadata", "format", "content_hash"):
                assert da[k] == db[k], (k, da[k], db[k])
            # Several files at once, and a PDF (not accepted inline as JSON).
            pdf = open(os.path.join(FIXTURES, "pdf", "ferry-notice.pdf"), "rb").read()
            st, r, _ = post_form(s, "/v1/collections/b/documents", {},
                                 [("file", "ferry.md", FERRY.encode(), "text/markdown"),
                                  ("file", "notice.pdf", pdf, "application/pdf")])
            assert st == 200 and r["added"] == 2 and r["failed"] == 0, r
            _, d, _ = s.request("GET", "/v1/collections/b/documents/notice.pdf")
            assert d["format"] == "pdf" and d["text"].strip(), d
            # A bad file among them: 207 with the error listed, the rest stored.
            st, r, _ = post_form(s, "/v1/collections/b/documents", {},
                                 [("file", "ok.txt", b"plain words here", "text/plain"),
                                  ("file", "bad.txt", b"\xff\xfe bad", "text/plain")])
            assert st == 207 and r["added"] == 1 and r["failed"] == 1, (st, r)


def test_multipart_malformed_and_limits():
    with TempDir() as tmp:
        with Server(fresh(tmp), "--max-body", "65536") as s:
            assert s.request("POST", "/v1/collections", {"name": "a"})[0] == 201
            p = "/v1/collections/a/documents"
            st, b, _ = s.request("POST", p, raw=b"--x\r\n\r\n", headers={"Content-Type": "multipart/form-data"})
            assert_error(st, b, 400, "invalid_multipart")
            assert "boundary" in b["error"]["message"], b
            body, ct = multipart({}, [("file", "a.md", b"hello", "text/markdown")])
            st, b, _ = s.request("POST", p, raw=body[:-8], headers={"Content-Type": ct})
            assert_error(st, b, 400, "invalid_multipart")
            assert "closing delimiter" in b["error"]["message"], b
            st, b, _ = s.request("POST", p, raw=b"--zz\r\nX: y\r\n\r\nq\r\n--zz--\r\n",
                                 headers={"Content-Type": "multipart/form-data; boundary=zz"})
            assert_error(st, b, 400, "invalid_multipart")
            st, b, _ = post_form(s, p, {"note": "no file"}, [])
            assert_error(st, b, 400, "invalid_request", "note")
            st, b, _ = post_form(s, p, {"metadata": "[1]"}, [("file", "a.md", b"hi", "text/plain")])
            assert_error(st, b, 400, "invalid_request", "metadata")
            st, b, _ = post_form(s, p, {"metadata": '{"a": {"b": 1}}'}, [("file", "a.md", b"hi", "text/plain")])
            assert_error(st, b, 400, "invalid_request", "metadata")
            st, b, _ = post_form(s, p, {"id": "one"}, [("file", "a.md", b"hi", "text/plain"),
                                                     ("file", "b.md", b"ho", "text/plain")])
            assert_error(st, b, 400, "invalid_request", "id")
            st, b, _ = post_form(s, p, {}, [("file", "a.docx", b"PK\x03\x04\x00\x00binary", "application/zip")])
            assert st == 207 and b["failed"] == 1, (st, b)
            st, b, _ = post_form(s, p, {}, [("file", "big.txt", b"word " * 20000, "text/plain")])
            assert_error(st, b, 413, "payload_too_large")
            st, b, _ = s.request("POST", p, raw=b"x", headers={"Content-Type": "text/plain"})
            assert_error(st, b, 415, "unsupported_media_type")
            st, b, _ = s.request("GET", "/v1/collections/a/documents")
            assert b["documents"] == [], b
            # The server is fine afterwards.
            st, b, _ = post_form(s, p, {"id": "x"}, [("file", "a.md", b"# A\n\nhello there", "text/markdown")])
            assert st == 200 and b["added"] == 1, b


def test_files_crud_and_errors():
    with TempDir() as tmp, Server(fresh(tmp), "--max-body", "65536") as s:
        f = upload(s, "light.md", LIGHT.encode())
        assert f["object"] == "file" and f["id"].startswith("file-") and f["bytes"] == len(LIGHT.encode())
        assert f["filename"] == "light.md" and f["purpose"] == "assistants" and f["status"] == "processed"
        g = upload(s, "ferry.md", FERRY.encode())
        st, one, _ = s.request("GET", f"/v1/files/{f['id']}")
        assert st == 200 and one == f, one
        st, lst, _ = s.request("GET", "/v1/files")
        assert lst["object"] == "list" and [x["id"] for x in lst["data"]] == [g["id"], f["id"]], lst
        st, lst, _ = s.request("GET", "/v1/files?limit=1&order=asc")
        assert [x["id"] for x in lst["data"]] == [f["id"]] and lst["has_more"] is True, lst
        st, lst, _ = s.request("GET", f"/v1/files?limit=1&order=asc&after={f['id']}")
        assert [x["id"] for x in lst["data"]] == [g["id"]] and lst["has_more"] is False, lst
        st, b, _ = s.request("GET", "/v1/files?limit=zero")
        openai_error(st, b, 400, "limit", "invalid_request_error")
        st, b, _ = post_form(s, "/v1/files", {"purpose": "nonsense"}, [("file", "a.md", b"x", "text/plain")])
        openai_error(st, b, 400, "purpose")
        st, b, _ = post_form(s, "/v1/files", {"purpose": "assistants"}, [])
        openai_error(st, b, 400, "file")
        st, b, _ = s.request("POST", "/v1/files", {"purpose": "assistants"})
        openai_error(st, b, 400)
        st, b, _ = post_form(s, "/v1/files", {"purpose": "assistants"}, [("file", "big.txt", b"w" * 70000, "text/plain")])
        openai_error(st, b, 413)
        st, b, _ = s.request("GET", "/v1/files/file-nope")
        openai_error(st, b, 404, "file_id")
        st, d, _ = s.request("DELETE", f"/v1/files/{f['id']}")
        assert st == 200 and d == {"id": f["id"], "object": "file", "deleted": True}, d
        st, b, _ = s.request("GET", f"/v1/files/{f['id']}")
        openai_error(st, b, 404)
        assert not os.path.exists(os.path.join(tmp, "d", "files", f["id"]))
        assert os.path.exists(os.path.join(tmp, "d", "files", g["id"]))
        s.__exit__()
        # Files are durable across a restart.
        with Server(os.path.join(tmp, "d")) as s2:
            st, one, _ = s2.request("GET", f"/v1/files/{g['id']}")
            assert st == 200 and one == g, one


def test_vector_store_lifecycle_and_paging():
    with TempDir() as tmp, Server(fresh(tmp)) as s:
        st, vs, _ = s.request("POST", "/v1/vector_stores", {
            "name": "manuals", "metadata": {"team": "ops"},
            "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200,
                                                               "chunk_overlap_tokens": 20}}})
        assert st == 200, vs
        assert vs["object"] == "vector_store" and vs["name"] == "manuals" and vs["metadata"] == {"team": "ops"}
        assert vs["file_counts"] == {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}
        vid = vs["id"]
        st, c, _ = s.request("GET", f"/v1/collections/{vid}")
        assert c["settings"]["chunker"] == "fixed" and c["settings"]["chunk_tokens"] == 200, c
        assert c["settings"]["overlap"] == 20, c
        fids = [upload(s, f"n{i}.md", f"# Note {i}\n\nThe harbour note number {i} says hello.\n".encode())["id"]
                for i in range(5)]
        for i, fid in enumerate(fids):
            st, o, _ = s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": fid, "attributes": {"i": i}})
            assert st == 200 and o["object"] == "vector_store.file" and o["vector_store_id"] == vid, o
        for fid in fids:
            o = wait_file(s, vid, fid)
            assert o["status"] == "completed" and o["last_error"] is None and o["usage_bytes"] > 0, o
            assert o["chunking_strategy"]["static"]["max_chunk_size_tokens"] == 200, o
        # Cursor paging: newest first by default; limit / after / has_more.
        seen, after = [], None
        while True:
            q = "/v1/vector_stores/%s/files?limit=2" % vid + (f"&after={after}" if after else "")
            st, page, _ = s.request("GET", q)
            assert st == 200 and page["object"] == "list" and len(page["data"]) <= 2, page
            seen += [x["id"] for x in page["data"]]
            if not page["has_more"]:
                break
            after = page["last_id"]
        assert seen == fids[::-1], (seen, fids)
        st, page, _ = s.request("GET", f"/v1/vector_stores/{vid}/files?order=asc&limit=100")
        assert [x["id"] for x in page["data"]] == fids and page["has_more"] is False
        st, page, _ = s.request("GET", f"/v1/vector_stores/{vid}/files?filter=failed")
        assert page["data"] == [], page
        st, b, _ = s.request("GET", f"/v1/vector_stores/{vid}/files?limit=101")
        openai_error(st, b, 422, "limit")
        st, b, _ = s.request("GET", f"/v1/vector_stores/{vid}/files?order=sideways")
        openai_error(st, b, 400, "order")
        st, g, _ = s.request("GET", f"/v1/vector_stores/{vid}")
        assert g["file_counts"]["completed"] == 5 and g["file_counts"]["total"] == 5 and g["usage_bytes"] > 0, g
        # Failed ingests: an unsupported file and an invalid one.
        bad = upload(s, "tool.bin", bytes(range(256)) * 4, "application/octet-stream")
        st, o, _ = s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": bad["id"]})
        o = wait_file(s, vid, bad["id"])
        assert o["status"] == "failed" and o["last_error"]["code"] == "unsupported_file", o
        trunc = open(os.path.join(FIXTURES, "bad", "truncated.pdf"), "rb").read()
        badpdf = upload(s, "broken.pdf", trunc, "application/pdf")
        s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": badpdf["id"]})
        o = wait_file(s, vid, badpdf["id"])
        assert o["status"] == "failed" and o["last_error"]["code"] == "invalid_file", o
        assert o["last_error"]["message"], o
        st, page, _ = s.request("GET", f"/v1/vector_stores/{vid}/files?filter=failed")
        assert sorted(x["id"] for x in page["data"]) == sorted([bad["id"], badpdf["id"]]), page
        # Attach errors.
        st, b, _ = s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": "file-nope"})
        openai_error(st, b, 404, "file_id")
        st, b, _ = s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": fids[0], "attributes": {"x": [1]}})
        openai_error(st, b, 400, "attributes")
        st, b, _ = s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": fids[0], "colour": 1})
        openai_error(st, b, 400, "colour")
        st, b, _ = s.request("POST", "/v1/vector_stores/vs_nope/files", {"file_id": fids[0]})
        openai_error(st, b, 404)
        st, b, _ = s.request("POST", "/v1/vector_stores", {"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 50}}})
        openai_error(st, b, 400, "chunking_strategy.static.max_chunk_size_tokens")
        st, b, _ = s.request("POST", "/v1/vector_stores", {"metadata": {"k": 1}})
        openai_error(st, b, 400, "metadata")
        st, b, _ = s.request("POST", "/v1/vector_stores", {"file_ids": ["file-nope"]})
        openai_error(st, b, 404, "file_id")
        # file_ids at creation attach those files.
        st, vs2, _ = s.request("POST", "/v1/vector_stores", {"name": "two", "file_ids": fids[:2]})
        assert st == 200 and vs2["file_counts"]["total"] == 2, vs2
        for fid in fids[:2]:
            assert wait_file(s, vs2["id"], fid)["status"] == "completed"
        # Detach one: its document leaves the store.
        st, d, _ = s.request("DELETE", f"/v1/vector_stores/{vid}/files/{fids[0]}")
        assert st == 200 and d == {"id": fids[0], "object": "vector_store.file.deleted", "deleted": True}, d
        st, b, _ = s.request("GET", f"/v1/collections/{vid}/documents/{fids[0]}")
        assert st == 404, b
        # Lists and delete.
        st, lst, _ = s.request("GET", "/v1/vector_stores")
        assert vid in [x["id"] for x in lst["data"]], lst
        st, d, _ = s.request("DELETE", f"/v1/vector_stores/{vid}")
        assert st == 200 and d == {"id": vid, "object": "vector_store.deleted", "deleted": True}, d
        st, b, _ = s.request("GET", f"/v1/vector_stores/{vid}")
        openai_error(st, b, 404, "vector_store_id", "invalid_request_error")


def test_search_filters_and_validation():
    with TempDir() as tmp, Server(fresh(tmp)) as s:
        vid, (light, ferry) = store_with(s, [
            ("light.md", LIGHT.encode(), {"year": 1871, "kind": "log", "ok": True}),
            ("ferry.md", FERRY.encode(), {"year": 2024, "kind": "timetable"})])
        p = f"/v1/vector_stores/{vid}/search"
        st, r, _ = s.request("POST", p, {"query": Q})
        assert st == 200 and r["object"] == "vector_store.search_results.page", r
        assert r["search_query"] == [Q] and r["has_more"] is False and r["next_page"] is None, r
        assert r["data"] and r["data"][0]["file_id"] == light, r
        top = r["data"][0]
        assert top["filename"] == "light.md" and top["attributes"] == {"year": 1871, "kind": "log", "ok": True}
        assert top["content"][0]["type"] == "text" and "1871" in top["content"][0]["text"], top
        assert r["ragd"]["relevant"] is True, r
        # A filter that keeps it, one that excludes it: typed numbers.
        keep = {"type": "lt", "key": "year", "value": 1900}
        st, r, _ = s.request("POST", p, {"query": Q, "filters": keep})
        assert [d["file_id"] for d in r["data"]] == [light], r
        drop = {"type": "gt", "key": "year", "value": 1900}
        st, r, _ = s.request("POST", p, {"query": Q, "filters": drop})
        assert st == 200 and light not in [d["file_id"] for d in r["data"]], r
        st, r, _ = s.request("POST", p, {"query": Q, "filters": {"type": "eq", "key": "year", "value": "1871"}})
        assert r["data"] == [], r  # a string never equals a number
        comp = {"type": "and", "filters": [{"type": "in", "key": "kind", "value": ["log", "memo"]},
                                           {"type": "eq", "key": "ok", "value": True}]}
        st, r, _ = s.request("POST", p, {"query": [Q, "keeper"], "filters": comp, "max_num_results": 1,
                                         "rewrite_query": True, "ranking_options": {"ranker": "auto", "score_threshold": 0.0}})
        assert st == 200 and [d["file_id"] for d in r["data"]] == [light], r
        assert r["search_query"] == [Q + " keeper"] and r["ragd"]["rewrite_query"] is True, r
        st, r, _ = s.request("POST", p, {"query": Q, "ranking_options": {"score_threshold": 1.0}})
        assert all(d["score"] >= 1.0 for d in r["data"]), r
        # Unanswerable: an empty page, with the reason.
        st, r, _ = s.request("POST", p, {"query": "quantum chromodynamics of neutron stars"})
        assert st == 200 and r["data"] == [] and r["ragd"]["relevant"] is False, r
        assert r["ragd"]["reason"], r
        # Bad requests: 400 / 422 in OpenAI's shape, naming the parameter.
        for body, status, param in [
            ({"query": Q, "filters": {"type": "like", "key": "a", "value": 1}}, 400, "filters.type"),
            ({"query": Q, "filters": {"type": "gt", "key": "year", "value": [1]}}, 400, "filters.value"),
            ({"query": Q, "filters": {"type": "or", "filters": [{"type": "eq", "key": "a"}]}}, 400, "filters.filters[0].value"),
            ({"query": Q, "filters": "year>1"}, 400, "filters"),
            ({"query": Q, "max_num_results": 51}, 422, "max_num_results"),
            ({"query": Q, "max_num_results": 0}, 422, "max_num_results"),
            ({"query": Q, "ranking_options": {"score_threshold": 2}}, 422, "score_threshold"),
            ({"query": 7}, 400, "query"),
            ({"query": []}, 400, "query"),
            ({"query": ""}, 422, "query"),  # as /v1/search
            ({"query": Q, "top_k": 3}, 400, "top_k"),
        ]:
            st, b, _ = s.request("POST", p, body)
            openai_error(st, b, status, param, "invalid_request_error")
        st, b, _ = s.request("POST", "/v1/vector_stores/vs_nope/search", {"query": Q})
        openai_error(st, b, 404)
        st, b, _ = s.request("POST", p, raw=b"{", headers={"Content-Type": "application/json"})
        openai_error(st, b, 400)


class Chat:
    """A generation server answering every question with `text`."""

    def __init__(self, text):
        chat = self
        self.calls = 0

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                chat.calls += 1
                data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                                "finish_reason": "stop"}],
                                   "usage": {"prompt_tokens": 50, "completion_tokens": 10}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def sse(s, body):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    c.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream", r.status
    raw = r.read().decode()
    c.close()
    events = [e for e in raw.split("\n\n") if e]
    assert events[-1] == "data: [DONE]", events[-1:]
    return [json.loads(e[len("data: "):]) for e in events[:-1]]


def test_models_and_chat():
    with TempDir() as tmp, Server(fresh(tmp)) as s:
        vid, (light, _) = store_with(s, [("light.md", LIGHT.encode(), {}), ("ferry.md", FERRY.encode(), {})])
        st, m, _ = s.request("GET", "/v1/models")
        assert st == 200 and m["object"] == "list" and f"ragd/{vid}" in [x["id"] for x in m["data"]], m
        st, one, _ = s.request("GET", f"/v1/models/ragd/{vid}")
        assert st == 200 and one["id"] == f"ragd/{vid}" and one["owned_by"] == "ragd", one
        model = f"ragd/{vid}"
        req = {"model": model, "messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": Q}], "temperature": 0}
        st, c, _ = s.request("POST", "/v1/chat/completions", req)
        assert st == 200 and c["object"] == "chat.completion" and c["model"] == model, c
        text = c["choices"][0]["message"]["content"]
        assert "1871" in text and "[1]" in text and c["choices"][0]["finish_reason"] == "stop", c
        ext = c["ragd"]
        assert ext["relevant"] is True and ext["citations"][0]["doc_id"] == light, ext
        assert ext["check"]["ok"] is True and ext["sources"], ext
        # The same answer through ragd's own /v1/answer.
        st, a, _ = s.request("POST", "/v1/answer", {"collection": vid, "query": Q})
        assert a["answer"] == text, (a["answer"], text)
        # Streaming: the checked answer in chunks, concatenating to the same text.
        chunks = sse(s, dict(req, stream=True, stream_options={"include_usage": True}))
        assert all(ch["object"] == "chat.completion.chunk" for ch in chunks), chunks
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        pieces = [ch["choices"][0]["delta"].get("content", "") for ch in chunks if ch["choices"]]
        assert "".join(pieces) == text and len([p for p in pieces if p]) >= 2, pieces
        fin = [ch for ch in chunks if ch["choices"] and ch["choices"][0]["finish_reason"]]
        assert len(fin) == 1 and fin[0]["choices"][0]["finish_reason"] == "stop" and fin[0]["ragd"]["check"]["ok"], fin
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] >= 0, chunks[-1]
        # A follow-up: the earlier user turn shapes the question.
        st, c2, _ = s.request("POST", "/v1/chat/completions", {"model": model, "messages": [
            {"role": "user", "content": "Tell me about the Greyhollow light."},
            {"role": "assistant", "content": "It is a lighthouse."},
            {"role": "user", "content": "When was it first exhibited?"}]})
        assert st == 200 and c2["ragd"]["question"] == "Tell me about the Greyhollow light.\nWhen was it first exhibited?", c2["ragd"]
        assert "1871" in c2["choices"][0]["message"]["content"], c2
        # Not answerable: a refusal-free "not found" answer, relevant false.
        st, c3, _ = s.request("POST", "/v1/chat/completions", {"model": model, "messages": [
            {"role": "user", "content": "quantum chromodynamics of neutron stars"}]})
        assert st == 200 and c3["ragd"]["relevant"] is False and c3["ragd"]["citations"] == [], c3
        # Errors in OpenAI's shape.
        for body, status, param in [
            ({"model": "gpt-4o", "messages": [{"role": "user", "content": Q}]}, 400, "model"),
            ({"model": "ragd/nope", "messages": [{"role": "user", "content": Q}]}, 404, "model"),
            ({"model": model, "messages": []}, 400, "messages"),
            ({"model": model, "messages": [{"role": "assistant", "content": "hi"}]}, 400, "messages"),
            ({"model": model, "messages": [{"role": "wizard", "content": Q}]}, 400, "messages[0].role"),
            ({"model": model, "messages": [{"role": "user", "content": 5}]}, 400, "messages[0].content"),
            ({"model": model, "messages": [{"role": "user", "content": Q}], "n": 2}, 422, "n"),
            ({"model": model, "messages": [{"role": "user", "content": "word " * 1000}]}, 422, "messages"),
            ({"model": model, "messages": [{"role": "user", "content": Q}], "tools": []}, 400, "tools"),
            ({"messages": [{"role": "user", "content": Q}]}, 400, "model"),
        ]:
            st, b, _ = s.request("POST", "/v1/chat/completions", body)
            openai_error(st, b, status, param)
        st, b, _ = s.request("GET", "/v1/chat/completions")
        openai_error(st, b, 405)
        st, b, _ = s.request("GET", "/v1/models/ragd/nope")
        openai_error(st, b, 404)


def test_chat_with_generation_model():
    chat = Chat("The Greyhollow light was first exhibited in 1871 [1].")
    try:
        with TempDir() as tmp:
            data = fresh(tmp)
            with Server(data, "--generator", "openai", "--generator-url", chat.url,
                        "--generator-model", "mock-1") as s:
                vid, _ = store_with(s, [("light.md", LIGHT.encode(), {})])
                req = {"model": f"ragd/{vid}", "messages": [{"role": "user", "content": Q}]}
                st, c, _ = s.request("POST", "/v1/chat/completions", req)
                assert st == 200, c
                assert c["choices"][0]["message"]["content"] == "The Greyhollow light was first exhibited in 1871 [1].", c
                assert c["ragd"]["path"] == "generated" and c["ragd"]["check"]["ok"] is True, c["ragd"]
                assert c["usage"]["prompt_tokens"] == 50 and c["usage"]["completion_tokens"] == 10, c["usage"]
                chunks = sse(s, dict(req, stream=True))
                text = "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks if ch["choices"])
                assert text == c["choices"][0]["message"]["content"], text
                # The streamed request asks the same question: an answer-cache
                # hit, so no second generation call.
                assert chat.calls == 1, chat.calls
    finally:
        chat.close()


def test_auth_and_scopes():
    with TempDir() as tmp:
        data = fresh(tmp)

        def key(*a):
            return ragd("keys", "create", "--json", *a, data=data, check=0).json()["key"]

        admin = {"Authorization": "Bearer " + key("--scope", "admin")}
        reader = {"Authorization": "Bearer " + key("--scope", "read")}
        with Server(data) as s:
            st, b, r = s.request("GET", "/v1/vector_stores")
            openai_error(st, b, 401, None, "authentication_error")
            assert r.getheader("WWW-Authenticate"), r.getheaders()
            st, b, _ = s.request("GET", "/v1/models", headers={"Authorization": "Bearer ragd_wrong"})
            openai_error(st, b, 401)
            st, b, _ = s.request("POST", "/v1/vector_stores", {"name": "x"}, headers=reader)
            openai_error(st, b, 403, None, "permission_error")
            body, ct = multipart({"purpose": "assistants"}, [("file", "a.md", b"# A\n\nhi", "text/plain")])
            st, b, _ = s.request("POST", "/v1/files", raw=body, headers=dict(reader, **{"Content-Type": ct}))
            openai_error(st, b, 403)
            vid, _ = store_with(s, [("light.md", LIGHT.encode(), {})], h=admin)
            st, r, _ = s.request("POST", f"/v1/vector_stores/{vid}/search", {"query": Q}, headers=reader)
            assert st == 200 and r["data"], r
            st, b, _ = s.request("DELETE", f"/v1/vector_stores/{vid}", headers=reader)
            openai_error(st, b, 403)
            # Files belong to no collection: a key limited to some collections sees
            # only its own uploads; keys covering every collection see all.
            mine = {"Authorization": "Bearer " + key("--scope", "write", "--collection", vid)}
            other = {"Authorization": "Bearer " + key("--scope", "write", "--collection", "default")}
            time.sleep(1.2)  # a running server picks up new keys within a second
            f = upload(s, "mine.md", b"# Mine\n\nThe private harbour memo.", h=mine)
            assert s.request("GET", f"/v1/files/{f['id']}", headers=mine)[0] == 200
            st, b, _ = s.request("GET", f"/v1/files/{f['id']}", headers=other)
            openai_error(st, b, 404, "file_id")
            st, lst, _ = s.request("GET", "/v1/files", headers=other)
            assert f["id"] not in [x["id"] for x in lst["data"]], lst
            st, b, _ = s.request("DELETE", f"/v1/files/{f['id']}", headers=other)
            openai_error(st, b, 404)
            st, b, _ = s.request("POST", "/v1/vector_stores/default/files", {"file_id": f["id"]}, headers=other)
            openai_error(st, b, 404, "file_id")
            st, lst, _ = s.request("GET", "/v1/files", headers=admin)
            assert f["id"] in [x["id"] for x in lst["data"]] and "owner_key" not in lst["data"][0], lst
            st, o, _ = s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": f["id"]}, headers=mine)
            assert st == 200, o
            st, b, _ = s.request("POST", f"/v1/vector_stores/{vid}/files", {"file_id": f["id"]}, headers=other)
            openai_error(st, b, 403)
            # ragd's own routes keep ragd's error shape.
            st, b, _ = s.request("GET", "/v1/collections")
            assert_error(st, b, 401, "unauthorized")


def test_openapi_lists_the_routes():
    with TempDir() as tmp, Server(fresh(tmp)) as s:
        st, doc, _ = s.request("GET", "/openapi.json")
        paths = doc["paths"]
        for p, methods in {"/v1/files": ["get", "post"], "/v1/files/{id}": ["get", "delete"],
                           "/v1/vector_stores": ["get", "post"],
                           "/v1/vector_stores/{c}": ["get", "delete"],
                           "/v1/vector_stores/{c}/files": ["get", "post"],
                           "/v1/vector_stores/{c}/files/{id}": ["get", "delete"],
                           "/v1/vector_stores/{c}/search": ["post"],
                           "/v1/models": ["get"], "/v1/models/{id}": ["get"],
                           "/v1/chat/completions": ["post"]}.items():
            assert p in paths, p
            for m in methods:
                assert m in paths[p], (p, m)
        assert "multipart/form-data" in paths["/v1/collections/{c}/documents"]["post"]["requestBody"]["content"]


if __name__ == "__main__":
    run_tests([test_multipart_documents_same_as_json, test_multipart_malformed_and_limits,
               test_files_crud_and_errors, test_vector_store_lifecycle_and_paging,
               test_search_filters_and_validation, test_models_and_chat,
               test_chat_with_generation_model, test_auth_and_scopes, test_openapi_lists_the_routes])
