"""Integration tests of the MCP transports at the protocol level: `/mcp` on a
real `ragd serve` (sessions, Origin, protocol-version header, JSON-RPC
errors, keys) and `ragd mcp` on stdio (stdout carries only protocol
messages). The official SDK client drives the same server in
tests/js/it_mcp_sdk.mjs; this file checks what that client never sends."""
import json
import os
import subprocess

from it_serve import Server, ingested
from ragdtest import BIN, FIXTURES, TempDir, ragd, run_tests

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "it_mcp", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream"}


def post(s, msg, sid=None, headers=None, raw=None):
    h = dict(ACCEPT)
    if sid:
        h["Mcp-Session-Id"] = sid
    h.update(headers or {})
    if raw is not None:
        h.setdefault("Content-Type", "application/json")
        return s.request("POST", "/mcp", raw=raw, headers=h)
    return s.request("POST", "/mcp", msg, headers=h)


def initialize(s, headers=None):
    st, body, r = post(s, INIT, headers=headers)
    assert st == 200, (st, body)
    sid = r.getheader("Mcp-Session-Id")
    assert sid and len(sid) == 32 and all(c in "0123456789abcdef" for c in sid), sid
    return sid, body


def assert_rpc_error(st, body, want_status, want_code):
    assert st == want_status, (st, body)
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == want_code, body
    assert body["error"]["message"], body


def test_sessions():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        sid, body = initialize(s)
        res = body["result"]
        assert res["protocolVersion"] == "2025-06-18" and res["serverInfo"]["name"] == "ragd", res
        assert "tools" in res["capabilities"], res
        # Notifications and responses are accepted with 202 and no body.
        st, b, _ = post(s, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
        assert st == 202 and b == "", (st, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": "x", "result": {}}, sid)
        assert st == 202, (st, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, sid)
        assert st == 200 and b == {"jsonrpc": "2.0", "id": 2, "result": {}}, b
        # Every request after initialize needs the session.
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
        assert_rpc_error(st, b, 400, -32600)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, "0" * 32)
        assert_rpc_error(st, b, 404, -32600)
        # Each initialize opens its own session; ending one leaves the other.
        sid2, _ = initialize(s)
        assert sid2 != sid
        st, b, _ = s.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid})
        assert st == 204, (st, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 4, "method": "ping"}, sid)
        assert_rpc_error(st, b, 404, -32600)
        st, b, _ = s.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid})
        assert st == 404, (st, b)
        st, b, _ = s.request("DELETE", "/mcp")
        assert st == 400, (st, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 5, "method": "ping"}, sid2)
        assert st == 200, (st, b)
        # The protocol-version header: a known one passes, an unknown one is 400.
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 6, "method": "ping"}, sid2,
                        {"MCP-Protocol-Version": "2025-06-18"})
        assert st == 200, (st, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 7, "method": "ping"}, sid2,
                        {"MCP-Protocol-Version": "1999-01-01"})
        assert_rpc_error(st, b, 400, -32600)
        # An unknown client version is answered with the server's.
        st, b, _ = post(s, dict(INIT, params=dict(INIT["params"], protocolVersion="2099-01-01")))
        assert st == 200 and b["result"]["protocolVersion"] == "2025-06-18", b
        # GET offers no server-initiated stream.
        st, b, _ = s.request("GET", "/mcp", headers={"Accept": "text/event-stream"})
        assert st == 405, (st, b)


