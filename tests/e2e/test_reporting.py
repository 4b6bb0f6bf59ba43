"""`quarry report` and the report views against a straightforward recomputation from the
jobs table, then `quarry prune` and the same reports again: every figure unchanged.

Real jobs go through the whole stack (intake -> Kafka -> consumer -> emulator). Failed,
cancelled, expired, cache-token and unfinished jobs, and intake rejections, are inserted
directly in SQL as TEST FIXTURES (question text "fixture: ...", parameters
{"fixture": "test_reporting"}), because the emulator does not fail on demand for every
code. Some real jobs are moved 40 days back in time (also a fixture step) so that
`quarry prune --older-than 30d` has real jobs to remove without touching other tests'.

Batches (0006) are fixtures too: a batches row and its jobs inserted in SQL, then settled
by the real quarry_jobs_settled() (and one cancelled by the real quarry_batch_cancel() and
quarry_batch_cancel_queued()),
which end them and freeze their figures; the HTTP batch API is not needed for reporting.
Per-batch figures (report_spend_batch, `quarry report ... --by batch`) are recomputed from
the jobs and must survive pruning, which keeps the jobs of a batch still running."""
import csv
import io
import json
import math
import unittest
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from quarry_e2e import http, quarry, require_stack, sql, wait_terminal

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"
ZERO = Decimal("0")


def create(name):
    out = quarry("keys", "create", "--name", name).stdout.strip().splitlines()
    return int(out[0].split()[-1]), out[-1]


def report(*args, fmt="json"):
    out = quarry("report", *args, "--format", fmt).stdout
    if fmt == "json":
        return json.loads(out)
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(out)))
    return out


def jobs_of(key_ids):
    """Every job of the keys, raw, with the figures a report is built from."""
    rows = sql(
        "SELECT id, api_key_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), model,"
        " status, coalesce(error_code, ''), attempts, coalesce(input_tokens, 0),"
        " coalesce(output_tokens, 0), cache_read_tokens, cache_write_tokens,"
        " coalesce(cost_usd, 0), coalesce(model_latency_ms::text, ''),"
        " (extract(epoch FROM created_at) * 1000000)::bigint,"
        " coalesce((extract(epoch FROM finished_at) * 1000000)::bigint::text, ''),"
        " coalesce(batch_id::text, '')"
        " FROM jobs WHERE api_key_id = ANY (string_to_array(:'p1', ',')::bigint[])",
        ",".join(map(str, key_ids)))
    jobs = []
    for r in rows:
        jobs.append({
            "id": r[0], "key_id": int(r[1]), "day": r[2], "model": r[3], "status": r[4],
            "error_code": r[5] or None, "attempts": int(r[6]), "input_tokens": int(r[7]),
            "output_tokens": int(r[8]), "cache_read_tokens": int(r[9]),
            "cache_write_tokens": int(r[10]), "cost_usd": Decimal(r[11]),
            "model_latency_ms": int(r[12]) if r[12] else None,
            "e2e_ms": (int(r[14]) - int(r[13])) // 1000 if r[14] else None,
            "batch_id": r[15] or None,
        })
    return jobs


def percentile(values, p):
    """percentile_disc: the smallest value with at least p% of the values <= it."""
    values = sorted(values)
    return values[math.ceil(p * len(values) / 100) - 1] if values else None


DIM_COLUMNS = {"day": ("day",), "key": ("key_id",), "model": ("model",),
               "batch": ("batch_id",)}
TERMINAL = ("succeeded", "failed", "cancelled", "expired")
FIGURES = ("jobs", "succeeded", "failed", "cancelled", "expired", "attempts", "input_tokens",
           "output_tokens", "cache_read_tokens", "cache_write_tokens")
SPEND_FIGURES = tuple(f for f in FIGURES if f != "attempts")   # `quarry report spend`


def from_csv(rows):
    """CSV cells as JSON would give them: empty is null, key_id an integer."""
    out = []
    for r in rows:
        r = {k: (v if v != "" else None) for k, v in r.items()}
        if r.get("key_id") is not None:
            r["key_id"] = int(r["key_id"])
        out.append(r)
    return out


def from_table(text):
    """An aligned table as a list of dicts, for tables where every cell is set and none
    holds a space."""
    lines = text.splitlines()
    head = lines[0].split()
    return [dict(zip(head, line.split())) for line in lines[2:]]


