// tests/js/it_playground.mjs — the web playground (GET /ui) in a real browser:
// headless Chromium (Debian's /usr/bin/chromium) driven by puppeteer-core,
// against a real `ragd serve` with an API key. The test types the key,
// ingests pasted text, files and a batch large enough to run as a background
// job (watching its progress), searches (ranks, evidence, validation drops),
// asks a question and checks that every [n] links to the highlighted quote
// in its source. It saves two screenshots in the build directory (and into
// docs/ with RAGD_UPDATE_SCREENSHOTS=1).
//
// Exit 77 (CTest skip) only when no Chromium binary exists.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.RAGD_BIN || path.join(HERE, "../../build/ragd");
const FIXTURES = process.env.RAGD_FIXTURES || path.join(HERE, "../../fixtures");
const OUT = process.env.RAGD_BUILD_DIR || path.join(HERE, "../../build");
const CHROMIUM = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]
  .find((p) => p && fs.existsSync(p));
if (!CHROMIUM) {
  console.log("SKIP: no Chromium (scripts/install-deps installs Debian's chromium)");
  process.exit(77);
}
const { default: puppeteer } = await import("puppeteer-core");

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ragd-ui-"));
const data = path.join(tmp, "d");
// Admin: the first document creates the collection (POST /v1/collections).
const key = JSON.parse(execFileSync(BIN, ["keys", "create", "--scope", "admin", "--json", "--data", data],
  { encoding: "utf8" })).key;
const ready = path.join(tmp, "ready");
const server = spawn(BIN, ["serve", "--data", data, "--listen", "127.0.0.1:0", "--ready-file", ready],
  { stdio: ["ignore", "ignore", "pipe"] });