def test_jsonrpc_errors():
    with TempDir() as tmp, Server(ingested(tmp)) as s:
        sid, _ = initialize(s)
        st, b, _ = post(s, None, sid, raw=b"{not json")
        assert_rpc_error(st, b, 400, -32700)
        assert b["id"] is None, b
        st, b, _ = post(s, None, sid, raw=json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]).encode())
        assert_rpc_error(st, b, 400, -32600)
        st, b, _ = post(s, {"id": 1, "method": "ping"}, sid)
        assert_rpc_error(st, b, 400, -32600)
        for bad in ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
                    {"jsonrpc": "2.0", "id": None, "method": "ping"}, {"jsonrpc": "2.0", "id": {}, "method": "ping"},
                    {"jsonrpc": "2.0", "id": 1}, "ping", 7):
            st, b, _ = post(s, bad, sid)
            assert_rpc_error(st, b, 400, -32600)
            assert b["id"] in (None, 1), (bad, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": "req-α", "method": "ping"}, sid)
        assert st == 200 and b["id"] == "req-α" and b["result"] == {}, b  # string ids are echoed
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": [1]}, sid)
        assert_rpc_error(st, b, 200, -32602)
        st, b, _ = post(s, {"jsonrpc": "2.0", "method": "notifications/unknown"}, sid)
        assert st == 202, (st, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 9, "method": "resources/list"}, sid)
        assert_rpc_error(st, b, 200, -32601)
        assert b["id"] == 9, b
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": "nope"}}, sid)
        assert_rpc_error(st, b, 200, -32602)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"arguments": {}}}, sid)
        assert_rpc_error(st, b, 200, -32602)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 12, "method": "initialize", "params": {}})
        assert_rpc_error(st, b, 200, -32602)
        # Bad arguments are a tool result with isError, never a 500.
        for args in ({"query": ""}, {"query": "x", "k": "3"}, {"query": "x", "bogus": 1}, [1, 2],
                     {"query": "x", "collection": 7}):
            st, b, _ = post(s, {"jsonrpc": "2.0", "id": 13, "method": "tools/call",
                                "params": {"name": "search", "arguments": args}}, sid)
            assert st == 200 and b["result"]["isError"] is True, (args, st, b)
            assert b["result"]["content"][0]["text"], b
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 14, "method": "ping"}, sid,
                        {"Content-Type": "text/plain"}, raw=b'{"jsonrpc":"2.0","id":14,"method":"ping"}')
        assert st == 415, (st, b)
        st, b, _ = post(s, {"jsonrpc": "2.0", "id": 15, "method": "ping"}, sid, {"Accept": "text/html"})
        assert st == 406, (st, b)


def test_origin_is_checked():
    with TempDir() as tmp:
        data = ingested(tmp)
        with Server(data) as s:
            st, b, _ = post(s, INIT, headers={"Origin": "http://evil.example"})
            assert_rpc_error(st, b, 403, -32600)
            assert "--mcp-allow-origin" in b["error"]["message"], b
            sid, _ = initialize(s)
            st, b, _ = post(s, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, sid,
                            {"Origin": "http://localhost.evil.example"})
            assert st == 403, (st, b)
            st, b, _ = s.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid, "Origin": "null"})
            assert st == 403, (st, b)
            initialize(s)  # no Origin (a non-browser client) passes
        with Server(data, "--mcp-allow-origin", "https://agent.example") as s:
            initialize(s, {"Origin": "https://agent.example"})
            st, b, _ = post(s, INIT, headers={"Origin": "https://other.example"})
            assert st == 403, (st, b)


def test_keys_scopes_and_session_binding():
    with TempDir() as tmp:
        data = ingested(tmp)
        ragd("ingest", "--no-progress", "--collection", "other", os.path.join(FIXTURES, "docs", "short-wifi.txt"),
             data=data, check=0)
        admin = ragd("keys", "create", "--scope", "admin", "--json", data=data, check=0).json()["key"]
        read = ragd("keys", "create", "--scope", "read", "--collection", "default", "--json",
                    data=data, check=0).json()["key"]
        with Server(data) as s:
            st, b, r = post(s, INIT)
            assert st == 401 and r.getheader("WWW-Authenticate"), (st, b)
            sid, _ = initialize(s, {"Authorization": f"Bearer {read}"})
            call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "add_document", "arguments": {"id": "a.txt", "text": "Some text."}}}
            st, b, _ = post(s, call, sid, {"Authorization": f"Bearer {read}"})
            assert st == 200 and b["result"]["isError"] is True, b
            assert "'write' is needed" in b["result"]["content"][0]["text"], b
            # list_collections holds only what the key covers; other collections are refused.
            lst = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                   "params": {"name": "list_collections", "arguments": {}}}
            st, b, _ = post(s, lst, sid, {"Authorization": f"Bearer {read}"})
            names = [c["name"] for c in b["result"]["structuredContent"]["collections"]]
            assert names == ["default"], b
            other = {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                     "params": {"name": "get_document", "arguments": {"id": "short-wifi.txt", "collection": "other"}}}
            st, b, _ = post(s, other, sid, {"Authorization": f"Bearer {read}"})
            assert b["result"]["isError"] is True and "does not cover" in b["result"]["content"][0]["text"], b
            # A session belongs to the key that opened it.
            st, b, _ = post(s, call, sid, {"Authorization": f"Bearer {admin}"})
            assert_rpc_error(st, b, 404, -32600)
            sid2, _ = initialize(s, {"Authorization": f"Bearer {admin}"})
            st, b, _ = post(s, call, sid2, {"Authorization": f"Bearer {admin}"})
            assert st == 200 and b["result"]["isError"] is False, b
            assert b["result"]["structuredContent"]["added"] == 1, b
            st, b, _ = post(s, lst, sid2, {"Authorization": f"Bearer {admin}"})
            names = sorted(c["name"] for c in b["result"]["structuredContent"]["collections"])
            assert names == ["default", "other"], b
            st, b, _ = post(s, other, sid2, {"Authorization": f"Bearer {admin}"})
            assert b["result"]["isError"] is False, b