def insert_batch(key, age, jobs, expires="1 day", cancel=False, settle=True):
    """TEST FIXTURE: a batch of `key` created `age` ago (an SQL interval) with `jobs`, tuples
    (status, model, input, output, cache_read, cache_write, cost, attempts, error_code,
    model_latency_ms, took), `took` the interval from creation to the end (None while
    queued or running). In one transaction, as the intake would: the batches row with
    request_total, then every finished job settled by quarry_jobs_settled() - twice, the
    second call must count nothing - and with cancel=True a cancel as the intake does it:
    quarry_batch_cancel(), then quarry_batch_cancel_queued() for the queued jobs. Returns
    the batch id."""
    batch_id = str(uuid.uuid4())
    values = []
    for i, (status, model, inp, outp, cr, cw, cost, attempts, code, lat, took) in enumerate(jobs):
        def lit(v, cast=""):
            return f"NULL{cast}" if v is None else f"'{v}'{cast}"
        running = status == "running"
        values.append(
            f"({lit(status, '::text')}, {lit(model, '::text')}, {lit(inp, '::int')}, {lit(outp, '::int')}, {cr}, {cw},"
            f" {lit(cost, '::numeric')}, {attempts}, {lit(code, '::text')}, {lit(lat, '::int')},"
            f" {lit(took, '::interval')}, {i + 1}, {'true' if running else 'false'})")
    sql(f"""
        BEGIN;
        INSERT INTO batches (id, api_key_id, request_total, unfinished_jobs, request_id,
                             metadata, created_at, expires_at)
        VALUES (:'p1', :'p2', {len(jobs)}, {len(jobs)}, 'fixture-batch',
                '{{"fixture": "test_reporting"}}', now() - interval '{age}',
                now() + interval '{expires}');
        INSERT INTO jobs (id, api_key_id, status, question, model, max_tokens, parameters,
                          input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                          cost_usd, attempts, error_code, error_message, model_latency_ms,
                          lease_owner, lease_expires_at, created_at, started_at, finished_at,
                          batch_id, custom_id, batch_line)
        SELECT gen_random_uuid(), :'p2', f.status, 'fixture: test_reporting', f.model, 100,
               '{{"fixture": "test_reporting"}}', f.inp, f.outp, f.cr, f.cw, f.cost,
               f.attempts, f.code, CASE WHEN f.code IS NULL THEN NULL ELSE 'fixture' END,
               f.lat, CASE WHEN f.running THEN 'test_reporting fixture' END,
               CASE WHEN f.running THEN now() + interval '1 day' END,
               now() - interval '{age}',
               CASE WHEN f.status <> 'queued' THEN now() - interval '{age}' + interval '5 ms' END,
               now() - interval '{age}' + f.took, :'p1', 'c-' || f.line, f.line
        FROM (VALUES {", ".join(values)})
          AS f(status, model, inp, outp, cr, cw, cost, attempts, code, lat, took, line, running);
        {"SELECT quarry_jobs_settled(coalesce(array_agg(id), '{}')) FROM jobs"
         " WHERE batch_id = :'p1' AND finished_at IS NOT NULL;" if settle else ""}
        {"SELECT quarry_batch_cancel(:'p1', :'p2');"
         " SELECT quarry_batch_cancel_queued(:'p1', 1000);" if cancel else ""}
        COMMIT;
    """, batch_id, key)
    again = sql("SELECT quarry_jobs_settled(coalesce(array_agg(id), '{}')) FROM jobs"
                " WHERE batch_id = :'p1' AND finished_at IS NOT NULL", batch_id)
    assert again == [["0"]], again
    return batch_id


def dims_of(job, dims):
    return tuple(job[c] for d in dims for c in DIM_COLUMNS[d])


def row_dims(row, dims):
    return tuple(row[c] for d in dims for c in DIM_COLUMNS[d])


