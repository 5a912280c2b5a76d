#!/usr/bin/env python3
"""bench/synth_corpus.py — a synthetic BEIR corpus N times the size of SciFact, reproducibly.

    bench/synth_corpus.py CORPUS.jsonl OUT.jsonl --scale 20 --seed 42

Document i of the output copies the shape of a source document drawn (seeded
RNG) from CORPUS: its title and text word by word, each word replaced with
probability 0.3 by a word drawn from the whole corpus's running text (so word
frequencies stay Zipfian like the source's, document lengths follow the
source's distribution, and no two documents are identical: ragd skips
unchanged content by hash). Ids are "s<i>". The same CORPUS, scale and seed
give byte-identical output. Used by bench/run.py for ingest time against
corpus size (linearity); importable (generate()).
"""

import argparse
import json
import random


def generate(corpus, out, scale, seed=42, p_replace=0.3):
    docs = [json.loads(l) for l in open(corpus, encoding="utf-8") if l.strip()]
    vocab = [w for d in docs for w in d.get("text", "").split()]
    rng = random.Random(seed)
    n = max(1, int(round(len(docs) * scale)))
    rnd, pick, nv = rng.random, rng.randrange, len(vocab)

    def mutate(text):
        return " ".join(vocab[pick(nv)] if rnd() < p_replace else w for w in text.split())

    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            src = docs[pick(len(docs))]
            f.write(json.dumps({"_id": f"s{i}", "title": mutate(src.get("title", "")), "text": mutate(src.get("text", ""))}) + "\n")
    return n


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--scale", type=float, default=20)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    print(generate(a.corpus, a.out, a.scale, a.seed), "documents")
