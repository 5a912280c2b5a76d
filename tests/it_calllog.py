"""Integration tests for the answer call log and feedback: the real ragd
binary (CLI and `ragd serve`) against the scripted mock chat server of
it_answer.py, with real SQLite.

Covers: every answer is logged (request id, prompt, response, model,
template id and version, tokens, cost, latency, check result, path) and the
result carries its call_id; `ragd log [--json] [--limit N]`; --log-redact
removes a planted e-mail address and phone number from the logged question
and prompt (and nothing from the answer itself), while without it they are
logged as sent; `ragd feedback CALL_ID up|down [--comment]` with its errors;
POST /v1/feedback (201, 404 unknown call, 422 bad rating, 400 malformed)
and the HTTP request id recorded with the call; --generator-route sends a
one-document context to the small model and a two-document one to the
large, records which and why in the result and the log, and fails over to
the other model."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from it_answer import CLEAN, GOOD, TALL, Chat, cite, corpus  # noqa: E402
from it_serve import Server  # noqa: E402
from ragdtest import TempDir, ragd, run_tests  # noqa: E402

PII = TALL + " Reply to jane.doe@example.com or +44 20 7946 0958."


def gen_args(chat):
    return ["--generator", "openai", "--generator-url", chat.url(), "--generator-model", "m1",
            "--generator-cost", "2"]


def with_chat(script, fn):
    with TempDir() as t:
        data = corpus(t)
        c = Chat(script)
        try:
            fn(data, c)
        finally:
            c.close()


def test_answer_is_logged_and_rated():
    def fn(data, c):
        a = ragd("answer", "--json", *gen_args(c), TALL, data=data, env=CLEAN, check=0).json()
        assert isinstance(a["call_id"], int) and a["call_id"] > 0, a.get("call_id")
        assert a["request_id"].startswith("ans-"), a["request_id"]
        log = ragd("log", "--json", data=data, check=0).json()
        assert len(log["calls"]) == 1, log
        call = log["calls"][0]
        assert call["call_id"] == a["call_id"] and call["request_id"] == a["request_id"], call
        assert call["question"] == TALL and call["answer"] == a["answer"], call
        sent = c.requests[0]["messages"]
        assert call["prompt"] == "system:\n" + sent[0]["content"] + "\n\nuser:\n" + sent[1]["content"]
        assert call["response"].startswith("The Brightwater tower is 38 metres tall"), call["response"]
        assert call["model"] == "m1" and call["generator"] == "openai", call
        assert call["template"] == {"id": "answer", "version": 1}, call["template"]
        assert call["prompt_tokens"] == 100 and call["completion_tokens"] == 20, call
        assert abs(call["cost"] - 0.24) < 1e-9 and call["latency_ms"] > 0, call
        assert call["check_ok"] is True and call["path"] == "generated", call
        assert call["redacted"] is False and call["cache"] == "miss", call
        assert call["detail"]["steps"][0]["stage"] == "generate", call["detail"]

        # A second answer (extractive): logged too, newest first; --limit.
        b = ragd("answer", "--json", TALL, data=data, env=CLEAN, check=0).json()
        log = ragd("log", "--json", "--limit", "1", data=data, check=0).json()
        assert [x["call_id"] for x in log["calls"]] == [b["call_id"]], log
        assert log["calls"][0]["generator"] == "extractive" and log["calls"][0]["prompt"] == ""
        text = ragd("log", data=data, check=0).out
        assert "CALL" in text and TALL in text and "m1" in text, text

        r = ragd("feedback", str(a["call_id"]), "up", "--comment", "exact", data=data)
        assert r.code == 0 and f"call {a['call_id']}" in r.out, (r.code, r.out, r.err)
        log = ragd("log", "--json", data=data, check=0).json()
        fb = [x for x in log["calls"] if x["call_id"] == a["call_id"]][0]["feedback"]
        assert [(f["rating"], f["comment"]) for f in fb] == [("up", "exact")], fb
        r = ragd("feedback", "9999", "down", data=data)
        assert r.code == 1 and "no answer call 9999" in r.err, (r.code, r.err)
        r = ragd("feedback", str(a["call_id"]), "sideways", data=data)
        assert r.code == 2 and "up" in r.err and "down" in r.err, (r.code, r.err)
        r = ragd("feedback", "x", "up", data=data)
        assert r.code == 2 and "usage" in r.err, (r.code, r.err)
        r = ragd("log", "--limit", "0", data=data)
        assert r.code == 2, (r.code, r.err)
        # --no-call-log: answered, not logged.
        n = len(ragd("log", "--json", "--limit", "1000", data=data, check=0).json()["calls"])
        q = ragd("answer", "--json", "--no-call-log", *gen_args(c), TALL, data=data, env=CLEAN, check=0).json()
        assert q["call_id"] is None and q["path"] == "generated", q.get("call_id")
        assert len(ragd("log", "--json", "--limit", "1000", data=data, check=0).json()["calls"]) == n
    with_chat([cite(GOOD, "38 metres")], fn)


def test_log_redact():
    def fn(data, c):
        a = ragd("answer", "--json", "--log-redact", *gen_args(c), PII, data=data, env=CLEAN, check=0).json()
        # The model got the question as asked; only the log is redacted.
        assert "jane.doe@example.com" in c.requests[-1]["messages"][1]["content"]
        assert a["query"] == PII, a["query"]
        b = ragd("answer", "--json", *gen_args(c), PII, data=data, env=CLEAN, check=0).json()
        calls = {x["call_id"]: x for x in ragd("log", "--json", data=data, check=0).json()["calls"]}
        red, plain = calls[a["call_id"]], calls[b["call_id"]]
        assert red["redacted"] is True and plain["redacted"] is False
        for field in ("question", "prompt"):
            assert "jane.doe@example.com" not in red[field] and "7946" not in red[field], red[field]
            assert "[email]" in red[field] and "[phone]" in red[field], red[field]
            assert "jane.doe@example.com" in plain[field] and "+44 20 7946 0958" in plain[field]
        assert "38 metres" in red["prompt"] and "1 November 1847" in red["prompt"]  # the rest is intact
    with_chat([cite(GOOD, "38 metres")], fn)


TWO_DOCS = "Where did the Brightwater keepers live and how tall is the Brightwater tower?"


def test_generator_route():
    def fn(data, c):
        args = ["--generator", "openai", "--generator-url", c.url(), "--generator-route", "large=big,small=tiny"]
        a = ragd("answer", "--json", *args, TALL, data=data, env=CLEAN, check=0).json()
        assert c.requests[-1]["model"] == "tiny" and a["usage"]["model"] == "tiny", a["usage"]
        r = a["usage"]["route"]
        assert r["choice"] == "small" and "1 document" in r["reason"], r
        b = ragd("answer", "--json", *args, TWO_DOCS, data=data, env=CLEAN, check=0).json()
        assert {s["doc_id"] for s in b["sources"]} == {"tower.md", "keepers.md"}, b["sources"]
        assert c.requests[-1]["model"] == "big" and b["usage"]["route"]["choice"] == "large", b["usage"]
        assert "more than one document" in b["usage"]["route"]["reason"], b["usage"]["route"]
        calls = {x["call_id"]: x for x in ragd("log", "--json", data=data, check=0).json()["calls"]}
        assert calls[a["call_id"]]["route_reason"].startswith("small (tiny): "), calls[a["call_id"]]
        assert calls[b["call_id"]]["route_reason"].startswith("large (big): "), calls[b["call_id"]]
        assert calls[b["call_id"]]["model"] == "big"
        # The chosen model failing: the other one answers.
        c.script[:] = [("status", 400), cite(GOOD, "38 metres")]
        d = ragd("answer", "--json", *args, TALL, data=data, env=CLEAN, check=0).json()
        assert [x["model"] for x in c.requests[-2:]] == ["tiny", "big"], c.requests[-2:]
        assert d["usage"]["model"] == "big" and d["usage"]["route"]["choice"] == "small", d["usage"]
        for bad in ("small=a", "small=a,large=", "tiny=a,large=b", "small=a,large=b,x"):
            r = ragd("answer", "--generator", "openai", "--generator-url", c.url(), "--generator-route", bad,
                     TALL, data=data, env=CLEAN)
            assert r.code == 2 and "--generator-route" in r.err, (bad, r.code, r.err)
        r = ragd("answer", *args, "--generator-model", "m", TALL, data=data, env=CLEAN)
        assert r.code == 2 and "drop --generator-model" in r.err, (r.code, r.err)
    with_chat([cite(GOOD, "38 metres")], fn)


def test_http_feedback():
    with TempDir() as t:
        data = corpus(t)
        c = Chat([cite(GOOD, "38 metres")])
        try:
            with Server(data, *gen_args(c), "--log-redact") as s:
                st, a, r = s.request("POST", "/v1/answer", {"query": PII}, headers={"X-Request-Id": "req-42"})
                assert st == 200 and a["request_id"] == "req-42" and a["call_id"], (st, a)
                st, b, _ = s.request("POST", "/v1/feedback", {"call_id": a["call_id"], "rating": "down",
                                                             "comment": "too short"})
                assert st == 201 and b["rating"] == "down" and b["call_id"] == a["call_id"], (st, b)
                st, b, _ = s.request("POST", "/v1/feedback", {"call_id": 987654, "rating": "up"})
                assert st == 404 and b["error"]["field"] == "call_id", (st, b)
                st, b, _ = s.request("POST", "/v1/feedback", {"call_id": a["call_id"], "rating": "meh"})
                assert st == 422 and b["error"]["field"] == "rating", (st, b)
                st, b, _ = s.request("POST", "/v1/feedback", {"rating": "up"})
                assert st == 400 and b["error"]["field"] == "call_id", (st, b)
                st, b, _ = s.request("POST", "/v1/feedback", {"call_id": "1", "rating": "up"})
                assert st == 400, (st, b)
                st, b, _ = s.request("POST", "/v1/feedback", {"call_id": 1, "rating": "up", "x": 1})
                assert st == 400 and b["error"]["field"] == "x", (st, b)
            calls = ragd("log", "--json", data=data, check=0).json()["calls"]
            assert calls[0]["request_id"] == "req-42" and calls[0]["redacted"] is True, calls[0]
            assert "jane.doe" not in calls[0]["prompt"], calls[0]["prompt"][:300]
            assert calls[0]["feedback"][0]["comment"] == "too short", calls[0]["feedback"]
        finally:
            c.close()


if __name__ == "__main__":
    run_tests([test_answer_is_logged_and_rated, test_log_redact, test_generator_route, test_http_feedback])
