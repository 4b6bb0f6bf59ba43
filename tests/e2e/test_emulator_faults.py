"""End-to-end tests of the emulator's fault injection, quotas, latency distributions and
admin API: the real binary on a free loopback port, driven with boto3 (real SigV4) and
with raw HTTP (bearer token).

Run from the repository root:  python3 -m unittest tests/e2e/test_emulator_faults.py
(QUARRY_EMULATOR_BIN as for test_emulator.py). The botocore retry test sleeps through
botocore's own backoff and takes ~20 s.
"""

import concurrent.futures
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_support import (BEARER, HAIKU, HAIKU_WIRE, SKIP_BOTO, Emulator,  # noqa: E402
                              botocore, claude_body, make_client, module_emulator)

SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-micro-v1:0"

# Every error the emulator injects: (code, HTTP status, retried by botocore's standard mode).
# Standard mode retries throttling codes, 500/502/503/504, and errors the service model
# marks retryable (ModelNotReadyException); 400, 408 and 424 are final.
ERRORS = [
    ("ThrottlingException", 429, True),
    ("ModelNotReadyException", 429, True),
    ("ModelTimeoutException", 408, False),
    ("ModelErrorException", 424, False),
    ("ServiceQuotaExceededException", 400, False),
    ("InternalServerException", 500, True),
    ("ServiceUnavailableException", 503, True),
]

EMU = None  # the module's emulator, between setUpModule and tearDownModule
setUpModule, tearDownModule = module_emulator(__name__)


