"""Integration tests for the result cache and the provider metrics of
`ragd serve` (real server, real SQLite and FAISS), with the scripted mock
chat server of it_answer.py counting generation calls.

Covers: a repeated answer (other case, spacing, trailing '?') is a hit that
makes no generation call and says usage.cache "hit" (also streamed: one
token event); a search repeated is a hit; another option is a miss; an
ingest by another process (the CLI) and a document delete over HTTP
invalidate (the store's write generation); the TTL expires entries;
--cache-size 0 turns it off; /metrics counts hits and misses, the
generation calls, errors, tokens and cost by provider kind and model, and
the query embeddings of the searches that ran."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from it_answer import GOOD, TALL, Chat, cite, corpus  # noqa: E402
from it_serve import Server  # noqa: E402
from ragdtest import TempDir, ragd, run_tests  # noqa: E402

SAME = "  how TALL is the   brightwater Tower "


def gen_args(chat):
    return ["--generator", "openai", "--generator-url", chat.url(), "--generator-model", "m1",
            "--generator-cost", "2"]


def metric(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(r"^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)$",
                  text, re.M)
    assert m, f"{name}{{{want}}} not in metrics:\n" + "\n".join(
        line for line in text.splitlines() if line.startswith(name))
    return float(m.group(1))


def test_answer_and_search_cache():
    with TempDir() as t:
        data = corpus(t)
        c = Chat([cite(GOOD, "38 metres")])
        try:
            with Server(data, *gen_args(c)) as s:
                st, a1, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert st == 200 and a1["usage"]["cache"] == "miss" and len(c.requests) == 1, a1["usage"]
                st, a2, _ = s.request("POST", "/v1/answer", {"query": SAME})
                assert st == 200 and a2["usage"]["cache"] == "hit", a2["usage"]
                assert len(c.requests) == 1, "a hit must make no generation call"
                assert a2["answer"] == a1["answer"] and a2["call_id"] == a1["call_id"], a2
                assert a2["request_id"] != a1["request_id"]
                st, text, _ = s.request("POST", "/v1/answer", {"query": TALL, "stream": True})
                ev = [b for b in text.split("\n\n") if b.strip()]
                assert [e.split("\n")[0] for e in ev] == ["event: token", "event: done"], ev
                assert '"cache":"hit"' in ev[1] and len(c.requests) == 1, ev[1][:300]
                # Another option is another key.
                st, a3, _ = s.request("POST", "/v1/answer", {"query": TALL, "k": 5})
                assert a3["usage"]["cache"] == "miss" and len(c.requests) == 2, a3["usage"]

                st, s1, _ = s.request("POST", "/v1/search", {"query": TALL})
                st, s2, _ = s.request("POST", "/v1/search", {"query": TALL.lower()})
                assert s1["cache"] == "miss" and s2["cache"] == "hit", (s1["cache"], s2["cache"])
                assert s2["results"] == s1["results"]

                # A write by another process invalidates: the CLI ingests into the same store.
                extra = os.path.join(t, "extra.md")
                with open(extra, "w") as f:
                    f.write("# Pier\n\nThe pier is 120 metres long.\n")
                ragd("ingest", extra, data=data, check=0)
                st, a4, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert a4["usage"]["cache"] == "miss" and len(c.requests) == 3, a4["usage"]
                st, a5, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert a5["usage"]["cache"] == "hit" and len(c.requests) == 3
                # So does a delete over HTTP.
                st, b, _ = s.request("DELETE", "/v1/collections/default/documents/extra.md")
                assert st == 200, (st, b)
                st, a6, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert a6["usage"]["cache"] == "miss" and len(c.requests) == 4, a6["usage"]
                st, s3, _ = s.request("POST", "/v1/search", {"query": TALL})
                assert s3["cache"] == "miss", s3["cache"]

                st, m, _ = s.request("GET", "/metrics")
                assert metric(m, "ragd_cache_hits_total", kind="answer") == 3, m
                assert metric(m, "ragd_cache_misses_total", kind="answer") == 4
                assert metric(m, "ragd_cache_hits_total", kind="search") == 1
                assert metric(m, "ragd_cache_misses_total", kind="search") == 2
                # Four generation calls of 100 + 20 tokens at 2 per 1,000.
                assert metric(m, "ragd_provider_calls_total", role="generate", kind="openai", model="m1") == 4
                assert metric(m, "ragd_provider_errors_total", role="generate", kind="openai", model="m1") == 0
                assert metric(m, "ragd_provider_prompt_tokens_total", role="generate", kind="openai", model="m1") == 400
                assert metric(m, "ragd_provider_completion_tokens_total", role="generate", kind="openai", model="m1") == 80
                assert abs(metric(m, "ragd_provider_cost_total", role="generate", kind="openai", model="m1") - 0.96) < 1e-6
                # Query embeddings (the local embedder) by searches that ran: four answers
                # and two searches missed the cache; hits embed nothing.
                emb = [line for line in m.splitlines()
                       if line.startswith('ragd_provider_calls_total{role="embed",kind="local",')]
                assert len(emb) == 1 and float(emb[0].rsplit(" ", 1)[1]) == 6, emb
        finally:
            c.close()


def test_ttl_size_zero_and_errors():
    with TempDir() as t:
        data = corpus(t)
        c = Chat([("status", 500), cite(GOOD, "38 metres")])
        try:
            with Server(data, *gen_args(c), "--cache-ttl", "1", "--generator-timeout", "5") as s:
                st, a, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert a["usage"]["cache"] == "miss" and a["path"] == "generated", a["path"]
                st, a, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert a["usage"]["cache"] == "hit"
                time.sleep(1.3)
                n = len(c.requests)
                st, a, _ = s.request("POST", "/v1/answer", {"query": TALL})
                assert a["usage"]["cache"] == "miss" and len(c.requests) == n + 1, a["usage"]
                st, m, _ = s.request("GET", "/metrics")
                # The scripted 500 was retried inside one call: a call, not an error.
                assert metric(m, "ragd_provider_calls_total", role="generate", kind="openai", model="m1") == 2
            with Server(data, *gen_args(c), "--cache-size", "0") as s:
                for _ in range(2):
                    st, a, _ = s.request("POST", "/v1/answer", {"query": TALL})
                    assert a["usage"]["cache"] == "miss", a["usage"]
            # A provider that fails every time: the errors are counted, the fallback is not cached.
            c.script[:] = [("status", 400)]
            with Server(data, *gen_args(c)) as s:
                for _ in range(2):
                    st, a, _ = s.request("POST", "/v1/answer", {"query": TALL})
                    assert a["path"] == "extractive_fallback" and a["usage"]["cache"] == "miss", a["path"]
                st, m, _ = s.request("GET", "/metrics")
                assert metric(m, "ragd_provider_errors_total", role="generate", kind="openai", model="m1") == 2
            r = ragd("serve", "--data", data, "--cache-ttl", "0")
            assert r.code == 2 and "--cache-ttl" in r.err, (r.code, r.err)
        finally:
            c.close()


if __name__ == "__main__":
    run_tests([test_answer_and_search_cache, test_ttl_size_zero_and_errors])
