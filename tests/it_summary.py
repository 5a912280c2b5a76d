"""Integration tests for document summaries: `ragd show --json` and
`ragd chunks --json` carry the summary built at ingest time (every field,
byte offsets that slice the text, the outline of Markdown and HTML
fixtures, language guesses), `--summarizer`, and metadata."""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
FIELDS = {"title", "source", "format", "language", "script", "bytes", "tokens", "sentences",
          "outline", "summary", "summary_text", "keywords", "keywords_from", "summarizer",
          "metadata", "created_at", "updated_at"}
_shared = {}


def ingested():
    if "data" not in _shared:
        d = tempfile.mkdtemp(prefix="ragd-it-summary-")
        ragd("ingest", "--json", DOCS, data=d, check=0)
        _shared["data"] = d
    return _shared["data"]


def doc_ids():
    out = []
    for root, _, files in os.walk(DOCS):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), DOCS))
    return sorted(out)


def show(doc_id, data):
    return ragd("show", "--json", doc_id, data=data, check=0).json()


def markdown_headings(text):
    """(level, title, byte offset) of ATX headings outside code fences."""
    out, fence, off = [], None, 0
    raw = text.encode("utf-8")
    for line in raw.split(b"\n"):
        s = line.decode("utf-8")
        stripped = s.lstrip(" ")
        m = re.match(r"(`{3,}|~{3,})", stripped)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not stripped[len(m.group(1)):].strip():
                fence = None
        elif m and len(s) - len(stripped) <= 3:
            fence = m.group(1)
        else:
            h = re.match(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$", s)
            if h:
                title = re.sub(r"(^|[ \t]+)#+$", "", h.group(2) or "").strip()
                out.append((len(h.group(1)), title, off))
        off += len(line) + 1
    return out


def test_every_document_has_a_complete_summary():
    d = ingested()
    for doc_id in doc_ids():
        doc = show(doc_id, d)
        s = doc["summary"]
        assert FIELDS <= set(s), (doc_id, FIELDS - set(s))
        text = doc["text"].encode("utf-8")
        assert s["title"] == doc["title"] and s["bytes"] == len(text) == doc["bytes"], doc_id
        assert s["format"] == doc["format"] and s["tokens"] == doc["tokens"], doc_id
        assert s["summarizer"] == "extractive" and s["keywords_from"] in ("collection", "heuristic")
        assert isinstance(s["metadata"], dict)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s["created_at"]), s["created_at"]
        # Summary sentences: 1..5, exact byte slices, document order, ranks 1..k.
        sents = s["summary"]
        assert 1 <= len(sents) <= 5 and len(sents) <= s["sentences"], (doc_id, len(sents))
        assert len(sents) == min(s["sentences"], 3) or len(sents) >= 3, (doc_id, len(sents))
        assert sorted(x["rank"] for x in sents) == list(range(1, len(sents) + 1)), doc_id
        last = 0
        for x in sents:
            assert text[x["start"]:x["end"]].decode("utf-8") == x["text"], (doc_id, x)
            assert x["start"] >= last, doc_id
            last = x["end"]
        assert s["summary_text"] == " ".join(x["text"] for x in sents), doc_id
        # Keywords: up to 10, scores descending.
        kws = s["keywords"]
        assert 1 <= len(kws) <= 10, (doc_id, kws)
        scores = [k["score"] for k in kws]
        assert scores == sorted(scores, reverse=True) and all(x > 0 for x in scores), doc_id
        assert all(k["term"] and k["term"] == k["term"].lower() for k in kws), (doc_id, kws)
        # chunks --json carries the same summary.
        ch = ragd("chunks", "--json", doc_id, data=d, check=0).json()
        assert ch["summary"] == s, doc_id


def test_outline_matches_markdown_headings():
    d = ingested()
    for doc_id in ("greyhollow-lighthouse.md", "nordvane-vpn-guide.md", "intl/bonsai-ja.md",
                   "cooking/paella-valenciana.md"):
        doc = show(doc_id, d)
        want = markdown_headings(doc["text"])
        got = [(h["level"], h["title"], h["start"]) for h in doc["summary"]["outline"]]
        assert want and got == want, (doc_id, got[:5], want[:5])
    grey = show("greyhollow-lighthouse.md", d)["summary"]["outline"]
    assert grey[0] == {"level": 1, "title": "Greyhollow Light: A History of the Lighthouse on Carrick Tarn", "start": 0}
    assert {"level": 3, "title": "Construction, 1844–1847"} in [{k: h[k] for k in ("level", "title")} for h in grey]
    # Plain text has no headings.
    assert show("violin-care.txt", d)["summary"]["outline"] == []


def test_outline_of_html():
    with TempDir() as d:
        ragd("ingest", os.path.join(FIXTURES, "html", "clean-article.html"), data=d, check=0)
        s = show("clean-article.html", d)["summary"]
        titles = [(h["level"], h["title"]) for h in s["outline"]]
        assert titles[:3] == [(1, "Whip-and-Tongue Grafting"), (2, "Tools and Materials"), (2, "Making the Graft")], titles
        assert s["format"] == "html" and s["language"] == "en"


