-- wrk script for the llmgate benchmark: POSTs a realistic ~1 KB chat completion body with an
-- Authorization header, and prints one machine-readable line from done():
--   BENCHJSON {"requests":..,"duration_us":..,"p50_us":..,...}
-- Environment:
--   BENCH_PATH     request path (default /v1/chat/completions)
--   BENCH_STREAM   1 = "stream": true body (model bench-stream), else model bench-chat
--   BENCH_KEY      bearer token (default sk-bench-master)
--   BENCH_HEADERS  extra headers, "Name: value" separated by "|"
--   BENCH_DELAY_MS pause of each connection before each request (paced load; default none)
local path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
local stream = os.getenv("BENCH_STREAM") == "1"
local key = os.getenv("BENCH_KEY") or "sk-bench-master"

local system = "You are a concise assistant for a platform engineering team. Answer in plain English, " ..
  "prefer short paragraphs, give commands in code blocks, and say when you are unsure. Never invent " ..
  "configuration keys; if a setting does not exist, say so and suggest the closest documented one."
local user = "We run several services behind a Kubernetes ingress controller and want to understand " ..
  "how requests reach a pod. Please explain how an Ingress object, the ingress controller, the Service " ..
  "and the Endpoints interact, how host and path rules are matched, where TLS is terminated, and what " ..
  "changes when we add a second replica. Keep it under two hundred words and finish with one command " ..
  "we can run to see which pods currently back the service named checkout-api in namespace shop."
local model = stream and "bench-stream" or "bench-chat"
local body = '{"model":"' .. model .. '","messages":[{"role":"system","content":"' .. system ..
  '"},{"role":"user","content":"' .. user .. '"}],"temperature":0.2,"max_tokens":256,"top_p":1,' ..
  '"user":"bench-user-0001","metadata":{"team":"platform","trace":"bench"}'
if stream then body = body .. ',"stream":true,"stream_options":{"include_usage":true}' end
body = body .. '}'

wrk.method = "POST"
wrk.path = path
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["User-Agent"] = "OpenAI/Python 1.54.0"
local extra = os.getenv("BENCH_HEADERS")
if extra and #extra > 0 then
  for h in string.gmatch(extra, "[^|]+") do
    local name, value = string.match(h, "^%s*([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms and delay_ms > 0 then
  function delay() return delay_ms end
end

function done(summary, latency, requests)
  local e = summary.errors
  local function p(q) return latency:percentile(q) end
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,' ..
    '"err_timeout":%d,"body_bytes":%d}\n',
    summary.requests, summary.duration, summary.bytes, p(50), p(90), p(99), latency.max,
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout, #body))
end
