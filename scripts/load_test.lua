-- wrk script for scripts/load_test.sh: POST /v1/chat/completions with optional pacing,
-- status-code counts per thread, percentiles and counts summarized in done().
-- Environment (read by wrk's LuaJIT): LT_KEY, LT_MODEL, LT_STREAM (0/1), LT_MAX_TOKENS,
-- LT_INTERVAL_MS (per-thread send interval; 0 = as fast as possible).
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } lt_timespec;
  int clock_gettime(int clk, lt_timespec *ts);
]]
local function now_ms()
  local ts = ffi.new("lt_timespec")
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local key = os.getenv("LT_KEY") or "sk-llmgate-demo"
local model = os.getenv("LT_MODEL") or "demo-chat"
local stream = (os.getenv("LT_STREAM") or "0") == "1"
local max_tokens = tonumber(os.getenv("LT_MAX_TOKENS") or "32")
local interval = tonumber(os.getenv("LT_INTERVAL_MS") or "0")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = string.format(
  '{"model":"%s","messages":[{"role":"user","content":"Write one short sentence about load testing."}],"max_tokens":%d,"stream":%s}',
  model, max_tokens, stream and "true" or "false")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread state (each thread has its own Lua state).
statuses = {}
local next_due = nil

function init(args)
  statuses = {}
end

-- Open-loop-ish pacing: each thread (all its connections) sends on a fixed schedule, interval
-- ms apart; when behind schedule it sends at once. wrk calls delay() before every request.
function delay()
  if interval <= 0 then return 0 end
  local t = now_ms()
  if next_due == nil then next_due = t + math.random() * interval end
  local d = next_due - t
  next_due = math.max(next_due, t) + interval
  if d < 0 then return 0 end
  return math.floor(d)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end end
  end
  local total, non2xx, c429 = 0, 0, 0
  local codes = {}
  for code, n in pairs(counts) do
    total = total + n
    if code < 200 or code > 299 then non2xx = non2xx + n end
    if code == 429 then c429 = n end
    table.insert(codes, code)
  end
  table.sort(codes)
  local e = summary.errors
  local sock = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write("\n---- llmgate load test summary ----\n")
  io.write(string.format("requests      %d in %.1f s  (%.1f req/s)\n", summary.requests, secs, summary.requests / secs))
  io.write(string.format("latency p50   %.1f ms\n", latency:percentile(50) / 1000))
  io.write(string.format("latency p95   %.1f ms\n", latency:percentile(95) / 1000))
  io.write(string.format("latency p99   %.1f ms\n", latency:percentile(99) / 1000))
  io.write(string.format("latency max   %.1f ms\n", latency.max / 1000))
  io.write(string.format("errors        %d  (non-2xx %d, socket: connect %d read %d write %d timeout %d)\n",
    non2xx + sock, non2xx, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("429           %d\n", c429))
  local parts = {}
  for _, code in ipairs(codes) do table.insert(parts, string.format("%d:%d", code, counts[code])) end
  io.write("status codes  " .. table.concat(parts, " ") .. "\n")
end