def test_language_and_script():
    d = ingested()
    want = {
        "intl/tomme-saint-aurele.md": ("fr", "Latin"),
        "intl/schmalspurbahn.md": ("de", "Latin"),
        "intl/kite-festival-zh.md": ("zh", "Han"),
        "intl/bonsai-ja.md": ("ja", "Han+Kana"),
        "intl/qahwa-ar.md": ("ar", "Arabic"),
        "cooking/paella-valenciana.md": ("es", "Latin"),
        "decomposed-accents.txt": ("fr", "Latin"),
        "greyhollow-lighthouse.md": ("en", "Latin"),
        "short-wifi.txt": ("en", "Latin"),
    }
    for doc_id, (lang, script) in want.items():
        s = show(doc_id, d)["summary"]
        assert (s["language"], s["script"]) == (lang, script), (doc_id, s["language"], s["script"])
    # Every English fixture is recognised as English.
    for doc_id in doc_ids():
        if not doc_id.startswith("intl/") and doc_id not in want and "paella" not in doc_id:
            assert show(doc_id, d)["summary"]["language"] == "en", doc_id


def test_keywords_name_the_topic():
    d = ingested()
    for doc_id, term in (("aquarium-cycling.txt", "ammonia"), ("violin-care.txt", "violin"),
                         ("cooking/paella-valenciana.md", "paella"),
                         ("intl/kite-festival-zh.md", "风筝")):
        terms = [k["term"] for k in show(doc_id, d)["summary"]["keywords"]]
        assert term in terms, (doc_id, terms)


def test_summarizer_option():
    with TempDir() as d:
        r = ragd("ingest", "--summarizer", "llm", DOCS, data=os.path.join(d, "x"))
        assert r.code == 2, (r.code, r.err)
        assert "--summarizer llm needs a generation provider: add --generator" in r.err, r.err
        assert not os.path.exists(os.path.join(d, "x")), "nothing may be opened on a usage error"
        r = ragd("ingest", "--summarizer", "abstractive", DOCS, data=os.path.join(d, "x"))
        assert r.code == 2 and "unknown --summarizer" in r.err, r.err
        ragd("ingest", "--summarizer", "extractive", os.path.join(DOCS, "short-wifi.txt"), data=d, check=0)
        assert show("short-wifi.txt", d)["summary"]["summarizer"] == "extractive"
        assert "--summarizer" in ragd("ingest", "--help").out


def test_metadata_and_update():
    with TempDir() as d:
        src = os.path.join(d, "note.md")
        with open(src, "w", encoding="utf-8") as f:
            f.write("# Boiler room\n\nThe boiler room door stays locked at night. Ask the porter for the key.\n")
        ragd("ingest", "--meta", "team=facilities", "--meta", "floor=B1", src, data=os.path.join(d, "data"), check=0)
        s1 = show("note.md", os.path.join(d, "data"))["summary"]
        assert s1["metadata"] == {"team": "facilities", "floor": "B1"}, s1["metadata"]
        assert [x["text"] for x in s1["summary"]] == ["The boiler room door stays locked at night.", "Ask the porter for the key."]
        assert s1["outline"] == [{"level": 1, "title": "Boiler room", "start": 0}]
        with open(src, "a", encoding="utf-8") as f:
            f.write("\nThe spare key hangs in the caretaker's office.\n")
        ragd("ingest", src, data=os.path.join(d, "data"), check=0)
        s2 = show("note.md", os.path.join(d, "data"))["summary"]
        assert len(s2["summary"]) == 3 and s2["metadata"] == {}
        assert s2["created_at"] == s1["created_at"] and s2["updated_at"] >= s1["updated_at"]


def test_beir_title_is_not_a_summary_sentence():
    with TempDir() as d:
        corpus = os.path.join(d, "corpus.jsonl")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(json.dumps({"_id": "d1", "title": "Tidal pools of the north shore",
                                "text": "Tidal pools form where rock shelves trap seawater at low tide. "
                                        "They shelter anemones, crabs and small fish. "
                                        "Visitors should never lift the rocks."}) + "\n")
        ragd("ingest", "--format", "jsonl", corpus, data=d, check=0)
        s = show("d1", d)["summary"]
        assert s["title"] == "Tidal pools of the north shore"
        assert [x["text"] for x in s["summary"]][0].startswith("Tidal pools form"), s["summary"]
        assert s["sentences"] == 3 and s["language"] == "en"


if __name__ == "__main__":
    run_tests([
        test_every_document_has_a_complete_summary,
        test_outline_matches_markdown_headings,
        test_outline_of_html,
        test_language_and_script,
        test_keywords_name_the_topic,
        test_summarizer_option,
        test_metadata_and_update,
        test_beir_title_is_not_a_summary_sentence,
    ])
