#!/usr/bin/env bash
# bench/intake/run.sh - intake throughput benchmark (issue 3): accepted submissions/s and
# p50/p99 latency at several concurrencies, for one API key and for 1,000 keys, with every
# accepted job checked durable in PostgreSQL, plus the ceiling: the same server answering a
# fixed 202 without PostgreSQL or Kafka, measured in the same run.
#
# With a stack's env sourced (source .run/env) it uses that stack's PostgreSQL and Kafka;
# otherwise it starts a private one (PostgreSQL, Kafka, topics, migrations; no consumer, so the
# measurement is the intake's alone) in .run-bench-intake on its own ports and stops it at the
# end. Either way it starts its own quarry-intake instances on loopback ports (a stack's own
# intake is left alone) and stops them at the end. Every load run is bounded by -d.
#
#   QUARRY_BENCH_DURATION   seconds per run (default 10)
#   QUARRY_BENCH_CONNS      concurrencies (default "32 128 512")
#   QUARRY_BENCH_PORT       first port of the bench intakes (default QUARRY_INTAKE_PORT + 100)
#   QUARRY_BENCH_THREADS    wrk threads (default 2)
#   QUARRY_BENCH_WARMUP     seconds of real submissions before measuring, not reported (default
#                           10; 0: none). A freshly started Kafka spends its first seconds
#                           JIT-compiling (C2 compiler threads took ~12% of the 2 CPUs in the
#                           first real run), which a long-running broker does not.
#   QUARRY_BENCH_KEEP_LOGS  a folder to copy the bench intakes' logs to (with
#                           QUARRY_BENCH_LOG_LEVEL=info: "intake.pipeline" lines, where the time goes)
#   QUARRY_BENCH_PREWARM_WAL  MB of WAL segments the private cluster makes ahead of the runs
#                           (default 2048; 0: none; a stack of yours is never touched). A fresh
#                           cluster has no used segments to recycle, so the commit that crosses
#                           into a new 16 MB segment creates and zero-fills it first: a 60-90 ms
#                           commit every ~23,000 jobs (every ~1.2 s at 20k/s), which a server that
#                           has run for a while does not pay. The script switches segments
#                           (pg_switch_wal) until that much WAL exists, then CHECKPOINT recycles
#                           them as the segments to come (min_wal_size that large, max_wal_size
#                           twice that, so no checkpoint falls inside the runs).
#   QUARRY_INTAKE_THREADS, QUARRY_INTAKE_COMMITTERS, QUARRY_KAFKA_LINGER_MS: passed on
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${QUARRY_BIN_DIR:-$REPO/build}
OWN_STACK=
if [ -z "${QUARRY_DATABASE_URL:-}" ]; then
  export QUARRY_RUN_DIR=$REPO/.run-bench-intake QUARRY_PG_PORT=55471 QUARRY_KAFKA_PORT=19271 \
         QUARRY_KAFKA_CONTROLLER_PORT=19272 QUARRY_EMULATOR_PORT=18271 QUARRY_INTAKE_PORT=18272
  echo "bench: starting a private stack in ${QUARRY_RUN_DIR#"$REPO"/} (postgres, kafka, migrations)"
  # A fresh cluster every time: the jobs of earlier runs would slow this one down, and a stale
  # one may predate the migrations. Set before `up`, so a failed start is stopped too.
  OWN_STACK=1
  "$REPO/scripts/stack.sh" down >/dev/null 2>&1 || true
  rm -rf "$QUARRY_RUN_DIR"
  "$REPO/scripts/stack.sh" up postgres kafka topics migrate >/dev/null
  # shellcheck disable=SC1091
  source "$QUARRY_RUN_DIR/env"
fi
DURATION=${QUARRY_BENCH_DURATION:-10}
CONNS=${QUARRY_BENCH_CONNS:-32 128 512}
WRK_THREADS=${QUARRY_BENCH_THREADS:-2}
BASE_PORT=${QUARRY_BENCH_PORT:-$(( ${QUARRY_INTAKE_PORT:-8080} + 100 ))}
RUN_ID=$(date +%s)
WORK=$(mktemp -d)
PIDS=()
declare -A INTAKE_PID

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -z "${QUARRY_BENCH_KEEP_LOGS:-}" ] || cp "$WORK"/intake-*.log "$QUARRY_BENCH_KEEP_LOGS"/ 2>/dev/null || true
  rm -rf "$WORK"
  if [ -n "$OWN_STACK" ]; then
    "$REPO/scripts/stack.sh" down >/dev/null 2>&1 || true
    rm -rf "$QUARRY_RUN_DIR"
  fi
}
trap cleanup EXIT

