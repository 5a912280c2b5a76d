// tests/js/it_mcp_sdk.mjs — ragd's MCP server driven by the official MCP
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json), as an
// agent would: over stdio (StdioClientTransport spawning `ragd mcp`) and over
// streamable HTTP (StreamableHTTPClientTransport against a real `ragd serve`
// on 127.0.0.1 with bearer keys). Real SQLite and FAISS underneath; no mocks.
// The SDK client validates every structuredContent against the tool's
// outputSchema, so a schema that lies about a result fails here.
//
// Run by CTest (tests/CMakeLists.txt) with RAGD_BIN and RAGD_FIXTURES; Node >= 18.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const BIN = process.env.RAGD_BIN || path.resolve("../../build/ragd");
const FIXTURES = process.env.RAGD_FIXTURES || path.resolve("../../fixtures");
const Q = "When was the Greyhollow light first exhibited?";
const TOOLS = ["add_document", "answer", "get_context", "get_document", "list_collections", "search"];

function ragd(...args) {
  return execFileSync(BIN, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function withoutTiming(o) {
  const c = JSON.parse(JSON.stringify(o));
  delete c.timing_ms;
  return c;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ragd-mcp-"));
const data = path.join(tmp, "d");
ragd("ingest", "--no-progress", "--data", data,
  path.join(FIXTURES, "docs", "greyhollow-lighthouse.md"), path.join(FIXTURES, "docs", "short-wifi.txt"));

// The calls every transport must answer the same way.
async function exercise(client, label) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS, label);
  for (const t of tools) {
    assert.equal(t.inputSchema.type, "object", `${label} ${t.name} inputSchema`);
    assert.equal(t.outputSchema.type, "object", `${label} ${t.name} outputSchema`);
    assert.ok(t.description.length > 20, `${label} ${t.name} description`);
  }

  const s = await client.callTool({ name: "search", arguments: { query: Q, k: 3 } });
  assert.equal(s.isError, false, JSON.stringify(s));
  assert.equal(s.structuredContent.results[0].doc_id, "greyhollow-lighthouse.md");
  assert.deepEqual(JSON.parse(s.content[0].text), s.structuredContent, "text is the JSON of the result");
  // The same object as the CLI (and /v1/search) returns for the same request.
  const cli = JSON.parse(ragd("search", "--json", "--k", "3", "--data", data, Q));
  assert.deepEqual(withoutTiming(s.structuredContent), withoutTiming(cli), `${label}: search = ragd search --json`);

  const c = await client.callTool({ name: "get_context", arguments: { query: Q, budget: 400 } });
  assert.equal(c.isError, false, JSON.stringify(c));
  assert.match(c.structuredContent.context, /\[1\]/);
  assert.ok(c.structuredContent.sources.length >= 1);

  const a = await client.callTool({ name: "answer", arguments: { query: Q } });
  assert.equal(a.isError, false, JSON.stringify(a));
  assert.match(a.structuredContent.answer, /1847/);
  assert.match(a.structuredContent.answer, /\[1\]/);
  assert.equal(a.structuredContent.check.ok, true);
  assert.equal(a.structuredContent.citations[0].doc_id, "greyhollow-lighthouse.md");

  // Nothing relevant: the not-found reply, still valid against the output schemas.
  const nf = await client.callTool({ name: "answer", arguments: { query: "zeppelin mooring mast tariffs" } });
  assert.equal(nf.isError, false, JSON.stringify(nf));
  assert.equal(nf.structuredContent.check.path, "not_found");
  assert.deepEqual(nf.structuredContent.citations, []);
  const ns = await client.callTool({ name: "search", arguments: { query: "zeppelin mooring mast tariffs" } });
  assert.equal(ns.structuredContent.relevant, false);
  assert.ok(ns.structuredContent.validation.reason);

  const l = await client.callTool({ name: "list_collections", arguments: {} });
  assert.equal(l.isError, false, JSON.stringify(l));
  const def = l.structuredContent.collections.find((x) => x.name === "default");
  assert.ok(def && def.documents >= 2, JSON.stringify(l.structuredContent));

  const d = await client.callTool({ name: "get_document", arguments: { id: "short-wifi.txt" } });
  assert.equal(d.isError, false, JSON.stringify(d));
  assert.match(d.structuredContent.text, /MBL-Guest/);

  // Bad calls are tool results with isError and the library's reason.
  const bad = await client.callTool({ name: "search", arguments: { query: Q, k: "three" } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /'k'/);
  const range = await client.callTool({ name: "search", arguments: { query: Q, k: 0 } });
  assert.equal(range.isError, true);
  const missing = await client.callTool({ name: "get_document", arguments: { id: "absent.md" } });
  assert.equal(missing.isError, true);
  assert.match(missing.content[0].text, /absent\.md|not found|no document/i);
  const nocoll = await client.callTool({ name: "search", arguments: { query: Q, collection: "nope" } });
  assert.equal(nocoll.isError, true);

  // An unknown tool is a JSON-RPC error, not a result.
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), (e) => {
    assert.equal(e.code, -32602);
    assert.match(e.message, /no_such_tool/);
    return true;
  });
  await client.ping();
}

