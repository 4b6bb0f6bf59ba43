#!/usr/bin/env bash
# bench/emulator/run.sh - throughput and held-connection figures for quarry-emulator.
#
#   bench/emulator/run.sh [EMULATOR_BINARY]     (default build/quarry-emulator)
#
# Starts its own emulator on a free loopback port, drives it with wrk and prints one line
# per scenario plus the machine, the load average and the commands used:
#   1. zero latency, bearer token (Bedrock API key), 64 connections
#   2. zero latency, SigV4: one request signed just before the run and replayed (the
#      emulator verifies the full signature each time; valid for 5 minutes)
#   3. 2,000 connections each held 900..1100 ms (uniform), keep-alive: completions/s, the
#      emulator's peak RSS and CPU
#   4. 5,000 connections held the same way
# Every run is bounded (BENCH_SECONDS, default 10 s each). Needs wrk and python3.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/bench/emulator"
bin=${1:-$repo/build/quarry-emulator}
secs=${BENCH_SECONDS:-10}
token=quarry-bench-token
work=$(mktemp -d /tmp/quarry-emu-bench.XXXXXX)
emu_pid=

cleanup() {
    if [ -n "$emu_pid" ] && kill -0 "$emu_pid" 2>/dev/null; then
        kill -TERM "$emu_pid"
        wait "$emu_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench/emulator: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$bin" ] || { echo "bench/emulator: $bin not built (make build/quarry-emulator)" >&2; exit 1; }
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

QUARRY_LOG_LEVEL=info QUARRY_EMULATOR_LISTEN=127.0.0.1:0 QUARRY_EMULATOR_BEARER_TOKEN=$token \
    QUARRY_EMULATOR_SEED=1 "$bin" 2>"$work/emulator.log" &
emu_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*"emulator.listening".*"port":\([0-9]*\).*/\1/p' "$work/emulator.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "bench/emulator: the emulator did not start" >&2; cat "$work/emulator.log" >&2; exit 1; }
base="http://127.0.0.1:$port"
url="$base/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"

admin() { curl -fsS -X POST "$base/_emulator/$1" -d "${2:-{\}}" >/dev/null; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$emu_pid/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$emu_pid/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$emu_pid/status"; }
hz=$(getconf CLK_TCK)

# run NAME WRK-ARGS...: one wrk run with the emulator's CPU and memory around it.
run() {
    local name=$1 t0 t1 c0 c1 out peak=0 sampler
    shift
    admin stats/reset
    c0=$(cpu_ticks); t0=$(date +%s.%N)
    ( while kill -0 "$emu_pid" 2>/dev/null; do rss_kb; sleep 0.5; done ) >"$work/rss" &
    sampler=$!
    out=$(wrk "$@" 2>&1 | grep '^requests=' || true)
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    c1=$(cpu_ticks); t1=$(date +%s.%N)
    peak=$(sort -n "$work/rss" | tail -1)
    local stats
    stats=$(curl -fsS "$base/_emulator/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("emulator_succeeded=%d emulator_other=%d" % (s["succeeded"], s["invocations"] - s["succeeded"]))')
    printf '%-34s %s %s emulator_cpu=%.0f%% emulator_rss_peak_mb=%.1f\n' "$name" "$out" "$stats" \
        "$(echo "($c1 - $c0) * 100 / $hz / ($t1 - $t0)" | bc -l)" "$(echo "${peak:-0} / 1024" | bc -l)"
}

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
echo "emulator: $bin (pid $emu_pid, port $port); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
echo

admin config '{"latency_ms": 0}'
BENCH_TOKEN=$token run "zero-latency bearer -t1 -c64" -t1 -c64 -d"${secs}s" -s "$here/invoke.lua" "$url"
BENCH_TOKEN=$token run "zero-latency bearer -t2 -c128" -t2 -c128 -d"${secs}s" -s "$here/invoke.lua" "$url"

# One SigV4-signed request, made now (stdlib signer, the canonical URI encoded twice).
python3 - "$port" "$work/signed" <<'PY'
import datetime, hashlib, hmac, json, sys, urllib.parse
port, out = sys.argv[1], sys.argv[2]
path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                   "messages": [{"role": "user", "content": "What is the capital of France?"}]})
key, secret, region = "AKIAQUARRYEMULATOR01", "quarryEmulatorSecretKey0000000000000000", "us-east-1"
amz = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
h = {"content-type": "application/json", "host": f"127.0.0.1:{port}", "x-amz-date": amz}
names = sorted(h)
canonical = "\n".join(["POST", urllib.parse.quote(path, safe="/-_.~"), "",
                       "".join(f"{n}:{h[n]}\n" for n in names), ";".join(names),
                       hashlib.sha256(body.encode()).hexdigest()])
scope = f"{amz[:8]}/{region}/bedrock/aws4_request"
sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
k = ("AWS4" + secret).encode()
for part in (amz[:8], region, "bedrock", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
h["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                      f"SignedHeaders={';'.join(names)}, Signature={sig}")
with open(out, "w") as f:
    f.write(path + "\n" + "".join(f"{n}: {v}\n" for n, v in h.items() if n != "host") + "\n" + body)
PY
BENCH_SIGNED=$work/signed run "zero-latency SigV4 (replayed) -c64" -t1 -c64 -d"${secs}s" -s "$here/presigned.lua" "$url"

admin config '{"latency": {"distribution": "uniform", "min_ms": 900, "max_ms": 1100}}'
BENCH_TOKEN=$token run "held 900-1100ms -t2 -c2000" -t2 -c2000 -d"$((secs + 5))s" --timeout 10s -s "$here/invoke.lua" "$url"
BENCH_TOKEN=$token run "held 900-1100ms -t2 -c5000" -t2 -c5000 -d"$((secs + 5))s" --timeout 10s -s "$here/invoke.lua" "$url"

echo
echo "load after: $(uptime | sed 's/.*load average/load average/')"
echo "emulator peak RSS over the whole run (VmHWM): $(echo "$(hwm_kb) / 1024" | bc -l | xargs printf '%.1f') MB"