# psql as the private cluster's superuser, over its socket (the quarry role cannot switch WAL
# segments or checkpoint). scripts/stack.sh runs the server as 'postgres' when started as root.
psql_super() {
  local -a as_owner=()
  [ "$(id -u)" != 0 ] || as_owner=(runuser -u postgres --)
  (cd / && "${as_owner[@]}" psql -X -q -At -v ON_ERROR_STOP=1 -h "$QUARRY_RUN_DIR/pg" \
     -p "$QUARRY_PG_PORT" -d quarry "$@")
}

prewarm_wal() {
  local mb=$1 n i
  n=$(( (mb + 15) / 16 ))
  psql_super -c "ALTER SYSTEM SET min_wal_size = '${mb}MB'" \
             -c "ALTER SYSTEM SET max_wal_size = '$((mb * 2))MB'" -c "SELECT pg_reload_conf()" >/dev/null
  # psql sends each statement on its own, so each is a transaction: a switch needs WAL written
  # since the last one (the commit of txid_current), or it does nothing.
  for ((i = 0; i < n; i++)); do echo "SELECT txid_current(); SELECT pg_switch_wal();"; done |
    psql_super >/dev/null
  psql_super -c "CHECKPOINT" >/dev/null
  echo "bench: $n WAL segments made ahead ($(ls "$QUARRY_RUN_DIR/pg/data/pg_wal" | grep -c '^[0-9A-F]\{24\}$') in pg_wal)"
}

psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 "$QUARRY_DATABASE_URL" -c "$1"; }

# Keys: raw values known to the script, stored as SHA-256 like any other key; no limits.
make_keys() {
  local n=$1 file=$2
  psql_q "INSERT INTO api_keys (name, key_prefix, key_sha256)
          SELECT 'bench-$RUN_ID-$n-' || i, 'qk_bench',
                 sha256(convert_to('qk_bench_${RUN_ID}_${n}_' || i, 'UTF8'))
          FROM generate_series(1, $n) i" >/dev/null
  for ((i = 1; i <= n; i++)); do echo "qk_bench_${RUN_ID}_${n}_$i"; done >"$file"
}

jobs_of() { psql_q "SELECT count(*) FROM jobs j JOIN api_keys k ON k.id = j.api_key_id WHERE k.name LIKE 'bench-$RUN_ID-$1-%'"; }

start_intake() {
  local port=$1 fixed=$2
  env QUARRY_INTAKE_LISTEN="127.0.0.1:$port" QUARRY_INTAKE_FIXED_RESPONSE="$fixed" \
      QUARRY_LOG_LEVEL=${QUARRY_BENCH_LOG_LEVEL:-warn} \
      "$BIN/quarry-intake" >>"$WORK/intake-$port.log" 2>&1 &
  PIDS+=($!)
  INTAKE_PID[$port]=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: intake on port $port did not start" >&2; cat "$WORK/intake-$port.log" >&2; exit 1
}

# CPU seconds used so far by a process and its children threads (utime + stime).
ticks() {
  local t=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat")))
  done
  echo "$t"
}
pg_pids() {
  local pm
  pm=$(head -n1 "${QUARRY_RUN_DIR:-$REPO/.run}/postgres.pid" 2>/dev/null) || return 0
  echo "$pm" $(pgrep -P "$pm" 2>/dev/null)
}
kafka_pid() { head -n1 "${QUARRY_RUN_DIR:-$REPO/.run}/kafka.pid" 2>/dev/null || true; }
HZ=$(getconf CLK_TCK)

