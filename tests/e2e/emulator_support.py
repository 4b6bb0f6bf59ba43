"""What the emulator's end-to-end tests share: the binary's settings and credentials, one
emulator process (Emulator), the module fixture that runs one for a whole test module,
and the clients and bodies every test file sends.

Not a test module: test_emulator*.py import it. QUARRY_EMULATOR_BIN names the binary
(default build/san/quarry-emulator).
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:  # pragma: no cover - depends on the machine
    boto3 = botocore = None

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("QUARRY_EMULATOR_BIN", os.path.join(ROOT, "build/san/quarry-emulator"))

REGION = "us-east-1"
ACCESS_KEY = "AKIAEMULATORTEST0001"
SECRET_KEY = "emulatorTestSecret000000000000000000000"
BEARER = "ABSKemulatorTestBearerToken"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_WIRE = "anthropic.claude-3-haiku-20240307-v1%3A0"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# botocore is None without boto3: only tests marked SKIP_BOTO may use it.
SKIP_BOTO = unittest.skipIf(boto3 is None, "boto3 is not installed: pip install boto3")


class Emulator:
    """One emulator process with a private log file; port 0 lets it pick a free port."""

    def __init__(self, *args, **env):
        self.args = list(args)  # command-line flags, e.g. "--config", path
        self.env = dict(os.environ)
        self.env.update({
            "QUARRY_EMULATOR_LISTEN": "127.0.0.1:0",
            "QUARRY_EMULATOR_ACCESS_KEY_ID": ACCESS_KEY,
            "QUARRY_EMULATOR_SECRET_ACCESS_KEY": SECRET_KEY,
            "QUARRY_EMULATOR_BEARER_TOKEN": BEARER,
            "QUARRY_EMULATOR_SEED": "42",
            "AWS_REGION": REGION,
            "QUARRY_LOG_LEVEL": "debug",
        })
        for name in ("QUARRY_EMULATOR_SESSION_TOKEN", "QUARRY_EMULATOR_THROTTLE_RATE",
                     "QUARRY_EMULATOR_LATENCY_MS", "QUARRY_EMULATOR_CONFIG"):
            self.env.pop(name, None)
        self.env.update(env)
        self.log = tempfile.NamedTemporaryFile(prefix="quarry-emulator-", suffix=".log")
        self.proc = None
        self.port = None

    def start(self):
        if not os.access(BIN, os.X_OK):
            raise RuntimeError(f"emulator binary {BIN} not found: build it first "
                               "(make SAN=1 build/san/quarry-emulator) or set QUARRY_EMULATOR_BIN")
        self.proc = subprocess.Popen([BIN, *self.args], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for line in self.read_log().splitlines():
                if '"emulator.listening"' in line:
                    self.port = json.loads(line)["port"]
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("emulator did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM, then the exit status (0 when it shut down cleanly and leak-free)."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            status = -1
        self.proc = None
        return status

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None):
        """(status, lower-cased headers, body bytes) of one plain HTTP request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def admin(self, method, path, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        status, _, data = self.request(method, path, body)
        return status, json.loads(data)

    def set_config(self, **values):
        status, config = self.admin("POST", "/_emulator/config", values)
        if status != 200:
            raise AssertionError(f"config {values} refused: {config}")
        return config

    def stats(self):
        return self.admin("GET", "/_emulator/stats")[1]


def claude_body(question="What is the capital of France?", max_tokens=512, **extra):
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": question}],
    }
    body.update(extra)
    return body


def make_client(emu, key=ACCESS_KEY, secret=SECRET_KEY, token=None, **config):
    """A bedrock-runtime client for `emu`; `config` goes to botocore.config.Config."""
    # total_max_attempts counts the first try: no retries, so every call is one invocation
    # in the emulator's stats ("max_attempts": 1 would still retry once).
    config.setdefault("retries", {"total_max_attempts": 1})
    config.setdefault("read_timeout", 30)
    return boto3.client("bedrock-runtime", endpoint_url=emu.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token, config=botocore.config.Config(**config))


def module_emulator(module_name, secrets=()):
    """(setUpModule, tearDownModule) for the test module `module_name`, whose tests use its
    global EMU: one emulator for the whole module. tearDownModule fails when the emulator
    exits with a status other than 0 (a sanitizer build does when something leaked) or when
    its log contains any of `secrets`."""
    module = sys.modules[module_name]

    def set_up():
        module.EMU = Emulator().start()

    def tear_down():
        emu, module.EMU = module.EMU, None
        log = emu.read_log()
        status = emu.stop()
        if status != 0:
            raise AssertionError(f"emulator exited with status {status}:\n{log[-4000:]}")
        for secret in secrets:
            if secret in log:
                raise AssertionError(f"the emulator log contains {secret!r}")

    return set_up, tear_down
