-- presigned.lua - wrk script: replays ONE SigV4-signed InvokeModel request (headers and
-- body from BENCH_SIGNED, a JSON file run.sh writes just before the run). The emulator
-- verifies the signature in full on every request; the signature stays valid for 5
-- minutes after its X-Amz-Date, so runs must be shorter than that.
local f = assert(io.open(os.getenv("BENCH_SIGNED"), "r"))
local text = f:read("*a")
f:close()
-- The file is: first line the path, then "Name: value" header lines, a blank line, the body.
local path, rest = text:match("^([^\n]*)\n(.*)$")
local headers = {}
local head, body = rest:match("^(.-)\n\n(.*)$")
for name, value in head:gmatch("([^:\n]+): ([^\n]*)") do headers[name] = value end
wrk.method = "POST"
wrk.path = path
wrk.body = body
wrk.headers = headers

done = function(summary, latency, requests)
  io.write(string.format("requests=%d errors_status=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
                         summary.requests, summary.errors.status,
                         summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
