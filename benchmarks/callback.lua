-- wrk script: POSTs pre-generated WeChat callbacks (benchmarks/make_requests.py), each used once.
--
--   BENCH_REQUESTS=/path/requests.txt wrk -t1 -c64 -d10s --latency -s benchmarks/callback.lua http://host:port
--
-- The file has one request per line: "<path?query>\t<body>". Lines before BENCH_SKIP are left out (an
-- earlier run used them); of the rest, thread k of n (BENCH_THREADS) takes lines k, k+n, k+2n... so
-- threads never send the same request. When a thread runs out it starts over (then the requests are
-- duplicates, which the service answers from its dedupe log); `done` reports how many were reused, and
-- the runner treats a run of the service that reused any as too short on requests (the bare baseline
-- may cycle: it keeps no log).

local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("id", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("BENCH_REQUESTS")
  if not file then
    error("set BENCH_REQUESTS to a file written by benchmarks/make_requests.py")
  end
  local step = tonumber(os.getenv("BENCH_THREADS") or "1")
  local skip = tonumber(os.getenv("BENCH_SKIP") or "0") -- lines already used by earlier runs
  local headers = { ["Content-Type"] = "text/xml" }
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i >= skip and (i - skip) % step == id then
      local tab = line:find("\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
    end
    i = i + 1
  end
  if #reqs == 0 then
    error("no requests for thread " .. id .. " in " .. file)
  end
  sent = 0
  reused = 0
  available = #reqs
end

function request()
  sent = sent + 1
  if sent > available then
    reused = reused + 1
    return reqs[(sent - 1) % available + 1]
  end
  return reqs[sent]
end

function done(summary, latency, requests)
  local total_sent, total_reused, total_available = 0, 0, 0
  for _, t in ipairs(threads) do
    total_sent = total_sent + t:get("sent")
    total_reused = total_reused + t:get("reused")
    total_available = total_available + t:get("available")
  end
  local e = summary.errors
  -- One machine-readable line for benchmarks/run.py (latencies in microseconds).
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"sent\":%d,\"reused\":%d,\"available\":%d," ..
    "\"errors\":{\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}," ..
    "\"latency_us\":{\"mean\":%.1f,\"stdev\":%.1f,\"max\":%d,\"p50\":%d,\"p90\":%d,\"p99\":%d,\"p999\":%d}}\n",
    summary.requests, summary.duration, summary.bytes, total_sent, total_reused, total_available,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
