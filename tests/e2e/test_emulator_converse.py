"""End-to-end tests of the emulator's Converse operation (POST /model/{id}/converse) with
boto3's converse() and real SigV4, and over raw HTTP for what the SDK never sends.

Run from the repository root:  python3 -m unittest tests/e2e/test_emulator_converse.py
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_support import (BEARER, HAIKU, HAIKU_WIRE, SKIP_BOTO, UUID4,  # noqa: E402
                              botocore, claude_body, make_client, module_emulator)

NOVA = "amazon.nova-lite-v1:0"
EMU = None  # the module's emulator, between setUpModule and tearDownModule
setUpModule, tearDownModule = module_emulator(__name__)


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


@SKIP_BOTO
class Boto3ConverseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = make_client(EMU)

    def converse(self, model=HAIKU, **kw):
        kw.setdefault("messages", user("How does a write-ahead log work?"))
        return self.client.converse(modelId=model, **kw)

    def assertClientError(self, ctx, code, status):
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        return err["Error"]["Message"]

    def test_converse_answers_like_bedrock(self):
        out = self.converse(system=[{"text": "Be brief."}], inferenceConfig={"maxTokens": 400})
        self.assertRegex(out["ResponseMetadata"]["RequestId"], UUID4)
        self.assertEqual(out["output"]["message"]["role"], "assistant")
        text = out["output"]["message"]["content"][0]["text"]
        self.assertEqual(out["stopReason"], "end_turn")
        usage = out["usage"]
        question = "How does a write-ahead log work?"
        self.assertEqual(usage["inputTokens"], -(-(len("Be brief.") + len(question)) // 4) + 4 + 7)
        self.assertEqual(usage["outputTokens"], -(-len(text.encode()) // 4))
        self.assertEqual(usage["totalTokens"], usage["inputTokens"] + usage["outputTokens"])
        self.assertGreaterEqual(out["metrics"]["latencyMs"], 0)
        # The same answer InvokeModel gives for the same model, question and limit.
        resp = self.client.invoke_model(modelId=HAIKU, body=json.dumps(
            claude_body(question, max_tokens=400, system="Be brief.")))
        invoked = json.loads(resp["body"].read())
        self.assertEqual(invoked["content"][0]["text"], text)
        self.assertEqual(invoked["usage"]["input_tokens"], usage["inputTokens"])

    def test_nova_and_profiles(self):
        for model in (NOVA, "us." + NOVA, "us." + HAIKU):
            with self.subTest(model=model):
                out = self.converse(model=model)
                self.assertGreater(out["usage"]["outputTokens"], 0)

    def test_max_tokens_and_stop_sequences(self):
        out = self.converse(inferenceConfig={"maxTokens": 3})
        self.assertEqual((out["stopReason"], out["usage"]["outputTokens"]), ("max_tokens", 3))
        full = self.converse()["output"]["message"]["content"][0]["text"]
        stop = full[20:26]
        out = self.converse(inferenceConfig={"stopSequences": [stop]},
                            additionalModelResponseFieldPaths=["/stop_sequence"])
        self.assertEqual(out["stopReason"], "stop_sequence")
        self.assertEqual(out["output"]["message"]["content"][0]["text"], full[:full.index(stop)])
        self.assertEqual(out["additionalModelResponseFields"], {"stop_sequence": stop})

    def test_validation(self):
        cases = [
            ({"inferenceConfig": {"maxTokens": 5000}}, "ValidationException",
             "The maximum tokens you requested exceeds the model limit of 4096."),
            ({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
             "ValidationException", "A conversation must start with a user message."),
            ({"messages": user(" ")}, "ValidationException",
             "The text field in the ContentBlock object at messages.0.content.0 is blank."),
            ({"inferenceConfig": {"temperature": 1.5}}, "ValidationException",
             "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature'"),
            ({"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {
                "bytes": b"\x89PNG"}}}]}]}, "ValidationException",
             "The emulator supports only text content blocks"),
        ]
        for kw, code, start in cases:
            with self.subTest(kw=str(kw)[:60]):
                with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                    self.converse(**kw)
                msg = self.assertClientError(ctx, code, 400)
                self.assertTrue(msg.startswith(start), msg)


class StdlibConverseTest(unittest.TestCase):
    def post(self, body, model_wire=HAIKU_WIRE):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, headers, raw = EMU.request("POST", f"/model/{model_wire}/converse", data,
                                           {"Authorization": f"Bearer {BEARER}"})
        return status, headers, json.loads(raw)

    def test_errors_the_sdk_would_not_send(self):
        cases = [
            (b"{nope", 400, "SerializationException", "The request body is not valid JSON"),
            ({"messages": "hi"}, 400, "SerializationException", "Unexpected value at 'messages'"),
            ({}, 400, "ValidationException", "1 validation error detected: Value null at "
                                             "'messages'"),
            ({"messages": [{"role": "system", "content": [{"text": "x"}]}]}, 400,
             "ValidationException", "1 validation error detected: Value 'system' at "
                                    "'messages.1.member.role' failed to satisfy constraint"),
            ({"messages": user("hi"), "inferenceConfig": {"maxTokens": 0}}, 400,
             "ValidationException", "1 validation error detected: Value '0' at "
                                    "'inferenceConfig.maxTokens'"),
            ({"messages": user("hi"), "toolConfig": {"tools": []}}, 400, "ValidationException",
             "The emulator does not support toolConfig yet."),
        ]
        for body, status, code, start in cases:
            with self.subTest(body=str(body)[:60]):
                got, headers, out = self.post(body)
                self.assertEqual(got, status, out)
                self.assertEqual(headers["x-amzn-errortype"].split(":")[0], code)
                self.assertTrue(out["message"].startswith(start), out)

    def test_no_token_headers_and_stats(self):
        before = EMU.stats()
        status, headers, out = self.post({"messages": user("hi"),
                                          "inferenceConfig": {"maxTokens": 10}})
        self.assertEqual(status, 200, out)
        self.assertNotIn("x-amzn-bedrock-output-token-count", headers)
        after = EMU.stats()
        self.assertEqual(after["operations"]["converse"] - before["operations"]["converse"], 1)
        self.assertEqual(after["output_tokens"] - before["output_tokens"],
                         out["usage"]["outputTokens"])
        record = EMU.admin("GET", f"/_emulator/requests/{headers['x-amzn-requestid']}")[1]
        self.assertEqual(record["input_tokens"], out["usage"]["inputTokens"])


if __name__ == "__main__":
    unittest.main()