run_wrk() {  # label port keys_file conns
  local label=$1 port=$2 keys=$3 c=$4 out
  local ipid=${INTAKE_PID[$port]} i0 p0 k0 i1 p1 k1 pgp
  pgp=$(pg_pids)
  i0=$(ticks "$ipid"); p0=$(ticks $pgp); k0=$(ticks "$(kafka_pid)")
  out=$(QUARRY_BENCH_KEYS=$keys timeout $((DURATION + 30)) wrk -t"$WRK_THREADS" -c"$c" \
        -d"${DURATION}s" --timeout 5s -s "$REPO/bench/intake/submit.lua" "http://127.0.0.1:$port" 2>&1)
  local rps accepted p50 p99 load
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
  # 202s: counted per status with QUARRY_BENCH_STATUSES=1, else every answer below 400
  # (a successful POST /v1/questions is always a 202)
  accepted=$(sed -n 's/^statuses .*202=\([0-9]*\).*/\1/p' <<<"$out")
  [ -n "$accepted" ] || accepted=$(sed -n 's/^statuses lt400=\([0-9]*\).*/\1/p' <<<"$out")
  p50=$(sed -n 's/^latency_us p50=\([0-9]*\).*/\1/p' <<<"$out")
  p99=$(sed -n 's/^latency_us .*p99=\([0-9]*\).*/\1/p' <<<"$out")
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  i1=$(ticks "$ipid"); p1=$(ticks $pgp); k1=$(ticks "$(kafka_pid)")
  CPU_NOTE=$(awk -v i=$((i1 - i0)) -v p=$((p1 - p0)) -v k=$((k1 - k0)) -v hz="$HZ" -v d="$DURATION" \
    'BEGIN{printf "cpu/s: intake %.2f, postgres %.2f, kafka %.2f", i/hz/d, p/hz/d, k/hz/d}')
  printf '%-22s c=%-4s %9s req/s  accepted=%-8s %8s/s  p50=%6.1fms p99=%6.1fms  load %s  [%s]\n' \
    "$label" "$c" "$rps" "${accepted:-0}" "$(awk -v a="${accepted:-0}" -v d="$DURATION" 'BEGIN{printf "%.0f", a/d}')" \
    "$(awk -v x="${p50:-0}" 'BEGIN{print x/1000}')" "$(awk -v x="${p99:-0}" 'BEGIN{print x/1000}')" \
    "$load" "$(sed -n 's/^statuses //p' <<<"$out")"
  echo "                       $CPU_NOTE"
  LAST_ACCEPTED=${accepted:-0}
}

echo "bench: intake, ${DURATION}s per run, wrk -t$WRK_THREADS, $(nproc) cores, $(date -u +%FT%TZ)"
echo "bench: load before: $(cut -d' ' -f1-3 /proc/loadavg)"
PREWARM_MB=${QUARRY_BENCH_PREWARM_WAL:-2048}
[[ $PREWARM_MB =~ ^[0-9]+$ ]] || { echo "bench: QUARRY_BENCH_PREWARM_WAL must be a number of MB" >&2; exit 2; }
if [ -n "$OWN_STACK" ] && [ "$PREWARM_MB" -gt 0 ]; then
  prewarm_wal "$PREWARM_MB"
fi
make_keys 1 "$WORK/keys1"
make_keys 1000 "$WORK/keys1000"

start_intake "$BASE_PORT" 1
start_intake "$((BASE_PORT + 1))" 0

WARMUP=${QUARRY_BENCH_WARMUP:-10}
if [ "$WARMUP" -gt 0 ]; then
  echo "bench: warm-up: ${WARMUP}s of real submissions (not reported)"
  QUARRY_BENCH_KEYS=$WORK/keys1000 timeout $((WARMUP + 30)) wrk -t"$WRK_THREADS" -c128 -d"${WARMUP}s" \
    --timeout 5s -s "$REPO/bench/intake/submit.lua" "http://127.0.0.1:$((BASE_PORT + 1))" >/dev/null 2>&1 || true
fi

for c in $CONNS; do
  run_wrk "ceiling (fixed 202)" "$BASE_PORT" "$WORK/keys1" "$c"
done
for set in 1 1000; do
  for c in $CONNS; do
    before=$(jobs_of "$set")
    run_wrk "real, $set key(s)" "$((BASE_PORT + 1))" "$WORK/keys$set" "$c"
    sleep 1  # the last delivery reports
    after=$(jobs_of "$set")
    if [ $((after - before)) -lt "$LAST_ACCEPTED" ]; then
      echo "bench: FAIL: $LAST_ACCEPTED accepted but only $((after - before)) new job rows" >&2
      exit 1
    fi
    echo "                       durable: $((after - before)) new job rows >= $LAST_ACCEPTED accepted"
  done
done
echo "bench: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