// --- stdio ----------------------------------------------------------------------------
{
  const transport = new StdioClientTransport({
    command: BIN, args: ["mcp", "--data", data], stderr: "pipe",
  });
  let stderr = "";
  transport.stderr.on("data", (b) => { stderr += b; });
  const client = new Client({ name: "ragd-test", version: "1.0.0" });
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, "ragd");
  assert.ok(client.getServerCapabilities().tools, "tools capability");
  await exercise(client, "stdio");

  const add = await client.callTool({
    name: "add_document",
    arguments: { id: "notes/tides.md", text: "# Tides\n\nSpring tides at Quillhaven follow the new moon.", metadata: { kind: "note" } },
  });
  assert.equal(add.isError, false, JSON.stringify(add));
  assert.equal(add.structuredContent.added, 1);
  const found = await client.callTool({ name: "search", arguments: { query: "Quillhaven spring tides", k: 1 } });
  assert.equal(found.structuredContent.results[0].doc_id, "notes/tides.md");
  const empty = await client.callTool({ name: "add_document", arguments: { id: "e.txt", text: "" } });
  assert.equal(empty.isError, true);
  await client.close();
  assert.match(stderr, /mcp: serving on stdio/, "logs go to stderr");
  console.log("ok   stdio: list, call each tool, bad calls, unknown tool, add_document");
}

// --- streamable HTTP ------------------------------------------------------------------
const writeKey = JSON.parse(ragd("keys", "create", "--scope", "write", "--name", "agent", "--json", "--data", data)).key;
const readKey = JSON.parse(ragd("keys", "create", "--scope", "read", "--collection", "default", "--json", "--data", data)).key;
const ready = path.join(tmp, "ready");
const server = spawn(BIN, ["serve", "--data", data, "--listen", "127.0.0.1:0", "--ready-file", ready],
  { stdio: ["ignore", "ignore", "pipe"] });
let serverLog = "";
server.stderr.on("data", (b) => { serverLog += b; });
try {
  const t0 = Date.now();
  while (!fs.existsSync(ready) || !fs.readFileSync(ready, "utf8").trim()) {
    if (server.exitCode !== null) throw new Error(`ragd serve exited ${server.exitCode}: ${serverLog}`);
    if (Date.now() - t0 > 30000) throw new Error("ragd serve did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = new URL(`http://${fs.readFileSync(ready, "utf8").trim()}/mcp`);
  const connect = async (key) => {
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: key ? { Authorization: `Bearer ${key}` } : {} },
    });
    const client = new Client({ name: "ragd-test", version: "1.0.0" });
    await client.connect(transport);
    return { client, transport };
  };

  {
    const { client, transport } = await connect(writeKey);
    assert.match(transport.sessionId, /^[0-9a-f]{32}$/, "an MCP-Session-Id was issued");
    await exercise(client, "http");
    const add = await client.callTool({ name: "add_document", arguments: { id: "http.txt", text: "Orrin Vale keeps the harbour ledger." } });
    assert.equal(add.isError, false, JSON.stringify(add));
    await transport.terminateSession(); // DELETE /mcp
    assert.equal(transport.sessionId, undefined);
    await client.close();
  }
  {
    // A read key may read but not write: add_document is refused with the reason.
    const { client, transport } = await connect(readKey);
    const s = await client.callTool({ name: "search", arguments: { query: Q, k: 1 } });
    assert.equal(s.isError, false);
    const add = await client.callTool({ name: "add_document", arguments: { id: "x.txt", text: "nope" } });
    assert.equal(add.isError, true);
    assert.match(add.content[0].text, /scope 'read'; 'write' is needed/);
    const other = await client.callTool({ name: "search", arguments: { query: Q, collection: "other" } });
    assert.equal(other.isError, true);
    assert.match(other.content[0].text, /does not cover collection 'other'/);
    await transport.terminateSession();
    await client.close();
  }
  // Without a key (keys exist) the connection is refused.
  await assert.rejects(connect(null), /401|nauthorized/);
  await assert.rejects(connect("ragd_" + "0".repeat(40)), /401|nauthorized/);
  console.log("ok   streamable HTTP: session, list, call each tool, scopes, DELETE, 401");
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log("2 passed, 0 failed");
