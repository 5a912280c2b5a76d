"""Shared helpers for the integration tests (python3 standard library only).

Each test drives the real ragd binary ($RAGD_BIN) against a fresh data
directory, with real SQLite and real FAISS underneath.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

BIN = os.environ.get("RAGD_BIN") or os.path.join(os.path.dirname(__file__), "..", "build", "ragd")
FIXTURES = os.environ.get("RAGD_FIXTURES") or os.path.join(os.path.dirname(__file__), "..", "fixtures")


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError(f"stdout is not JSON ({e}): {self.out[:500]!r}\nstderr: {self.err[:500]}")


def ragd(*args, data=None, env=None, check=None, stdin=None, timeout=300):
    cmd = [BIN] + [str(a) for a in args]
    if data is not None:
        cmd += ["--data", data]
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, env=e, timeout=timeout,
                       stdin=subprocess.DEVNULL if stdin is None else stdin)
    r = Result(p)
    if check is not None and r.code != check:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.code}, want {check}\nstdout: {r.out[:2000]}\nstderr: {r.err[:2000]}")
    return r


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="ragd-it-")
        return self.path

    def __exit__(self, *a):
        shutil.rmtree(self.path, ignore_errors=True)


def run_tests(tests):
    """Run test functions; print a closing 'N passed, N failed' line."""
    passed = failed = 0
    for t in tests:
        try:
            t()
            passed += 1
            print(f"ok   {t.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}")
            traceback.print_exc()
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and parts[0] == "query-id":
                continue
            if len(parts) >= 3:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def read_queries(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                out[o["_id"]] = o["text"]
    return out


def split_chunks(ch):
    """The text chunks of a `ragd chunks --json` answer, and its summary
    entry (or None), after checking the entry's own invariant: it is not a
    slice of the text (text != text[start:end]) but the document's summary
    sentences and keywords, listed first with ord -1, spanning the whole
    document (0..bytes), meta {"kind": "summary"}, no parent."""
    entries = [c for c in ch["chunks"] if c.get("kind") == "summary"]
    texts = [c for c in ch["chunks"] if c.get("kind") != "summary"]
    assert all(c.get("kind") == "text" for c in texts), ch["chunks"]
    assert len(entries) <= 1, entries
    if not entries:
        return texts, None
    e = entries[0]
    s = ch["summary"]
    assert ch["chunks"][0] is e and e["ord"] == -1, e
    assert e["start"] == 0 and e["end"] == s["bytes"], (e["start"], e["end"], s["bytes"])
    assert e["meta"] == {"kind": "summary"} and e["parent_id"] is None, e
    assert e["text"].startswith(s["summary_text"]) and s["summary_text"], e
    for x in s["summary"]:
        assert x["text"] in e["text"], x
    if s["keywords"]:
        assert "\nKeywords: " + ", ".join(k["term"] for k in s["keywords"]) + "." in e["text"], e
    assert [c["ord"] for c in texts] == list(range(len(texts))), [c["ord"] for c in texts]
    return texts, e
