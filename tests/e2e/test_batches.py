"""Batches end to end (docs/batches.md): upload through the intake (streamed, validated line
by line), reservation of the whole batch's quota up front, the batch topic, the consumer,
settlement, status and request_counts, streamed results, cancel in the middle, expiry, and
the sweeper's re-publishing of a batch the intake did not finish publishing.

Every figure is checked against a recomputation from the jobs table. Two tests use SQL
fixtures where the real path cannot be steered: a batch whose jobs were committed but never
produced (as if the intake died), and a batch past its expiry; both are created with the
real quarry_batch_accept() so their reservations are the real ones."""
import json
import os
import threading
import time
import unittest
import urllib.request
import uuid
from decimal import Decimal

from quarry_e2e import ENV, create_key, emulator, http, require_stack, sql

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ENDED = ("completed", "cancelled", "expired")


def jsonl(rows):
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def submit(key, body, content_type="application/x-ndjson", query="", timeout=120):
    return http("POST", "/v1/batches" + query, body=body, key=key,
                headers={"Content-Type": content_type}, timeout=timeout)


def wait_batch(key, batch_id, timeout=240, until=ENDED):
    deadline = time.time() + timeout
    while True:
        status, _, batch = http("GET", f"/v1/batches/{batch_id}", key=key)
        assert status == 200, batch
        if batch["status"] in until or time.time() > deadline:
            return batch
        time.sleep(0.5)


def results(key, batch_id):
    status, headers, raw = http("GET", f"/v1/batches/{batch_id}/results", key=key)
    assert status == 200, raw
    assert headers["Content-Type"].startswith("application/x-ndjson")
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return [json.loads(line) for line in text.splitlines() if line]


def key_id_of(raw_key):
    return sql("SELECT id FROM api_keys WHERE key_sha256 = sha256(convert_to(:'p1', 'UTF8'))",
               raw_key)[0][0]


def job_figures(batch_id):
    """Counts per status and sums over the batch's jobs, straight from the jobs table."""
    counts = dict(sql("SELECT status, count(*) FROM jobs WHERE batch_id = :'p1'::uuid"
                      " GROUP BY status", batch_id))
    sums = sql("SELECT coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),"
               " coalesce(sum(cost_usd), 0)::numeric(24,12)"
               " FROM jobs WHERE batch_id = :'p1'::uuid", batch_id)[0]
    return {k: int(v) for k, v in counts.items()}, int(sums[0]), int(sums[1]), Decimal(sums[2])


def reservations(key_id):
    return sql("SELECT coalesce(sum(reserved_tokens), 0), coalesce(sum(reserved_usd), 0)"
               " FROM daily_usage WHERE api_key_id = :'p1'", key_id)[0]


