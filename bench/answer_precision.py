#!/usr/bin/env python3
"""bench/answer_precision.py — answer precision and correctness of `ragd
answer` on the fixtures/eval questions.

    bench/answer_precision.py [--ragd BIN] [--label NAME] [--json OUT] [--misses]

Ingests fixtures/docs into a temporary data directory with BIN (default
build/ragd), asks every question of fixtures/eval/queries.jsonl that has an
expected answer in fixtures/eval/answers.tsv (`query-id<TAB>doc<TAB>phrase`,
the phrase a correct answer must contain, case-sensitive, written by hand
from the documents), and reports:

  correct            share of answers that contain the expected phrase;
  sentence precision share of answer sentences that address the question,
                     counted strictly: a sentence addresses it when it
                     contains the expected phrase (the questions are
                     factoid questions, each with one short answer, so any
                     other sentence is noise around it); macro-averaged over
                     the answers that are not the not-found reply;
  one-sentence share of found answers made of exactly one sentence;
  not found          answers that are the fixed not-found reply.

The sentences are those of the answer's own citation check
(check.sentences), so the count is the one a user sees. Extractive answers
by default; any `ragd answer` option after `--` is passed on (e.g. a
generator). Give --ragd an older build to compare (docs/answer.md lists
the figures and how they were made).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_FOUND = "I could not find an answer to this in the sources."


def load(fixtures):
    queries = {}
    with open(os.path.join(fixtures, "eval", "queries.jsonl")) as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                queries[q["_id"]] = q["text"]
    expected = {}
    with open(os.path.join(fixtures, "eval", "answers.tsv")) as f:
        next(f)
        for line in f:
            qid, doc, phrase = line.rstrip("\n").split("\t")
            expected[qid] = (doc, phrase)
    return [(qid, queries[qid], expected[qid][0], expected[qid][1]) for qid in queries if qid in expected]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ragd", default=os.path.join(ROOT, "build", "ragd"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "fixtures"))
    ap.add_argument("--label", default="current")
    ap.add_argument("--json", help="write the report (with per-question rows) here")
    ap.add_argument("--misses", action="store_true", help="print the questions answered wrongly")
    ap.add_argument("extra", nargs="*", help="options for ragd answer (after --)")
    a = ap.parse_args()
    cases = load(a.fixtures)
    env = dict(os.environ, RAGD_GENERATOR="", RAGD_GENERATOR_URL="", RAGD_GENERATOR_MODEL="")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        subprocess.run([a.ragd, "ingest", "--data", data, os.path.join(a.fixtures, "docs")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for qid, q, doc, phrase in cases:
            p = subprocess.run([a.ragd, "answer", "--json", "--data", data, *a.extra, q], capture_output=True,
                               text=True, env=env)
            if p.returncode != 0:
                rows.append({"id": qid, "error": p.stderr.strip()})
                continue
            r = json.loads(p.stdout)
            ans = r["answer"]
            sents = [s["text"] for s in r.get("check", {}).get("sentences", [])] or [ans]
            found = ans.strip() != NOT_FOUND
            hit = [phrase in s for s in sents]
            rows.append({"id": qid, "question": q, "expected": phrase, "answer": ans, "found": found,
                         "correct": phrase in ans, "sentences": len(sents),
                         "addressing": sum(hit), "precision": sum(hit) / len(sents) if found else None})
    ok = [r for r in rows if "error" not in r]
    found = [r for r in ok if r["found"]]
    rep = {
        "label": a.label, "ragd": a.ragd, "questions": len(rows), "errors": len(rows) - len(ok),
        "correct": sum(r["correct"] for r in ok) / len(ok) if ok else 0.0,
        "sentence_precision": sum(r["precision"] for r in found) / len(found) if found else 0.0,
        "one_sentence": sum(r["sentences"] == 1 for r in found) / len(found) if found else 0.0,
        "mean_sentences": sum(r["sentences"] for r in found) / len(found) if found else 0.0,
        "not_found": len(ok) - len(found), "rows": rows,
    }
    print(f"{a.label}: {rep['questions']} questions, correct {rep['correct']:.3f}, "
          f"sentence precision {rep['sentence_precision']:.3f}, one sentence {rep['one_sentence']:.3f}, "
          f"mean sentences {rep['mean_sentences']:.2f}, not found {rep['not_found']}, errors {rep['errors']}")
    if a.misses:
        for r in ok:
            if not r["correct"]:
                print(f"  {r['id']}: expected {r['expected']!r}; got {r['answer'][:160]!r}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
