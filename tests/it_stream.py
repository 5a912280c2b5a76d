"""Integration tests for streamed answers: the real ragd binary (CLI and
`ragd serve`) against the scripted mock chat server of it_answer.py, which
streams OpenAI Server-Sent Events or Ollama NDJSON in 3-character pieces
when asked for "stream": true.

Covers: `ragd answer --stream` prints the same answer as without --stream
(both protocols) and asks the model to stream; --stream --json equals the
non-streamed object apart from "stream" and timings; a streamed answer
that fails the check is repaired and the final answer says it replaced the
streamed one (CLI and HTTP); POST /v1/answer "stream": true sends token
events whose text joins to the final answer, then one done event equal to
the non-streamed result, and the first arrives before the model has
finished; an error before the first token is a JSON 4xx."""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from it_answer import CLEAN, GOOD, TALL, Chat, cite, corpus  # noqa: E402
from it_serve import Server  # noqa: E402
from ragdtest import TempDir, ragd, run_tests  # noqa: E402


def gen_args(chat, ollama=False):
    return ["--generator", "ollama" if ollama else "openai", "--generator-url", chat.url(ollama),
            "--generator-model", "m1"]


def comparable(o):
    """The answer object without what legitimately differs between a
    streamed and a non-streamed run (timings, the stream report, the
    per-step streamed flag, the call log's ids)."""
    o = json.loads(json.dumps(o))
    for k in ("stream", "timing_ms", "call_id", "request_id", "cache"):
        o.pop(k, None)
    u = o.get("usage", {})
    for k in ("latency_ms", "timing_ms", "cache"):
        u.pop(k, None)
    for st in o.get("check", {}).get("steps", []):
        st.pop("ms", None)
        st.pop("streamed", None)
    return o


def with_chat(script, fn):
    with TempDir() as t:
        data = corpus(t)
        c = Chat(script)
        try:
            fn(data, c)
        finally:
            c.close()


def cli_stream_equals_plain(ollama):
    def fn(data, c):
        plain = ragd("answer", *gen_args(c, ollama), TALL, data=data, env=CLEAN, check=0)
        assert c.streamed == 0
        streamed = ragd("answer", "--stream", *gen_args(c, ollama), TALL, data=data, env=CLEAN, check=0)
        assert c.streamed == 1 and c.requests[-1].get("stream") is True, c.requests[-1]
        assert streamed.out == plain.out, (streamed.out, plain.out)
        assert "The Brightwater tower is 38 metres tall" in streamed.out and "citations checked: ok" in streamed.out
        j1 = ragd("answer", "--json", *gen_args(c, ollama), TALL, data=data, env=CLEAN, check=0).json()
        j2 = ragd("answer", "--json", "--stream", *gen_args(c, ollama), TALL, data=data, env=CLEAN,
                  check=0).json()
        assert j2["stream"]["tokens"] > 5 and j2["stream"]["answer_replaced"] is False, j2["stream"]
        assert j2["check"]["steps"][0]["streamed"] is True, j2["check"]["steps"]
        assert comparable(j1) == comparable(j2), (comparable(j1), comparable(j2))
        assert j2["path"] == "generated" and j2["usage"]["prompt_tokens"] == 100, j2["usage"]
    with_chat([cite(GOOD, "38 metres")], fn)


def test_cli_stream_openai():
    cli_stream_equals_plain(False)


def test_cli_stream_ollama():
    cli_stream_equals_plain(True)


BAD = "The Brightwater tower is 38 metres tall [9]."


def test_cli_stream_repaired_says_replaced():
    def fn(data, c):
        r = ragd("answer", "--stream", *gen_args(c), TALL, data=data, env=CLEAN, check=0)
        assert r.out.startswith(BAD), r.out
        assert "the streamed answer failed the citation check; the final answer, repaired" in r.out, r.out
        assert len(c.requests) == 2 and c.requests[0].get("stream") and not c.requests[1].get("stream")
    with_chat([BAD, cite(GOOD, "38 metres")], fn)


def sse_events(text):
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        out.append((lines[0][7:], json.loads(lines[1][6:])))
    return out


def test_http_stream_tokens_then_done():
    with TempDir() as t:
        data = corpus(t)
        c = Chat([cite(GOOD, "38 metres")])
        try:
            with Server(data, *gen_args(c), "--cache-size", "0") as s:  # every request generates
                st, whole, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert st == 200 and whole["path"] == "generated", whole
                st, text, r = s.request("POST", "/v1/answer", {"query": TALL, "stream": True})
                assert st == 200 and r.getheader("Content-Type").startswith("text/event-stream"), (st, text)
                assert r.getheader("X-Request-Id"), r.getheaders()
                ev = sse_events(text)
                kinds = [k for k, _ in ev]
                assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"} and len(kinds) > 5, kinds
                done = ev[-1][1]
                joined = "".join(d["text"] for k, d in ev if k == "token")
                assert joined == done["answer"] == whole["answer"], (joined, done["answer"])
                assert done["stream"] == {"tokens": len(kinds) - 1, "answer_replaced": False}, done["stream"]
                assert comparable(done) == comparable(whole)
                assert c.requests[-1].get("stream") is True

                # The model's streamed answer fails and is repaired: the final event says so.
                c.script[:] = [BAD, cite(GOOD, "38 metres")]
                st, text, _ = s.request("POST", "/v1/answer", {"query": TALL, "stream": True})
                ev = sse_events(text)
                joined = "".join(d["text"] for k, d in ev if k == "token")
                done = ev[-1][1]
                assert joined == BAD and done["path"] == "repaired", (joined, done["path"])
                assert done["stream"]["answer_replaced"] is True and done["answer"] != joined, done

                # Errors before the first token are ordinary JSON errors.
                st, b, _ = s.request("POST", "/v1/answer", {"query": TALL, "stream": True,
                                                           "collection": "nope"})
                assert st == 404 and b["error"]["field"] == "collection", (st, b)
                st, b, _ = s.request("POST", "/v1/answer", {"query": "", "stream": True})
                assert st in (400, 422) and b["error"]["code"], (st, b)

                # Tokens reach the client while the model is still writing: the first
                # token event is read before the mock server sends its last piece.
                c.script[:] = [cite(GOOD, "38 metres")]
                c.stream_delay = 0.1
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
                conn.request("POST", "/v1/answer", body=json.dumps({"query": TALL, "stream": True}),
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                first = resp.readline()
                first_at = time.monotonic()
                rest = resp.read().decode()
                conn.close()
                c.stream_delay = 0.0
                assert first.startswith(b"event: token"), first
                assert c.stream_ended_at is not None and first_at < c.stream_ended_at, (first_at, c.stream_ended_at)
                assert "event: done" in rest, rest[-300:]

                # A client that leaves mid-stream does not hurt the server.
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
                conn.request("POST", "/v1/answer", body=json.dumps({"query": TALL, "stream": True}),
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read(10)
                conn.close()
                st, b, _ = s.request("GET", "/healthz")
                assert st == 200, (st, b)
        finally:
            c.close()


if __name__ == "__main__":
    run_tests([test_cli_stream_openai, test_cli_stream_ollama, test_cli_stream_repaired_says_replaced,
               test_http_stream_tokens_then_done])