def test_stdio_stdout_is_only_protocol():
    with TempDir() as tmp:
        data = ingested(tmp)
        msgs = [INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                 "params": {"name": "add_document", "arguments": {"id": "e.txt", "text": ""}}},
                {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                 "params": {"name": "search", "arguments": {"query": "Greyhollow light", "k": 1}}},
                {"jsonrpc": "2.0", "id": 5, "method": "nope"}]
        lines = "\n".join(json.dumps(m) for m in msgs[:2]) + "\n\n" + \
            "\n".join(json.dumps(m) for m in msgs[2:]) + "\nnot json\n"
        p = subprocess.run([BIN, "mcp", "--data", data, "--collection", "default"], input=lines.encode(),
                           capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        out = p.stdout.decode().splitlines()
        replies = [json.loads(l) for l in out]  # every stdout line is a JSON-RPC message
        assert [r.get("id") for r in replies] == [1, 2, 3, 4, 5, None], replies
        assert all(r["jsonrpc"] == "2.0" for r in replies)
        assert replies[2]["result"]["isError"] is True  # the empty document, refused
        assert replies[3]["result"]["structuredContent"]["results"], replies[3]
        assert replies[4]["error"]["code"] == -32601 and replies[5]["error"]["code"] == -32700
        err = p.stderr.decode()
        assert "mcp: serving on stdio" in err and "empty" in err, err  # logs went to stderr
        # --collection is the collection of calls that name none.
        ragd("ingest", "--no-progress", "--collection", "other", os.path.join(FIXTURES, "docs", "short-wifi.txt"),
             data=data, check=0)
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "search", "arguments": {"query": "MBL-Guest network password", "k": 3}}}
        p = subprocess.run([BIN, "mcp", "--data", data, "--collection", "other"], input=(json.dumps(call) + "\n").encode(),
                           capture_output=True, timeout=60)
        hits = json.loads(p.stdout)["result"]["structuredContent"]["results"]
        assert hits and all(h["doc_id"] == "short-wifi.txt" for h in hits), hits
        # A fresh data directory: add_document creates the collection, then finds the text.
        fresh = os.path.join(tmp, "fresh")
        msgs = [{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add_document", "arguments":
                 {"id": "heron.md", "text": "# Herons\n\nThe Wyndle marsh herons nest in March."}}},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                 "params": {"name": "search", "arguments": {"query": "Wyndle herons", "k": 1}}}]
        p = subprocess.run([BIN, "mcp", "--data", fresh], input="".join(json.dumps(m) + "\n" for m in msgs).encode(),
                           capture_output=True, timeout=60)
        add, found = [json.loads(l) for l in p.stdout.decode().splitlines()]
        assert add["result"]["isError"] is False and add["result"]["structuredContent"]["added"] == 1, add
        assert found["result"]["structuredContent"]["results"][0]["doc_id"] == "heron.md", found


if __name__ == "__main__":
    run_tests([test_sessions, test_jsonrpc_errors, test_origin_is_checked,
               test_keys_scopes_and_session_binding, test_stdio_stdout_is_only_protocol])