class BatchTest(unittest.TestCase):
    def setUp(self):
        require_stack(self)
        emulator("POST", "/_emulator/config", {"latency_ms": 0, "throttle_rate": 0,
                                               "error_rate": 0})

    def tearDown(self):
        if ENV is not None:
            emulator("POST", "/_emulator/config", {"latency_ms": 0})

    def assert_figures_match(self, key, batch):
        """The batch object against the jobs table, and results against both."""
        counts, tokens_in, tokens_out, cost = job_figures(batch["id"])
        rc = batch["request_counts"]
        for status in ("queued", "running", "succeeded", "failed", "cancelled", "expired"):
            self.assertEqual(rc[status], counts.get(status, 0), status)
        self.assertEqual(sum(v for k, v in rc.items() if k != "total"), rc["total"])
        self.assertEqual(batch["usage"]["input_tokens"], tokens_in)
        self.assertEqual(batch["usage"]["output_tokens"], tokens_out)
        self.assertEqual(Decimal(batch["cost_usd"]), cost)
        lines = results(key, batch["id"])
        self.assertEqual(len(lines), rc["total"])
        self.assertEqual([r["line"] for r in lines], sorted(r["line"] for r in lines))
        self.assertEqual(sum(Decimal(r["cost_usd"] or "0") for r in lines), cost)
        return lines

    def test_5000_question_batch_counts_and_costs_exactly(self):
        key = create_key("batch-5000")
        key_id = key_id_of(key)
        rows = [{"custom_id": f"q{i:05d}", "question": f"Batch question {i}: what is {i} + {i}?",
                 "max_tokens": 40 + i % 50} for i in range(5000)]
        status, headers, batch = submit(key, jsonl(rows))
        self.assertEqual(status, 202, batch)
        self.assertEqual(headers["Location"], f"/v1/batches/{batch['id']}")
        self.assertEqual(batch["request_counts"]["total"], 5000)
        self.assertEqual(batch["errors"], [])
        # The whole batch was reserved at once, before any job ran.
        reserved = sql("SELECT sum(reserved_tokens) FROM jobs WHERE batch_id = :'p1'::uuid",
                       batch["id"])[0][0]
        self.assertGreaterEqual(int(reservations(key_id)[0]), 1)
        self.assertGreater(int(reserved), 0)
        batch = wait_batch(key, batch["id"])
        self.assertEqual(batch["status"], "completed", batch)
        self.assertEqual(batch["request_counts"]["succeeded"], 5000)
        self.assertIsNotNone(batch["ended_at"])
        lines = self.assert_figures_match(key, batch)
        self.assertEqual([r["custom_id"] for r in lines], [r["custom_id"] for r in rows])
        self.assertTrue(all(r["status"] == "succeeded" and r["answer"] for r in lines))
        # Settled exactly once: the key's daily usage equals the jobs, nothing stays reserved.
        usage = sql("SELECT sum(requests), sum(input_tokens), sum(output_tokens),"
                    " sum(cost_usd)::numeric(24,12) FROM daily_usage WHERE api_key_id = :'p1'",
                    key_id)[0]
        self.assertEqual(int(usage[0]), 5000)
        self.assertEqual(int(usage[1]), batch["usage"]["input_tokens"])
        self.assertEqual(int(usage[2]), batch["usage"]["output_tokens"])
        self.assertEqual(Decimal(usage[3]), Decimal(batch["cost_usd"]))
        self.assertEqual([Decimal(x) for x in reservations(key_id)], [0, 0])
        # Each request is a job of its own too.
        status, _, job = http("GET", f"/v1/questions/{lines[7]['id']}", key=key)
        self.assertEqual((status, job["answer"]), (200, lines[7]["answer"]))
        # Listed, newest first, and invisible to another key.
        status, _, listing = http("GET", "/v1/batches?limit=1", key=key)
        self.assertEqual(listing["data"][0]["id"], batch["id"])
        other = create_key("batch-other")
        self.assertEqual(http("GET", f"/v1/batches/{batch['id']}", key=other)[0], 404)
        self.assertEqual(http("GET", f"/v1/batches/{batch['id']}/results", key=other)[0], 404)
        self.assertEqual(http("POST", f"/v1/batches/{batch['id']}/cancel", key=other)[0], 404)
        status, _, err = http("POST", f"/v1/batches/{batch['id']}/cancel", key=key)
        self.assertEqual((status, err["error"]["code"]), (409, "BATCH_NOT_CANCELLABLE"))

    def test_invalid_lines_are_reported_by_line_number(self):
        key = create_key("batch-lines", "--max-question-chars", "200")
        body = jsonl([
            {"custom_id": "ok-1", "question": "What is a prime number?"},
            {"custom_id": "ok-2", "question": "Name a noble gas.", "model": HAIKU},
            "{\"custom_id\": \"broken\", \"question\": ",
            "",
            {"custom_id": "long", "question": "x" * 201},
            {"custom_id": "extra", "question": "Hi there?", "colour": "blue"},
            {"custom_id": "ok-1", "question": "Same custom_id again?"},
            {"custom_id": "bad id!", "question": "Why?"},
            {"question": "No custom_id?"},
            {"custom_id": "tokens", "question": "Why?", "max_tokens": 0},
            "[1, 2]",
        ]) + "{\"custom_id\": \"crlf\", \"question\": \"Windows line ending?\"}\r\n"
        status, _, batch = submit(key, body)
        self.assertEqual(status, 202, batch)
        got = [(e["line"], e["code"]) for e in batch["errors"]]
        self.assertEqual(got, [(3, "INVALID_JSON"), (5, "QUESTION_TOO_LONG"),
                               (6, "UNKNOWN_FIELD"), (7, "DUPLICATE_CUSTOM_ID"),
                               (8, "INVALID_CUSTOM_ID"), (9, "INVALID_CUSTOM_ID"),
                               (10, "INVALID_MAX_TOKENS"), (11, "INVALID_JSON")])
        self.assertEqual(batch["errors"][1]["custom_id"], "long")
        self.assertEqual(batch["errors_total"], 8)
        self.assertEqual(batch["invalid_requests"], 8)
        self.assertEqual(batch["request_counts"]["total"], 3)
        lines = results(key, wait_batch(key, batch["id"])["id"])
        self.assertEqual([(r["line"], r["custom_id"]) for r in lines],
                         [(1, "ok-1"), (2, "ok-2"), (12, "crlf")])

        before = sql("SELECT count(*) FROM batches b JOIN api_keys k ON k.id = b.api_key_id"
                     " WHERE k.name = 'batch-lines'")[0][0]
        status, _, err = submit(key, body, query="?strict=true")
        self.assertEqual((status, err["error"]["code"]), (400, "BATCH_INVALID"))
        self.assertEqual(err["error"]["details"]["errors_total"], 8)
        self.assertEqual(err["error"]["details"]["errors"][0], batch["errors"][0])
        status, _, err = submit(key, jsonl(["nope", {"custom_id": "x"}]))
        self.assertEqual((status, err["error"]["code"]), (400, "BATCH_EMPTY"))
        self.assertEqual([e["line"] for e in err["error"]["details"]["errors"]], [1, 2])
        after = sql("SELECT count(*) FROM batches b JOIN api_keys k ON k.id = b.api_key_id"
                    " WHERE k.name = 'batch-lines'")[0][0]
        self.assertEqual(before, after, "a rejected batch must leave nothing behind")
        self.assertEqual(submit(key, body, query="?strict=yes")[0], 400)
        self.assertEqual(submit(key, body, content_type="text/plain")[0], 415)

    def test_json_form_with_metadata(self):
        key = create_key("batch-json")
        body = {"metadata": {"team": "search", "run": 7},
                "requests": [{"custom_id": "a", "question": "What is DNS?"},
                             {"custom_id": "b", "question": ""},
                             {"custom_id": "c", "question": "What is TCP?", "max_tokens": 30}]}
        status, _, batch = submit(key, json.dumps(body), content_type="application/json")
        self.assertEqual(status, 202, batch)
        self.assertEqual(batch["metadata"], {"team": "search", "run": 7})
        self.assertEqual([(e["index"], e["custom_id"], e["code"]) for e in batch["errors"]],
                         [(1, "b", "QUESTION_TOO_SHORT")])
        batch = wait_batch(key, batch["id"])
        lines = self.assert_figures_match(key, batch)
        self.assertEqual([(r["custom_id"], r["line"]) for r in lines], [("a", 1), ("c", 3)])
        for bad in ('{"requests": [], "model": "x"}', '{"requests": {}}', "[]",
                    '{"requests": [{"custom_id": "a", "question": "q"}]'):
            status, _, err = submit(key, bad, content_type="application/json")
            self.assertEqual((status, err["error"]["code"]), (400, "INVALID_JSON"), bad)

    def test_quota_is_reserved_for_the_whole_batch_up_front(self):
        key = create_key("batch-quota", "--daily-requests", "100")
        rows = [{"custom_id": f"r{i}", "question": f"Question {i}?"} for i in range(101)]
        status, headers, err = submit(key, jsonl(rows))
        self.assertEqual((status, err["error"]["code"]), (429, "QUOTA_EXCEEDED"), err)
        self.assertEqual(err["error"]["details"]["limit"], "daily_requests")
        self.assertEqual(err["error"]["details"]["requested"], "101")
        self.assertIn("Retry-After", headers)
        self.assertEqual(sql("SELECT count(*) FROM jobs j JOIN api_keys k ON k.id = j.api_key_id"
                             " WHERE k.name = 'batch-quota'")[0][0], "0")
        status, _, batch = submit(key, jsonl(rows[:100]))
        self.assertEqual(status, 202, batch)
        status, _, err = http("POST", "/v1/questions", body={"question": "One more?"}, key=key)
        self.assertEqual((status, err["error"]["code"]), (429, "QUOTA_EXCEEDED"))
        wait_batch(key, batch["id"])

    def test_cancel_in_the_middle_leaves_nothing_running_or_reserved(self):
        key = create_key("batch-cancel")
        key_id = key_id_of(key)
        emulator("POST", "/_emulator/config", {"latency_ms": 300})
        rows = [{"custom_id": f"c{i}", "question": f"Slow question {i}?"} for i in range(3000)]
        status, _, batch = submit(key, jsonl(rows))
        self.assertEqual(status, 202, batch)
        wait_batch(key, batch["id"], until=ENDED + ("in_progress",), timeout=5)
        deadline = time.time() + 60
        while time.time() < deadline:  # until some requests have finished
            if int(sql("SELECT count(*) FROM jobs WHERE batch_id = :'p1'::uuid AND"
                       " status = 'succeeded'", batch["id"])[0][0]) >= 20:
                break
            time.sleep(0.2)
        status, _, cancelled = http("POST", f"/v1/batches/{batch['id']}/cancel", key=key)
        self.assertEqual(status, 200, cancelled)
        self.assertIn(cancelled["status"], ("cancelling", "cancelled"))
        self.assertEqual(cancelled["request_counts"]["queued"], 0)
        self.assertIsNotNone(cancelled["cancel_requested_at"])
        # Cancelling again changes nothing.
        self.assertEqual(http("POST", f"/v1/batches/{batch['id']}/cancel", key=key)[0], 200)
        emulator("POST", "/_emulator/config", {"latency_ms": 0})
        ended = wait_batch(key, batch["id"], timeout=120)
        self.assertEqual(ended["status"], "cancelled", ended)
        rc = ended["request_counts"]
        self.assertEqual(rc["queued"] + rc["running"], 0)
        self.assertGreater(rc["cancelled"], 0)
        self.assertGreaterEqual(rc["succeeded"], 20)
        self.assert_figures_match(key, ended)
        self.assertEqual(sql("SELECT count(*) FROM jobs WHERE batch_id = :'p1'::uuid AND"
                             " status IN ('queued', 'running')", batch["id"])[0][0], "0")
        self.assertEqual([Decimal(x) for x in reservations(key_id)], [0, 0])
        cancelled_lines = [r for r in results(key, batch["id"]) if r["status"] == "cancelled"]
        self.assertEqual(len(cancelled_lines), rc["cancelled"])
        self.assertEqual(cancelled_lines[0]["error"]["code"], "CANCELLED")
        self.assertIsNone(cancelled_lines[0]["cost_usd"])

    def test_large_upload_is_streamed_and_its_results_too(self):
        """An upload near the 100 MiB cap, and results far larger than the intake's memory
        grows by: neither is held whole."""
        with open(os.path.join(ENV["QUARRY_RUN_DIR"], "intake.pid")) as f:
            pid = int(f.read())
        key = create_key("batch-large", "--max-question-chars", "4000")
        filler = "Describe in detail how a compiler turns source code into machine code. "
        rows = ("".join(json.dumps({"custom_id": f"l{i}", "question": f"{i}: " + filler * 26})
                        + "\n" for i in range(40000))).encode()
        self.assertGreater(len(rows), 70 << 20)
        # A smaller upload first: a sanitized intake that has not yet handled one grows by
        # its allocator's first regions and quarantine (measured 40-72 MiB on a freshly
        # started stack, under 36 MiB once warm), which says nothing about buffering.
        warm = rows[:rows.index(b"\n", 15 << 20) + 1]
        status, _, first = submit(key, warm, timeout=300)
        self.assertEqual(status, 202, first)
        self.assertEqual(http("POST", f"/v1/batches/{first['id']}/cancel", key=key)[0], 200)
        peak = RssSampler(pid)
        with peak:
            status, _, batch = submit(key, rows, timeout=300)
        self.assertEqual(status, 202, batch)
        self.assertEqual(batch["request_counts"]["total"], 40000)
        # Far less than the body: the body is streamed into PostgreSQL, not buffered.
        self.assertLess(peak.growth(), len(rows) // 2,
                        f"intake grew {peak.growth() >> 20} MiB for a {len(rows) >> 20} MiB upload")
        self.assertEqual(http("POST", f"/v1/batches/{batch['id']}/cancel", key=key)[0], 200)
        ended = wait_batch(key, batch["id"], timeout=120)
        self.assertEqual(ended["status"], "cancelled")

        # Results: a fixture batch of 30,000 answered jobs of ~2.5 KB each (~80 MiB of JSONL).
        key_id = key_id_of(key)
        batch_id = str(uuid.uuid4())
        sql("INSERT INTO batches (id, api_key_id, expires_at, published_at)"
            " VALUES (:'p1'::uuid, :'p2', now() + interval '1 day', now());"
            "INSERT INTO jobs (id, api_key_id, question, model, max_tokens, batch_id, custom_id,"
            " batch_line, status, answer, input_tokens, output_tokens, cost_usd, finished_at)"
            " SELECT gen_random_uuid(), :'p2', 'fixture: results ' || g, :'p3', 1024,"
            " :'p1'::uuid, 'f' || g, g, 'succeeded', repeat('answer text ', 210), 10, 600,"
            " 0.00075, now() FROM generate_series(1, 30000) g;"
            "SELECT quarry_batch_accept(:'p1'::uuid, :'p2');"
            "SELECT quarry_jobs_settled(array_agg(id)) FROM jobs WHERE batch_id = :'p1'::uuid;",
            batch_id, key_id, HAIKU)
        self.assertEqual(wait_batch(key, batch_id)["status"], "completed")
        req = urllib.request.Request(ENV["QUARRY_URL"] + f"/v1/batches/{batch_id}/results",
                                     headers={"x-api-key": key})
        total, count = 0, 0
        peak = RssSampler(pid)
        with peak, urllib.request.urlopen(req, timeout=120) as resp:
            pending = b""
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                total += len(chunk)
                pending += chunk
                *done, pending = pending.split(b"\n")
                count += len(done)
                time.sleep(0.001)  # a reader slower than the server
        self.assertEqual((count, pending), (30000, b""))
        self.assertGreater(total, 70 << 20)
        self.assertLess(peak.growth(), total // 4,
                        f"intake grew {peak.growth() >> 20} MiB streaming {total >> 20} MiB")

    def test_unpublished_batch_is_republished_by_the_sweeper(self):
        """Committed but never produced (the intake died in between): the sweeper sends the
        jobs to the batch topic and they are answered."""
        key = create_key("batch-sweep")
        key_id = key_id_of(key)
        batch_id = str(uuid.uuid4())
        sql("INSERT INTO batches (id, api_key_id, expires_at, created_at)"
            " VALUES (:'p1'::uuid, :'p2', now() + interval '1 day', now() - interval '1 hour');"
            "INSERT INTO jobs (id, api_key_id, question, model, max_tokens, batch_id, custom_id,"
            " batch_line, reserved_tokens, reserved_usd, created_at)"
            " SELECT gen_random_uuid(), :'p2', 'Stranded question ' || g || '?', :'p3', 64,"
            " :'p1'::uuid, 's' || g, g, 1100, 0.0001, now() - interval '1 hour'"
            " FROM generate_series(1, 20) g;"
            "SELECT quarry_batch_accept(:'p1'::uuid, :'p2');",
            batch_id, key_id, HAIKU)
        batch = wait_batch(key, batch_id, timeout=120)
        self.assertEqual(batch["status"], "completed", batch)
        self.assertEqual(batch["request_counts"]["succeeded"], 20)
        self.assert_figures_match(key, batch)
        self.assertEqual([Decimal(x) for x in reservations(key_id)], [0, 0])

    def test_expired_batch_releases_what_it_reserved(self):
        key = create_key("batch-expiry")
        key_id = key_id_of(key)
        batch_id = str(uuid.uuid4())
        # Published (so not re-sent), never consumed, and expiring in a few seconds: already
        # expired, the sweeper (every 2 s in tests) could release the reservation before the
        # first check below reads it.
        sql("INSERT INTO batches (id, api_key_id, expires_at, published_at)"
            " VALUES (:'p1'::uuid, :'p2', now() + interval '5 seconds', now());"
            "INSERT INTO jobs (id, api_key_id, question, model, max_tokens, batch_id, custom_id,"
            " batch_line, reserved_tokens, reserved_usd)"
            " SELECT gen_random_uuid(), :'p2', 'Late question ' || g || '?', :'p3', 64,"
            " :'p1'::uuid, 'e' || g, g, 1100, 0.0001 FROM generate_series(1, 5) g;"
            "SELECT quarry_batch_accept(:'p1'::uuid, :'p2');",
            batch_id, key_id, HAIKU)
        self.assertEqual([Decimal(x) for x in reservations(key_id)], [5500, Decimal("0.0005")])
        batch = wait_batch(key, batch_id, timeout=120)
        self.assertEqual(batch["status"], "expired", batch)
        self.assertEqual(batch["request_counts"]["expired"], 5)
        line = results(key, batch_id)[0]
        self.assertEqual(line["error"]["code"], "BATCH_EXPIRED")
        self.assertEqual([Decimal(x) for x in reservations(key_id)], [0, 0])


class RssSampler:
    """Highest resident set size of a process while the block runs, over its size before."""

    def __init__(self, pid):
        self.pid, self.base, self.peak, self._stop = pid, self._rss(pid), 0, False

    @staticmethod
    def _rss(pid):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self._rss(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self.peak = self.base
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()
        self.peak = max(self.peak, self._rss(self.pid))

    def growth(self):
        return self.peak - self.base


if __name__ == "__main__":
    unittest.main()
