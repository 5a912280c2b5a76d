// bench/js/peers.mjs — the JavaScript peers of `make bench`, run on ragd's own
// data so every figure is comparable with ragd's in the same run.
//
//   node bench/js/peers.mjs --store DIR --vectors DIR --texts FILE --out FILE [--quick]
//
// --store DIR   (bench_query --export): ragd's chunks, their unit-norm vectors
//               and the queries with their local-embedder vectors. LanceDB
//               (@lancedb/lancedb: native FTS index, flat vector search, hybrid
//               with its RRF reranker) and Orama (@orama/orama: BM25, vector,
//               hybrid) index exactly those chunks and vectors; per engine:
//               ingest seconds, and per mode one query at a time (after a
//               warm-up) p50/p99 and the ranked documents (the distinct
//               documents of the top 50 chunks, in order) that bench/run.py
//               scores with nDCG@10 against the qrels, like it scores ragd.
// --vectors DIR (bench_vector --export): base.f32, queries.f32, gt.i32 (exact
//               top-k row numbers). hnswlib-node and USearch build an HNSW
//               index with FAISS's settings as ragd uses them (M 32,
//               efConstruction 40, inner product) and search at efSearch 64
//               and at each --ef-sweep value: build seconds, p50/p99,
//               recall@k.
// --texts FILE  (bench_chunk --texts): one JSON string per line, the
//               normalized texts ragd's chunkers see. LlamaIndex's
//               SentenceSplitter (256 tokens, overlap 32, its tokenizer) and
//               LangChain's RecursiveCharacterTextSplitter (characters =
//               tokens × 4.18, as bench_chunk does) split them: MB/s.
// Every peer runs in its own try block: one that cannot load or run is listed
// under "skipped" with the error, and the others still run. One JSON object
// is written to --out; progress goes to stderr.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// LanceDB's native core logs deprecation warnings per query at WARN.
process.env.RUST_LOG ??= 'error';
process.env.LANCEDB_LOG ??= 'error';
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const out = { node: process.version, quick, peers: {}, skipped: {} };
const log = (...m) => console.error('peers.mjs:', ...m);
const version = (pkg) => {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url))).version;
  }
};
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const pct = (p) => {
    if (!s.length) return null;
    const pos = p * (s.length - 1), i = Math.floor(pos), f = pos - i;
    return i + 1 < s.length ? s[i] * (1 - f) + s[i + 1] * f : s[i];
  };
  const sum = s.reduce((a, b) => a + b, 0);
  return { n: s.length, p50_ms: pct(0.5), p90_ms: pct(0.9), p99_ms: pct(0.99), mean_ms: sum / (s.length || 1), qps: s.length ? (1000 * s.length) / sum : null };
}

function readF32(path, dim) {
  const b = readFileSync(path);
  const all = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const rows = [];
  for (let i = 0; i < all.length / dim; i++) rows.push(all.subarray(i * dim, (i + 1) * dim));
  return rows;
}

// Distinct documents of a ranked chunk list, first occurrence order, at most 10.
function docs(list) {
  const seen = new Set();
  for (const d of list) {
    if (!seen.has(d)) seen.add(d);
    if (seen.size === 10) break;
  }
  return [...seen];
}

// One query at a time: warm-up, then timed; returns latency and rankings.
async function timeQueries(queries, fn, warm) {
  for (let i = 0; i < Math.min(warm, queries.length); i++) await fn(queries[i]);
  const lat = [], runs = {};
  for (const q of queries) {
    const t0 = now();
    const ranked = await fn(q);
    lat.push(now() - t0);
    runs[q.id] = docs(ranked);
  }
  return { latency: stats(lat), runs };
}

