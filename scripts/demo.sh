#!/usr/bin/env bash
# scripts/demo.sh - `make demo`: against the running local stack, creates an API key,
# submits a few questions at once, waits for every answer and prints it with its
# tokens and cost. `make demo` starts the stack first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${QUARRY_RUN_DIR:-$repo/.run}
bin=${QUARRY_BIN_DIR:-$repo/build}

if [ ! -f "$run_dir/env" ]; then
    echo "demo: no stack in $run_dir (run make up first)" >&2
    exit 1
fi
# shellcheck disable=SC1091
source "$run_dir/env"

key=$("$bin/quarry" keys create --name "demo-$(date -u +%Y%m%dT%H%M%SZ)" | tail -n 1)
export QUARRY_API_KEY=$key
echo "created API key ${key:0:10}... (stored only as a SHA-256)"
echo

questions=(
    "What causes the seasons on Earth?"
    "How does a bloom filter trade memory for false positives?"
    "Why do distributed systems need idempotency keys?"
    "What is the difference between latency and throughput?"
)

ids=()
for q in "${questions[@]}"; do
    id=$("$bin/quarry" ask "$q" --max-tokens 200)
    ids+=("$id")
    printf 'submitted %s  %s\n' "$id" "$q"
done
echo

status=0
for i in "${!ids[@]}"; do
    echo "--- ${questions[$i]}"
    "$bin/quarry" wait "${ids[$i]}" --timeout 120 || status=$?
    echo
done
if [ -n "${QUARRY_DATABASE_URL:-}" ] && command -v psql >/dev/null; then
    echo "--- today's spend for this key (SQL on daily_usage)"
    psql -X -q "$QUARRY_DATABASE_URL" -v key="$(printf %s "$key" | sha256sum | cut -d' ' -f1)" <<'SQL'
SELECT u.day, u.settled_jobs AS jobs, u.input_tokens, u.output_tokens, u.cost_usd
FROM daily_usage u JOIN api_keys k ON k.id = u.api_key_id
WHERE k.key_sha256 = decode(:'key', 'hex');
SQL
fi
exit $status
