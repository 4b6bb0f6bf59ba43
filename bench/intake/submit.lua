-- submit.lua - wrk script for the intake benchmark: POST /v1/questions with a unique
-- question per request, keep-alive, and the API key taken round-robin from the file named by
-- $QUARRY_BENCH_KEYS (one raw key per line).
--
-- wrk shares the 2 CPUs with the server it measures, so the script keeps its own cost low:
-- the request is concatenated by hand (wrk.format builds a table and formats every header),
-- and by default no response() callback is defined, because defining one makes wrk buffer
-- every response's headers and body and build a Lua table per response. done() then prints
-- "statuses lt400=N ge400=M" from wrk's own counters (a POST /v1/questions that succeeds is
-- always a 202). QUARRY_BENCH_STATUSES=1 defines response() and prints the count of every
-- status code instead ("statuses 202=N 429=M ..."), at that extra cost.
local keys = {}
local counter = 0
local thread_id = 0
local threads = {}
local per_status = os.getenv("QUARRY_BENCH_STATUSES") == "1"
local host = wrk.headers["Host"] or wrk.host

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
  local body = '{"question":"Benchmark question ' .. thread_id .. '-' .. counter ..
    ': why is the sky blue at ' .. counter .. '?","max_tokens":64}'
  return "POST /v1/questions HTTP/1.1\r\nHost: " .. host ..
    "\r\nContent-Type: application/json\r\nx-api-key: " .. key ..
    "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

if per_status then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local parts = {}
  if per_status then
    local totals = {}
    for _, t in ipairs(threads) do
      local s = t:get("statuses")
      for code, n in pairs(s) do totals[code] = (totals[code] or 0) + n end
    end
    for code, n in pairs(totals) do table.insert(parts, string.format("%d=%d", code, n)) end
    table.sort(parts)
  else
    parts = {string.format("lt400=%d", summary.requests - summary.errors.status),
             string.format("ge400=%d", summary.errors.status)}
  end
  io.write(string.format("statuses %s\n", table.concat(parts, " ")))
  io.write(string.format("latency_us p50=%d p90=%d p99=%d max=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
