// tests/js/openai.test.mjs — the official `openai` npm client (pinned in
// package.json) against a real `ragd serve`, changing only baseURL and
// apiKey: vector store create, file upload from a real file stream,
// attach with createAndPoll, search with filters (one that keeps the
// document, one that excludes it), chat completion without and with
// streaming (the streamed text equals the non-streamed one), and errors
// raised as the SDK's typed exceptions.
//
// Run by tests/it_openai_js.py: env RAGD_BASE_URL (…/v1), RAGD_KEY, and
// RAGD_DOC_LIGHT / RAGD_DOC_FERRY (paths of two Markdown files). Prints
// "ok <step>" lines and exits non-zero on the first failure. Node >= 18.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.RAGD_BASE_URL, apiKey: process.env.RAGD_KEY, maxRetries: 0 });
const Q = 'When was the Greyhollow light first exhibited?';
const ok = (step) => console.log(`ok ${step}`);

const vs = await client.vectorStores.create({
  name: 'sdk-test',
  metadata: { owner: 'tests' },
  chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 300, chunk_overlap_tokens: 30 } },
});
assert.equal(vs.object, 'vector_store');
assert.equal(vs.name, 'sdk-test');
assert.deepEqual(vs.metadata, { owner: 'tests' });
ok('vectorStores.create');

const light = await client.files.create({ file: fs.createReadStream(process.env.RAGD_DOC_LIGHT), purpose: 'assistants' });
assert.equal(light.object, 'file');
assert.match(light.id, /^file-/);
assert.equal(light.filename, 'greyhollow-log.md');
assert.equal(light.bytes, fs.statSync(process.env.RAGD_DOC_LIGHT).size);
const ferry = await client.files.create({ file: fs.createReadStream(process.env.RAGD_DOC_FERRY), purpose: 'assistants' });
const got = await client.files.retrieve(light.id);
assert.equal(got.id, light.id);
ok('files.create');

const t0 = Date.now();
const att = await client.vectorStores.files.createAndPoll(vs.id, { file_id: light.id, attributes: { year: 1871, kind: 'log' } });
assert.equal(att.status, 'completed', JSON.stringify(att));
assert.equal(att.last_error, null);
assert.deepEqual(att.attributes, { year: 1871, kind: 'log' });
const att2 = await client.vectorStores.files.createAndPoll(vs.id, { file_id: ferry.id, attributes: { year: 2024, kind: 'timetable' } });
assert.equal(att2.status, 'completed');
assert.ok(Date.now() - t0 < 20000, 'createAndPoll followed openai-poll-after-ms');
const listed = [];
for await (const f of client.vectorStores.files.list(vs.id, { limit: 1 })) listed.push(f.id);
assert.deepEqual(listed.sort(), [light.id, ferry.id].sort(), 'auto-pagination over cursor pages');
const store = await client.vectorStores.retrieve(vs.id);
assert.equal(store.file_counts.completed, 2);
ok('vectorStores.files.createAndPoll');

const hits = await client.vectorStores.search(vs.id, { query: Q, max_num_results: 5 });
assert.ok(hits.data.length >= 1);
assert.equal(hits.data[0].file_id, light.id);
assert.equal(hits.data[0].filename, 'greyhollow-log.md');
assert.equal(hits.data[0].content[0].type, 'text');
assert.match(hits.data[0].content[0].text, /1871/);
const kept = await client.vectorStores.search(vs.id, {
  query: Q,
  filters: { type: 'and', filters: [{ type: 'eq', key: 'kind', value: 'log' }, { type: 'lt', key: 'year', value: 1900 }] },
});
assert.deepEqual(kept.data.map((d) => d.file_id), [light.id]);
const excluded = await client.vectorStores.search(vs.id, { query: Q, filters: { type: 'gte', key: 'year', value: 2000 } });
assert.ok(!excluded.data.some((d) => d.file_id === light.id), 'the filter excludes the 1871 document');
ok('vectorStores.search with filters');

const models = await client.models.list();
assert.ok(models.data.some((m) => m.id === `ragd/${vs.id}`));
ok('models.list');

const messages = [{ role: 'system', content: 'Answer from the documents.' }, { role: 'user', content: Q }];
const c = await client.chat.completions.create({ model: `ragd/${vs.id}`, messages });
assert.equal(c.object, 'chat.completion');
const text = c.choices[0].message.content;
assert.match(text, /1871/);
assert.match(text, /\[1\]/);
assert.equal(c.choices[0].finish_reason, 'stop');
assert.equal(c.ragd.citations[0].doc_id, light.id);
assert.equal(c.ragd.check.ok, true);
ok('chat.completions.create');

const stream = await client.chat.completions.create({ model: `ragd/${vs.id}`, messages, stream: true });
let streamed = '';
let chunks = 0;
let finish = null;
for await (const chunk of stream) {
  assert.equal(chunk.object, 'chat.completion.chunk');
  chunks++;
  streamed += chunk.choices[0]?.delta?.content ?? '';
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
assert.equal(streamed, text, 'the streamed text equals the non-streamed text');
assert.ok(chunks >= 3);
assert.equal(finish, 'stop');
ok('chat.completions.create stream');

await assert.rejects(client.vectorStores.retrieve('vs_absent'), (e) => {
  assert.ok(e instanceof OpenAI.NotFoundError, String(e));
  assert.equal(e.status, 404);
  assert.equal(e.param, 'vector_store_id');
  assert.equal(e.type, 'invalid_request_error');
  return true;
});
await assert.rejects(client.vectorStores.search(vs.id, { query: Q, filters: { type: 'like', key: 'a', value: 1 } }), (e) => {
  assert.ok(e instanceof OpenAI.BadRequestError, String(e));
  assert.equal(e.param, 'filters.type');
  return true;
});
await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages }), (e) => {
  assert.ok(e instanceof OpenAI.BadRequestError, String(e));
  assert.equal(e.param, 'model');
  return true;
});
const anon = new OpenAI({ baseURL: process.env.RAGD_BASE_URL, apiKey: 'ragd_not_a_key', maxRetries: 0 });
await assert.rejects(anon.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
ok('errors');

const del = await client.files.delete(ferry.id);
assert.equal(del.deleted, true);
const gone = await client.vectorStores.delete(vs.id);
assert.equal(gone.deleted, true);
ok('delete');
