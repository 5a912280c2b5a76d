#!/usr/bin/env python3
"""Old and new ragd binaries give the same search and eval results.

Runs, for each binary on its own copy of one data directory (so eval's
fingerprint file does not flip between them):
  ragd eval --beir DIR --per-query F --json   (lexical, dense, hybrid; k 10, 100)
  ragd search --json QUERY                    (every test query; same modes and k)
and compares every record, timings excluded (timing_ms, ms, p50_ms, p99_ms).
Floats must be equal exactly. Exit 0 when all equal.

usage: search_identical.py OLD_RAGD OLD_DATA NEW_RAGD NEW_DATA BEIR_DIR COLLECTION [MAX_QUERIES]
"""
import json, subprocess, sys, os, tempfile

TIMING = {"timing_ms", "ms", "p50_ms", "p99_ms"}


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in TIMING}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    old, old_data, new, new_data, beir, coll = sys.argv[1:7]
    maxq = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    tmp = tempfile.mkdtemp(prefix="search-identical-")
    records = diffs = 0
    for mode in ("lexical", "dense", "hybrid"):
        for k in ("10", "100"):
            outs = []
            for tag, b, d in (("old", old, old_data), ("new", new, new_data)):
                pq = os.path.join(tmp, f"{tag}-{mode}-{k}.jsonl")
                rc, out, err = run([b, "eval", "--data", d, "--collection", coll, "--beir", beir,
                                    "--mode", mode, "--k", k, "--per-query", pq, "--json"])
                if rc:
                    sys.exit(f"{tag} eval {mode} k {k} failed: {err}")
                outs.append((strip(json.loads(out)), [strip(json.loads(l)) for l in open(pq)]))
            (so, lo), (sn, ln) = outs
            records += 1 + len(lo)
            if so != sn:
                diffs += 1
                print(f"eval {mode} k {k}: summary differs\n  old {so}\n  new {sn}")
            if len(lo) != len(ln):
                diffs += 1
                print(f"eval {mode} k {k}: {len(lo)} vs {len(ln)} per-query lines")
            for a, b in zip(lo, ln):
                if a != b:
                    diffs += 1
                    print(f"eval {mode} k {k} query {a.get('query_id')}: differs")
            print(f"eval {mode} k {k}: ndcg@10 {so['ndcg@10']:.4f} "
                  f"recall@{k} {so.get('recall@' + k, 0):.4f}, {len(lo)} queries", flush=True)
    test = set()
    with open(os.path.join(beir, "qrels", "test.tsv")) as f:
        next(f)
        for line in f:
            if line.strip():
                test.add(line.split("\t")[0])
    queries = [json.loads(l) for l in open(os.path.join(beir, "queries.jsonl"))]
    queries = [q for q in queries if q["_id"] in test]
    if maxq:
        queries = queries[:maxq]
    for mode in ("lexical", "dense", "hybrid"):
        for k in ("10", "100"):
            n0 = diffs
            for q in queries:
                res = []
                for b, d in ((old, old_data), (new, new_data)):
                    rc, out, err = run([b, "search", "--data", d, "--collection", coll, "--mode",
                                        mode, "--k", k, "--json", q["text"]])
                    res.append((rc, strip(json.loads(out)) if out.strip() else err))
                records += 1
                if res[0] != res[1]:
                    diffs += 1
                    print(f"search {mode} k {k} query {q['_id']}: differs")
            print(f"search {mode} k {k}: {len(queries)} queries, {diffs - n0} differ", flush=True)
    print(f"{records} records compared, {diffs} differ")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
