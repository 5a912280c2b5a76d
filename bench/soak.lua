-- bench/soak.lua — wrk script for bench/soak.sh: mixed query traffic.
--
-- Requests cycle through the SciFact queries ($BENCH_QUERIES, the "text"
-- fields, copied as they stand: already JSON-escaped) and through the
-- three query operations, 6 search : 3 context : 1 answer. response()
-- counts replies by status (2xx, 429, other 4xx, 5xx) per wrk thread;
-- done() prints one line SOAK_JSON {...} with the counts and latency
-- percentiles that soak.sh reads.

local bodies, paths = {}, {}
local idx = 1
local headers = { ["Content-Type"] = "application/json" }
local counter = 0
local threads = {}
ok, r429, r4xx, r5xx = 0, 0, 0, 0

local MIX = { "/v1/search", "/v1/search", "/v1/context", "/v1/search", "/v1/context",
              "/v1/search", "/v1/answer", "/v1/search", "/v1/context", "/v1/search" }

local function text_field(line)
  local _, e = line:find('"text"%s*:%s*"')
  if not e then return nil end
  local i, j = e + 1, e + 1
  while j <= #line do
    local ch = line:sub(j, j)
    if ch == "\\" then j = j + 2
    elseif ch == '"' then return line:sub(i, j - 1)
    else j = j + 1 end
  end
  return nil
end

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_QUERIES"), "r"))
  for line in f:lines() do
    local t = text_field(line)
    if t and #t > 0 then bodies[#bodies + 1] = '{"query":"' .. t .. '","k":10}' end
  end
  f:close()
  idx = ((id or 0) * 37) % #bodies + 1
end

function request()
  local b = bodies[idx]
  local p = MIX[(idx % #MIX) + 1]
  idx = idx % #bodies + 1
  return wrk.format("POST", p, headers, b)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1
  elseif status == 429 then r429 = r429 + 1
  elseif status >= 500 then r5xx = r5xx + 1
  else r4xx = r4xx + 1 end
end

function done(summary, latency, requests)
  local c = { 0, 0, 0, 0 }
  for _, t in ipairs(threads) do
    c[1] = c[1] + (t:get("ok") or 0)
    c[2] = c[2] + (t:get("r429") or 0)
    c[3] = c[3] + (t:get("r4xx") or 0)
    c[4] = c[4] + (t:get("r5xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK_JSON {"requests":%d,"seconds":%.1f,"qps":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,' ..
    '"ok":%d,"r429":%d,"r4xx":%d,"r5xx":%d,"connect_errors":%d,"read_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    c[1], c[2], c[3], c[4], e.connect, e.read, e.timeout))
end
