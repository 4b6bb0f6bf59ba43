"""End-to-end tests of quarry-emulator: the real binary on a free loopback port, called the
way Quarry's consumer and the AWS SDKs call Bedrock.

Run from the repository root:  python3 -m unittest tests/e2e/test_emulator.py
QUARRY_EMULATOR_BIN names the binary (default build/san/quarry-emulator). The module starts
the emulator itself and stops it with SIGTERM at the end; a clean exit (status 0, which a
sanitizer build only gives when nothing leaked) is part of the test.

The boto3 tests are skipped when boto3 is not installed; the rest use only the stdlib,
including an independent SigV4 signer that cross-checks the emulator's verification.
"""

import concurrent.futures
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_support import (ACCESS_KEY, BEARER, HAIKU, HAIKU_WIRE, REGION,  # noqa: E402
                              SECRET_KEY, SKIP_BOTO, UUID4, Emulator, botocore, claude_body,
                              make_client, module_emulator)

# A marker that must never reach the log: questions are not logged, only ids and counts.
SECRET_QUESTION_MARKER = "zebracornflakes"


def sigv4_headers(host, method, path, body, *, key=ACCESS_KEY, secret=SECRET_KEY,
                  region=REGION, service="bedrock", when=None, sign_host=True, token=None):
    """An independent SigV4 signer (stdlib only): the headers to send for `path`, which is
    the wire path. The canonical URI encodes the wire path once more, as botocore does."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {"host": host, "x-amz-date": amz_date, "content-type": "application/json"}
    if token:
        headers["x-amz-security-token"] = token
    names = sorted(n for n in headers if sign_host or n != "host")
    canonical = "\n".join([
        method,
        urllib.parse.quote(path, safe="/-_.~"),
        "",
        "".join(f"{n}:{headers[n]}\n" for n in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


EMU = None  # the module's emulator, between setUpModule and tearDownModule
setUpModule, tearDownModule = module_emulator(
    __name__, secrets=(SECRET_KEY, BEARER, SECRET_QUESTION_MARKER))


class EmulatorCase(unittest.TestCase):
    def tearDown(self):
        EMU.admin("POST", "/_emulator/config/reset", {})


@SKIP_BOTO
class Boto3InvokeTest(EmulatorCase):
    """InvokeModel exactly as an AWS SDK sends it (SigV4, ':' in the model id)."""

    @classmethod
    def setUpClass(cls):
        cls.client = cls.make_client()

    @classmethod
    def make_client(cls, key=ACCESS_KEY, secret=SECRET_KEY, token=None, emulator=None):
        return make_client(emulator or EMU, key=key, secret=secret, token=token)

    def invoke(self, body, model=HAIKU, client=None):
        resp = (client or self.client).invoke_model(
            modelId=model, body=json.dumps(body), contentType="application/json",
            accept="application/json")
        return resp, json.loads(resp["body"].read())

    def assertClientError(self, ctx, code, status):
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        self.assertRegex(err["ResponseMetadata"]["RequestId"], UUID4)
        return err["Error"]["Message"]

    def test_invoke_returns_a_claude_message(self):
        resp, out = self.invoke(claude_body("How do Kafka consumer groups rebalance?"))
        headers = resp["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(resp["contentType"], "application/json")
        self.assertRegex(headers["x-amzn-requestid"], UUID4)
        self.assertRegex(out["id"], r"^msg_bdrk_[0-9A-Za-z]{24}$")
        self.assertEqual(out["type"], "message")
        self.assertEqual(out["role"], "assistant")
        self.assertEqual(out["model"], "claude-3-haiku-20240307")
        self.assertEqual(len(out["content"]), 1)
        self.assertEqual(out["content"][0]["type"], "text")
        self.assertGreater(len(out["content"][0]["text"]), 40)
        self.assertEqual(out["stop_reason"], "end_turn")
        self.assertIsNone(out["stop_sequence"])
        usage = out["usage"]
        self.assertGreater(usage["input_tokens"], 0)
        self.assertGreater(usage["output_tokens"], 0)
        self.assertEqual(int(headers["x-amzn-bedrock-input-token-count"]), usage["input_tokens"])
        self.assertEqual(int(headers["x-amzn-bedrock-output-token-count"]), usage["output_tokens"])
        self.assertGreaterEqual(int(headers["x-amzn-bedrock-invocation-latency"]), 0)
        # The answer talks about the question: at least one of its words comes back.
        self.assertTrue({"kafka", "consumer", "groups", "rebalance"} &
                        set(re.findall(r"[a-z]+", out["content"][0]["text"].lower())))

    def test_answer_is_deterministic(self):
        body = claude_body(f"Why is the sky blue? {SECRET_QUESTION_MARKER}", max_tokens=400)
        _, first = self.invoke(body)
        _, second = self.invoke(body)
        self.assertNotEqual(first["id"], second["id"])
        self.assertEqual(first["content"], second["content"])
        self.assertEqual(first["usage"], second["usage"])
        _, other = self.invoke(claude_body("Why is the sea salty?", max_tokens=400))
        self.assertNotEqual(first["content"], other["content"])

    def test_token_counts_follow_the_documented_rule(self):
        system = "You are terse."
        question = "x" * 401
        _, out = self.invoke(claude_body(question, system=system))
        # ceil(bytes / 4) of every text, + 4 per message, + 7 per request.
        self.assertEqual(out["usage"]["input_tokens"], -(-(len(system) + 401) // 4) + 4 + 7)
        text = out["content"][0]["text"]
        self.assertEqual(out["usage"]["output_tokens"], -(-len(text.encode()) // 4))

    def test_max_tokens_truncates(self):
        question = "Explain idempotent producers in Kafka"
        _, full = self.invoke(claude_body(question, max_tokens=4096))
        _, cut = self.invoke(claude_body(question, max_tokens=5))
        self.assertEqual(cut["stop_reason"], "max_tokens")
        self.assertIsNone(cut["stop_sequence"])
        self.assertEqual(cut["usage"]["output_tokens"], 5)
        self.assertGreater(full["usage"]["output_tokens"], 5)
        self.assertTrue(full["content"][0]["text"].startswith(cut["content"][0]["text"]))
        self.assertLessEqual(len(cut["content"][0]["text"]), 20)

    def test_stop_sequence_cuts_the_answer(self):
        question = "How should I size a connection pool?"
        _, full = self.invoke(claude_body(question))
        text = full["content"][0]["text"]
        stop = text[25:31]
        _, out = self.invoke(claude_body(question, stop_sequences=["never-in-text", stop]))
        self.assertEqual(out["stop_reason"], "stop_sequence")
        self.assertEqual(out["stop_sequence"], stop)
        self.assertEqual(out["content"][0]["text"], text[:text.index(stop)])

    def test_inference_profiles_and_arns(self):
        for model, name in [
            ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022"),
            ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620"),
            ("anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet-20250219"),
            ("anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514"),
            ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
             "us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514"),
            ("arn:aws:bedrock:us-east-1::foundation-model/" + HAIKU, "claude-3-haiku-20240307"),
        ]:
            with self.subTest(model=model):
                _, out = self.invoke(claude_body(), model=model)
                self.assertEqual(out["model"], name)

    def test_invalid_model_identifiers(self):
        for model in ["anthropic.claude-9-nonexistent-v1:0", "eu." + HAIKU,
                      "arn:aws:bedrock:eu-west-1::foundation-model/" + HAIKU]:
            with self.subTest(model=model):
                with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                    self.invoke(claude_body(), model=model)
                msg = self.assertClientError(ctx, "ValidationException", 400)
                self.assertEqual(msg, "The provided model identifier is invalid.")

    def test_nova_messages_v1_body(self):
        resp, out = self.invoke({"schemaVersion": "messages-v1",
                                 "system": [{"text": "Be brief."}],
                                 "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                                 "inferenceConfig": {"max_new_tokens": 300}},
                                model="amazon.nova-micro-v1:0")
        headers = resp["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(out["output"]["message"]["role"], "assistant")
        self.assertGreater(len(out["output"]["message"]["content"][0]["text"]), 20)
        self.assertEqual(out["stopReason"], "end_turn")
        usage = out["usage"]
        # ceil(("Be brief." + "hi") / 4) + 4 per message + 7
        self.assertEqual(usage["inputTokens"], 3 + 4 + 7)
        self.assertEqual(usage["totalTokens"], usage["inputTokens"] + usage["outputTokens"])
        self.assertEqual(int(headers["x-amzn-bedrock-output-token-count"]), usage["outputTokens"])
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.invoke({"messages": [{"role": "user", "content": [{"text": "hi"}]}],
                         "inferenceConfig": {"max_new_tokens": 5001}},
                        model="amazon.nova-micro-v1:0")
        msg = self.assertClientError(ctx, "ValidationException", 400)
        self.assertTrue(msg.startswith("Malformed input request: #/inferenceConfig/max_new_tokens"),
                        msg)
        status, models = EMU.admin("GET", "/_emulator/models")
        ids = {m["model_id"] for m in models["models"]}
        self.assertTrue({"amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0",
                         "amazon.nova-pro-v1:0", HAIKU} <= ids)

    def test_wrong_secret_is_an_invalid_signature(self):
        client = self.make_client(secret="not-the-secret")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.invoke(claude_body(), client=client)
        msg = self.assertClientError(ctx, "InvalidSignatureException", 403)
        self.assertTrue(msg.startswith(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."), msg)
        # The canonical request shows the wire path encoded once more: ':' -> %3A -> %253A.
        self.assertIn(f"/model/{HAIKU_WIRE.replace('%', '%25')}/invoke", msg)
        self.assertIn("The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n", msg)

    def test_unknown_access_key(self):
        client = self.make_client(key="AKIAUNKNOWNKEY000000")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.invoke(claude_body(), client=client)
        msg = self.assertClientError(ctx, "UnrecognizedClientException", 403)
        self.assertEqual(msg, "The security token included in the request is invalid.")

    def test_unexpected_session_token(self):
        client = self.make_client(token="some-session-token")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.invoke(claude_body(), client=client)
        self.assertClientError(ctx, "UnrecognizedClientException", 403)

    def test_throttling(self):
        before = EMU.stats()
        config = EMU.set_config(throttle_rate=1)
        self.assertEqual(config["throttle_rate"], 1.0)
        self.assertEqual(config["error_rates"]["ThrottlingException"], 1.0)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.invoke(claude_body())
        msg = self.assertClientError(ctx, "ThrottlingException", 429)
        self.assertEqual(msg, "Too many requests, please wait before trying again.")
        after = EMU.stats()
        self.assertEqual(after["throttled"] - before["throttled"], 1)
        self.assertEqual(after["input_tokens"], before["input_tokens"])
        EMU.set_config(throttle_rate=0)
        self.invoke(claude_body())

    def test_throttle_rate_is_a_fraction(self):
        EMU.set_config(throttle_rate=0.5)
        outcomes = []
        for _ in range(60):
            try:
                self.invoke(claude_body(max_tokens=8))
                outcomes.append("ok")
            except botocore.exceptions.ClientError as e:
                outcomes.append(e.response["Error"]["Code"])
        self.assertEqual(set(outcomes), {"ok", "ThrottlingException"})
        self.assertTrue(10 <= outcomes.count("ok") <= 50, outcomes.count("ok"))

    def test_missing_anthropic_version(self):
        body = claude_body()
        del body["anthropic_version"]
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.invoke(body)
        msg = self.assertClientError(ctx, "ValidationException", 400)
        self.assertEqual(msg, "Malformed input request: #: required key [anthropic_version] "
                              "not found, please reformat your input and try again.")

    # (name, body, expected start of the message); every case is a 400 ValidationException.
    VALIDATION_CASES = [
        ("missing max_tokens", {"anthropic_version": "bedrock-2023-05-31",
                                "messages": [{"role": "user", "content": "hi"}]},
         "Malformed input request: #: required key [max_tokens] not found, please reformat"),
        ("extraneous key", claude_body(foo=1),
         "Malformed input request: #: extraneous key [foo] is not permitted"),
        ("wrong version", claude_body(anthropic_version="bedrock-2023-05-30"),
         "Malformed input request: #/anthropic_version: bedrock-2023-05-30 is not a valid"),
        ("max_tokens zero", claude_body(max_tokens=0),
         "Malformed input request: #/max_tokens: 0 is not greater or equal to 1"),
        ("max_tokens a string", claude_body(max_tokens="10"),
         "Malformed input request: #/max_tokens: expected type: Integer, found: String"),
        ("max_tokens above the model limit", claude_body(max_tokens=4097),
         "max_tokens: 4097 > 4096, which is the maximum allowed number of output tokens"),
        ("no messages", claude_body() | {"messages": []},
         "Malformed input request: #/messages: expected minimum item count: 1"),
        ("assistant first", claude_body() | {"messages": [
            {"role": "assistant", "content": "hi"}, {"role": "user", "content": "hi"}]},
         "A conversation must start with a user message."),
        ("bad role", claude_body() | {"messages": [{"role": "system", "content": "hi"}]},
         "Malformed input request: #/messages/0/role: system is not a valid enum value"),
        ("empty content", claude_body(""),
         "messages: all messages must have non-empty content"),
        ("image block", claude_body([{"type": "image", "source": {}}]),
         "The emulator supports only text content blocks"),
        ("temperature too high", claude_body(temperature=1.5),
         "Malformed input request: #/temperature: 1.5 is not less or equal to 1"),
        ("stop_sequences not strings", claude_body(stop_sequences=[1]),
         "Malformed input request: #/stop_sequences/0: expected type: String, found: Integer"),
        ("not an object", ["hello"],
         "Malformed input request: #: expected type: JSONObject, found: JSONArray"),
    ]

    def test_validation_errors(self):
        for name, body, expected in self.VALIDATION_CASES:
            with self.subTest(name):
                with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                    self.invoke(body)
                msg = self.assertClientError(ctx, "ValidationException", 400)
                self.assertTrue(msg.startswith(expected), msg)

    def test_invalid_json(self):
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.client.invoke_model(modelId=HAIKU, body=b"{not json",
                                     contentType="application/json")
        msg = self.assertClientError(ctx, "ValidationException", 400)
        self.assertTrue(msg.startswith("Malformed input request: #: invalid JSON"), msg)

    def test_stats_and_record_match_the_response(self):
        before = EMU.stats()
        resp, out = self.invoke(claude_body("What is a write-ahead log?", max_tokens=300),
                                model="us." + HAIKU)
        after = EMU.stats()
        headers = resp["ResponseMetadata"]["HTTPHeaders"]
        request_id = headers["x-amzn-requestid"]
        self.assertEqual(after["invocations"] - before["invocations"], 1)
        self.assertEqual(after["succeeded"] - before["succeeded"], 1)
        self.assertEqual(after["input_tokens"] - before["input_tokens"],
                         int(headers["x-amzn-bedrock-input-token-count"]))
        self.assertEqual(after["output_tokens"] - before["output_tokens"],
                         int(headers["x-amzn-bedrock-output-token-count"]))
        status, record = EMU.admin("GET", f"/_emulator/requests/{request_id}")
        self.assertEqual(status, 200)
        self.assertEqual(record, {
            "request_id": request_id,
            "model_id": "us." + HAIKU,
            "input_tokens": out["usage"]["input_tokens"],
            "output_tokens": out["usage"]["output_tokens"],
            "stop_reason": out["stop_reason"],
            "latency_ms": int(headers["x-amzn-bedrock-invocation-latency"]),
        })
        status, _ = EMU.admin("GET", "/_emulator/requests/00000000-0000-4000-8000-000000000000")
        self.assertEqual(status, 404)

    def test_session_token_required_when_configured(self):
        emu = Emulator(QUARRY_EMULATOR_SESSION_TOKEN="the-session-token").start()
        try:
            good = self.make_client(token="the-session-token", emulator=emu)
            _, out = self.invoke(claude_body(), client=good)
            self.assertEqual(out["type"], "message")
            for token in (None, "another-token"):
                with self.subTest(token=token):
                    bad = self.make_client(token=token, emulator=emu)
                    with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                        self.invoke(claude_body(), client=bad)
                    self.assertClientError(ctx, "UnrecognizedClientException", 403)
        finally:
            self.assertEqual(emu.stop(), 0, emu.read_log()[-4000:])


class StdlibTest(EmulatorCase):
    """Raw HTTP: what the SDKs never send, and the consumer's own SigV4 path."""

    def invoke_path(self, model_wire=HAIKU_WIRE):
        return f"/model/{model_wire}/invoke"

    def assertBedrockError(self, result, status, code, message=None):
        got_status, headers, body = result
        self.assertEqual(got_status, status, body)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertRegex(headers["x-amzn-requestid"], UUID4)
        self.assertEqual(headers["x-amzn-errortype"],
                         f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/")
        msg = json.loads(body)["message"]
        if message is not None:
            self.assertEqual(msg, message)
        return msg

    def signed(self, body, path=None, **kw):
        path = path or self.invoke_path()
        headers = sigv4_headers(f"127.0.0.1:{EMU.port}", "POST", path, body, **kw)
        return EMU.request("POST", path, body, headers)

    def test_missing_authentication(self):
        before = EMU.stats()
        result = EMU.request("POST", self.invoke_path(), json.dumps(claude_body()).encode(),
                             {"Content-Type": "application/json"})
        self.assertBedrockError(result, 403, "MissingAuthenticationTokenException",
                                "Missing Authentication Token")
        self.assertEqual(EMU.stats()["auth_errors"] - before["auth_errors"], 1)

    def test_independent_sigv4_signer_is_accepted(self):
        status, headers, body = self.signed(json.dumps(claude_body()).encode())
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["type"], "message")

    def test_unencoded_colon_is_accepted(self):
        status, _, body = self.signed(json.dumps(claude_body()).encode(),
                                      path=f"/model/{HAIKU}/invoke")
        self.assertEqual(status, 200, body)

    def test_tampered_body_fails_the_signature(self):
        body = json.dumps(claude_body()).encode()
        path = self.invoke_path()
        headers = sigv4_headers(f"127.0.0.1:{EMU.port}", "POST", path, body)
        result = EMU.request("POST", path, body.replace(b"France", b"Spain!"), headers)
        self.assertBedrockError(result, 403, "InvalidSignatureException")

    def test_expired_and_future_signatures(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        body = json.dumps(claude_body()).encode()
        msg = self.assertBedrockError(self.signed(body, when=now - datetime.timedelta(minutes=10)),
                                      403, "InvalidSignatureException")
        self.assertRegex(msg, r"^Signature expired: \d{8}T\d{6}Z is now earlier than "
                              r"\d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$")
        msg = self.assertBedrockError(self.signed(body, when=now + datetime.timedelta(minutes=10)),
                                      403, "InvalidSignatureException")
        self.assertTrue(msg.startswith("Signature not yet current: "), msg)

    def test_scope_must_match(self):
        body = json.dumps(claude_body()).encode()
        self.assertBedrockError(self.signed(body, region="eu-west-1"), 403,
                                "InvalidSignatureException",
                                "Credential should be scoped to a valid region. ")
        self.assertBedrockError(self.signed(body, service="s3"), 403,
                                "InvalidSignatureException",
                                "Credential should be scoped to correct service: 'bedrock'. ")

    def test_host_must_be_signed(self):
        msg = self.assertBedrockError(self.signed(json.dumps(claude_body()).encode(),
                                                  sign_host=False),
                                      403, "InvalidSignatureException")
        self.assertIn("'Host'", msg)

    def test_malformed_authorization(self):
        result = EMU.request("POST", self.invoke_path(), b"{}",
                             {"Authorization": "AWS4-HMAC-SHA256 nonsense"})
        self.assertBedrockError(result, 403, "IncompleteSignatureException")

    def test_bearer_token(self):
        body = json.dumps(claude_body()).encode()
        status, headers, data = EMU.request("POST", self.invoke_path(), body,
                                            {"Authorization": f"Bearer {BEARER}"})
        self.assertEqual(status, 200, data)
        self.assertEqual(int(headers["x-amzn-bedrock-output-token-count"]),
                         json.loads(data)["usage"]["output_tokens"])
        result = EMU.request("POST", self.invoke_path(), body,
                             {"Authorization": "Bearer ABSKsomethingElse"})
        self.assertBedrockError(result, 403, "UnrecognizedClientException")

    def test_body_over_one_mebibyte(self):
        body = json.dumps(claude_body("a" * (1 << 20))).encode()
        result = EMU.request("POST", self.invoke_path(), body,
                             {"Authorization": f"Bearer {BEARER}"})
        msg = self.assertBedrockError(result, 400, "ValidationException")
        self.assertIn("1048576", msg)

    def test_unknown_operation(self):
        result = EMU.request("POST", f"/model/{HAIKU_WIRE}/converse-stream", b"{}",
                             {"Authorization": f"Bearer {BEARER}"})
        self.assertBedrockError(result, 404, "UnknownOperationException")
        result = EMU.request("GET", "/nothing/here")
        self.assertBedrockError(result, 404, "UnknownOperationException")

    def test_health_and_config(self):
        self.assertEqual(EMU.admin("GET", "/_emulator/health"), (200, {"status": "ok"}))
        status, config = EMU.admin("GET", "/_emulator/config")
        self.assertEqual(status, 200)
        self.assertEqual((config["throttle_rate"], config["latency_ms"]), (0.0, 0))
        for bad in ({"throttle_rate": 1.5}, {"throttle_rate": "x"}, {"latency_ms": -1},
                    {"latency_ms": 0.5}, {"speed": 1}, [1]):
            with self.subTest(bad=bad):
                status, err = EMU.admin("POST", "/_emulator/config", bad)
                self.assertEqual(status, 400, err)
        config = EMU.set_config(throttle_rate=0.25)
        self.assertEqual((config["throttle_rate"], config["latency_ms"]), (0.25, 0))

    def test_latency_holds_replies_without_a_thread_each(self):
        EMU.set_config(latency_ms=400)
        body = json.dumps(claude_body()).encode()
        headers = {"Authorization": f"Bearer {BEARER}"}
        n = 24  # far more than the worker threads: sleeping threads would serialise them
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            results = list(pool.map(
                lambda _: EMU.request("POST", self.invoke_path(), body, headers), range(n)))
        elapsed = time.monotonic() - started
        for status, hdrs, data in results:
            self.assertEqual(status, 200, data)
            self.assertGreaterEqual(int(hdrs["x-amzn-bedrock-invocation-latency"]), 400)
        self.assertGreaterEqual(elapsed, 0.4)
        self.assertLess(elapsed, 2.5)

    def test_sigterm_sends_held_replies_and_exits_cleanly(self):
        emu = Emulator(QUARRY_EMULATOR_LATENCY_MS="5000").start()
        body = json.dumps(claude_body()).encode()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(emu.request, "POST", self.invoke_path(), body,
                                   {"Authorization": f"Bearer {BEARER}"}) for _ in range(4)]
            time.sleep(0.5)
            started = time.monotonic()
            status = emu.stop()
            results = [f.result(timeout=10) for f in futures]
        self.assertEqual(status, 0, emu.read_log()[-4000:])
        self.assertLess(time.monotonic() - started, 4)
        self.assertEqual([r[0] for r in results], [200] * 4)


if __name__ == "__main__":
    unittest.main()
