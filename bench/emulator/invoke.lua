-- invoke.lua - wrk script: POST InvokeModel bodies to the emulator with a Bedrock API key.
--
-- A bearer token ("Authorization: Bearer ...", QUARRY_EMULATOR_BEARER_TOKEN on the
-- emulator) is used instead of SigV4: a SigV4 signature covers X-Amz-Date and stops
-- being accepted 5 minutes after it was made, and signing in Lua per request would
-- measure wrk, not the emulator. The emulator's SigV4 path is measured separately by
-- run.sh with a request pre-signed just before the run (valid within the 5-minute window).
--
-- Environment: BENCH_TOKEN (the bearer token), BENCH_MAX_TOKENS (64).
local token = os.getenv("BENCH_TOKEN") or "quarry-bench-token"
local max_tokens = os.getenv("BENCH_MAX_TOKENS") or "64"
local questions = {
  "What is the capital of France?",
  "How do Kafka consumer groups rebalance?",
  "Explain idempotent producers in Kafka",
  "Why is the sky blue?",
  "How should I size a connection pool?",
  "What is a write-ahead log?",
  "When should I use a sliding window rate limiter?",
  "What does PostgreSQL do on a checkpoint?",
}
local bodies = {}
for i, q in ipairs(questions) do
  bodies[i] = '{"anthropic_version":"bedrock-2023-05-31","max_tokens":' .. max_tokens ..
              ',"messages":[{"role":"user","content":"' .. q .. '"}]}'
end
local n = 0
local statuses = {}

request = function()
  n = n + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, bodies[(n % #bodies) + 1])
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("requests=%d errors_connect=%d errors_read=%d errors_status=%d " ..
                         "errors_timeout=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
                         summary.requests, summary.errors.connect, summary.errors.read,
                         summary.errors.status, summary.errors.timeout,
                         summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                         latency.max / 1000))
end
