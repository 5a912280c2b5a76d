-- bench/bench_http.lua — wrk script for bench/bench_http.sh.
--
-- Sends POST /v1/search with the JSON body {"query": TEXT}, TEXT cycling
-- through the "text" fields of the queries.jsonl named by $BENCH_QUERIES
-- (SciFact: 300 real queries). The strings are copied as they stand in the
-- file (already JSON-escaped), so the bodies are valid JSON. Each wrk thread
-- starts at a different query. done() prints one line
--   BENCH_JSON {"requests":…,"seconds":…,"qps":…,"p50_ms":…,"p99_ms":…,…}
-- that bench_http.sh reads (wrk's own text report is printed as well).
-- With BENCH_SERVER_TIMING=1 it also reads each reply's timing_ms.total
-- (the time ragd_search measured inside the server) and reports its mean as
-- "server_total_ms" (wrk only parses reply bodies when response() exists,
-- so the ceiling runs without it).

local bodies = {}
local idx = 1
local headers = { ["Content-Type"] = "application/json" }
local counter = 0
local threads = {}
tsum, tn = 0, 0 -- per thread (each wrk thread has its own Lua state)

-- The raw (still escaped) JSON string value of "text" in one line, or nil.
local function text_field(line)
  local _, e = line:find('"text"%s*:%s*"')
  if not e then return nil end
  local i = e + 1
  local j = i
  while j <= #line do
    local ch = line:sub(j, j)
    if ch == "\\" then
      j = j + 2
    elseif ch == '"' then
      return line:sub(i, j - 1)
    else
      j = j + 1
    end
  end
  return nil
end

local function load()
  local path = os.getenv("BENCH_QUERIES")
  if not path then error("BENCH_QUERIES is not set") end
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    local t = text_field(line)
    if t and #t > 0 then bodies[#bodies + 1] = '{"query":"' .. t .. '"}' end
  end
  f:close()
  if #bodies == 0 then error("no queries in " .. path) end
end

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

if os.getenv("BENCH_SERVER_TIMING") == "1" then
  function response(status, headers, body)
    local t = body and body:match('"total":%s*([%d%.eE+-]+)%s*}%s*}%s*$')
    if t then
      tsum = tsum + tonumber(t)
      tn = tn + 1
    end
  end
end

function init(args)
  load()
  idx = ((id or 0) * 37) % #bodies + 1
end

function request()
  local b = bodies[idx]
  idx = idx % #bodies + 1
  return wrk.format("POST", "/v1/search", headers, b)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local ts, n = 0, 0
  for _, t in ipairs(threads) do
    ts = ts + (t:get("tsum") or 0)
    n = n + (t:get("tn") or 0)
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"seconds":%.3f,"qps":%.2f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"mean_ms":%.3f,"max_ms":%.3f,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"bytes":%d,"server_timed":%d,"server_total_ms":%.3f}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.mean / 1e3, latency.max / 1e3,
    e.status, e.connect, e.read, e.write, e.timeout, summary.bytes, n, n > 0 and ts / n or 0))
end
