#!/usr/bin/env python3
"""bench/bench_mcp.py — what the MCP front-ends cost over the /v1 route.

The same searches, one at a time on one kept-alive connection (or one pipe),
interleaved request by request,
through three front-ends of the same library call: POST /v1/search, MCP
tools/call search over streamable HTTP (POST /mcp with a session), and MCP
over stdio (`ragd mcp`). Prints per-request latency p50/p99 for each, on
fixtures/docs (30 documents). Run by hand, never by CTest:

    python3 bench/bench_mcp.py [build/ragd] [requests per front-end, default 500]
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "ragd")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 500
QUERIES = ["When was the Greyhollow light first exhibited?", "how do I cycle an aquarium",
           "violin bow rosin", "Treaty of Saltmere signatories", "guest wifi password at the library"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def report(name, ms):
    print(f"{name:<28} n={len(ms):<5} p50 {pct(ms, 50):6.2f} ms   p99 {pct(ms, 99):6.2f} ms")


def main():
    tmp = tempfile.mkdtemp(prefix="ragd-bench-mcp-")
    data = os.path.join(tmp, "d")
    subprocess.run([BIN, "ingest", "--no-progress", "--data", data, os.path.join(ROOT, "fixtures", "docs")],
                   check=True, capture_output=True)
    ready = os.path.join(tmp, "ready")
    srv = subprocess.Popen([BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", "--ready-file", ready,
                            "--rate-limit", "0", "--threads", "2"], stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(ready) or not open(ready).read().strip():
            time.sleep(0.02)
        host, port = open(ready).read().strip().rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port))
        hj = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

        def post(path, body, headers=hj):
            c.request("POST", path, body=json.dumps(body), headers=headers)
            r = c.getresponse()
            return r, r.read()

        r, _ = post("/mcp", {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                             "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                        "clientInfo": {"name": "bench", "version": "1"}}})
        hs = dict(hj, **{"Mcp-Session-Id": r.getheader("Mcp-Session-Id")})
        p = subprocess.Popen([BIN, "mcp", "--data", data], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)

        def call(i):
            return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                    "params": {"name": "search", "arguments": {"query": QUERIES[i % len(QUERIES)], "k": 10}}}

        def stdio(i):
            p.stdin.write((json.dumps(call(i)) + "\n").encode())
            p.stdin.flush()
            return json.loads(p.stdout.readline())

        stdio(0)  # the first call loads the index
        # Interleaved, so that the load of the machine hits the three alike.
        v1, mh, ms = [], [], []
        for i in range(N):
            q = QUERIES[i % len(QUERIES)]
            t = time.perf_counter()
            r, _ = post("/v1/search", {"query": q, "k": 10})
            v1.append((time.perf_counter() - t) * 1000)
            assert r.status == 200
            t = time.perf_counter()
            r, _ = post("/mcp", call(i + 1), hs)
            mh.append((time.perf_counter() - t) * 1000)
            assert r.status == 200
            t = time.perf_counter()
            stdio(i + 1)
            ms.append((time.perf_counter() - t) * 1000)
        p.stdin.close()
        p.wait()
        print(f"fixtures/docs, k=10, {N} sequential searches per front-end, {BIN}")
        report("POST /v1/search", v1)
        report("MCP tools/call, HTTP", mh)
        report("MCP tools/call, stdio", ms)
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
