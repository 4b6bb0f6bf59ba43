"""The quarry CLI's administration side on the real stack: --help everywhere, exit codes
scripts can rely on, and the whole life of an API key (create -> list -> update limits ->
disable -> the intake refuses it -> enable)."""
import csv
import io
import json
import time
import unittest
import uuid

from quarry_e2e import ENV, create_key, http, quarry, require_stack, sql

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"
# cli.h
OK, FAILED, USAGE, UNAVAILABLE = 0, 1, 2, 4
DEAD_DB = "postgresql://quarry@127.0.0.1:1/quarry?connect_timeout=2"


def keys_json():
    return {k["id"]: k for k in json.loads(quarry("keys", "list", "--format", "json").stdout)}


class CliHelp(unittest.TestCase):
    def test_help_everywhere(self):
        for args in (["--help"], ["keys", "--help"], ["keys", "create", "--help"],
                     ["keys", "list", "--help"], ["keys", "update", "--help"],
                     ["keys", "disable", "--help"], ["report", "--help"],
                     ["report", "spend", "--help"], ["report", "latency", "--help"],
                     ["prune", "--help"], ["migrate", "--help"]):
            r = quarry(*args, check=False, env={"QUARRY_DATABASE_URL": DEAD_DB})
            self.assertEqual(r.returncode, OK, (args, r.stderr))
            self.assertIn("usage: quarry", r.stdout, args)
            self.assertEqual(r.stderr, "", args)

    def test_usage_errors_exit_2_with_a_lowercase_message(self):
        cases = [
            [],
            ["no-such-command"],
            ["keys"],
            ["keys", "frobnicate"],
            ["keys", "create"],                                   # --name missing
            ["keys", "create", "--name", "x", "--burst", "0"],
            ["keys", "create", "--name", "x", "--daily-budget-usd", "-1"],
            ["keys", "create", "--name", "x", "--injection-policy", "maybe"],
            ["keys", "create", "--name", "x", "--expires-at", "never", "--expires-in-days", "3"],
            ["keys", "create", "--name", "x", "--bogus"],
            ["keys", "update", "1"],                              # nothing to change
            ["keys", "update", "--burst", "3"],                   # which key?
            ["keys", "list", "--format", "xml"],
            ["report"],
            ["report", "costs"],
            ["report", "spend", "--by", "week"],
            ["report", "spend", "--since", "2026-02-30"],
            ["report", "spend", "--since", "2026-11-02", "--until", "2026-11-01"],
            ["report", "top", "--by", "day"],
            ["report", "rejections", "--model", HAIKU],
            ["report", "spend", "--limit", "3"],
            ["prune"],
            ["prune", "--older-than", "30"],
            ["prune", "--older-than", "30d", "--batch-size", "0"],
        ]
        for args in cases:
            r = quarry(*args, check=False)
            self.assertEqual(r.returncode, USAGE, (args, r.stdout, r.stderr))
            first = r.stderr.splitlines()[0] if r.stderr else ""
            self.assertTrue(first.startswith("quarry") or first.startswith("usage"), (args, first))
            # messages are lowercase after the command prefix, without a final period
            if ": " in first:
                message = first.split(": ", 1)[1]
                self.assertFalse(message[:1].isupper(), (args, first))
                self.assertFalse(first.endswith("."), (args, first))

    def test_database_unavailable_exits_4(self):
        for args in (["keys", "list"], ["keys", "create", "--name", "x"],
                     ["keys", "disable", "1"], ["report", "spend"],
                     ["prune", "--older-than", "30d", "--dry-run"]):
            r = quarry(*args, "--database-url", DEAD_DB, check=False)
            self.assertEqual(r.returncode, UNAVAILABLE, (args, r.stderr))
            self.assertIn("could not connect to the database", r.stderr)