async function peer(name, fn) {
  try {
    const t0 = now();
    out.peers[name] = await fn();
    log(`${name}: done in ${((now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    out.skipped[name] = String(e && e.stack ? e.stack.split('\n')[0] : e);
    log(`${name}: skipped: ${out.skipped[name]}`);
  }
}

function loadStore(dir) {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const chunks = readFileSync(join(dir, 'chunks.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const cvec = readF32(join(dir, 'chunk_vectors.f32'), meta.dim);
  const queries = readFileSync(join(dir, 'queries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const qvec = readF32(join(dir, 'query_vectors.f32'), meta.dim);
  queries.forEach((q, i) => (q.vec = qvec[i]));
  return { meta, chunks, cvec, queries };
}

async function lance(store) {
  const lancedb = await import('@lancedb/lancedb');
  const dir = mkdtempSync(join(tmpdir(), 'ragd-bench-lance-'));
  try {
    const t0 = now();
    const db = await lancedb.connect(dir);
    const rows = store.chunks.map((c, i) => ({ id: c.id, doc: c.doc, text: c.title ? `${c.title}\n${c.text}` : c.text, vector: Array.from(store.cvec[i]) }));
    const tbl = await db.createTable('chunks', rows, { mode: 'overwrite' });
    await tbl.createIndex('text', { config: lancedb.Index.fts() });
    const ingest_s = (now() - t0) / 1000;
    const rrf = await lancedb.rerankers.RRFReranker.create();
    const modes = {
      lexical: (q) => tbl.search(q.text, 'fts').select(['doc']).limit(50).toArray(),
      dense: (q) => tbl.query().nearestTo(q.vec).distanceType('dot').select(['doc']).limit(50).toArray(),
      hybrid: (q) => tbl.query().fullTextSearch(q.text).nearestTo(q.vec).distanceType('dot').rerank(rrf).select(['doc']).limit(50).toArray(),
    };
    const res = { version: version('@lancedb/lancedb'), ingest_s, chunks: rows.length, queries: store.queries.length, modes: {} };
    for (const [m, fn] of Object.entries(modes)) {
      res.modes[m] = await timeQueries(store.queries, async (q) => (await fn(q)).map((r) => r.doc), 20);
    }
    return res;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function orama(store) {
  const { create, insertMultiple, search } = await import('@orama/orama');
  const dim = store.meta.dim;
  const t0 = now();
  const db = await create({ schema: { text: 'string', embedding: `vector[${dim}]` } });
  const docsIn = store.chunks.map((c, i) => ({ id: String(c.id), doc: c.doc, text: c.title ? `${c.title}\n${c.text}` : c.text, embedding: Array.from(store.cvec[i]) }));
  await insertMultiple(db, docsIn, 1000);
  const ingest_s = (now() - t0) / 1000;
  const pick = (r) => r.hits.map((h) => h.document.doc);
  const modes = {
    lexical: async (q) => pick(await search(db, { term: q.text, properties: ['text'], threshold: 1, limit: 50 })),
    dense: async (q) => pick(await search(db, { mode: 'vector', vector: { value: Array.from(q.vec), property: 'embedding' }, similarity: 0, limit: 50 })),
    hybrid: async (q) => pick(await search(db, { mode: 'hybrid', term: q.text, threshold: 1, vector: { value: Array.from(q.vec), property: 'embedding' }, similarity: 0, limit: 50 })),
  };
  const res = { version: version('@orama/orama'), ingest_s, chunks: docsIn.length, modes: {} };
  // Orama answers in tenths of a second here: --quick times the first 30 queries only.
  const qs = quick ? store.queries.slice(0, 30) : store.queries;
  res.queries = qs.length;
  for (const [m, fn] of Object.entries(modes)) res.modes[m] = await timeQueries(qs, fn, 5);
  return res;
}

function loadVectors(dir) {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const base = readF32(join(dir, 'base.f32'), meta.dim);
  const queries = readF32(join(dir, 'queries.f32'), meta.dim);
  const g = readFileSync(join(dir, 'gt.i32'));
  const gt = new Int32Array(g.buffer, g.byteOffset, g.byteLength / 4);
  return { meta, base, queries, gt };
}

function recall(results, v) {
  const k = v.meta.k;
  let hit = 0;
  results.forEach((ids, qi) => {
    const truth = new Set(v.gt.subarray(qi * k, (qi + 1) * k));
    for (const id of ids.slice(0, k)) if (truth.has(Number(id))) hit++;
  });
  return hit / (results.length * k);
}

function annRun(v, search, efs, setEf) {
  const sweep = [];
  for (const ef of efs) {
    setEf(ef);
    for (let i = 0; i < Math.min(100, v.queries.length); i++) search(v.queries[i]);
    const lat = [], res = [];
    for (const q of v.queries) {
      const t0 = now();
      res.push(search(q));
      lat.push(now() - t0);
    }
    sweep.push({ ef_search: ef, recall: recall(res, v), latency: stats(lat) });
  }
  return sweep;
}

const EFS = (opt('--ef-sweep') || '16,32,64,128,256').split(',').map(Number);

async function hnswlib(v) {
  const { HierarchicalNSW } = require('hnswlib-node');
  const { dim, n, k } = v.meta;
  const idx = new HierarchicalNSW('ip', dim);
  const t0 = now();
  idx.initIndex(n, 32, 40, 42);
  for (let i = 0; i < n; i++) idx.addPoint(Array.from(v.base[i]), i);
  const build_s = (now() - t0) / 1000;
  const sweep = annRun(v, (q) => idx.searchKnn(Array.from(q), k).neighbors, EFS, (ef) => idx.setEf(ef));
  return { version: version('hnswlib-node'), build_s, build_threads: 1, m: 32, ef_construction: 40, at_ef64: sweep.find((s) => s.ef_search === 64) || null, ef_sweep: sweep };
}

async function usearch(v) {
  const us = require('usearch');
  const { dim, n, k } = v.meta;
  const flat = new Float32Array(n * dim);
  v.base.forEach((r, i) => flat.set(r, i * dim));
  const keys = new BigUint64Array(n).map((_, i) => BigInt(i));
  const sweep = [];
  let build_s = 0;
  // expansion_search is fixed at construction: one index per efSearch value (--quick: two);
  // the build is timed once.
  for (const ef of quick ? [16, 64] : EFS) {
    const idx = new us.Index({ dimensions: dim, metric: us.MetricKind.IP, connectivity: 32, expansion_add: 40, expansion_search: ef });
    const t0 = now();
    idx.add(keys, flat, 1);
    if (!build_s) build_s = (now() - t0) / 1000;
    sweep.push(...annRun(v, (q) => Array.from(idx.search(q, k, 1).keys, Number), [ef], () => {}));
  }
  return { version: version('usearch'), build_s, build_threads: 1, connectivity: 32, expansion_add: 40, at_ef64: sweep.find((s) => s.ef_search === 64) || null, ef_sweep: sweep };
}

async function splitters(file) {
  // --quick: the first 1,000 texts (LlamaIndex splits ~0.2 MB/s here).
  const all = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const texts = quick ? all.slice(0, 1000) : all;
  const mb = texts.reduce((a, t) => a + Buffer.byteLength(t), 0) / 1048576;
  const reps = quick ? 1 : 3;
  const timeIt = async (split) => {
    for (const t of texts.slice(0, 200)) await split(t);
    const secs = [];
    let chunks = 0;
    for (let r = 0; r < reps; r++) {
      chunks = 0;
      const t0 = now();
      for (const t of texts) chunks += (await split(t)).length;
      secs.push((now() - t0) / 1000);
    }
    secs.sort((a, b) => a - b);
    const med = secs[Math.floor(secs.length / 2)];
    return { median_s: med, mb_s: mb / med, chunks, passes: reps };
  };
  const res = { input_mb: mb, documents: texts.length };
  await peer('llamaindex_sentence_splitter', async () => {
    const { SentenceSplitter } = await import('llamaindex');
    const s = new SentenceSplitter({ chunkSize: 256, chunkOverlap: 32 });
    return { version: version('llamaindex'), ...(await timeIt((t) => s.splitText(t))), settings: 'chunkSize 256, chunkOverlap 32 (its tokenizer)', ...res };
  });
  await peer('langchain_recursive_splitter', async () => {
    const { RecursiveCharacterTextSplitter } = await import('@langchain/textsplitters');
    const s = new RecursiveCharacterTextSplitter({ chunkSize: 1071, chunkOverlap: 134 });
    return { version: version('@langchain/textsplitters'), ...(await timeIt((t) => s.splitText(t))), settings: 'chunkSize 1071, chunkOverlap 134 characters', ...res };
  });
}

const storeDir = opt('--store'), vecDir = opt('--vectors'), texts = opt('--texts');
if (storeDir) {
  let store;
  try {
    store = loadStore(storeDir);
  } catch (e) {
    out.skipped.lancedb = out.skipped.orama = `cannot read ${storeDir}: ${e.message}`;
  }
  if (store) {
    await peer('lancedb', () => lance(store));
    await peer('orama', () => orama(store));
  }
}
if (vecDir) {
  let v;
  try {
    v = loadVectors(vecDir);
  } catch (e) {
    out.skipped.hnswlib = out.skipped.usearch = `cannot read ${vecDir}: ${e.message}`;
  }
  if (v) {
    await peer('hnswlib', () => hnswlib(v));
    await peer('usearch', () => usearch(v));
  }
}
if (texts) await splitters(texts);
writeFileSync(opt('--out') || '/dev/stdout', JSON.stringify(out, null, 1));
