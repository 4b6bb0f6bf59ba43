"""Helpers for end-to-end tests against a running Quarry stack (real PostgreSQL, real
Kafka, the emulator): HTTP calls to the intake, SQL through psql, the quarry CLI."""
import json
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_env():
    """The variables `scripts/stack.sh up` wrote to $QUARRY_RUN_DIR/env."""
    run_dir = os.environ.get("QUARRY_RUN_DIR", os.path.join(REPO, ".run-test"))
    env = {}
    path = os.path.join(run_dir, "env")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if "=" not in line or line.startswith("#"):
                continue
            name, value = line.split("=", 1)
            parts = shlex.split(value)
            env[name] = parts[0] if parts else ""
    return env


ENV = load_env()
BIN_DIR = os.environ.get("QUARRY_BIN_DIR", os.path.join(REPO, "build"))


def require_stack(testcase):
    if ENV is None:
        testcase.skipTest("no running stack: $QUARRY_RUN_DIR/env is absent")


def http(method, path, body=None, key=None, headers=None, base=None, timeout=30):
    """Returns (status, headers, parsed JSON or raw text)."""
    url = (base or ENV["QUARRY_URL"]) + path
    data = body
    hdrs = {}
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    elif isinstance(body, str):
        data = body.encode()
    if key is not None:
        hdrs["x-api-key"] = key
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, rh, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, rh, raw = e.code, e.headers, e.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, rh, parsed


def sql(query, *params):
    """Runs one query through psql; returns rows as lists of strings. Parameters are
    passed as psql variables and quoted by psql (:'p1', :'p2', ...)."""
    args = ["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
            ENV["QUARRY_DATABASE_URL"]]
    for i, p in enumerate(params, 1):
        args += ["-v", f"p{i}={p}"]
    out = subprocess.run(args, input=query, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def quarry(*args, check=True, env=None):
    full_env = dict(os.environ)
    full_env.update(ENV or {})
    full_env.update(env or {})
    return subprocess.run([os.path.join(BIN_DIR, "quarry"), *args], capture_output=True,
                          text=True, env=full_env, check=check)


def create_key(name, *extra):
    out = quarry("keys", "create", "--name", name, *extra).stdout
    return out.strip().splitlines()[-1]


def wait_terminal(key, job_ids, timeout=180):
    """Polls until every job is terminal; returns {id: job}."""
    pending, done = set(job_ids), {}
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        for job_id in list(pending):
            status, _, job = http("GET", f"/v1/questions/{job_id}", key=key)
            if status == 200 and job["status"] in ("succeeded", "failed", "cancelled", "expired"):
                done[job_id] = job
                pending.discard(job_id)
        if pending:
            time.sleep(0.2)
    if pending:
        raise AssertionError(f"{len(pending)} jobs not terminal after {timeout}s: "
                             f"{sorted(pending)[:5]}")
    return done


def emulator(method, path, body=None):
    return http(method, path, body=body, base=ENV["QUARRY_EMULATOR_URL"])