class KeyLifecycle(unittest.TestCase):
    def setUp(self):
        require_stack(self)

    def submit(self, key, question="What is the boiling point of water at sea level?",
               **fields):
        return http("POST", "/v1/questions", {"question": question, **fields}, key=key)

    def wait_status(self, key, want, timeout=20):
        """The intake caches keys; a change must reach it within seconds."""
        deadline = time.time() + timeout
        while True:
            status, _, body = self.submit(key)
            if status == want or time.time() > deadline:
                return status, body
            time.sleep(0.25)

    def test_keys_create_list_update_disable_enable(self):
        name = f"cli-{uuid.uuid4().hex[:8]}"
        r = quarry("keys", "create", "--name", name, "--max-question-chars", "500",
                   "--min-question-chars", "5", "--allowed-models", f"{HAIKU},{SONNET4}",
                   "--requests-per-second", "50", "--burst", "100",
                   "--daily-requests", "10000", "--daily-tokens", "5000000",
                   "--daily-budget-usd", "25.50", "--injection-policy", "flag",
                   "--expires-in-days", "30")
        lines = r.stdout.strip().splitlines()
        raw = lines[-1]
        self.assertTrue(raw.startswith("qk_") and len(raw) == 46, lines)
        key_id = int(lines[0].split()[-1])
        prefix = lines[2].split()[-1]
        self.assertTrue(raw.startswith(prefix))
        # only the hash is stored
        (stored,) = sql("SELECT encode(key_sha256, 'hex'), key_prefix FROM api_keys"
                        " WHERE id = :'p1'", key_id)
        import hashlib
        self.assertEqual(stored[0], hashlib.sha256(raw.encode()).hexdigest())
        self.assertNotIn(raw, quarry("keys", "list").stdout)

        key = keys_json()[key_id]
        self.assertEqual(key["name"], name)
        self.assertEqual(key["prefix"], prefix)
        self.assertEqual(key["status"], "active")
        self.assertEqual(key["allowed_models"], f"{HAIKU},{SONNET4}")
        self.assertEqual(key["max_question_chars"], 500)
        self.assertEqual(key["min_question_chars"], 5)
        self.assertEqual(key["burst"], 100)
        self.assertEqual(key["daily_requests"], 10000)
        self.assertEqual(key["daily_tokens"], 5000000)
        self.assertEqual(key["daily_budget_usd"], "25.500000")
        self.assertEqual(key["requests_per_second"], "50.000")
        self.assertEqual(key["injection_policy"], "flag")
        self.assertIsNotNone(key["expires_at"])
        # CSV and the table show the same key
        rows = list(csv.DictReader(io.StringIO(quarry("keys", "list", "--format", "csv").stdout)))
        self.assertIn(name, [row["name"] for row in rows])
        self.assertIn(name, quarry("keys", "list", "--active").stdout)

        status, _, body = self.submit(raw)
        self.assertEqual(status, 202, body)
        status, _, body = self.submit(raw, "x" * 501)
        self.assertEqual((status, body["error"]["code"]), (400, "QUESTION_TOO_LONG"))

        # update by prefix: change limits, clear others, rename
        r = quarry("keys", "update", prefix, "--max-question-chars", "1000", "--burst", "none",
                   "--daily-budget-usd", "none", "--allowed-models", "any",
                   "--expires-at", "never", "--name", name + "-renamed",
                   "--injection-policy", "block")
        self.assertIn(name + "-renamed", r.stdout)
        key = keys_json()[key_id]
        self.assertEqual(key["name"], name + "-renamed")
        self.assertEqual(key["max_question_chars"], 1000)
        self.assertIsNone(key["burst"])
        self.assertIsNone(key["daily_budget_usd"])
        self.assertIsNone(key["allowed_models"])
        self.assertIsNone(key["expires_at"])
        self.assertEqual(key["daily_tokens"], 5000000)   # untouched
        self.assertEqual(key["injection_policy"], "block")
        status, _ = self.wait_status(raw, 202)
        self.assertEqual(status, 202)

        # disable by id: the intake refuses the key within seconds
        r = quarry("keys", "disable", str(key_id))
        self.assertIn("disabled", r.stdout)
        self.assertEqual(keys_json()[key_id]["status"], "disabled")
        self.assertNotIn(name + "-renamed", quarry("keys", "list", "--active").stdout)
        status, body = self.wait_status(raw, 401)
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"]["code"], "INVALID_API_KEY")
        status, _, body = http("GET", f"/v1/questions/{uuid.uuid4()}", key=raw)
        self.assertEqual((status, body["error"]["code"]), (401, "INVALID_API_KEY"))
        # disabling twice is fine; enabling brings it back
        quarry("keys", "disable", raw)
        quarry("keys", "enable", str(key_id))
        status, body = self.wait_status(raw, 202)
        self.assertEqual(status, 202, body)
        quarry("keys", "disable", str(key_id))
        self.assertEqual(self.wait_status(raw, 401)[0], 401)

    def test_expired_key_is_refused(self):
        r = quarry("keys", "create", "--name", "cli-expiring")
        raw, key_id = r.stdout.strip().splitlines()[-1], r.stdout.split()[1]
        quarry("keys", "update", key_id, "--expires-at", "2020-01-01T00:00:00Z")
        self.assertEqual(keys_json()[int(key_id)]["status"], "expired")
        status, body = self.wait_status(raw, 401)
        self.assertEqual((status, body["error"]["code"]), (401, "INVALID_API_KEY"))

    def test_rejected_values_and_unknown_keys(self):
        key = create_key("cli-values")
        del key
        # unknown key: exit 1, naming what was looked for
        r = quarry("keys", "update", "qk_nosuchk", "--burst", "5", check=False)
        self.assertEqual(r.returncode, FAILED)
        self.assertIn('no api key matches "qk_nosuchk"', r.stderr)
        r = quarry("keys", "disable", "999999999", check=False)
        self.assertEqual(r.returncode, FAILED)
        # unknown model in the allow list: exit 2, naming the model
        r = quarry("keys", "create", "--name", "x", "--allowed-models", "gpt-4", check=False)
        self.assertEqual(r.returncode, USAGE)
        self.assertIn('unknown model "gpt-4"', r.stderr)
        # a timestamp PostgreSQL cannot read: exit 2 with the server's reason
        r = quarry("keys", "create", "--name", "x", "--expires-at", "next tuesday", check=False)
        self.assertEqual(r.returncode, USAGE, r.stderr)
        self.assertIn("could not store the key", r.stderr)
        # a report for an unknown key
        r = quarry("report", "spend", "--key", "no-such-key-name", check=False)
        self.assertEqual(r.returncode, FAILED)
        self.assertIn('no api key matches "no-such-key-name"', r.stderr)

    def test_keys_create_output_keeps_its_format(self):
        out = quarry("keys", "create", "--name", "cli-format").stdout.splitlines()
        self.assertEqual([line.split(":")[0] for line in out[:4]],
                         ["id", "name", "prefix", "created"])
        self.assertEqual(out[4], "The key is shown once; store it now:")
        self.assertEqual(len(out), 6)
        self.assertTrue(out[5].startswith("qk_"))


if __name__ == "__main__":
    unittest.main()