let serverLog = "";
server.stderr.on("data", (b) => { serverLog += b; });
let browser;
try {
  const t0 = Date.now();
  while (!fs.existsSync(ready) || !fs.readFileSync(ready, "utf8").trim()) {
    if (server.exitCode !== null) throw new Error(`ragd serve exited: ${serverLog}`);
    if (Date.now() - t0 > 30000) throw new Error("ragd serve did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const base = `http://${fs.readFileSync(ready, "utf8").trim()}`;

  // The page itself needs no key; the API behind it does.
  const page0 = await fetch(`${base}/ui`);
  assert.equal(page0.status, 200);
  assert.match(page0.headers.get("content-type"), /^text\/html/);
  assert.match(page0.headers.get("content-security-policy"), /connect-src 'self'/);
  const html = await page0.text();
  assert.doesNotMatch(html, /(src|href)="(?!data:|#)|https?:\/\/|@import|url\(/, "self-contained: no external resources");
  assert.equal((await fetch(`${base}/v1/collections`)).status, 401);

  browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true,
    args: [...(process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : []),
      "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(60000); // a loaded 2-core CI machine: waits are for events, not timing
  const step = (what) => console.log(`step: ${what}`);
  await page.setViewport({ width: 1360, height: 900 });
  const requests = [], problems = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => problems.push(String(e)));
  // 4xx replies the page handles (401 before the key, 404 for a new collection) log a
  // "Failed to load resource" line; script errors and 5xx replies are failures.
  page.on("console", (m) => { if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(m.text()); });
  page.on("response", (r) => { if (r.status() >= 500) problems.push(`${r.status()} ${r.url()}`); });
  step("open the page and type the key");
  await page.goto(`${base}/ui`, { waitUntil: "networkidle0" });
  await page.type("#key", key);
  await page.$eval("#key", (e) => e.dispatchEvent(new Event("change")));
  await page.waitForFunction(() => /no collection yet/.test(document.querySelector("#collections").textContent));

  step("ingest pasted text");
  // Ingest 1: pasted text, one JSON document.
  await page.type("#ingest-id", "notes/tides.md");
  await page.$eval("#ingest-text", (e) => { e.value = "# Tides at Quillhaven\n\nSpring tides at Quillhaven follow the new moon by a day."; });
  await page.click("#ingest-btn");
  await page.waitForFunction(() => document.querySelector("#job").className === "done");
  assert.match(await page.$eval("#job", (e) => e.textContent), /1 added/);

  step("ingest chosen files");
  // Ingest 2: files chosen in the page (a drop uses the same path).
  const docs = ["greyhollow-lighthouse.md", "short-wifi.txt", "violin-care.txt", "treaty-of-saltmere.md"];
  await (await page.$("#files")).uploadFile(...docs.map((d) => path.join(FIXTURES, "docs", d)));
  await page.waitForFunction(() => /4 added/.test(document.querySelector("#job").textContent));

  step("ingest a dropped file");
  // Ingest 2b: a file dropped on the drop zone.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["# Ferry timetable\n\nThe Brackwater ferry leaves at 07:40 on weekdays."],
      "ferry.md", { type: "text/markdown" }));
    dt.items.add(new File([new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10])], "photo.png", { type: "image/png" }));
    document.querySelector("#dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => /skipped .*photo\.png/.test(document.querySelector("#status").textContent));
  await page.waitForFunction(() => /done: 1 added/.test(document.querySelector("#job").textContent));

  step("ingest a batch as a background job");
  // Ingest 3: a batch over the library's job threshold runs in the background;
  // the page follows the job to completion.
  const batch = path.join(tmp, "batch");
  fs.mkdirSync(batch);
  const files = [];
  for (let i = 0; i < 70; i++) {
    const f = path.join(batch, `field-note-${String(i).padStart(2, "0")}.txt`);
    fs.writeFileSync(f, `Field note ${i}. The heron colony on marsh plot ${i} counted ${10 + i} nests this spring.`);
    files.push(f);
  }
  await (await page.$("#files")).uploadFile(...files);
  await page.waitForFunction(() => /^job .*completed — 70 of 70/.test(document.querySelector("#job").textContent), { timeout: 60000 });
  assert.ok(requests.some((u) => /\/v1\/jobs\//.test(u)), "the page polled the job");
  assert.deepEqual(await page.$eval("#job-bar", (b) => [b.value, b.max, b.hidden]), [70, 70, false]);
  await page.waitForFunction(() => /76 docs/.test(document.querySelector("#collections").textContent));

  step("search");
  // Search: every kept candidate with its ranks and evidence; drops with reasons.
  await page.type("#q", "Greyhollow lighthouse keepers");
  await page.click("#search-btn");
  await page.waitForSelector("#results tr.result");
  const rows = await page.$$eval("#results tr.result", (trs) => trs.map((tr) => ({
    doc: tr.querySelector(".path").textContent, lex: tr.querySelector(".lexical-rank").textContent,
    dense: tr.querySelector(".dense-rank").textContent })));
  assert.match(rows[0].doc, /greyhollow-lighthouse\.md/);
  assert.ok(rows.every((r) => /^\d+$/.test(r.lex) || r.lex === "—"), JSON.stringify(rows));
  assert.ok(rows.some((r) => /^\d+/.test(r.dense)), JSON.stringify(rows));
  const drops = await page.$$eval("#dropped tr.dropped", (trs) => trs.map((tr) => tr.dataset.reason));
  assert.ok(drops.length >= 1 && drops.includes("doc_cap"), `validation drops shown: ${drops}`);
  assert.match(await page.$eval("#search-summary", (e) => e.textContent), /relevant.*candidates.*kept/);
  await page.waitForFunction(() => document.querySelector("#status").hidden, { timeout: 15000 });
  await page.screenshot({ path: path.join(OUT, "playground-search.png") });

  step("search for what the collection cannot answer");
  // Not answerable: the page says why nothing passed.
  await page.$eval("#q", (e) => { e.value = ""; });
  await page.type("#q", "zeppelin mooring mast tariffs");
  await page.click("#search-btn");
  await page.waitForSelector("#search-reason");

  step("ask");
  // Ask: [n] links to the highlighted quote in its source.
  await page.click("#tab-ask");
  await page.type("#question", "When was the Greyhollow light first exhibited?");
  await page.click("#ask-btn");
  await page.waitForSelector("#answer a.cite");
  // The sources render after the answer (each fetches its document's
  // text): wait until every [n] has its quote in the page (a slow server —
  // the TSan build — showed the links before the sources).
  await page.waitForFunction(() => [...document.querySelectorAll("#answer a.cite")]
    .every((a) => document.querySelector(a.getAttribute("href"))), { timeout: 60000 });
  assert.match(await page.$eval("#answer", (e) => e.textContent), /1847/);
  const cites = await page.$$eval("#answer a.cite", (as) => as.map((a) => {
    const target = document.querySelector(a.getAttribute("href"));
    return { n: a.dataset.n, href: a.getAttribute("href"), tag: target && target.tagName,
      cls: target && target.className, quote: target && target.textContent,
      inSource: !!(target && target.closest(`#source-${a.dataset.n}`)) };
  }));
  assert.ok(cites.length >= 1);
  const truth = await (await fetch(`${base}/v1/answer`, {
    method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ query: "When was the Greyhollow light first exhibited?" }) })).json();
  for (const c of cites) {
    assert.equal(c.tag, "MARK", JSON.stringify(c));
    assert.ok(c.inSource, `quote ${c.n} is inside source ${c.n}`);
    const want = truth.citations.find((x) => String(x.n) === c.n);
    assert.equal(c.quote, want.quote, `the highlighted text is citation ${c.n}'s quote`);
  }
  await page.click("#answer a.cite");
  await page.waitForSelector("mark.quote.active");
  await new Promise((r) => setTimeout(r, 400)); // the smooth scroll settles
  await page.screenshot({ path: path.join(OUT, "playground-answer.png") });

  // Only the public API on this origin was called.
  for (const u of requests) {
    const p = new URL(u);
    assert.equal(p.origin, base, u);
    assert.ok(p.pathname === "/ui" || p.pathname.startsWith("/v1/"), u);
  }
  assert.deepEqual(problems, []);
  if (process.env.RAGD_UPDATE_SCREENSHOTS)
    for (const f of ["playground-search.png", "playground-answer.png"])
      fs.copyFileSync(path.join(OUT, f), path.join(HERE, "../../docs", f));
  console.log("ok   playground: key, ingest (text, files, background job), search, answer citations");
  console.log("1 passed, 0 failed");
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  await new Promise((r) => (server.exitCode !== null ? r() : server.once("exit", r)));
  fs.rmSync(tmp, { recursive: true, force: true });
}