def bearer_invoke(emu, body=None, model_wire=HAIKU_WIRE, op="invoke", timeout=30):
    """(status, headers, body) of one bearer-token call; ('reset', None, error) when the
    connection was closed without a reply."""
    body = json.dumps(body if body is not None else claude_body(max_tokens=64)).encode()
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=timeout)
    try:
        conn.request("POST", f"/model/{model_wire}/{op}", body,
                     {"Authorization": f"Bearer {BEARER}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError) as e:
        return "reset", None, e
    finally:
        conn.close()


class FaultCase(unittest.TestCase):
    def setUp(self):
        EMU.admin("POST", "/_emulator/config/reset", {})
        EMU.admin("POST", "/_emulator/stats/reset", {})

    def tearDown(self):
        EMU.admin("POST", "/_emulator/config/reset", {})


@SKIP_BOTO
class Boto3FaultTest(FaultCase):
    """What an AWS SDK sees for each fault, and how often its own retries call again."""

    def call(self, client, op):
        if op == "invoke":
            resp = client.invoke_model(modelId=HAIKU, body=json.dumps(claude_body(max_tokens=32)))
            return json.loads(resp["body"].read())
        return client.converse(modelId=HAIKU, messages=[{"role": "user", "content": [
            {"text": "What is a quorum?"}]}], inferenceConfig={"maxTokens": 32})

    def test_every_error_surfaces_with_its_code_and_status(self):
        client = make_client(EMU)
        for code, status, _ in ERRORS:
            for op in ("invoke", "converse"):
                with self.subTest(code=code, op=op):
                    EMU.set_config(error_rates={code: 1})
                    with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                        self.call(client, op)
                    err = ctx.exception.response
                    self.assertEqual(err["Error"]["Code"], code)
                    self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status)
                    self.assertTrue(err["Error"]["Message"])
                    EMU.set_config(error_rates={code: 0})
        stats = EMU.stats()
        for code, _, _ in ERRORS:
            self.assertEqual(stats["errors"][code], 2, code)
        self.assertEqual(stats["throttled"], 2)
        self.assertEqual(stats["injected_errors"], 2 * (len(ERRORS) - 1))
        self.assertEqual(stats["operations"], {"invoke": 7, "converse": 7})

    def test_model_error_carries_the_original_status(self):
        EMU.set_config(error_rates={"ModelErrorException": 1})
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.call(make_client(EMU), "invoke")
        self.assertEqual(ctx.exception.response["originalStatusCode"], 500)
        self.assertTrue(ctx.exception.response["resourceName"].endswith(HAIKU))

    def test_standard_retry_mode_retries_exactly_what_it_retries_against_aws(self):
        # Standard mode: 3 attempts in all. A fresh client per case keeps its retry quota full.
        for code, status, retried in ERRORS:
            with self.subTest(code=code):
                EMU.admin("POST", "/_emulator/stats/reset", {})
                EMU.set_config(error_rates={code: 1})
                client = make_client(EMU, retries={"mode": "standard"})
                with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                    self.call(client, "invoke")
                self.assertEqual(ctx.exception.response["Error"]["Code"], code)
                attempts = ctx.exception.response["ResponseMetadata"]["RetryAttempts"]
                stats = EMU.stats()
                self.assertEqual(stats["errors"][code], 3 if retried else 1)
                self.assertEqual(stats["invocations"], 3 if retried else 1)
                self.assertEqual(attempts, 2 if retried else 0)
                EMU.set_config(error_rates={code: 0})
        # Connection-level faults: a reset and a stall past the read timeout are retried.
        for name, config, outcome in [("reset", {"reset_rate": 1}, "resets"),
                                      ("stall", {"stall_rate": 1, "stall_ms": 2000}, "stalled")]:
            with self.subTest(fault=name):
                EMU.admin("POST", "/_emulator/config/reset", {})
                EMU.admin("POST", "/_emulator/stats/reset", {})
                EMU.set_config(**config)
                client = make_client(EMU, retries={"mode": "standard"}, read_timeout=0.3)
                with self.assertRaises((botocore.exceptions.ConnectionClosedError,
                                        botocore.exceptions.ReadTimeoutError)):
                    self.call(client, "invoke")
                self.assertEqual(EMU.stats()[outcome], 3)
        # Validation errors are never retried.
        EMU.admin("POST", "/_emulator/config/reset", {})
        EMU.admin("POST", "/_emulator/stats/reset", {})
        with self.assertRaises(botocore.exceptions.ClientError):
            make_client(EMU, retries={"mode": "standard"}).invoke_model(
                modelId=HAIKU, body=json.dumps(claude_body(max_tokens=0)))
        self.assertEqual(EMU.stats()["validation_errors"], 1)

    def test_quota_throttling_is_retried_and_counted_by_cause(self):
        EMU.set_config(quotas={HAIKU: {"rpm": 2}})
        client = make_client(EMU, retries={"mode": "standard"})
        self.call(client, "invoke")
        self.call(client, "invoke")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.call(client, "invoke")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ThrottlingException")
        self.assertEqual(ctx.exception.response["Error"]["Message"],
                         "Too many requests, please wait before trying again.")
        stats = EMU.stats()
        self.assertEqual(stats["throttled_by"], {"rate": 0, "rpm": 3, "tpm": 0})
        self.assertEqual(stats["succeeded"], 2)

    def test_stall_outlasts_the_client_timeout(self):
        EMU.set_config(stall_rate=1, stall_ms=1500)
        client = make_client(EMU, read_timeout=0.4)
        started = time.monotonic()
        with self.assertRaises(botocore.exceptions.ReadTimeoutError):
            self.call(client, "converse")
        self.assertLess(time.monotonic() - started, 1.4)
        self.assertEqual(EMU.stats()["held"], 1)
        time.sleep(1.4)
        stats = EMU.stats()
        self.assertEqual((stats["stalled"], stats["held"]), (1, 0))

    def test_reset_is_a_connection_error(self):
        EMU.set_config(reset_rate=1)
        with self.assertRaises(botocore.exceptions.ConnectionClosedError):
            self.call(make_client(EMU), "invoke")
        self.assertEqual(EMU.stats()["resets"], 1)

    def test_malformed_bodies(self):
        client = make_client(EMU)
        EMU.set_config(malformed_rate=1, malformed_kind="truncated")
        resp = client.invoke_model(modelId=HAIKU, body=json.dumps(claude_body(max_tokens=32)))
        raw = resp["body"].read()
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(raw.startswith(b'{"id":"msg_bdrk_'), raw)
        with self.assertRaises(ValueError):
            json.loads(raw)
        EMU.set_config(malformed_kind="non_json")
        raw = client.invoke_model(modelId=HAIKU, body=json.dumps(claude_body()))["body"].read()
        self.assertTrue(raw.startswith(b"<html>"), raw)
        # botocore cannot parse a Converse reply that is not JSON: the output is missing.
        out = self.call(client, "converse")
        self.assertNotIn("output", out)
        self.assertEqual(EMU.stats()["malformed"], 3)


class StdlibFaultTest(FaultCase):
    """Rates, distributions, quotas and the admin API over raw HTTP."""

    def test_rates_are_fractions_and_the_stats_match_what_clients_saw(self):
        EMU.set_config(throttle_rate=0.2, reset_rate=0.1, malformed_rate=0.1,
                       error_rates={"ServiceUnavailableException": 0.1,
                                    "InternalServerException": 0.05})
        seen = {}
        n = 400
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            for status, headers, body in pool.map(lambda _: bearer_invoke(EMU), range(n)):
                if status == "reset":
                    key = "reset"
                elif status != 200:
                    key = headers["x-amzn-errortype"].split(":")[0]
                else:
                    try:
                        json.loads(body)
                        key = "ok"
                    except ValueError:
                        key = "malformed"
                seen[key] = seen.get(key, 0) + 1
        stats = EMU.stats()
        self.assertEqual(stats["invocations"], n)
        self.assertEqual(seen.get("ok", 0), stats["succeeded"])
        self.assertEqual(seen.get("reset", 0), stats["resets"])
        self.assertEqual(seen.get("malformed", 0), stats["malformed"])
        self.assertEqual(seen.get("ThrottlingException", 0), stats["throttled"])
        self.assertEqual(seen.get("ServiceUnavailableException", 0),
                         stats["errors"]["ServiceUnavailableException"])
        self.assertEqual(stats["models"][HAIKU]["invocations"], n)
        # Binomial bounds, about 4.5 standard deviations wide.
        for key, rate in [("ok", 0.45), ("ThrottlingException", 0.2), ("reset", 0.1),
                          ("malformed", 0.1), ("ServiceUnavailableException", 0.1),
                          ("InternalServerException", 0.05)]:
            sd = (n * rate * (1 - rate)) ** 0.5
            self.assertLess(abs(seen.get(key, 0) - n * rate), 4.5 * sd + 1, (key, seen))

    def test_throttling_switched_on_mid_run(self):
        results = []
        switch = threading.Event()

        def load():
            for i in range(300):
                if i == 100:
                    switch.set()
                    time.sleep(0.2)
                results.append((switch.is_set(), bearer_invoke(EMU)[0]))

        worker = threading.Thread(target=load)
        worker.start()
        switch.wait(30)
        EMU.set_config(throttle_rate=0.3)
        worker.join(60)
        before = [s for on, s in results[:100]]
        after = [s for on, s in results[100:]]
        self.assertEqual(set(before), {200})
        share = after.count(429) / len(after)
        self.assertTrue(0.18 < share < 0.42, share)

    def test_latency_distributions(self):
        def latencies(n, model=HAIKU_WIRE):
            with concurrent.futures.ThreadPoolExecutor(n) as pool:
                res = list(pool.map(lambda _: bearer_invoke(EMU, model_wire=model), range(n)))
            for status, _, body in res:
                self.assertEqual(status, 200, body)
            return [int(h["x-amzn-bedrock-invocation-latency"]) for _, h, _ in res]

        EMU.set_config(latency={"distribution": "fixed", "ms": 150})
        self.assertTrue(all(150 <= ms < 400 for ms in latencies(8)))
        EMU.set_config(latency={"distribution": "uniform", "min_ms": 100, "max_ms": 200})
        got = latencies(40)
        self.assertTrue(all(100 <= ms < 450 for ms in got), got)
        self.assertGreater(max(got) - min(got), 20, got)
        EMU.set_config(latency={"distribution": "lognormal", "median_ms": 40, "p99_ms": 200,
                                "max_ms": 300})
        got = latencies(60)
        self.assertTrue(20 < statistics.median(got) < 90, got)
        self.assertTrue(all(ms < 550 for ms in got), got)
        # A per-model override, the rest keep the default.
        EMU.set_config(latency_ms=0, model_latency={SONNET: 250})
        self.assertTrue(all(ms < 200 for ms in latencies(4)))
        self.assertTrue(all(ms >= 250 for ms in latencies(4, model=SONNET.replace(":", "%3A"))))

    def test_latency_profile_comes_from_the_catalogue(self):
        status, models = EMU.admin("GET", "/_emulator/models")
        haiku = next(m for m in models["models"] if m["model_id"] == HAIKU)
        self.assertEqual(haiku["profile_latency"]["distribution"], "lognormal")
        self.assertEqual(EMU.set_config(latency={"distribution": "profile"})["latency"],
                         {"distribution": "profile"})
        config = EMU.set_config(model_latency={HAIKU: {"distribution": "fixed", "ms": 5}})
        self.assertEqual(config["model_latency"][HAIKU], {"distribution": "fixed", "ms": 5})
        status, headers, _ = bearer_invoke(EMU)
        self.assertEqual(status, 200)
        self.assertLess(int(headers["x-amzn-bedrock-invocation-latency"]), 200)

    def test_thousands_of_held_replies(self):
        # Raw sockets from one thread, so the client is never what limits the concurrency.
        EMU.set_config(latency={"distribution": "uniform", "min_ms": 1500, "max_ms": 1600})
        n = 1000
        body = json.dumps(claude_body(max_tokens=16)).encode()
        request = (f"POST /model/{HAIKU_WIRE}/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {BEARER}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        socks = []
        # An earlier test's stalled reply (its client timed out) can still be held until
        # its stall ends, so the count may include it: what matters is that all n of
        # these were held at once, without a thread each.
        started = time.monotonic()
        try:
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", EMU.port), timeout=30)
                s.sendall(request)
                socks.append(s)
            deadline = time.monotonic() + 1.2
            held = 0
            while time.monotonic() < deadline and held < n:
                held = max(held, EMU.stats()["held"])
                time.sleep(0.05)
            replies = []
            for s in socks:
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                replies.append(data.split(b" ", 2)[1])
        finally:
            for s in socks:
                s.close()
        self.assertGreaterEqual(held, n)
        self.assertEqual(replies, [b"200"] * n)
        self.assertLess(time.monotonic() - started, 10)

    def test_rpm_and_tpm_quotas(self):
        config = EMU.set_config(quotas={"us." + HAIKU: {"rpm": 3}})
        self.assertEqual(config["quotas"], {HAIKU: {"rpm": 3, "tpm": 0}})
        statuses = [bearer_invoke(EMU)[0] for _ in range(5)]
        self.assertEqual(statuses, [200, 200, 200, 429, 429])
        # Another model has its own window.
        self.assertEqual(bearer_invoke(EMU, model_wire=SONNET)[0], 200)
        # Tokens: input + max_tokens must fit; the message says which quota it was.
        EMU.set_config(quotas={HAIKU: None, SONNET: {"tpm": 1000}})
        self.assertEqual(bearer_invoke(EMU, claude_body(max_tokens=100), SONNET)[0], 200)
        status, headers, body = bearer_invoke(EMU, claude_body(max_tokens=990), SONNET)
        self.assertEqual(status, 429)
        self.assertEqual(headers["x-amzn-errortype"].split(":")[0], "ThrottlingException")
        self.assertEqual(json.loads(body)["message"],
                         "Too many tokens, please wait before trying again.")
        stats = EMU.stats()
        self.assertEqual(stats["throttled_by"], {"rate": 0, "rpm": 2, "tpm": 1})
        self.assertEqual(stats["models"][SONNET]["throttled"], 1)
        # AWS-like defaults, and null clears every quota.
        config = EMU.set_config(quotas="aws_defaults")
        self.assertEqual(config["quotas"][HAIKU], {"rpm": 1000, "tpm": 2000000})
        self.assertEqual(EMU.set_config(quotas=None)["quotas"], {})

    def test_nova_and_converse_share_the_fault_plan(self):
        EMU.set_config(error_rates={"ModelTimeoutException": 1})
        nova = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
        status, headers, _ = bearer_invoke(EMU, nova, "amazon.nova-micro-v1%3A0")
        self.assertEqual((status, headers["x-amzn-errortype"].split(":")[0]),
                         (408, "ModelTimeoutException"))
        status, _, _ = bearer_invoke(EMU, nova, HAIKU_WIRE, op="converse")
        self.assertEqual(status, 408)
        self.assertEqual(EMU.stats()["models"][NOVA]["injected_errors"], 1)

    def test_error_rates_replace_and_quotas_merge(self):
        EMU.set_config(throttle_rate=0.1, error_rates={"ServiceUnavailableException": 0.1})
        config = EMU.set_config(error_rates={"InternalServerException": 0.05})
        self.assertEqual(config["error_rates"]["ServiceUnavailableException"], 0)
        self.assertEqual(config["error_rates"]["InternalServerException"], 0.05)
        self.assertEqual(config["throttle_rate"], 0.1)
        config = EMU.set_config(error_rates={})
        self.assertEqual(sum(config["error_rates"].values()), 0.1)
        EMU.set_config(quotas={HAIKU: {"rpm": 5}})
        config = EMU.set_config(quotas={SONNET: {"tpm": 50}})
        self.assertEqual(set(config["quotas"]), {HAIKU, SONNET})

    def test_invalid_configs_change_nothing(self):
        before = EMU.admin("GET", "/_emulator/config")[1]
        for bad in [{"throttle_rate": 0.6, "error_rates": {"InternalServerException": 0.5}},
                    {"error_rates": {"NoSuchException": 0.1}},
                    {"error_rates": {"InternalServerException": 2}},
                    {"latency": {"distribution": "gamma"}},
                    {"latency": {"distribution": "uniform", "min_ms": 5, "max_ms": 1}},
                    {"latency": {"distribution": "lognormal", "median_ms": 100, "p99_ms": 50}},
                    {"quotas": {"no.such-model-v1:0": {"rpm": 1}}},
                    {"quotas": {HAIKU: {"rpm": -1}}},
                    {"stall_ms": 10 ** 9}, {"malformed_kind": "odd"},
                    {"throttle_rate": 0.5, "speed": 1}]:
            with self.subTest(bad=bad):
                status, err = EMU.admin("POST", "/_emulator/config", bad)
                self.assertEqual(status, 400, err)
                self.assertTrue(err["message"])
        self.assertEqual(EMU.admin("GET", "/_emulator/config")[1], before)

    def test_stats_reset(self):
        bearer_invoke(EMU)
        status, old = EMU.admin("POST", "/_emulator/stats/reset", {})
        self.assertEqual((status, old["succeeded"]), (200, 1))
        new = EMU.stats()
        self.assertEqual((new["invocations"], new["succeeded"], new["models"]), (0, 0, {}))
        self.assertLess(new["seconds"], old["seconds"] + 1)


class StartupConfigTest(unittest.TestCase):
    """The same config keys from a file, flags and the environment, in that order."""

    def test_file_then_flags(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump({"error_rates": {"InternalServerException": 0.25},
                       "latency": {"distribution": "uniform", "min_ms": 1, "max_ms": 2},
                       "quotas": {HAIKU: {"rpm": 600, "tpm": 100000}}}, f)
            f.flush()
            emu = Emulator("--config", f.name, "--stall-rate", "0.1", "--stall-ms", "5000",
                           "--set", '{"throttle_rate": 0.05}',
                           QUARRY_EMULATOR_LATENCY_MS="7").start()
            try:
                config = emu.admin("GET", "/_emulator/config")[1]
                self.assertEqual(config["error_rates"]["InternalServerException"], 0.25)
                self.assertEqual(config["latency"], {"distribution": "uniform", "min_ms": 1,
                                                     "max_ms": 2})
                self.assertEqual(config["quotas"], {HAIKU: {"rpm": 600, "tpm": 100000}})
                self.assertEqual((config["stall_rate"], config["stall_ms"]), (0.1, 5000))
                self.assertEqual(config["throttle_rate"], 0.05)
                emu.set_config(throttle_rate=0, latency_ms=3)
                status, reset = emu.admin("POST", "/_emulator/config/reset", {})
                self.assertEqual((status, reset), (200, config))
            finally:
                self.assertEqual(emu.stop(), 0, emu.read_log()[-4000:])

    def test_bad_flags_refuse_to_start(self):
        for args in [("--throttle-rate", "2"), ("--no-such-key", "1"), ("--config", "/nonexistent"),
                     ("--latency",), ("stray",)]:
            with self.subTest(args=args):
                emu = Emulator(*args)
                with self.assertRaises(RuntimeError):
                    emu.start()
                self.assertEqual(emu.proc.wait(timeout=10), 2)
                self.assertIn("emulator.config_invalid", emu.read_log())

    def test_same_seed_same_faults(self):
        runs = []
        for _ in range(2):
            emu = Emulator("--throttle-rate", "0.3", "--reset-rate", "0.2",
                           QUARRY_EMULATOR_SEED="7").start()
            try:
                runs.append([bearer_invoke(emu)[0] for _ in range(40)])
            finally:
                self.assertEqual(emu.stop(), 0)
        self.assertEqual(runs[0], runs[1])
        self.assertEqual(set(runs[0]), {200, 429, "reset"})


if __name__ == "__main__":
    unittest.main()
