"""The whole path on the real stack: submit -> Kafka -> consumer -> emulator -> PostgreSQL
-> poll, with exact accounting, isolation between keys, and every client error coded."""
import hashlib
import os
import shutil
import tempfile
import time
import unittest
import uuid
from decimal import Decimal

from quarry_e2e import (ENV, REPO, create_key, emulator, http, quarry, require_stack, sql,
                        wait_terminal)

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
# USD per million tokens, from the issue text (independent of the seeded table).
PRICES = {
    HAIKU: (Decimal("0.25"), Decimal("1.25")),
    "amazon.nova-micro-v1:0": (Decimal("0.035"), Decimal("0.14")),
    "anthropic.claude-sonnet-4-20250514-v1:0": (Decimal("3.00"), Decimal("15.00")),
}
TERMINAL = ("succeeded", "failed", "cancelled", "expired")


def expected_cost(model, input_tokens, output_tokens):
    price_in, price_out = PRICES[model]
    return (input_tokens * price_in + output_tokens * price_out) / Decimal(1_000_000)


class WalkingSkeleton(unittest.TestCase):
    def setUp(self):
        require_stack(self)
        emulator("POST", "/_emulator/config", {"throttle_rate": 0})

    def submit(self, key, question, **fields):
        body = {"question": question, **fields}
        status, headers, resp = http("POST", "/v1/questions", body, key=key)
        self.assertEqual(status, 202, resp)
        self.assertEqual(resp["status"], "queued")
        self.assertEqual(headers["Location"], f"/v1/questions/{resp['id']}")
        return resp["id"]

    def check_accounting(self, jobs):
        """Every job's tokens equal what the emulator reported for its request id, and its
        cost equals those tokens times the issue's prices, to the last digit."""
        for job in jobs.values():
            self.assertEqual(job["status"], "succeeded", job)
            rows = sql("SELECT bedrock_request_id, cost_usd FROM jobs WHERE id = :'p1'", job["id"])
            request_id, cost = rows[0]
            status, _, record = emulator("GET", f"/_emulator/requests/{request_id}")
            self.assertEqual(status, 200, f"emulator has no record of {request_id}")
            self.assertEqual(job["usage"]["input_tokens"], record["input_tokens"])
            self.assertEqual(job["usage"]["output_tokens"], record["output_tokens"])
            want = expected_cost(job["model"], record["input_tokens"], record["output_tokens"])
            self.assertEqual(Decimal(cost), want, job["id"])
            self.assertEqual(Decimal(job["cost_usd"]), want)

    def test_questions_are_answered_with_exact_usage_and_cost(self):
        key = create_key("e2e-answers")
        questions = [f"What is the capital of country number {i}? ({uuid.uuid4()})"
                     for i in range(40)]
        ids = [self.submit(key, q) for q in questions]
        ids.append(self.submit(key, "Explain photosynthesis briefly.",
                               model=HAIKU,
                               max_tokens=50, temperature=0.2))
        jobs = wait_terminal(key, ids)
        self.check_accounting(jobs)
        for job in jobs.values():
            self.assertTrue(job["answer"])
            self.assertEqual(job["stop_reason"] in ("end_turn", "max_tokens"), True)
            self.assertGreaterEqual(job["attempts"], 1)
            self.assertTrue(job["created_at"] <= job["started_at"] <= job["finished_at"])
        # The key's daily usage is exactly the sum over its jobs.
        (usage,) = sql(
            "SELECT u.settled_jobs, u.input_tokens, u.output_tokens, u.cost_usd,"
            " (SELECT count(*) FROM jobs j WHERE j.api_key_id = k.id AND status = 'succeeded'),"
            " (SELECT sum(input_tokens) FROM jobs j WHERE j.api_key_id = k.id),"
            " (SELECT sum(output_tokens) FROM jobs j WHERE j.api_key_id = k.id),"
            " (SELECT sum(cost_usd) FROM jobs j WHERE j.api_key_id = k.id)"
            " FROM api_keys k JOIN daily_usage u ON u.api_key_id = k.id"
            " WHERE k.key_sha256 = decode(:'p1', 'hex')",
            hashlib.sha256(key.encode()).hexdigest())
        self.assertEqual(usage[0], str(len(ids)))
        self.assertEqual(usage[0:3], usage[4:7])
        self.assertEqual(Decimal(usage[3]), Decimal(usage[7]))

    def test_answers_are_deterministic_per_question(self):
        key = create_key("e2e-deterministic")
        q = f"Why is the sky blue? {uuid.uuid4()}"
        jobs = wait_terminal(key, [self.submit(key, q), self.submit(key, q)])
        a, b = jobs.values()
        self.assertEqual(a["answer"], b["answer"])
        self.assertEqual(a["usage"], b["usage"])

    def test_throttling_is_retried_and_counted_once(self):
        key = create_key("e2e-throttle")
        emulator("POST", "/_emulator/config", {"throttle_rate": 0.3})
        try:
            before = emulator("GET", "/_emulator/stats")[2]
            ids = [self.submit(key, f"Throttle me {i} {uuid.uuid4()}") for i in range(20)]
            jobs = wait_terminal(key, ids)
        finally:
            emulator("POST", "/_emulator/config", {"throttle_rate": 0})
        after = emulator("GET", "/_emulator/stats")[2]
        self.assertGreater(after["throttled"], before["throttled"])
        self.check_accounting(jobs)
        self.assertTrue(any(j["attempts"] > 1 for j in jobs.values()))
        (row,) = sql("SELECT u.settled_jobs FROM api_keys k JOIN daily_usage u"
                     " ON u.api_key_id = k.id WHERE k.key_sha256 = decode(:'p1', 'hex')",
                     hashlib.sha256(key.encode()).hexdigest())
        self.assertEqual(row[0], "20")

    def test_another_key_cannot_read_a_job(self):
        owner, other = create_key("e2e-owner"), create_key("e2e-other")
        job_id = self.submit(owner, "Whose job is this?")
        status, _, own = http("GET", f"/v1/questions/{job_id}", key=owner)
        self.assertEqual(status, 200)
        status, _, foreign = http("GET", f"/v1/questions/{job_id}", key=other)
        self.assertEqual(status, 404)
        self.assertEqual(foreign["error"]["code"], "NOT_FOUND")
        status, _, unknown = http("GET", f"/v1/questions/{uuid.uuid4()}", key=other)
        self.assertEqual(status, 404)
        # A foreign id and an unknown id are indistinguishable.
        self.assertEqual(foreign["error"], unknown["error"])
        wait_terminal(owner, [job_id])

    def test_every_client_error_has_a_stable_code(self):
        key = create_key("e2e-errors", "--max-question-chars", "100")
        cases = [
            # (method, path, body, key, headers, status, code)
            ("POST", "/v1/questions", {"question": "hi"}, None, {}, 401, "MISSING_API_KEY"),
            ("POST", "/v1/questions", {"question": "hi"}, "qk_wrong", {}, 401, "INVALID_API_KEY"),
            ("GET", f"/v1/questions/{uuid.uuid4()}", None, "qk_wrong", {}, 401, "INVALID_API_KEY"),
            ("POST", "/v1/questions", "question=hi", key,
             {"Content-Type": "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
            ("POST", "/v1/questions", "{\"question\":", key,
             {"Content-Type": "application/json"}, 400, "INVALID_JSON"),
            ("POST", "/v1/questions", b"{\"question\":\"\xff\xfe\"}", key,
             {"Content-Type": "application/json"}, 400, "INVALID_CHARACTERS"),
            ("POST", "/v1/questions", {"question": "x" * 101}, key, {}, 400, "QUESTION_TOO_LONG"),
            ("POST", "/v1/questions", {"question": ""}, key, {}, 400, "QUESTION_TOO_SHORT"),
            ("POST", "/v1/questions", {"question": "a\u0000b"}, key, {}, 400, "INVALID_CHARACTERS"),
            ("POST", "/v1/questions", {"question": "a\u001bb"}, key, {}, 400, "INVALID_CHARACTERS"),
            ("POST", "/v1/questions", {"question": 42}, key, {}, 400, "INVALID_FIELD"),
            ("POST", "/v1/questions", {}, key, {}, 400, "MISSING_FIELD"),
            ("POST", "/v1/questions", {"question": "hi", "x": 1}, key, {}, 400, "UNKNOWN_FIELD"),
            ("POST", "/v1/questions", {"question": "hi", "model": "gpt-4"}, key, {}, 400,
             "UNKNOWN_MODEL"),
            ("POST", "/v1/questions", {"question": "hi", "max_tokens": 0}, key, {}, 400,
             "INVALID_MAX_TOKENS"),
            ("POST", "/v1/questions", {"question": "hi", "temperature": 2}, key, {}, 400,
             "INVALID_TEMPERATURE"),
            ("POST", "/v1/questions", {"question": "x" * 300000}, key, {}, 413, "BODY_TOO_LARGE"),
            ("GET", "/v1/questions/not-a-uuid", None, key, {}, 404, "NOT_FOUND"),
            ("GET", "/v1/nothing", None, key, {}, 404, "NOT_FOUND"),
            ("DELETE", "/v1/questions", None, key, {}, 405, "METHOD_NOT_ALLOWED"),
        ]
        for method, path, body, k, headers, want_status, want_code in cases:
            with self.subTest(code=want_code, path=path):
                status, rh, resp = http(method, path, body, key=k, headers=headers)
                self.assertEqual(status, want_status, resp)
                self.assertEqual(resp["error"]["code"], want_code)
                self.assertTrue(resp["error"]["message"])
                self.assertEqual(resp["request_id"], rh["X-Request-ID"])
        # A client-chosen request id is echoed.
        status, rh, resp = http("POST", "/v1/questions", {"question": ""}, key=key,
                                headers={"X-Request-ID": "trace-abc.123"})
        self.assertEqual(rh["X-Request-ID"], "trace-abc.123")
        self.assertEqual(resp["request_id"], "trace-abc.123")
        # Nothing rejected was stored.
        (count,) = sql("SELECT count(*) FROM jobs j JOIN api_keys k ON k.id = j.api_key_id"
                       " WHERE k.key_sha256 = decode(:'p1', 'hex')",
                       hashlib.sha256(key.encode()).hexdigest())
        self.assertEqual(count[0], "0")

    def test_bearer_authorization_is_accepted(self):
        key = create_key("e2e-bearer")
        status, _, resp = http("POST", "/v1/questions", {"question": "Bearer works?"},
                               headers={"Authorization": f"Bearer {key}"})
        self.assertEqual(status, 202, resp)
        wait_terminal(key, [resp["id"]])

    def test_api_keys_are_stored_only_as_hashes(self):
        key = create_key("e2e-hash")
        rows = sql("SELECT encode(key_sha256, 'hex'), key_prefix FROM api_keys"
                   " WHERE key_sha256 = decode(:'p1', 'hex')",
                   hashlib.sha256(key.encode()).hexdigest())
        self.assertEqual(len(rows), 1)
        self.assertTrue(key.startswith(rows[0][1]))
        dump = sql("SELECT string_agg(t::text, '') FROM api_keys t")[0][0]
        self.assertNotIn(key, dump)

    def test_secrets_and_questions_never_reach_the_logs(self):
        key = create_key("e2e-logs")
        secret_question = f"my private question {uuid.uuid4()}"
        jobs = wait_terminal(key, [self.submit(key, secret_question)])
        self.assertEqual(list(jobs.values())[0]["status"], "succeeded")
        logs = os.path.join(os.environ.get("QUARRY_RUN_DIR", ""), "logs")
        needles = [secret_question, key, ENV.get("AWS_SECRET_ACCESS_KEY", "\0")]
        for name in ("intake.log", "consumer.log", "emulator.log"):
            path = os.path.join(logs, name)
            if not os.path.exists(path):
                continue
            text = open(path, errors="replace").read()
            for needle in needles:
                self.assertNotIn(needle, text, f"{name} leaks a secret or question text")


class Emulator(unittest.TestCase):
    def setUp(self):
        require_stack(self)

    def test_bad_signature_is_rejected(self):
        path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        authz = (f"AWS4-HMAC-SHA256 Credential={ENV['AWS_ACCESS_KEY_ID']}/{amz_date[:8]}/"
                 f"{ENV.get('AWS_REGION', 'us-east-1')}/bedrock/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64)
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
                "messages": [{"role": "user", "content": "hi"}]}
        status, headers, resp = http("POST", path, body, base=ENV["QUARRY_EMULATOR_URL"],
                                     headers={"X-Amz-Date": amz_date, "Authorization": authz})
        self.assertEqual(status, 403)
        self.assertTrue(headers["x-amzn-ErrorType"].startswith("InvalidSignatureException"))
        self.assertIn("signature we calculated does not match", resp["message"])

    def test_signed_by_botocore_with_wrong_secret_is_rejected(self):
        try:
            import botocore.auth
            import botocore.awsrequest
            import botocore.credentials
        except ImportError:
            self.skipTest("botocore is not installed")
        url = ENV["QUARRY_EMULATOR_URL"] + "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
        body = b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,' \
               b'"messages":[{"role":"user","content":"hi"}]}'
        results = {}
        for label, secret in (("right", ENV["AWS_SECRET_ACCESS_KEY"]), ("wrong", "x" * 40)):
            req = botocore.awsrequest.AWSRequest("POST", url, data=body,
                                                 headers={"Content-Type": "application/json"})
            creds = botocore.credentials.Credentials(ENV["AWS_ACCESS_KEY_ID"], secret)
            botocore.auth.SigV4Auth(creds, "bedrock", ENV.get("AWS_REGION", "us-east-1")).add_auth(req)
            status, headers, _ = http("POST", req.url[len(ENV["QUARRY_EMULATOR_URL"]):], body,
                                      base=ENV["QUARRY_EMULATOR_URL"], headers=dict(req.headers))
            results[label] = (status, headers.get("x-amzn-ErrorType", ""))
        self.assertEqual(results["right"][0], 200)
        self.assertEqual(results["wrong"][0], 403)
        self.assertTrue(results["wrong"][1].startswith("InvalidSignatureException"))


class Migrations(unittest.TestCase):
    def setUp(self):
        require_stack(self)

    def test_migrate_is_idempotent_and_refuses_edited_files(self):
        tmp = tempfile.mkdtemp()
        try:
            folder = os.path.join(tmp, "migrations")
            shutil.copytree(os.path.join(REPO, "migrations"), folder)
            again = quarry("migrate", "--dir", folder)
            self.assertIn("up to date", again.stdout)
            first = sorted(os.listdir(folder))[0]
            with open(os.path.join(folder, first), "a") as f:
                f.write("\n-- an edit after release\n")
            edited = quarry("migrate", "--dir", folder, check=False)
            self.assertEqual(edited.returncode, 1)
            self.assertIn("was edited after it was applied", edited.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_seeded_prices(self):
        rows = dict((r[0], (Decimal(r[1]), Decimal(r[2]))) for r in sql(
            "SELECT model, input_usd_per_mtok, output_usd_per_mtok FROM model_prices"))
        for model, price in PRICES.items():
            self.assertEqual(rows[model], price)
        for model in ("anthropic.claude-3-5-haiku-20241022-v1:0",
                      "anthropic.claude-3-5-sonnet-20240620-v1:0",
                      "anthropic.claude-3-7-sonnet-20250219-v1:0",
                      "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"):
            self.assertIn(model, rows)


if __name__ == "__main__":
    unittest.main()
