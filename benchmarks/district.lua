-- wrk script for the district benchmark: a run is sized by requests, not by time. Each pre-generated
-- callback (benchmarks/district_requests.py; "<path?query>\t<body>" per line) is sent exactly once, then
-- the connection stays idle; when every request has been answered the thread stops and the script prints
-- BENCH_DONE, on which district.py interrupts wrk (SIGINT) so its figures cover exactly these requests.
--
--   BENCH_REQUESTS=file [BENCH_TOTAL=n] wrk -t1 -c64 -d600s --latency -s benchmarks/district.lua http://host:port
--
-- BENCH_TOTAL (default: the number of lines) sends that many requests; more than the file holds cycles it
-- (for the bare server only: it keeps nothing, so repeats cost it the same). One thread only (-t1).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("BENCH_REQUESTS")
  if not file then
    error("set BENCH_REQUESTS to a file written by benchmarks/district_requests.py")
  end
  local headers = { ["Content-Type"] = "text/xml" }
  reqs = {}
  for line in io.lines(file) do
    local tab = line:find("\t", 1, true)
    reqs[#reqs + 1] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
  end
  if #reqs == 0 then
    error("no requests in " .. file)
  end
  total = tonumber(os.getenv("BENCH_TOTAL") or "0")
  if total == 0 then
    total = #reqs
  end
  sent = 0
  granted = 0
  answered = 0
  finished = 0
  status_2xx = 0
  lines = #reqs
end

function delay()
  -- Called when a connection's answer is complete, its next request() comes a loop turn later: the
  -- requests granted here are counted, so no more than `total` are ever sent (the first request of each
  -- connection goes without delay(), before any answer: `total` must be at least the connections). Once
  -- all are granted, the connection waits (an hour) instead of sending more.
  if sent + granted >= total then
    return 3600000
  end
  granted = granted + 1
  return 0
end

function request()
  if not verified then
    -- wrk calls request() once before connecting, to count pipelined requests; that one is never sent.
    verified = true
    return reqs[1]
  end
  if granted > 0 then
    granted = granted - 1
  end
  sent = sent + 1
  return reqs[(sent - 1) % #reqs + 1]
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 200 and status < 300 then
    status_2xx = status_2xx + 1
  end
  if answered >= total and finished == 0 then
    finished = 1
    io.write("BENCH_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"sent\":%d,\"answered\":%d,\"ok2xx\":%d," ..
    "\"total\":%d,\"lines\":%d," ..
    "\"errors\":{\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}," ..
    "\"latency_us\":{\"mean\":%.1f,\"stdev\":%.1f,\"max\":%d,\"p50\":%d,\"p90\":%d,\"p99\":%d,\"p999\":%d}}\n",
    summary.requests, summary.duration, summary.bytes, t:get("sent"), t:get("answered"), t:get("status_2xx"),
    t:get("total"), t:get("lines"),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
