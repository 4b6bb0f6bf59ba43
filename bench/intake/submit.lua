-- submit.lua - wrk script for the intake benchmark: POST /v1/questions with a unique
-- question per request, keep-alive, and the API key taken round-robin from the file named by
-- $QUARRY_BENCH_KEYS (one raw key per line). Records the status codes seen (done()).
local keys = {}
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("QUARRY_BENCH_KEYS")
  for line in io.lines(path) do
    if #line > 0 then table.insert(keys, line) end
  end
  thread_id = tid or 0
  counter = 0
  statuses = {}
end

function request()
  counter = counter + 1
  local key = keys[((counter + thread_id * 7919) % #keys) + 1]
  local body = string.format(
    '{"question":"Benchmark question %d-%d: why is the sky blue at %d?","max_tokens":64}',
    thread_id, counter, counter)
  return wrk.format("POST", "/v1/questions",
    {["Content-Type"] = "application/json", ["x-api-key"] = key}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do totals[code] = (totals[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(totals) do table.insert(parts, string.format("%d=%d", code, n)) end
  table.sort(parts)
  io.write(string.format("statuses %s\n", table.concat(parts, " ")))
  io.write(string.format("latency_us p50=%d p90=%d p99=%d max=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
