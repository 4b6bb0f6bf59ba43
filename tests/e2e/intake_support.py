"""Helpers (no tests here) for the intake's end-to-end tests: extra intake instances on free loopback ports
(so a test can change the intake's settings, or prove something holds on every instance),
keys with limits set in SQL, and raw sockets for abuse tests."""
import hashlib
import os
import signal
import socket
import subprocess
import time
import urllib.request

from quarry_e2e import BIN_DIR, ENV, create_key, sql


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Intake:
    """A quarry-intake process started by a test against the stack's PostgreSQL and Kafka.
    Its log goes into the run folder's logs/, where tests/run.sh looks for sanitizer reports."""

    def __init__(self, **settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update({
            "QUARRY_DATABASE_URL": ENV["QUARRY_DATABASE_URL"],
            "QUARRY_KAFKA_BROKERS": ENV["QUARRY_KAFKA_BROKERS"],
            "QUARRY_KAFKA_TOPIC": ENV.get("QUARRY_KAFKA_TOPIC", "quarry.jobs"),
            "QUARRY_INTAKE_LISTEN": f"127.0.0.1:{self.port}",
        })
        env.update({k: str(v) for k, v in settings.items()})
        logs = os.path.join(ENV["QUARRY_RUN_DIR"], "logs")
        os.makedirs(logs, exist_ok=True)
        self.log_path = os.path.join(logs, f"intake-extra-{self.port}.log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN_DIR, "quarry-intake")], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"extra intake did not start; see {self.log_path}")

    def pid(self):
        return self.proc.pid

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def key_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(key):
    return int(sql("SELECT id FROM api_keys WHERE key_sha256 = decode(:'p1', 'hex')",
                   key_hash(key))[0][0])


def set_key(key, **columns):
    """UPDATE api_keys SET column = value ... for this key (values are SQL literals)."""
    assigns = ", ".join(f"{c} = {v}" for c, v in columns.items())
    sql(f"UPDATE api_keys SET {assigns} WHERE key_sha256 = decode(:'p1', 'hex')", key_hash(key))


def limited_key(name, **columns):
    key = create_key(name)
    if columns:
        set_key(key, **columns)
    return key


def insert_queued_job(key, question="a job no consumer will see", reserved_tokens=0,
                      reserved_usd="0"):
    """A queued job committed without a Kafka message: it stays queued while a test runs
    (the reservation, if any, is added to daily_usage like the intake does)."""
    kid = key_id(key)
    (row,) = sql(
        "WITH j AS (INSERT INTO jobs (id, api_key_id, question, model, max_tokens,"
        " reserved_tokens, reserved_usd) VALUES (gen_random_uuid(), :'p1', :'p2',"
        " 'anthropic.claude-3-haiku-20240307-v1:0', 10, :'p3', :'p4') RETURNING id),"
        " u AS (INSERT INTO daily_usage AS d (api_key_id, day, requests, reserved_tokens,"
        " reserved_usd) VALUES (:'p1', (now() AT TIME ZONE 'UTC')::date, 1, :'p3', :'p4')"
        " ON CONFLICT (api_key_id, day) DO UPDATE SET requests = d.requests + 1,"
        " reserved_tokens = d.reserved_tokens + EXCLUDED.reserved_tokens,"
        " reserved_usd = d.reserved_usd + EXCLUDED.reserved_usd RETURNING 1)"
        " SELECT id FROM j, u", kid, question, reserved_tokens, reserved_usd)
    return row[0]
