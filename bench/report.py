#!/usr/bin/env python3
"""bench/report.py — docs/benchmarks.md and docs/scaling.md tables and plots from bench/results/*.json.

    bench/report.py [--results DIR] [--docs DIR] [--no-plots]

Reads the result files bench/run.py wrote (ingest, search, chunk, peers; any
may be missing or record a skip or a failure) and rewrites only the text
between generated-section markers,

    <!-- bench:begin NAME -->  ...  <!-- bench:end NAME -->

so the hand-written prose around them survives. A marker pair that is not in
the file yet is appended at its end. Plots (gnuplot, Debian gnuplot-nox) are
written as SVG under docs/img/ when gnuplot is on PATH and the data has at
least two points: latency against collection size (bench_vector), recall
against HNSW efSearch (raw FAISS, hnswlib-node, USearch), ingest time against
corpus size (bench_ingest). Pure function of the JSON: the same results give
the same Markdown (tests/it_bench_report.py checks it on a sample).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(results, name):
    p = os.path.join(results, f"{name}.json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def num(v, fmt="{:.2f}"):
    if v is None or isinstance(v, str):
        return "—" if v is None else v
    return fmt.format(v)


def ms(st, key="p50_ms"):
    return num((st or {}).get(key), "{:.2f}")


def ratio(v):
    return "—" if v is None else f"{v:.2f}×"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine_line(doc):
    m = doc.get("machine", {})
    v = m.get("versions", {})
    return (f"{doc.get('date', '?')}, {doc.get('mode', '?')} mode, commit {m.get('git_commit', '?')}"
            f"{' (dirty)' if m.get('git_dirty') else ''}; {m.get('cores', '?')} cores \"{m.get('cpu', '?')}\", "
            f"{m.get('memory_gb', '?')} GB; load average {num(doc.get('load_start'))} at start, "
            f"{num(doc.get('load_end'))} at end"
            f"{'' if doc.get('steal_pct') is None else '; CPU steal ' + num(doc.get('steal_pct')) + ' %'}; SQLite {v.get('sqlite3', '?')}, FAISS {v.get('faiss', '?')}, "
            f"jansson {v.get('jansson', '?')}, node {v.get('node', '?')}, {v.get('cc', '?')}")


def failed(doc):
    if doc is None:
        return "not run"
    return doc.get("skipped") or doc.get("failed")


# --- sections --------------------------------------------------------------


def sec_headline(r):
    s, i, c, p = (r.get(k) or {} for k in ("search", "ingest", "chunk", "peers"))
    rows = [
        ("search", "`dense_ragd_over_faiss_ratio`", ratio(s.get("dense_ragd_over_faiss_ratio")), "≤ 1.10×",
         "ragd `vindex_search` p50 ÷ raw FAISS p50, flat, same index and queries (median of per-query ratios: "
         + ratio(s.get("dense_ragd_over_faiss_paired")) + ")"),
        ("search", "`lexical_ragd_over_fts5_ratio`", ratio(s.get("lexical_ragd_over_fts5_ratio")), "≤ 1.30×",
         "`retrieve_search --mode lexical` p50 (k 10) ÷ the raw FTS5 query it wraps"),
        ("search", "`hybrid_ragd_over_fts5_ratio`", ratio(s.get("hybrid_ragd_over_fts5_ratio")), "≤ 1.50×",
         "`retrieve_search --mode hybrid` p50 (k 10) ÷ the same raw FTS5 query"),
        ("search", "eval lexical ÷ raw FTS5 top-100", ratio((s.get("eval") or {}).get("eval_lexical_over_fts5_top100_ratio")),
         "≤ 2×", "`ragd eval --mode lexical --k 100` per-query p50 ÷ raw FTS5 LIMIT 100 p50 timed just before and "
         "after it (median round; interleaved in one process: "
         + ratio((s.get("query") or {}).get("eval_lexical_k100_over_fts5_top100_ratio")) + ")"),
        ("ingest", "`ingest_seconds`", num(i.get("ingest_seconds")), "≤ 4 s", "SciFact, `ragd ingest` defaults"),
        ("ingest", "`ingest_ragd_over_fts5_ratio`", ratio(i.get("ingest_ragd_over_fts5_ratio")), "≤ 5×",
         "÷ plain FTS5 indexing of the same corpus, same run"),
        ("ingest", "`ingest_cpu_seconds` / CPU ratio", f"{num(i.get('ingest_cpu_seconds'))} / {ratio(i.get('ingest_ragd_over_fts5_cpu_ratio'))}",
         "", "user + system CPU of the ragd child (all threads) ÷ the FTS5 side's CPU: less load-sensitive"),
        ("chunk", "`fixed_mb_s`", num(c.get("fixed_mb_s")), "≥ 100", "fixed chunker, MB/s of normalized text"),
        ("chunk", "`semantic_mb_s`", num(c.get("semantic_mb_s")), "≥ 10", "semantic chunker, local embedder"),
        ("chunk", "`fixed_over_langchain_ratio`", ratio(c.get("fixed_over_langchain_ratio")), "≥ 10×",
         "ragd fixed MB/s ÷ LangChain RecursiveCharacterTextSplitter MB/s, interleaved"),
        ("peers", "`hnsw_ragd_over_hnswlib_equal_recall`", ratio(p.get("hnsw_ragd_over_hnswlib_equal_recall")), "≤ 1×",
         "ragd HNSW32 p50 ÷ hnswlib-node p50 at hnswlib's recall@10, worst over its efSearch points that ragd's "
         "sweep reaches (" + str(p.get("hnsw_hnswlib_points_ragd_does_not_reach", "—")) + " not reached)"),
        ("peers", "ran", ", ".join(p.get("ran", [])) or "—", "", "skipped: " + (", ".join(sorted(p.get("skipped", {}))) or "none")),
    ]
    out = [table(["file", "key", "value", "target (issue 13)", "what"], rows), ""]
    for name in ("ingest", "search", "chunk", "peers"):
        doc = r.get(name)
        if doc and not failed(doc):
            out.append(f"- `bench/results/{name}.json`: {machine_line(doc)}")
        else:
            out.append(f"- `bench/results/{name}.json`: {failed(doc)}")
    return "\n".join(out)


def sec_ingest(r):
    i = r.get("ingest")
    if failed(i):
        return f"Not measured: {failed(i)}."
    rows = []
    for c in i.get("corpora", []):
        mb = c["corpus_bytes"] / 1048576
        name = "SciFact" if "synthetic_scale" not in c else f"synthetic {c['synthetic_scale']:g}× (seed 42)"
        ch = c.get("chunks") or 1
        rows.append((name, num(mb, "{:.1f}"), num(c.get("documents"), "{:.0f}"), num(c.get("chunks"), "{:.0f}"),
                     num(c.get("ragd_s")), num(c.get("fts5_s")), ratio(c.get("ragd_over_fts5")),
                     num(mb / c["ragd_s"] if c.get("ragd_s") else None), num(c.get("ragd_peak_rss_mb"), "{:.0f}"),
                     num(c["sqlite_bytes"] / ch, "{:.0f}"), num(c["faiss_bytes"] / ch, "{:.0f}"),
                     num(c.get("ragd_cpu_s")), num(c.get("fts5_cpu_s")), ratio(c.get("ragd_over_fts5_cpu"))))
    out = [table(["corpus", "MB", "documents", "chunks", "ragd ingest s", "FTS5 s", "ragd ÷ FTS5", "ragd MB/s",
                  "ingest peak RSS MB", "SQLite B/chunk", "FAISS B/chunk", "ragd CPU s", "FTS5 CPU s",
                  "CPU ratio"], rows)]
    tabs = i.get("sqlite_tables")
    if tabs:
        total = sum(tabs.values()) or 1
        out += ["", "Where the SciFact database's bytes are (SQLite `dbstat`, largest first):", "",
                table(["table / index", "MB", "share", "bytes per chunk"],
                      [(k, num(v / 1048576, "{:.1f}"), f"{100 * v / total:.0f} %",
                        num(v / (i["corpora"][0].get("chunks") or 1), "{:.0f}"))
                       for k, v in sorted(tabs.items(), key=lambda kv: -kv[1])[:10]])]
    out += ["", f"Rounds: {i.get('reps')} on SciFact (sides alternating, medians); one per synthetic corpus. "
            f"Command: `{' '.join(i.get('command', []))}`."]
    return "\n".join(out)


def sec_search(r):
    s = r.get("search")
    if failed(s):
        return f"Not measured: {failed(s)}."
    out = []
    q = s.get("query")
    if q:
        names = [("fts5_limit50", "raw FTS5 bm25 LIMIT 50 (baseline)"), ("fts5_limit100", "raw FTS5 bm25 LIMIT 100"),
                 ("lexical_search_k50", "lexical_search (k 50)"), ("embed_vindex_k50", "embed + vindex_search (k 50)"),
                 ("ragd_lexical", "retrieve_search lexical (k 10)"), ("ragd_dense", "retrieve_search dense (k 10)"),
                 ("ragd_hybrid", "retrieve_search hybrid (k 10)")]
        rows = [(label, ms(q["measures"].get(k)), ms(q["measures"].get(k), "p90_ms"), ms(q["measures"].get(k), "p99_ms"),
                 ms(q["measures"].get(k), "mean_ms")) for k, label in names]
        out += [f"SciFact, {q.get('queries')} queries × {q.get('reps')} passes, interleaved query by query "
                f"(`{' '.join(q.get('command', []))}`):", "",
                table(["measure", "p50 ms", "p90 ms", "p99 ms", "mean ms"], rows), "",
                f"Ratios (p50; median of per-query ratios in parentheses): lexical ÷ raw FTS5 "
                f"{ratio(q.get('lexical_ragd_over_fts5_ratio'))} ({ratio(q.get('lexical_ragd_over_fts5_paired'))}), "
                f"hybrid ÷ raw FTS5 {ratio(q.get('hybrid_ragd_over_fts5_ratio'))} "
                f"({ratio(q.get('hybrid_ragd_over_fts5_paired'))}).", ""]
        st = q.get("stages", {})
        out += ["Where `retrieve_search` spends its time (mean ms per query, its own `timing_ms`):", "",
                table(["mode", "lexical", "embed", "dense", "fuse", "validate", "total"],
                      [(m.replace("ragd_", ""), ms(st.get(m), "lexical_ms"), ms(st.get(m), "embed_ms"), ms(st.get(m), "dense_ms"),
                        ms(st.get(m), "fuse_ms"), ms(st.get(m), "validate_ms"), ms(st.get(m), "total_ms"))
                       for m in ("ragd_lexical", "ragd_dense", "ragd_hybrid")]), ""]
    ev = s.get("eval") or {}
    if ev:
        rows = [(m, num(ev.get(m, {}).get("ndcg@10"), "{:.4f}"), num(ev.get(m, {}).get("recall@100"), "{:.4f}"),
                 num(ev.get(m, {}).get("p50_ms")), num(ev.get(m, {}).get("seconds"), "{:.1f}"))
                for m in ("lexical", "dense", "hybrid") if m in ev]
        out += ["`ragd eval --beir SciFact --k 100` (the CLI, one process per mode):", "",
                table(["mode", "nDCG@10", "Recall@100", "per-query p50 ms", "process s"], rows), "",
                f"Raw FTS5 LIMIT 100 p50 in bench_query earlier in the run: {num(ev.get('fts5_top100_p50_ms'))} ms. "
                f"Eval lexical ÷ raw FTS5 top-100, paired (raw FTS5 timed just before and after each `ragd eval` "
                f"round, ÷ their geometric mean; median round): {ratio(ev.get('eval_lexical_over_fts5_top100_ratio'))}"
                + (" (rounds: " + ", ".join(ratio(r.get("ratio")) for r in ev["lexical_rounds"]) + ")"
                   if ev.get("lexical_rounds") else "") + ".", ""]
    vec = s.get("vector") or []
    if vec:
        rows = []
        for v in vec:
            for ix in v.get("indexes", []):
                rows.append((f"{v['n']:,}", ix["label"], ms(ix["latency"]), ms(ix["latency"], "p99_ms"),
                             num(ix.get("recall"), "{:.4f}"), num(ix.get("build_s")), num(ix.get("rss_delta_mb"), "{:.0f}")))
        out += ["Dense search, ragd (`vindex_open` + `vindex_search`) against raw FAISS on the same vectors "
                "(bench_vector: 384-d clustered synthetic vectors, k 10, one query at a time, interleaved):", "",
                table(["vectors", "index", "p50 ms", "p99 ms", "recall@10", "build s", "ΔRSS MB"], rows), ""]
        for v in vec:
            if v.get("ef_sweep"):
                rg = {p["ef_search"]: p for p in v.get("ragd_ef_sweep", [])}
                out += [f"HNSW32 (efConstruction 40) at {v['n']:,} vectors, recall@10 against efSearch: raw FAISS "
                        "(one `add`, FAISS's search) and ragd (built from SQLite in batches by ragd's insertion and in-degree repair, searched by "
                        "index/hnsw_search.c), interleaved query by query:", "",
                        table(["efSearch", "raw FAISS recall@10", "raw FAISS p50 ms", "ragd recall@10", "ragd p50 ms"],
                              [(p["ef_search"], num(p["recall"], "{:.4f}"), ms(p["latency"]),
                                num(rg[p["ef_search"]]["recall"], "{:.4f}") if p["ef_search"] in rg else "—",
                                ms(rg[p["ef_search"]]["latency"]) if p["ef_search"] in rg else "—")
                               for p in v["ef_sweep"]]), ""]
        out += ["![latency against collection size](img/latency_vs_size.svg)", ""]
    return "\n".join(out).rstrip()


def sec_chunk(r):
    c = r.get("chunk")
    if failed(c):
        return f"Not measured: {failed(c)}."
    labels = {"fixed": "ragd fixed", "parent": "ragd parent", "semantic": "ragd semantic",
              "langchain_chars": "LangChain chars (chunkSize 1,071)", "langchain_tokens": "LangChain tokens (ragd's count)"}
    rows = [(labels[k], num(m.get("median_s"), "{:.3f}"), num(m.get("mb_s"))) for k, m in c.get("measures", {}).items()]
    peers = (r.get("peers") or {}).get("peers", {})
    for k in ("llamaindex_sentence_splitter", "langchain_recursive_splitter"):
        if k in peers:
            p = peers[k]
            rows.append((f"{k} {p.get('version')} (peers.mjs, not interleaved)", num(p.get("median_s"), "{:.3f}"), num(p.get("mb_s"))))
    out = [f"{num(c.get('input_mb'))} MB of normalized SciFact text, {c.get('documents')} documents "
           f"(`{' '.join(c.get('command', []))}`):", "", table(["measure", "median s", "MB/s"], rows), "",
           f"ragd fixed ÷ LangChain (chars): {ratio(c.get('fixed_over_langchain_ratio'))}; ÷ LangChain (tokens): "
           f"{ratio(c.get('fixed_over_langchain_tokens_ratio'))} (LangChain {c.get('langchain_version', '?')}, node {c.get('node_version', '?')})."]
    ing = c.get("ingest") or {}
    if ing:
        out += ["", table(["chunker", "full ingest s", "MB/s", "peak RSS MB", "chunks"],
                          [(k, num(v.get("seconds")), num(v.get("mb_s")), num(v.get("peak_rss_mb"), "{:.0f}"),
                            num(v.get("chunks"), "{:.0f}")) for k, v in ing.items()])]
    return "\n".join(out)


def sec_peers(r):
    p = r.get("peers")
    if failed(p):
        return f"Not measured: {failed(p)}."
    peers, ragd = p.get("peers", {}), p.get("ragd", {})
    rows = []
    for m in ("lexical", "dense", "hybrid"):
        rm = ragd.get("modes", {}).get(m, {})
        evq = ((r.get("search") or {}).get("eval") or {}).get(m, {}).get("queries", "")
        rows.append(("ragd", "", m, num(rm.get("ndcg@10"), "{:.4f}"), evq, ms(rm.get("latency")), ms(rm.get("latency"), "p99_ms"),
                     num(ragd.get("ingest_s") or (r.get("ingest") or {}).get("ingest_seconds")) if m == "lexical" else ""))
    for name in ("sqlite_fts5", "postgresql", "lancedb", "orama"):
        if name not in peers:
            continue
        pe = peers[name]
        for j, (m, v) in enumerate(pe.get("modes", {}).items()):
            rows.append((name, pe.get("version", ""), m, num(v.get("ndcg@10"), "{:.4f}"), v.get("queries_scored", ""), ms(v.get("latency")),
                         ms(v.get("latency"), "p99_ms"), num(pe.get("ingest_s")) if j == 0 else ""))
    out = ["Same SciFact chunks (exported from ragd's store) and the same local-embedder vectors; nDCG@10 over "
           "the documents of each engine's top chunks, scored by bench/run.py against qrels/test.tsv (ragd: "
           "`ragd eval`, the whole pipeline with validation). Latency: one query at a time; ragd and raw FTS5 "
           "from bench_query in process, PostgreSQL through psql `\\timing` (Unix socket), LanceDB and Orama in node.", "",
           table(["engine", "version", "mode", "nDCG@10", "queries scored", "p50 ms", "p99 ms", "ingest s"], rows), ""]
    ann = [(n, peers[n]) for n in ("hnswlib", "usearch") if n in peers]
    vec = next((v for v in (r.get("search") or {}).get("vector", []) if v.get("ef_sweep")), None)
    if ann or vec:
        rows = []
        if vec:
            for ix in vec.get("indexes", []):
                if "HNSW" in ix["label"]:
                    rows.append((ix["label"], "64", num(ix.get("recall"), "{:.4f}"), ms(ix["latency"]), num(ix.get("build_s")), "all cores"))
        for n, pe in ann:
            a = pe.get("at_ef64") or {}
            rows.append((f"{n} {pe.get('version')}", "64", num(a.get("recall"), "{:.4f}"), ms(a.get("latency")), num(pe.get("build_s")),
                         str(pe.get("build_threads"))))
        out += [f"HNSW on the same {vec['n']:,} vectors as bench_vector (M 32, efConstruction 40, inner product):" if vec else "HNSW:", "",
                table(["index", "efSearch", "recall@10", "p50 ms", "build s", "build threads"], rows), "",
                "![recall against efSearch](img/recall_vs_efsearch.svg)", ""]
        for n, _ in ann:
            mr = p.get(f"hnsw_matched_recall_{n}")
            if not mr:
                continue
            out += [f"At {n}'s recall points: ragd's p50 read off its own efSearch sweep (bench_vector "
                    "`ragd_ef_sweep`, linear between the two points that bracket the recall; the two sides "
                    "ran minutes apart in the same `make bench`):", "",
                    table([f"{n} efSearch", "recall@10", f"{n} p50 ms", "ragd p50 ms at that recall", "ragd ÷ " + n],
                          [(m["peer_ef"], num(m["peer_recall"], "{:.4f}"), num(m["peer_p50_ms"], "{:.3f}"),
                            num(m["ragd_p50_ms"], "{:.3f}") if m["ragd_p50_ms"] is not None else "not reached",
                            ratio(m["ratio"]) if m["ratio"] is not None else "—") for m in mr]), ""]
    sk = p.get("skipped", {})
    out.append("Skipped: " + ("; ".join(f"**{k}**: {v}" for k, v in sorted(sk.items())) if sk else "none") + ".")
    return "\n".join(out)


def sec_profile(r):
    p = r.get("profile")
    if failed(p):
        return f"Not measured: {failed(p)}."
    out = [f"`{' '.join(p.get('command', []))}` — {p.get('samples')} samples at {p.get('freq_hz')} Hz, "
           f"{num(p.get('wall_s'), '{:.1f}')} s wall under perf ({machine_line(p)}).", "",
           table(["stage", "share of ingest CPU samples (all threads)"],
                 [(s["stage"], f"{s['share_pct']:.1f} %") for s in p.get("stages", [])]), "",
           "Top self time:", "",
           table(["self %", "library", "symbol"],
                 [(f"{t['self_pct']:.2f}", t["dso"], f"`{t['symbol']}`") for t in p.get("top_self", [])[:15]])]
    return "\n".join(out)


def sec_scaling(r):
    i, s = r.get("ingest") or {}, r.get("search") or {}
    out = []
    corp = i.get("corpora", []) if not failed(i) else []
    if corp:
        rows = [("SciFact" if "synthetic_scale" not in c else f"synthetic {c['synthetic_scale']:g}×", num(c.get("chunks"), "{:.0f}"),
                 num(c["sqlite_bytes"] / (c.get("chunks") or 1), "{:.0f}"), num(c["faiss_bytes"] / (c.get("chunks") or 1), "{:.0f}"),
                 num(c.get("ragd_peak_rss_mb"), "{:.0f}"), num((c.get("serve") or {}).get("rss_after_start_mb"), "{:.0f}"),
                 num((c.get("serve") or {}).get("peak_rss_mb"), "{:.0f}")) for c in corp]
        out += ["Measured by `make bench` (bench_ingest; flat index, local embedder, 384 dimensions; serve: `ragd serve "
                "--threads 2` on the ingested directory, VmRSS after start and VmHWM after 50 `POST /v1/search`):", "",
                table(["corpus", "chunks", "SQLite bytes/chunk", "FAISS bytes/chunk", "ingest peak RSS MB",
                       "serve RSS after start MB", "serve peak RSS MB"], rows), ""]
        base = corp[0]
        sq = base["sqlite_bytes"] / (base.get("chunks") or 1)
        dim = 384
        rows = []
        for n in (10_000_000, 100_000_000):
            flat = n * (dim * 4 + 8)
            ivfpq = n * (48 + 8) + 65536 * dim * 4
            rows.append((f"{n // 1_000_000}M", num(n * sq / 1e9, "{:.0f}"), num(flat / 1e9, "{:.1f}"), num(ivfpq / 1e9, "{:.2f}"),
                         num((n * sq + ivfpq) / 1e9, "{:.0f}")))
        out += ["Projected footprint (SQLite at the measured bytes per chunk; FAISS `IDMap,Flat` = 384 × 4 + 8 bytes per "
                "vector; `IVF65536,PQ48` = 48-byte codes + 8-byte ids per vector + 65,536 × 384 float centroids):", "",
                table(["chunks", "SQLite GB", "FAISS Flat GB", "FAISS IVF-PQ GB", "total with IVF-PQ GB"], rows), ""]
    vec = s.get("vector", []) if not failed(s) else []
    if vec:
        rows = []
        for v in vec:
            for ix in v.get("indexes", []):
                if ix["label"].startswith("ragd"):
                    rows.append((f"{v['n']:,}", ix["label"], num(ix.get("rss_delta_mb"), "{:.0f}"),
                                 num(ix.get("build_peak_above_start_mb"), "{:.0f}"),
                                 num((ix.get("build_peak_above_start_mb") or 0) / ix["rss_delta_mb"] if ix.get("rss_delta_mb") else None),
                                 num(ix.get("load_s"), "{:.3f}"), num(ix.get("raw_load_s"), "{:.3f}"), num(v.get("catchup_scan_s"), "{:.3f}")))
        out += ["Building and opening the index (bench_vector):", "",
                table(["vectors", "index", "index ΔRSS MB", "build peak above start MB", "peak ÷ index", "open s",
                       "bare read_index s", "catch-up query s"], rows), ""]
    return "\n".join(out).rstrip() or "Not measured yet: run `make bench`."


# --- plots -----------------------------------------------------------------


def gnuplot(script, name, docs):
    if not shutil.which("gnuplot"):
        print(f"report.py: gnuplot not found; {name} not drawn (scripts/install-bench-deps)", file=sys.stderr)
        return
    img = os.path.join(docs, "img")
    os.makedirs(img, exist_ok=True)
    head = f"set terminal svg size 720,420 dynamic font 'sans,12'\nset output '{os.path.join(img, name)}'\nset grid\nset key top left\nset termoption noenhanced\n"
    r = subprocess.run(["gnuplot"], input=head + script, capture_output=True, text=True)
    if r.returncode:
        print(f"report.py: gnuplot failed for {name}: {r.stderr.strip()}", file=sys.stderr)


def series(points):
    return "\n".join(" ".join(str(x) for x in p) for p in points) + "\ne\n"


def plots(r, docs):
    s = r.get("search") or {}
    vec = s.get("vector", []) if not failed(s) else []
    lines = {}
    for v in vec:
        for ix in v.get("indexes", []):
            lines.setdefault(ix["label"], []).append((v["n"], ix["latency"]["p50_ms"]))
    lines = {k: sorted(v) for k, v in lines.items() if len(v) >= 2}
    if lines:
        plot = ", ".join(f"'-' using 1:2 with linespoints title '{k}'" for k in lines)
        gnuplot("set logscale x\nset xlabel 'vectors in the collection'\nset ylabel 'search p50 ms (k 10, 1 thread)'\n"
                "set logscale y\nplot " + plot + "\n" + "".join(series(v) for v in lines.values()), "latency_vs_size.svg", docs)
    curves = {}
    for v in vec:
        if v.get("ef_sweep"):
            curves[f"raw FAISS HNSW32, {v['n']:,} vectors"] = [(p["ef_search"], p["recall"], p["latency"]["p50_ms"])
                                                                 for p in v["ef_sweep"]]
        if v.get("ragd_ef_sweep"):
            curves[f"ragd HNSW32, {v['n']:,} vectors"] = [(p["ef_search"], p["recall"], p["latency"]["p50_ms"])
                                                         for p in v["ragd_ef_sweep"]]
    peers = (r.get("peers") or {}).get("peers", {})
    for n in ("hnswlib", "usearch"):
        if peers.get(n, {}).get("ef_sweep"):
            first = next((v for v in vec if v.get("ef_sweep")), None)
            label = f"{n}, {first['n']:,} vectors" if first else n
            curves[label] = [(p["ef_search"], p["recall"], p["latency"]["p50_ms"]) for p in peers[n]["ef_sweep"]]
    if curves:
        plot = ", ".join(f"'-' using 1:2 with linespoints title '{k}'" for k in curves)
        gnuplot("set logscale x 2\nset xlabel 'efSearch'\nset ylabel 'recall@10'\nset key bottom right\nplot " + plot + "\n"
                + "".join(series(v) for v in curves.values()), "recall_vs_efsearch.svg", docs)
    i = r.get("ingest") or {}
    corp = i.get("corpora", []) if not failed(i) else []
    if len(corp) >= 2:
        pts = sorted((c["corpus_bytes"] / 1048576, c["ragd_s"], c["fts5_s"]) for c in corp)
        gnuplot("set xlabel 'corpus MB'\nset ylabel 'seconds'\nplot '-' using 1:2 with linespoints title 'ragd ingest', "
                "'-' using 1:3 with linespoints title 'plain FTS5'\n" + series(pts) + series(pts), "ingest_vs_size.svg", docs)


# --- markers ---------------------------------------------------------------


def splice(path, sections, title):
    text = open(path).read() if os.path.exists(path) else f"# {title}\n"
    for name, body in sections.items():
        begin, end = f"<!-- bench:begin {name} -->", f"<!-- bench:end {name} -->"
        block = f"{begin}\n<!-- generated by bench/report.py from bench/results/*.json; edit the prose outside -->\n\n{body}\n\n{end}"
        pat = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        if pat.search(text):
            text = pat.sub(lambda _m: block, text)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--no-plots", action="store_true")
    a = ap.parse_args()
    r = {n: load(a.results, n) for n in ("ingest", "search", "chunk", "peers", "profile")}
    splice(os.path.join(a.docs, "benchmarks.md"), {
        "headline": sec_headline(r), "ingest": sec_ingest(r), "search": sec_search(r),
        "chunk": sec_chunk(r), "peers": sec_peers(r), "profile": sec_profile(r)}, "Benchmarks")
    splice(os.path.join(a.docs, "scaling.md"), {"scaling": sec_scaling(r)}, "Scaling")
    if not a.no_plots:
        plots(r, a.docs)
    print(f"report.py: updated {os.path.relpath(os.path.join(a.docs, 'benchmarks.md'), os.getcwd())} and scaling.md",
          file=sys.stderr)


if __name__ == "__main__":
    main()