class Reporting(unittest.TestCase):
    def setUp(self):
        require_stack(self)

    # ---- fixtures ---------------------------------------------------------------------

    def make_world(self):
        tag = uuid.uuid4().hex[:6]
        self.a, raw_a = create(f"rep-a-{tag}")
        self.b, raw_b = create(f"rep-b-{tag}")
        self.keys = [self.a, self.b]
        ids_a, ids_b = [], []
        for i in range(16):
            body = {"question": f"Report question {i} {tag}: why do leaves change colour?",
                    "max_tokens": 40 + 25 * i}
            if i % 4 == 3:
                body["model"] = SONNET4
            status, _, resp = http("POST", "/v1/questions", body, key=raw_a)
            self.assertEqual(status, 202, resp)
            ids_a.append(resp["id"])
        for i in range(10):
            body = {"question": f"Bob's question {i} {tag}: how do tides work?",
                    "model": HAIKU if i % 2 else SONNET4, "max_tokens": 60 + 10 * i}
            status, _, resp = http("POST", "/v1/questions", body, key=raw_b)
            self.assertEqual(status, 202, resp)
            ids_b.append(resp["id"])
        wait_terminal(raw_a, ids_a)
        wait_terminal(raw_b, ids_b)

        # TEST FIXTURE: terminal jobs the emulator would not produce on demand, on today,
        # 3 days ago and 40 days ago; one with cache tokens and a cost.
        sql("""
            INSERT INTO jobs (id, api_key_id, status, question, model, max_tokens, parameters,
                              input_tokens, output_tokens, cache_read_tokens,
                              cache_write_tokens, cost_usd, attempts, error_code,
                              error_message, model_latency_ms, created_at, started_at,
                              finished_at)
            SELECT gen_random_uuid(), f.key, f.status, 'fixture: test_reporting', f.model, 100,
                   '{"fixture": "test_reporting"}', f.inp, f.outp, f.cr, f.cw, f.cost,
                   f.attempts, f.code, CASE WHEN f.code IS NULL THEN NULL ELSE 'fixture' END,
                   f.lat, now() - f.age, now() - f.age + interval '5 ms',
                   now() - f.age + f.took
            FROM (VALUES
              (:'p1'::bigint, 'failed', :'p3', NULL::int, NULL::int, 0, 0, NULL::numeric, 6,
               'UPSTREAM_THROTTLED', NULL::int, interval '0 days', interval '2.5 seconds'),
              (:'p1'::bigint, 'failed', :'p3', NULL, NULL, 0, 0, NULL, 1,
               'UPSTREAM_VALIDATION', 40, interval '3 days', interval '120 ms'),
              (:'p1'::bigint, 'expired', :'p4', NULL, NULL, 0, 0, NULL, 3,
               'DEADLINE_EXCEEDED', NULL, interval '40 days', interval '3600.25 seconds'),
              (:'p2'::bigint, 'cancelled', :'p3', NULL, NULL, 0, 0, NULL, 0, 'CANCELLED', NULL,
               interval '40 days', interval '1 second'),
              (:'p2'::bigint, 'failed', :'p4', NULL, NULL, 0, 0, NULL, 2,
               'UPSTREAM_MODEL_ERROR', 812, interval '40 days 2 hours', interval '4.004 s'),
              (:'p2'::bigint, 'succeeded', :'p4', 1200, 300, 5000, 800, 0.011100000000::numeric,
               1, NULL, 950, interval '40 days 1 hour', interval '1.5 seconds'),
              (:'p1'::bigint, 'succeeded', :'p4', 1000, 200, 2000, 400, 0.007100000000, 1,
               NULL, 731, interval '3 days', interval '0.9 seconds')
            ) AS f(key, status, model, inp, outp, cr, cw, cost, attempts, code, lat, age, took)
        """, self.a, self.b, HAIKU, SONNET4)
        # TEST FIXTURE: a job still running, 40 days old, with a live lease: prune must
        # never delete it and no report may count it.
        self.unfinished = str(uuid.uuid4())
        sql("INSERT INTO jobs (id, api_key_id, status, question, model, max_tokens, parameters,"
            " lease_owner, lease_expires_at, created_at, started_at)"
            " VALUES (:'p1', :'p2', 'running', 'fixture: test_reporting', :'p3', 100,"
            " '{\"fixture\": \"test_reporting\"}', 'test_reporting fixture',"
            " now() + interval '1 day', now() - interval '40 days', now() - interval '40 days')",
            self.unfinished, self.b, HAIKU)
        # TEST FIXTURE: the move of every real job of key B 40 days back in time.
        sql("UPDATE jobs SET created_at = created_at - interval '40 days',"
            " started_at = started_at - interval '40 days',"
            " finished_at = finished_at - interval '40 days'"
            " WHERE api_key_id = :'p1' AND question NOT LIKE 'fixture:%'", self.b)
        # TEST FIXTURE: intake rejections and flags (0003's table).
        sql("""
            INSERT INTO intake_rejections (at, api_key_id, code, action, reason, question_chars,
                                           score, request_id)
            VALUES (now(), :'p1', 'PROMPT_INJECTION', 'blocked', 'instruction_override', 61, 95, 'fx1'),
                   (now(), :'p1', 'PROMPT_INJECTION', 'blocked', 'instruction_override', 75, 90, 'fx2'),
                   (now(), :'p1', 'PROMPT_INJECTION', 'flagged', 'persona_switch', 40, 70, 'fx3'),
                   (now(), :'p2', 'RATE_LIMITED', 'rejected', NULL, 30, NULL, 'fx4'),
                   (now() - interval '3 days', :'p2', 'QUOTA_EXCEEDED', 'rejected',
                    'daily_budget_usd', 12, NULL, 'fx5')
        """, self.a, self.b)

    def make_batches(self):
        """Five batches of keys A and B, mixed in with their other jobs: three created 40
        days ago (two ended, so prune may fold them; one still running, so prune must keep
        its finished jobs) and two today (one cancelled)."""
        a, b = self.a, self.b
        self.batch_old_a = insert_batch(a, "40 days 3 hours", [
            ("succeeded", HAIKU, 120, 40, 0, 0, "0.000080000000", 1, None, 210, "1.2 s"),
            ("succeeded", HAIKU, 95, 31, 1000, 200, "0.000520000000", 2, None, 188, "2.5 s"),
            ("succeeded", SONNET4, 300, 90, 0, 0, "0.002250000000", 1, None, 930, "1.7 s"),
            ("failed", HAIKU, None, None, 0, 0, None, 6, "UPSTREAM_THROTTLED", None, "30 s"),
            ("failed", SONNET4, 50, 0, 0, 0, "0.000150000000", 1, "UPSTREAM_MODEL_ERROR", 77,
             "0.4 s"),
        ])
        self.batch_old_b = insert_batch(b, "40 days 1 hour", [
            ("succeeded", HAIKU, 200, 120, 0, 0, "0.000200000000", 1, None, 345, "0.8 s"),
            ("succeeded", HAIKU, 210, 60, 0, 0, "0.000127500000", 1, None, 299, "0.9 s"),
            ("expired", HAIKU, None, None, 0, 0, None, 0, "BATCH_EXPIRED", None, "1 day"),
            ("expired", SONNET4, None, None, 0, 0, None, 0, "BATCH_EXPIRED", None, "1 day"),
        ], expires="-39 days")
        self.batch_open = insert_batch(a, "40 days 2 hours", [
            ("succeeded", HAIKU, 80, 20, 0, 0, "0.000045000000", 1, None, 150, "0.6 s"),
            ("succeeded", SONNET4, 90, 30, 500, 0, "0.000870000000", 1, None, 610, "1.1 s"),
            ("running", HAIKU, None, None, 0, 0, None, 1, None, None, None),
        ])
        self.batch_new_b = insert_batch(b, "2 minutes", [
            ("succeeded", SONNET4, 150, 70, 0, 0, "0.001500000000", 1, None, 800, "3 s"),
            ("succeeded", HAIKU, 60, 15, 0, 300, "0.000133750000", 1, None, 120, "1 s"),
            ("failed", HAIKU, None, None, 0, 0, None, 10, "UPSTREAM_THROTTLED", None, "9 s"),
        ])
        self.batch_cancelled = insert_batch(a, "1 minute", [
            ("succeeded", HAIKU, 70, 25, 0, 0, "0.000048750000", 1, None, 99, "0.5 s"),
            ("queued", HAIKU, None, None, 0, 0, None, 0, None, None, None),
            ("queued", SONNET4, None, None, 0, 0, None, 0, None, None, None),
        ], cancel=True)
        self.batches = [self.batch_old_a, self.batch_old_b, self.batch_open,
                        self.batch_new_b, self.batch_cancelled]
        got = dict(sql("SELECT id, status FROM batches WHERE id = ANY (:'p1'::uuid[])",
                       "{" + ",".join(self.batches) + "}"))
        self.assertEqual(got, {self.batch_old_a: "completed", self.batch_old_b: "expired",
                               self.batch_open: "in_progress", self.batch_new_b: "completed",
                               self.batch_cancelled: "cancelled"})

    # ---- recomputation ----------------------------------------------------------------

    def expected_spend(self, jobs, dims):
        out = defaultdict(lambda: defaultdict(lambda: ZERO))
        for j in jobs:
            if j["status"] in ("queued", "running"):
                continue
            row = out[dims_of(j, dims)]
            row["jobs"] += 1
            row[j["status"]] += 1
            for f in ("input_tokens", "output_tokens", "cache_read_tokens",
                      "cache_write_tokens", "cost_usd"):
                row[f] += j[f]
        return out

    def expected_batches(self, jobs):
        """What report_spend_batch must say of each of our batches, from their jobs."""
        want = {}
        for bid in self.batches:
            js = [j for j in jobs if j["batch_id"] == bid]
            w = {f: 0 for f in FIGURES}
            w["cost_usd"] = ZERO
            w["request_total"] = len(js)
            w["queued"] = sum(1 for j in js if j["status"] == "queued")
            w["running"] = sum(1 for j in js if j["status"] == "running")
            for j in js:
                if j["status"] not in TERMINAL:
                    continue
                w["jobs"] += 1
                w[j["status"]] += 1
                for f in ("attempts", "input_tokens", "output_tokens", "cache_read_tokens",
                          "cache_write_tokens", "cost_usd"):
                    w[f] += j[f]
            w["api_key_id"] = js[0]["key_id"]
            want[bid] = w
        return want

    def check_batches(self, jobs):
        """report_spend_batch, the frozen figures of ended batches, and `quarry report
        spend --by batch` in JSON, CSV and table, all against the jobs."""
        want = self.expected_batches(jobs)
        ids = "{" + ",".join(self.batches) + "}"
        cols = ("batch_id", "api_key_id", "key_name", "status", "ended_at", "request_total",
                "queued", "running") + FIGURES + ("cost_usd",)
        view = {r[0]: dict(zip(cols, r)) for r in sql(
            f"SELECT {', '.join(cols)} FROM report_spend_batch"
            " WHERE batch_id = ANY (:'p1'::uuid[])", ids)}
        self.assertEqual(set(view), set(self.batches))
        frozen = {r[0]: r[1:] for r in sql(
            "SELECT id, status, succeeded, failed, cancelled, expired, input_tokens,"
            " output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, request_total"
            " FROM batches WHERE id = ANY (:'p1'::uuid[])", ids)}
        for bid, w in want.items():
            v = view[bid]
            self.assertEqual(int(v["api_key_id"]), w["api_key_id"], bid)
            for f in FIGURES + ("request_total", "queued", "running"):
                self.assertEqual(int(v[f]), w[f], (bid, f))
            self.assertEqual(Decimal(v["cost_usd"]), w["cost_usd"], bid)
            self.assertEqual(w["request_total"], w["queued"] + w["running"] + w["jobs"])
            f = frozen[bid]
            self.assertEqual(v["status"], f[0], bid)
            if bid == self.batch_open_if_running():
                self.assertEqual(v["ended_at"], "", bid)
                self.assertEqual(f[1:10], [""] * 9, bid)       # nothing frozen yet
            else:
                # the figures 0006 froze when the batch ended, from the same jobs
                self.assertNotEqual(v["ended_at"], "", bid)
                self.assertEqual([int(x) for x in f[1:9]],
                                 [w[k] for k in ("succeeded", "failed", "cancelled", "expired",
                                                 "input_tokens", "output_tokens",
                                                 "cache_read_tokens", "cache_write_tokens")],
                                 bid)
                self.assertEqual(Decimal(f[9]), w["cost_usd"], bid)
            self.assertEqual(int(f[10]), w["request_total"], bid)

        # the CLI: one row per batch (--batch filters to ours), every format the same
        args = ("spend", "--by", "batch", "--batch", ",".join(self.batches))
        js = report(*args)
        self.assertEqual([r["batch_id"] for r in js], sorted(self.batches))
        for r in js:
            w = want[r["batch_id"]]
            self.assertEqual(r["batch_status"], view[r["batch_id"]]["status"])
            for f in SPEND_FIGURES:
                self.assertEqual(r[f], w[f], (r["batch_id"], f))
            self.assertEqual(Decimal(r["cost_usd"]), w["cost_usd"])
        as_text = [{k: (None if v is None else str(v)) for k, v in r.items()} for r in js]
        self.assertEqual([{k: (None if v is None else str(v)) for k, v in r.items()}
                          for r in from_csv(report(*args, fmt="csv"))], as_text)
        self.assertEqual(from_table(report(*args, fmt="table")), as_text)
        return js

    def stored(self):
        return {j["id"] for j in jobs_of(self.keys)}

    def batch_open_if_running(self):
        rows = sql("SELECT ended_at IS NULL FROM batches WHERE id = :'p1'", self.batch_open)
        return self.batch_open if rows == [["t"]] else None

    def check_spend(self, rows, jobs, dims):
        want = self.expected_spend(jobs, dims)
        got = {row_dims(r, dims): r for r in rows}
        self.assertEqual(set(got), set(want), dims)
        for k, w in want.items():
            g = got[k]
            for f in ("jobs", "succeeded", "failed", "cancelled", "expired", "input_tokens",
                      "output_tokens", "cache_read_tokens", "cache_write_tokens"):
                self.assertEqual(int(g[f]), int(w[f]), (dims, k, f))
            self.assertEqual(Decimal(g["cost_usd"]), w["cost_usd"], (dims, k))

    def check_errors(self, rows, jobs, dims):
        terminal = [j for j in jobs if j["status"] not in ("queued", "running")]
        want = defaultdict(lambda: [0, 0])
        for j in terminal:
            if j["status"] != "succeeded":
                w = want[dims_of(j, dims) + (j["status"], j["error_code"])]
                w[0] += 1
                w[1] += j["attempts"]
        got = {row_dims(r, dims) + (r["status"], r["error_code"]): r for r in rows}
        self.assertEqual(set(got), set(want))
        for k, (n, attempts) in want.items():
            self.assertEqual(got[k]["jobs"], n, k)
            self.assertEqual(got[k]["attempts"], attempts, k)
            pct = (Decimal(100) * n / len(terminal)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            self.assertEqual(Decimal(got[k]["pct_of_jobs"]), pct, k)

    def check_latency(self, rows, jobs, dims):
        groups = defaultdict(list)
        for j in jobs:
            if j["status"] == "succeeded":
                groups[dims_of(j, dims)].append(j)
        got = {row_dims(r, dims): r for r in rows}
        self.assertEqual(set(got), set(groups))
        for k, js in groups.items():
            g = got[k]
            self.assertEqual(g["jobs"], len(js))
            model = [j["model_latency_ms"] for j in js if j["model_latency_ms"] is not None]
            e2e = [j["e2e_ms"] for j in js]
            for p in (50, 90, 99):
                self.assertEqual(g[f"model_p{p}_ms"], percentile(model, p), (k, p))
                self.assertEqual(g[f"e2e_p{p}_ms"], percentile(e2e, p), (k, p))
            self.assertEqual(g["model_max_ms"], max(model) if model else None)
            self.assertEqual(g["e2e_max_ms"], max(e2e))

    def all_reports(self):
        """Every aggregate report for the two keys, in every grouping, as JSON."""
        k = ["--key", f"{self.a},{self.b}"]
        out = {}
        for by in ("day", "key", "model", "day,key,model", "total"):
            out[f"spend {by}"] = report("spend", "--by", by, *k)
            out[f"errors {by}"] = report("errors", "--by", by, *k)
            out[f"latency {by}"] = report("latency", "--by", by, *k)
        out["spend csv"] = report("spend", "--by", "key,model", *k, fmt="csv")
        out["spend table"] = report("spend", "--by", "day,key", *k, fmt="table")
        out["views"] = sql(
            "SELECT day, api_key_id, jobs, succeeded, input_tokens, output_tokens,"
            " cache_read_tokens, cache_write_tokens, cost_usd FROM report_spend_key_day"
            " WHERE api_key_id IN (:'p1', :'p2') ORDER BY 1, 2", self.a, self.b)
        out["errors view"] = sql(
            "SELECT day, api_key_id, model, status, error_code, jobs, attempts, cost_usd"
            " FROM report_errors_daily WHERE api_key_id IN (:'p1', :'p2')"
            " ORDER BY 1, 2, 3, 4, 5", self.a, self.b)
        out["rejections"] = report("rejections", "--by", "day,key", *k)
        for by in ("batch", "key,model,batch"):
            out[f"spend {by}"] = report("spend", "--by", by, *k)
            out[f"errors {by}"] = report("errors", "--by", by, *k)
            out[f"latency {by}"] = report("latency", "--by", by, *k)
        out["batch view"] = sql(
            "SELECT * FROM report_spend_batch WHERE batch_id = ANY (:'p1'::uuid[])"
            " ORDER BY batch_id", "{" + ",".join(self.batches) + "}")
        return out

    def check_against_jobs(self, jobs):
        k = ["--key", f"{self.a},{self.b}"]
        for by in ("day", "key", "model", "day,key,model", "batch", "key,batch",
                   "day,model,batch"):
            dims = by.split(",")
            self.check_spend(report("spend", "--by", by, *k), jobs, dims)
            self.check_errors(report("errors", "--by", by, *k), jobs, dims)
            self.check_latency(report("latency", "--by", by, *k), jobs, dims)
        self.check_spend(report("spend", "--by", "total", *k), jobs, [])
        self.check_latency(report("latency", "--by", "total", *k), jobs, [])
        # --batch: only those batches' jobs, in any grouping and report
        two = [self.batch_old_a, self.batch_new_b]
        in_two = [j for j in jobs if j["batch_id"] in two]
        bf = ["--batch", ",".join(two)]
        self.check_spend(report("spend", "--by", "day,model", *bf), in_two, ["day", "model"])
        self.check_errors(report("errors", "--by", "key", *bf), in_two, ["key"])
        self.check_latency(report("latency", "--by", "model", *bf), in_two, ["model"])
        self.check_spend(report("spend", "--by", "batch", *bf, "--model", HAIKU),
                         [j for j in in_two if j["model"] == HAIKU], ["batch"])
        top = report("top", *bf, "--limit", "100")
        stored = self.stored()
        self.assertEqual(sorted(r["id"] for r in top),
                         sorted(j["id"] for j in in_two if j["status"] in TERMINAL
                                and j["id"] in stored))
        # CSV of a batch grouping: jobs outside any batch are the row with no batch_id
        rows = from_csv(report("spend", "--by", "batch", *k, fmt="csv"))
        self.assertIsNone(rows[-1]["batch_id"])
        self.check_spend(rows, jobs, ["batch"])
        # CSV parses and says the same as JSON
        rows = report("spend", "--by", "key,model", *k, fmt="csv")
        for r in rows:
            r["key_id"] = int(r["key_id"])
        self.check_spend(rows, jobs, ["key", "model"])
        # filters: one key by name, one model, a day range
        name_b = sql("SELECT name FROM api_keys WHERE id = :'p1'", self.b)[0][0]
        self.check_spend(report("spend", "--by", "model", "--key", name_b), [
            j for j in jobs if j["key_id"] == self.b], ["model"])
        self.check_spend(report("spend", "--by", "key", *k, "--model", SONNET4),
                         [j for j in jobs if j["model"] == SONNET4], ["key"])
        days = sorted({j["day"] for j in jobs})
        since, until = days[0], days[-2]
        self.check_spend(report("spend", "--by", "day", *k, "--since", since, "--until", until),
                         [j for j in jobs if since <= j["day"] <= until], ["day"])
        week_ago = str(datetime.now(timezone.utc).date() - timedelta(days=7))
        self.check_spend(report("spend", "--by", "key", *k, "--since", "7d"),
                         [j for j in jobs if j["day"] >= week_ago], ["key"])
        # the view a psql user reads
        want = self.expected_spend(jobs, ["day", "key"])
        view = sql("SELECT day, api_key_id, jobs, cost_usd, input_tokens + output_tokens"
                   " FROM report_spend_key_day WHERE api_key_id IN (:'p1', :'p2')",
                   self.a, self.b)
        self.assertEqual(len(view), len(want))
        for day, key_id, n, cost, tokens in view:
            w = want[(day, int(key_id))]
            self.assertEqual((int(n), Decimal(cost), int(tokens)),
                             (w["jobs"], w["cost_usd"], w["input_tokens"] + w["output_tokens"]))

    # ---- the test ---------------------------------------------------------------------

    def test_reports_equal_the_jobs_and_survive_pruning(self):
        self.make_world()
        self.make_batches()
        jobs = jobs_of(self.keys)
        self.assertGreaterEqual(len(jobs), 34 + 18)
        self.assertGreaterEqual(len({j["day"] for j in jobs}), 3)
        self.check_against_jobs(jobs)
        self.check_batches(jobs)

        # top: the most expensive stored requests, in order
        top = report("top", "--limit", "5", "--key", f"{self.a},{self.b}")
        costs = sorted((j["cost_usd"] for j in jobs if j["status"] not in ("running",)),
                       reverse=True)[:5]
        self.assertEqual([Decimal(r["cost_usd"]) for r in top], costs)
        by_id = {j["id"]: j for j in jobs}
        for r in top:
            self.assertEqual(Decimal(r["cost_usd"]), by_id[r["id"]]["cost_usd"])

        # rejections and injections (fixtures)
        rej = report("rejections", "--key", f"{self.a},{self.b}")
        self.assertEqual({(r["code"], r["action"], r["reason"]): r["attempts"] for r in rej}, {
            ("PROMPT_INJECTION", "blocked", "instruction_override"): 2,
            ("PROMPT_INJECTION", "flagged", "persona_switch"): 1,
            ("RATE_LIMITED", "rejected", None): 1,
            ("QUOTA_EXCEEDED", "rejected", "daily_budget_usd"): 1})
        inj = report("injections", "--key", str(self.a), fmt="csv")
        self.assertEqual(sorted(r["request_id"] for r in inj), ["fx1", "fx2", "fx3"])
        self.assertEqual(report("injections", "--key", str(self.b)), [])

        before = self.all_reports()
        usage_before = sql("SELECT * FROM daily_usage WHERE api_key_id IN (:'p1', :'p2')"
                           " ORDER BY 1, 2", self.a, self.b)
        month_ago = str(datetime.now(timezone.utc).date() - timedelta(days=31))
        # prune keeps the finished jobs of a batch still running
        kept_open = [j for j in jobs if j["batch_id"] == self.batch_open
                     and j["status"] in TERMINAL]
        old_terminal = [j for j in jobs if j["day"] < month_ago and j["status"] in TERMINAL
                        and j["batch_id"] != self.batch_open]
        self.assertGreaterEqual(len(old_terminal), 13 + 9)
        self.assertEqual(len(kept_open), 2)

        # dry run: counts, deletes nothing
        r = quarry("prune", "--older-than", "30d", "--dry-run")
        self.assertIn("would_delete", r.stdout)
        kept = from_table(r.stdout.split("\n", 1)[1])
        self.assertGreaterEqual(int(kept[-1]["kept_open_batch"]), len(kept_open))
        self.assertEqual(len(jobs_of(self.keys)), len(jobs))

        r = quarry("prune", "--older-than", "30d", "--batch-size", "4")
        self.assertRegex(r.stdout, r"^pruned \d+ finished jobs created before ")
        self.assertGreaterEqual(int(r.stdout.split()[1]), len(old_terminal))
        after_jobs = {j["id"] for j in jobs_of(self.keys)}
        for j in old_terminal:
            self.assertNotIn(j["id"], after_jobs)
        self.assertIn(self.unfinished, after_jobs)          # never a running job
        for j in kept_open:                                 # nor a running batch's job
            self.assertIn(j["id"], after_jobs)
        self.assertGreater(int(sql("SELECT count(*) FROM job_rollups WHERE batch_id ="
                                   " :'p1'", self.batch_old_a)[0][0]), 0)
        self.assertEqual(len(after_jobs), len(jobs) - len(old_terminal))
        self.assertGreater(int(sql("SELECT count(*) FROM job_rollups WHERE api_key_id ="
                                   " :'p1'", self.b)[0][0]), 0)

        # every figure is unchanged, and still equals the recomputation from the jobs
        # as they were before pruning
        after = self.all_reports()
        for name in before:
            self.assertEqual(after[name], before[name], name)
        self.check_against_jobs(jobs)
        self.check_batches(jobs)
        self.assertEqual(sql("SELECT * FROM daily_usage WHERE api_key_id IN (:'p1', :'p2')"
                             " ORDER BY 1, 2", self.a, self.b), usage_before)

        # pruning again finds nothing more of ours; the running job stays
        quarry("prune", "--older-than", "30d")
        self.assertEqual(self.all_reports(), before)
        self.assertEqual(sql("SELECT status FROM jobs WHERE id = :'p1'", self.unfinished),
                         [["running"]])
        sql("DELETE FROM jobs WHERE id = :'p1'", self.unfinished)   # fixture cleanup

        # the running batch's last job ends (as the consumer would: result, then settle):
        # the batch ends with figures equal to its jobs', then prune folds its old jobs
        # and nothing changes
        sql("""
            BEGIN;
            UPDATE jobs SET status = 'succeeded', input_tokens = 44, output_tokens = 11,
                   cost_usd = 0.000024750000, model_latency_ms = 97,
                   finished_at = started_at + interval '0.7 s', lease_owner = NULL,
                   lease_expires_at = NULL
             WHERE batch_id = :'p1' AND status = 'running';
            SELECT quarry_jobs_settled(array_agg(id)) FROM jobs WHERE batch_id = :'p1';
            COMMIT;
        """, self.batch_open)
        self.assertEqual(sql("SELECT status FROM batches WHERE id = :'p1'", self.batch_open),
                         [["completed"]])
        last = {j["id"]: j for j in jobs_of(self.keys) if j["batch_id"] == self.batch_open}
        jobs = [last.get(j["id"], j) for j in jobs if j["id"] != self.unfinished]
        self.check_batches(jobs)
        self.check_against_jobs(jobs)
        ended = self.all_reports()
        quarry("prune", "--older-than", "30d")
        stored = self.stored()
        for j in jobs:
            if j["batch_id"] == self.batch_open:
                self.assertNotIn(j["id"], stored)
        self.assertEqual(self.all_reports(), ended)
        self.check_batches(jobs)
        self.check_against_jobs(jobs)

    def test_batch_options_usage(self):
        for args, code in ((["rejections", "--by", "batch"], 2),
                           (["injections", "--batch", str(uuid.uuid4())], 2),
                           (["spend", "--batch", "not-a-uuid"], 2),
                           (["spend", "--by", "batch,batch"], 2),
                           (["spend", "--batch", str(uuid.uuid4())], 1)):
            r = quarry("report", *args, check=False)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("quarry report"), (args, r.stderr))

    def test_json_and_csv_and_table_agree(self):
        key_id, raw = create(f"rep-fmt-{uuid.uuid4().hex[:6]}")
        ids = []
        for i in range(3):
            status, _, resp = http("POST", "/v1/questions",
                                   {"question": f"Format check {i}: what is a prime number?"},
                                   key=raw)
            self.assertEqual(status, 202, resp)
            ids.append(resp["id"])
        wait_terminal(raw, ids)
        args = ("spend", "--by", "day,model", "--key", str(key_id))
        js = report(*args)
        cs = report(*args, fmt="csv")
        table = report(*args, fmt="table").splitlines()
        self.assertEqual(len(js), len(cs))
        self.assertEqual(len(table), 2 + len(js))
        for j, c in zip(js, cs):
            self.assertEqual({k: (None if v is None else str(v)) for k, v in j.items()},
                             {k: (v if v != "" else None) for k, v in c.items()})
        self.assertEqual(table[0].split(), list(js[0].keys()))
        self.assertIsInstance(js[0]["jobs"], int)
        self.assertIsInstance(js[0]["cost_usd"], str)       # exact, not a float
        # an empty result is still well-formed
        none = ("spend", "--key", str(key_id), "--since", "2001-01-01", "--until", "2001-01-02")
        self.assertEqual(report(*none), [])
        self.assertEqual(report(*none, fmt="csv"), [])
        self.assertIn("(no rows)", report(*none, fmt="table"))


if __name__ == "__main__":
    unittest.main()
