"""Start, measure and stop a `ragd serve` process for the benchmarks.

Shared by bench/run.py (serve_rss in `make bench`) and bench/serve_rss.py
(the 100k/1M stores of docs/scaling.md), so that both start the server the
same way (--listen 127.0.0.1:0, --ready-file, --threads 2) and read memory
from the same /proc fields.
"""
import os
import subprocess
import time


def proc_memory(pid, keys=("VmRSS", "VmHWM", "RssAnon", "RssFile")):
    """The named /proc/PID/status fields, in MB (one decimal)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = round(int(v.split()[0]) / 1024, 1)
    return out


def start_serve(ragd, data, ready, timeout_s=120, threads=2):
    """Start `ragd serve` on DATA; wait for the ready file (ready: its path).

    Returns (process, port). On failure the process is stopped and
    RuntimeError says why (exit status, or no ready file within timeout_s).
    """
    p = subprocess.Popen([ragd, "serve", "--data", data, "--listen", "127.0.0.1:0", "--ready-file", ready,
                          "--threads", str(threads)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while not (os.path.exists(ready) and os.path.getsize(ready)):
        if p.poll() is not None:
            raise RuntimeError(f"ragd serve exited {p.returncode}")
        if time.monotonic() > deadline:
            stop(p)
            raise RuntimeError(f"ragd serve did not start within {timeout_s} s")
        time.sleep(0.1)
    port = open(ready).read().strip().splitlines()[-1].rsplit(":", 1)[1]
    return p, int(port)


def stop(p, grace_s=15):
    """SIGTERM, then SIGKILL after grace_s; waits for the process."""
    if p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(grace_s)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
