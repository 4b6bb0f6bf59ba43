#!/usr/bin/env python3
"""Consumer benchmark (issue 4): one quarry-consumer process against the emulator on
loopback, with the real stack (PostgreSQL, Kafka, intake) in a private run folder.

Phase 1, backlog: N jobs are queued with the consumer stopped; the emulator answers every
call after ~1 s (uniform 900-1100 ms when it supports a distribution, else fixed 1000 ms);
then one consumer with QUARRY_MAX_IN_FLIGHT calls open drains the backlog. Reports
completions/s (steady part), CPU seconds per job, peak RSS, calls in flight.
Phase 2, overhead: a steady stream of submissions to the running consumer; per job,
(finished_at - created_at) - model latency, p50/p99.
Phase 3, quota: the emulator enforces Q requests/minute on the model; the consumer runs
with a matching QUARRY_MODEL_BUDGETS; reports goodput against Q and the share of attempts
throttled. Skipped when the emulator has no quotas.

Bounded: every loop has a count and a deadline; every target is 127.0.0.1.
Usage: bench/consumer/bench.py [--jobs N] [--in-flight K] [--quota-rpm Q] [--backlog-only]
                              [--no-build]
Binaries come from QUARRY_BIN_DIR (default build/), which the script builds first.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

RUN_DIR = os.path.join(REPO, ".run-bench")
# Binaries under test: QUARRY_BIN_DIR (as scripts/stack.sh reads it), else build/.
BIN_DIR = os.path.abspath(os.environ.get("QUARRY_BIN_DIR", os.path.join(REPO, "build")))
PORTS = {"QUARRY_PG_PORT": "15490", "QUARRY_KAFKA_PORT": "19290",
         "QUARRY_KAFKA_CONTROLLER_PORT": "19291", "QUARRY_EMULATOR_PORT": "18290",
         "QUARRY_INTAKE_PORT": "18291"}
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def stack(*args, extra=None):
    env = dict(os.environ, QUARRY_RUN_DIR=RUN_DIR, QUARRY_BIN_DIR=BIN_DIR,
               **PORTS, **(extra or {}))
    for k in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "QUARRY_BEDROCK_ENDPOINT"):
        env.pop(k, None)
    subprocess.run([os.path.join(REPO, "scripts", "stack.sh"), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def load_env():
    env = {}
    with open(os.path.join(RUN_DIR, "env")) as f:
        for line in f:
            if line.startswith("export ") and "=" in line:
                k, v = line[7:].strip().split("=", 1)
                env[k] = v.strip("'\"")
    return env


def psql(env, query):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", env["QUARRY_DATABASE_URL"]],
                         input=query, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def emulator_config(env, body):
    host, port = env["QUARRY_EMULATOR_URL"].split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("POST", "/_emulator/config", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def emulator_stats(env):
    host, port = env["QUARRY_EMULATOR_URL"].split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/_emulator/stats")
    data = json.loads(c.getresponse().read())
    c.close()
    return data


def submit(env, key, n, threads=32, rate=None, deadline_s=600):
    """Submits n questions (optionally paced at `rate`/s); returns the ids."""
    host, port = env["QUARRY_URL"].split("//")[1].split(":")
    ids, lock = [], threading.Lock()
    counter = iter(range(n))
    start = time.time()
    stop_at = start + deadline_s

    def worker():
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.time() < stop_at:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            if rate:
                delay = start + i / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            body = json.dumps({"question": f"bench question {i} {uuid.uuid4()}", "max_tokens": 64})
            c.request("POST", "/v1/questions", body,
                      {"Content-Type": "application/json", "x-api-key": key})
            r = c.getresponse()
            data = r.read()
            if r.status == 202:
                with lock:
                    ids.append(json.loads(data)["id"])
        c.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ids, time.time() - start


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, rss, hwm


def consumer_pid():
    with open(os.path.join(RUN_DIR, "consumer.pid")) as f:
        return int(f.read())


def max_in_flight_logged():
    best = 0
    with open(os.path.join(RUN_DIR, "logs", "consumer.log")) as f:
        for line in f:
            if '"consumer.stats"' in line:
                best = max(best, json.loads(line)["in_flight"])
    return best


def count_done(env, key_id):
    (row,) = psql(env, f"SELECT count(*) FILTER (WHERE status = 'succeeded'),"
                       f" count(*) FILTER (WHERE finished_at IS NOT NULL)"
                       f" FROM jobs WHERE api_key_id = {key_id}")
    return int(row[0]), int(row[1])


def create_key(env, name):
    out = subprocess.run([os.path.join(BIN_DIR, "quarry"), "keys", "create", "--name", name],
                         env=dict(os.environ, **env), capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()
    key = out[-1]
    key_id = int(next(l.split()[1] for l in out if l.startswith("id:")))
    return key, key_id


def phase_backlog(env, jobs, in_flight, consumer_env):
    key, key_id = create_key(env, "bench-backlog")
    ok, _ = emulator_config(env, {"latency": {"distribution": "uniform", "min_ms": 900,
                                              "max_ms": 1100}})
    latency_desc = "uniform 900-1100 ms"
    if ok != 200:
        emulator_config(env, {"latency_ms": 1000})
        latency_desc = "fixed 1000 ms"
    ids, took = submit(env, key, jobs)
    print(f"backlog: {len(ids)} jobs queued in {took:.1f}s ({len(ids) / took:.0f}/s through the "
          f"intake); model latency {latency_desc}", flush=True)
    stack("up", "consumer", extra=consumer_env)
    pid = consumer_pid()
    cpu0, _, _ = proc_stats(pid)
    t0 = time.time()
    samples = []
    deadline = t0 + max(120, jobs / 200)
    while time.time() < deadline:
        succeeded, finished = count_done(env, key_id)
        samples.append((time.time() - t0, succeeded, proc_stats(pid)[0]))
        if finished >= len(ids):
            break
        time.sleep(0.5)
    elapsed = time.time() - t0
    cpu1, rss, hwm = proc_stats(pid)
    succeeded = samples[-1][1]
    # Steady state: from 10% to 90% of the backlog, so opening the connections and the
    # first claims (start) and the last stragglers (end) are reported apart.
    lo = next(x for x in samples if x[1] >= 0.1 * len(ids))
    hi = next(x for x in samples if x[1] >= 0.9 * len(ids))
    steady = (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else float("nan")
    result = {
        "jobs": len(ids), "succeeded": succeeded, "drain_seconds": round(elapsed, 1),
        "completions_per_s_overall": round(succeeded / elapsed), "completions_per_s_steady":
        round(steady), "cpu_us_per_job": round((cpu1 - cpu0) / max(succeeded, 1) * 1e6),
        "cpu_us_per_job_steady": round((hi[2] - lo[2]) / max(hi[1] - lo[1], 1) * 1e6),
        "rss_mb_now": round(rss / 1024), "rss_mb_peak": round(hwm / 1024),
        "max_in_flight_seen": max_in_flight_logged(), "in_flight_limit": in_flight,
        "model_latency": latency_desc,
    }
    print("backlog:", json.dumps(result), flush=True)
    return result


def phase_overhead(env, rate=200, seconds=10):
    key, key_id = create_key(env, "bench-overhead")
    ids, took = submit(env, key, rate * seconds, threads=16, rate=rate)
    deadline = time.time() + 60
    while time.time() < deadline and count_done(env, key_id)[1] < len(ids):
        time.sleep(0.5)
    rows = psql(env, "SELECT extract(epoch FROM finished_at - created_at) * 1000 - model_latency_ms"
                     f" FROM jobs WHERE api_key_id = {key_id} AND status = 'succeeded'")
    overhead = sorted(float(r[0]) for r in rows)
    q = statistics.quantiles(overhead, n=100)
    result = {"jobs": len(overhead), "submit_rate_per_s": rate, "overhead_ms_p50": round(q[49], 1),
              "overhead_ms_p99": round(q[98], 1)}
    print("overhead:", json.dumps(result), flush=True)
    return result


def phase_quota(env, quota_rpm, consumer_env, seconds=60):
    status, body = emulator_config(env, {"latency": {"distribution": "fixed", "ms": 200},
                                         "quotas": {MODEL: {"rpm": quota_rpm}}})
    if status != 200:
        print(f"quota: skipped, the emulator has no quotas ({body[:120]!r})", flush=True)
        return None
    stack("down", "consumer")
    stack("up", "consumer", extra=dict(consumer_env, QUARRY_MODEL_BUDGETS=f"{MODEL}={quota_rpm}"))
    key, key_id = create_key(env, "bench-quota")
    jobs = int(quota_rpm / 60 * seconds * 1.3)  # more than the quota allows in the window
    before = emulator_stats(env)
    ids, _ = submit(env, key, jobs)
    t0 = time.time()
    time.sleep(seconds)
    done_in_window = count_done(env, key_id)[0]
    after = emulator_stats(env)
    attempts = after["invocations"] - before["invocations"]
    throttled = after["throttled"] - before["throttled"]
    result = {"quota_rpm": quota_rpm, "window_s": round(time.time() - t0, 1),
              "goodput_per_min": round(done_in_window / (time.time() - t0) * 60),
              "goodput_share_of_quota": round(done_in_window / (time.time() - t0) * 60 / quota_rpm, 3),
              "attempts": attempts, "throttled_share": round(throttled / max(attempts, 1), 4)}
    print("quota:", json.dumps(result), flush=True)
    emulator_config(env, {"quotas": {}})
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--in-flight", type=int, default=2000)
    ap.add_argument("--quota-rpm", type=int, default=1200)
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    ap.add_argument("--no-build", action="store_true",
                    help="use the binaries in QUARRY_BIN_DIR as they are (no make first)")
    ap.add_argument("--backlog-only", action="store_true",
                    help="run the backlog phase only (skip overhead and quota)")
    args = ap.parse_args()
    consumer_env = {"QUARRY_MAX_IN_FLIGHT": str(args.in_flight),
                    "QUARRY_MAX_HELD": str(args.in_flight * 3),
                    "QUARRY_PARTITION_WINDOW": str(args.in_flight),
                    "QUARRY_LOG_LEVEL": "info"}
    # Build the tree under test (make's BUILD is relative to the repo when it can be).
    build = os.path.relpath(BIN_DIR, REPO) if BIN_DIR.startswith(REPO + os.sep) else BIN_DIR
    if not args.no_build:
        subprocess.run(["make", "-s", "-C", REPO, f"BUILD={build}"], check=True)
    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()}; "
          f"{subprocess.run(['uname', '-r'], capture_output=True, text=True).stdout.strip()}",
          flush=True)
    stack("down")
    subprocess.run(["rm", "-rf", RUN_DIR], check=True)
    stack("up", "postgres", "kafka", "topics", "migrate", "emulator", "intake")
    env = load_env()
    try:
        results = {"backlog": phase_backlog(env, args.jobs, args.in_flight, consumer_env)}
        if not args.backlog_only:
            results["overhead"] = phase_overhead(env)
            results["quota"] = phase_quota(env, args.quota_rpm, consumer_env)
        print("RESULT " + json.dumps(results), flush=True)
    finally:
        if not args.keep:
            stack("down")


if __name__ == "__main__":
    main()
