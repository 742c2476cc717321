-- wrk script: POST a GraphQL request body and report latency percentiles and req/s in a
-- parseable line.  Everything comes from the environment so nothing secret is on argv:
--
--   BENCH_BODY      request body (JSON), e.g. {"query":"{ viewer { user { id } } }"}
--   BENCH_AUTH      value of the Authorization header (optional), e.g. "Bearer eyJ..."
--   BENCH_EXPECT    exact response body every response must carry (optional); responses with
--                   another body are counted as bad_body
--
-- Usage: BENCH_BODY=... wrk -t1 -c32 -d10s -s bench/post.lua http://127.0.0.1:8000/graphql
--
-- The last line printed is
--   BENCH requests=N duration_s=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. mean_ms=..
--         non2xx=N bad_body=N err_connect=N err_read=N err_write=N err_timeout=N
-- (one line; bench/http_bench.py parses it).

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
   wrk.headers["Authorization"] = auth
end
local expect = os.getenv("BENCH_EXPECT")
if expect == "" then expect = nil end

-- One Lua state per wrk thread: keep counters per thread, add them up in done().
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   non2xx = 0
   bad_body = 0
   first_bad = ""
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_bad == "" then first_bad = tostring(status) .. " " .. tostring(body) end
   elseif expect and body ~= expect then
      bad_body = bad_body + 1
      if first_bad == "" then first_bad = tostring(status) .. " " .. tostring(body) end
   end
end

function done(summary, latency, requests)
   local total_non2xx, total_bad, sample = 0, 0, ""
   for _, thread in ipairs(threads) do
      total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
      total_bad = total_bad + (thread:get("bad_body") or 0)
      local first = thread:get("first_bad")
      if sample == "" and first and first ~= "" then sample = first end
   end
   local seconds = summary.duration / 1e6
   local e = summary.errors
   -- Latencies are recorded in microseconds.
   io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
      "max_ms=%.3f mean_ms=%.3f non2xx=%d bad_body=%d err_connect=%d err_read=%d " ..
      "err_write=%d err_timeout=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
      total_non2xx, total_bad, e.connect, e.read, e.write, e.timeout))
   if sample ~= "" then
      io.write("BENCH_FIRST_BAD " .. string.gsub(string.sub(sample, 1, 300), "\n", " ") .. "\n")
   end
end
