"""Integration tests for `ragd ingest --summarizer llm`: the real ragd binary
against mock_model_server's chat routes on 127.0.0.1 (OpenAI
/v1/chat/completions and Ollama /api/chat; the mock answers "Summary of:
<first 8 words of the user message>", and the user message starts with
"Title: <title>"). Checks the stored summary (abstract, summarizer, the
extractive sentences kept with their offsets), the context Summary line,
the report's generator usage, the fallback to the extractive summary when
the generator is dead or answers without content (exit 0, llm_error
recorded, one warning per document; a dead generator stops being called
after 5 documents in a row), and the usage errors."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests  # noqa: E402
from it_vector import Mock, free_port  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
WIFI = os.path.join(DOCS, "short-wifi.txt")
# No generator settings leak in from the environment.
CLEAN = {"RAGD_GENERATOR": "", "RAGD_GENERATOR_URL": "", "RAGD_GENERATOR_MODEL": ""}


def ingest(data, *extra, check=0):
    return ragd("ingest", "--json", "--summarizer", "llm", *extra, data=data, env=CLEAN, check=check)


def show(doc_id, data):
    return ragd("show", "--json", doc_id, data=data, check=0).json()


def doc_ids(data):
    return [d["id"] for d in ragd("docs", "--json", data=data, check=0).json()["documents"]]


def check_llm_summary(doc):
    s = doc["summary"]
    assert s["summarizer"] == "llm", s
    title_words = " ".join(("Title: " + doc["title"]).split()[:8])
    assert s["abstract"].startswith("Summary of: " + title_words), (s["abstract"], title_words)
    assert len(s["abstract"].split()) == 2 + 8, s["abstract"]  # 8 words of the prompt
    assert s["summary_text"] == s["abstract"] and s["llm_model"] == "mock-chat", s
    assert "llm_error" not in s, s
    # The extractive sentences stay, with exact byte offsets.
    text = doc["text"].encode("utf-8")
    assert s["summary"], s
    for x in s["summary"]:
        assert text[x["start"]:x["end"]].decode("utf-8") == x["text"], x


def test_openai_summaries_and_context():
    with TempDir() as t, Mock() as m:
        r = ingest(t, "--generator", "openai", "--generator-url", m.url(), "--generator-model", "mock-chat",
                   DOCS).json()
        ids = doc_ids(t)
        g = r["generator"]
        assert g["generator"] == "openai" and g["model"] == "mock-chat", g
        assert g["calls"] == len(ids) == r["added"] and g["failures"] == 0, (g, r["added"])
        assert g["prompt_tokens"] > 0 and g["completion_tokens"] > 0 and not g["tokens_estimated"], g
        assert g["tokens"] == g["prompt_tokens"] + g["completion_tokens"], g
        for doc_id in ids:
            check_llm_summary(show(doc_id, t))
        # The context's Summary line is the abstract.
        ctx = ragd("context", "library guest wifi password", data=t, check=0).out
        wifi = show("short-wifi.txt", t)["summary"]["abstract"]
        assert "Summary: " + wifi in ctx, ctx[:1500]
        # A summary entry (documents of 4+ chunks) keeps the extractive
        # sentences, slices of the document, not the abstract.
        assert r["summary_entries"] > 0, r
        entries = 0
        for doc_id in ids:
            chunks = ragd("chunks", "--json", doc_id, data=t, check=0).json()["chunks"]
            doc = show(doc_id, t)
            for c in chunks:
                if c.get("kind") == "summary":
                    entries += 1
                    first = doc["summary"]["summary"][0]["text"]
                    assert c["text"].startswith(first), (doc_id, c["text"][:200])
                    assert not c["text"].startswith(doc["summary"]["abstract"]), doc_id
        assert entries == r["summary_entries"], (entries, r["summary_entries"])
        # Unchanged documents are not summarized again.
        with Mock() as m2:
            r2 = ingest(t, "--generator", "openai", "--generator-url", m2.url(), "--generator-model",
                        "mock-chat", DOCS).json()
            assert r2["unchanged"] == len(ids) and r2["generator"]["calls"] == 0, r2
        assert m2.requests == 0, m2.requests


def test_ollama_env_and_serial():
    with TempDir() as t, Mock() as m:
        env = {"RAGD_GENERATOR": "ollama", "RAGD_GENERATOR_URL": m.url(ollama=True),
               "RAGD_GENERATOR_MODEL": "mock-chat"}
        r = ragd("ingest", "--json", "--summarizer", "llm", "--workers", 1, WIFI, data=t, env=env, check=0).json()
        assert r["generator"]["generator"] == "ollama" and r["generator"]["calls"] == 1, r["generator"]
        check_llm_summary(show("short-wifi.txt", t))
        # Plain-text report line.
        t2 = os.path.join(t, "plain")
        out = ragd("ingest", "--summarizer", "llm", WIFI, data=t2, env=env, check=0).out
        assert "LLM summaries (mock-chat): 1 calls" in out, out


def test_dead_generator_falls_back():
    with TempDir() as t:
        r = ragd("ingest", "--json", "--summarizer", "llm", "--generator", "openai", "--generator-url",
                 f"http://127.0.0.1:{free_port()}/v1", "--generator-model", "m", "--generator-timeout", 2,
                 DOCS, data=t, env=CLEAN, check=0)
        j = r.json()
        ids = doc_ids(t)
        assert j["added"] == len(ids) and j["failed"] == 0, j
        assert j["generator"]["calls"] == 0 and j["generator"]["failures"] == len(ids), j["generator"]
        refused = skipped = 0
        for doc_id in ids:
            s = show(doc_id, t)["summary"]
            assert s["summarizer"] == "extractive" and "abstract" not in s, s
            refused += "connection refused after 3 attempts" in s["llm_error"]
            # After 5 documents in a row failed after retries, the rest are not sent.
            skipped += s["llm_error"].startswith("not asked: the generator failed after retries for 5")
            assert s["summary"] and s["summary_text"], doc_id
        assert refused + skipped == len(ids) and 5 <= refused < len(ids), (refused, skipped)
        warnings = [x for x in r.err.splitlines() if "LLM summary failed, kept the extractive summary" in x]
        assert len(warnings) == len(ids), r.err[-2000:]
        # The context Summary line is the extractive one.
        ctx = ragd("context", "library guest wifi password", data=t, check=0).out
        assert "Summary: Summary of:" not in ctx and "Summary: " in ctx, ctx[:800]


def test_reply_without_content_falls_back():
    with TempDir() as t, Mock("--no-content") as m:
        ingest(t, "--generator", "ollama", "--generator-url", m.url(ollama=True), "--generator-model", "x",
               WIFI)
        s = show("short-wifi.txt", t)["summary"]
        assert s["summarizer"] == "extractive" and "no content" in s["llm_error"], s


def test_usage_errors():
    with TempDir() as t:
        x = os.path.join(t, "x")
        r = ingest(x, WIFI, check=2)
        assert "--summarizer llm needs a generation provider: add --generator" in r.err, r.err
        r = ingest(x, "--generator", "extractive", WIFI, check=2)
        assert "not a language model" in r.err, r.err
        r = ingest(x, "--generator", "openai", WIFI, check=2)
        assert "--generator-url" in r.err, r.err
        r = ingest(x, "--generator", "ollama", "--generator-url", "http://127.0.0.1:1", WIFI, check=2)
        assert "--generator-model" in r.err, r.err
        r = ingest(x, "--generator", "gpt", "--generator-url", "http://h", "--generator-model", "m", WIFI, check=2)
        assert "unknown --generator 'gpt'" in r.err, r.err
        r = ragd("ingest", "--generator", "openai", WIFI, data=x, env=CLEAN, check=2)
        assert "only for --summarizer llm" in r.err, r.err
        assert not os.path.exists(x), "nothing may be opened on a usage error"
        help_ = ragd("ingest", "--help").out
        for opt in ("--generator ", "--generator-url", "--generator-model", "--generator-timeout"):
            assert opt in help_, opt


if __name__ == "__main__":
    run_tests([
        test_openai_summaries_and_context,
        test_ollama_env_and_serial,
        test_dead_generator_falls_back,
        test_reply_without_content_falls_back,
        test_usage_errors,
    ])
