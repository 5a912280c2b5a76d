"""A fault-injecting model server for integration tests (python3 stdlib).

FaultServer runs in the test's own process (a thread per connection on
127.0.0.1, a random port) and speaks the protocols ragd's providers use:

  POST {base}/embeddings        OpenAI   {"model","input":[..]} -> {"data":[{"index","embedding"}],"usage"}
  POST /api/embed               Ollama   {"model","input":[..]} -> {"embeddings":[..],"prompt_eval_count"}
  POST {base}/chat/completions  OpenAI chat -> {"choices":[{"message":{"content"}}],"usage"}
  POST /api/chat                Ollama chat -> {"message":{"content"},"done":true}
  POST {base}/rerank            TEI {"query","texts"} -> [{"index","score"}]

Vectors are a deterministic function of the text (SHA-256 expanded to
`dim` floats), so the same text always gets the same vector.

Every request takes the next behaviour from a script (FIFO; `push`), or the
default behaviour (`set_default`) when the script is empty:

  ok()                          a normal reply
  latency(s)                    sleep s seconds, then reply normally
  status(code, retry_after=None, message="...")   an error reply (JSON body)
  reset()                       send the headers and half the body, then
                                reset the connection (RST)
  truncated()                   200 with the first half of the JSON body
  wrong_dim(d)                  a normal reply with d-dimensional vectors
  drip(seconds)                 the normal body, one byte at a time, spread
                                over `seconds` (a slow-drip stream)
  hang(s)                       say nothing for s seconds (or until stop),
                                then close

The server records every request (path, arrival time) for assertions on
retry counts and timing. Thread-safe: one lock around script and records.
"""
import hashlib
import http.server
import json
import socket
import struct
import threading
import time


def ok():
    return ("ok",)


def latency(s):
    return ("latency", s)


def status(code, retry_after=None, message="injected failure"):
    return ("status", code, retry_after, message)


def reset():
    return ("reset",)


def truncated():
    return ("truncated",)


def wrong_dim(d):
    return ("wrong_dim", d)


def drip(seconds):
    return ("drip", seconds)


def hang(s):
    return ("hang", s)


def vector(text, dim):
    out = []
    i = 0
    while len(out) < dim:
        h = hashlib.sha256(f"{i}:{text}".encode()).digest()
        for k in range(0, 32, 4):
            if len(out) < dim:
                out.append((struct.unpack("<I", h[k:k + 4])[0] / 2 ** 32) * 2 - 1)
        i += 1
    return out


class FaultServer:
    def __init__(self, dim=16):
        self.dim = dim
        self.lock = threading.Lock()
        self.script = []
        self.default = ok()
        self.requests = []  # (path, time)
        self.stopping = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer._serve(self, body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop()

    def stop(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, ollama=False):
        return f"http://127.0.0.1:{self.port}" + ("" if ollama else "/v1")

    def push(self, b, n=1):
        with self.lock:
            self.script.extend([b] * n)

    def set_default(self, b):
        with self.lock:
            self.default = b

    def count(self, prefix=""):
        with self.lock:
            return sum(1 for p, _ in self.requests if p.startswith(prefix) or prefix == "")

    def times(self):
        with self.lock:
            return [t for _, t in self.requests]

    def clear(self):
        with self.lock:
            self.requests.clear()
            self.script.clear()

    # --- replies -------------------------------------------------------------

    def _reply_body(self, path, req, dim):
        if path.endswith("/embeddings") or path == "/api/embed":
            inp = req.get("input", [])
            texts = [inp] if isinstance(inp, str) else list(inp)
            vecs = [vector(t, dim) for t in texts]
            toks = sum(len(t.split()) for t in texts)
            if path == "/api/embed":
                return {"model": req.get("model"), "embeddings": vecs, "prompt_eval_count": toks}
            return {"object": "list", "model": req.get("model"),
                    "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vecs)],
                    "usage": {"prompt_tokens": toks, "total_tokens": toks}}
        if path.endswith("/chat/completions") or path == "/api/chat":
            msgs = req.get("messages") or [{"content": ""}]
            words = str(msgs[-1].get("content", "")).split()[:8]
            text = "Fault server reply: " + " ".join(words)
            if path == "/api/chat":
                return {"model": req.get("model"), "message": {"role": "assistant", "content": text}, "done": True,
                        "prompt_eval_count": 10, "eval_count": 5}
            return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5}}
        if path.endswith("/rerank"):
            texts = req.get("texts") or req.get("documents") or []
            return [{"index": i, "score": float(len(texts) - i)} for i in range(len(texts))]
        return None

    def _serve(self, h, body):
        with self.lock:
            self.requests.append((h.path, time.time()))
            b = self.script.pop(0) if self.script else self.default
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        kind = b[0]
        dim = b[1] if kind == "wrong_dim" else self.dim
        if kind == "latency":
            self.stopping.wait(b[1])
        if kind == "hang":
            self.stopping.wait(b[1])
            h.close_connection = True
            return
        if kind == "status":
            payload = json.dumps({"error": {"message": b[3], "type": "injected"}}).encode()
            h.send_response(b[1])
            if b[2] is not None:
                h.send_header("Retry-After", str(b[2]))
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        reply = self._reply_body(h.path, req, dim)
        if reply is None:
            h.send_error(404)
            return
        payload = json.dumps(reply).encode()
        if kind == "truncated":
            payload = payload[: len(payload) // 2]
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload) if kind != "reset" else len(payload)))
        h.end_headers()
        if kind == "reset":
            h.wfile.write(payload[: len(payload) // 2])
            h.wfile.flush()
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        if kind == "drip":
            step = b[1] / max(1, len(payload))
            for i in range(len(payload)):
                if self.stopping.is_set():
                    break
                try:
                    h.wfile.write(payload[i:i + 1])
                    h.wfile.flush()
                except OSError:
                    return
                time.sleep(step)
            return
        h.wfile.write(payload)
