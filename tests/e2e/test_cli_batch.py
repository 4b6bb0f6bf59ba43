"""`quarry batch` on the real stack (docs/batches.md): submit a JSONL file with invalid lines
and follow it to the end, the results file, status/list/results/cancel, strict mode, Ctrl-C
while waiting (the batch goes on), the progress bar on a terminal, --help and exit codes."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

from quarry_e2e import BIN_DIR, ENV, create_key, emulator, http, quarry, require_stack

# cli.h
OK, FAILED, USAGE, TIMEOUT, UNAVAILABLE = 0, 1, 2, 3, 4
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
WAIT = ["--poll-interval", "0.2", "--timeout", "150"]


def write_jsonl(path, n, invalid=None, prefix="q"):
    """n valid requests, with `invalid` {line number: raw line} put in between; returns
    [(line number, custom_id)] of the valid ones."""
    invalid = dict(invalid or {})
    valid, line, i = [], 0, 0
    with open(path, "w") as f:
        while i < n or invalid:
            line += 1
            if line in invalid:
                f.write(invalid.pop(line) + "\n")
                continue
            custom_id = f"{prefix}-{i:04d}"
            f.write(json.dumps({"custom_id": custom_id,
                                "question": f"What is {i} plus {i}? Answer briefly.",
                                "max_tokens": 50}) + "\n")
            valid.append((line, custom_id))
            i += 1
    return valid


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def batch_json(key, batch_id):
    status, _, body = http("GET", f"/v1/batches/{batch_id}", key=key)
    assert status == 200, (status, body)
    return body


class BatchCliUsage(unittest.TestCase):
    """No stack needed: --help everywhere, usage errors exit 2."""

    def test_help_everywhere(self):
        for args in (["batch", "--help"], ["batch", "submit", "--help"],
                     ["batch", "wait", "--help"], ["batch", "status", "--help"],
                     ["batch", "results", "--help"], ["batch", "cancel", "--help"],
                     ["batch", "list", "--help"]):
            r = quarry(*args, check=False)
            self.assertEqual(r.returncode, OK, (args, r.stderr))
            self.assertTrue(r.stdout.startswith("usage: quarry batch"), (args, r.stdout))
            self.assertEqual(r.stderr, "", args)
        self.assertIn("batch submit", quarry("--help").stdout)

    def test_usage_errors_exit_2_with_a_lowercase_message(self):
        with tempfile.TemporaryDirectory() as tmp:
            f = os.path.join(tmp, "q.jsonl")
            write_jsonl(f, 1)
            cases = [
                ["batch"],
                ["batch", "frobnicate"],
                ["batch", "submit"],
                ["batch", "submit", os.path.join(tmp, "missing.jsonl")],
                ["batch", "submit", tmp],                             # a directory
                ["batch", "submit", f, "--no-wait", "-o", "x.jsonl"],
                ["batch", "submit", f, "--poll-interval", "0"],
                ["batch", "submit", f, "--timeout", "soon"],
                ["batch", "submit", f, "-o", f],                      # would clobber the input
                ["batch", "submit", f, "-o", "/nonexistent/dir/r.jsonl"],
                ["batch", "submit", f, "--bogus"],
                ["batch", "submit", f, "--poll-interval"],            # value missing
                ["batch", "wait"],
                ["batch", "status"],
                ["batch", "status", "a", "b"],
                ["batch", "results"],
                ["batch", "cancel"],
                ["batch", "list", "--limit", "0"],
                ["batch", "list", "--limit", "101"],
                ["batch", "list", "extra"],
            ]
            for args in cases:
                r = quarry(*args, check=False, env={"QUARRY_API_KEY": "qk_dummy",
                                                    "QUARRY_URL": "http://127.0.0.1:1"})
                self.assertEqual(r.returncode, USAGE, (args, r.stdout, r.stderr))
                first = r.stderr.splitlines()[0] if r.stderr else ""
                self.assertTrue(first.startswith("quarry") or first.startswith("usage"),
                                (args, first))
                if ": " in first:
                    message = first.split(": ", 1)[1]
                    self.assertFalse(message[:1].isupper(), (args, first))
                    self.assertFalse(first.endswith("."), (args, first))
            # no key at all
            r = quarry("batch", "status", str(uuid.uuid4()), check=False,
                       env={"QUARRY_API_KEY": ""})
            self.assertEqual(r.returncode, USAGE, r.stderr)
            self.assertIn("QUARRY_API_KEY", r.stderr)

    def test_unreachable_intake_exits_4(self):
        with tempfile.TemporaryDirectory() as tmp:
            f = os.path.join(tmp, "q.jsonl")
            write_jsonl(f, 2)
            for args in (["submit", f], ["status", str(uuid.uuid4())], ["list"],
                         ["cancel", str(uuid.uuid4())], ["results", str(uuid.uuid4())],
                         ["wait", str(uuid.uuid4()), "--timeout", "1"]):
                r = quarry("batch", *args, "--url", "http://127.0.0.1:1", check=False,
                           env={"QUARRY_API_KEY": "qk_dummy"})
                self.assertIn(r.returncode, (UNAVAILABLE, TIMEOUT) if args[0] == "wait"
                              else (UNAVAILABLE,), (args, r.stderr))
                self.assertIn("could not reach", r.stderr, args)
            self.assertEqual(os.listdir(tmp), ["q.jsonl"])   # no results file, no .part


class BatchCli(unittest.TestCase):
    def setUp(self):
        require_stack(self)
        self.key = create_key(f"cli-batch-{uuid.uuid4().hex[:6]}")
        self.env = {"QUARRY_API_KEY": self.key}
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.latency = None

    def tearDown(self):
        if self.latency is not None:
            emulator("POST", "/_emulator/config", {"latency_ms": 0})
        self.tmp.cleanup()

    def slow_emulator(self, ms=2000):
        """Answers take `ms` (under the test stack's 3 s Bedrock timeout), so that 4,000
        requests last several seconds."""
        status, _, body = emulator("POST", "/_emulator/config", {"latency_ms": ms})
        self.assertEqual(status, 200, body)
        self.latency = ms

    def batch(self, *args, check=False, env=None):
        return quarry("batch", *args, check=check, env={**self.env, **(env or {})})

    def test_submit_waits_and_writes_one_result_per_valid_line(self):
        path = os.path.join(self.dir, "questions.jsonl")
        valid = write_jsonl(path, 50, invalid={
            11: json.dumps({"question": "where is my custom_id?"}),
            31: json.dumps({"custom_id": "q-bad", "question": "Why?", "max_tokens": 0}),
        })
        r = self.batch("submit", path, *WAIT)
        # two invalid lines: the batch runs, but not every line was answered
        self.assertEqual(r.returncode, FAILED, r.stderr)
        batch_id = r.stdout.strip()
        self.assertRegex(batch_id, UUID_RE)
        self.assertIn(f"{path}:11: INVALID_CUSTOM_ID: ", r.stderr)
        self.assertIn(f"{path}:31: INVALID_MAX_TOKENS: ", r.stderr)
        self.assertIn("(custom_id q-bad)", r.stderr)
        # not a terminal: plain progress lines, then the summary
        self.assertRegex(r.stderr, rf"batch {batch_id}: \w+, \d+/50 done")
        self.assertNotIn("\r", r.stderr)
        self.assertIn(f"batch {batch_id} completed", r.stderr)
        self.assertIn("50 succeeded, 0 failed, 0 cancelled, 0 expired", r.stderr)
        self.assertIn(f"2 lines of {path} were invalid", r.stderr)
        out = os.path.join(self.dir, "questions.results.jsonl")
        self.assertIn(f"results: 50 lines in {out}", r.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["questions.jsonl", "questions.results.jsonl"])

        results = read_jsonl(out)
        self.assertEqual([(x["line"], x["custom_id"]) for x in results], valid)
        for x in results:
            self.assertEqual(x["status"], "succeeded", x)
            self.assertTrue(x["answer"])
            self.assertIsNone(x["error"])
            self.assertRegex(x["cost_usd"], r"^\d+\.\d{12}$")
        # each request is also a job
        status, _, job = http("GET", f"/v1/questions/{results[0]['id']}", key=self.key)
        self.assertEqual((status, job["status"]), (200, "succeeded"))

        # status, human and JSON
        r = self.batch("status", batch_id)
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertIn("status:    completed", r.stdout)
        self.assertIn("requests:  50/50 done: 50 succeeded", r.stdout)
        b = json.loads(self.batch("status", batch_id, "--json", check=True).stdout)
        self.assertEqual((b["id"], b["status"]), (batch_id, "completed"))
        self.assertEqual(b["request_counts"]["total"], 50)
        self.assertEqual(b["request_counts"]["succeeded"], 50)
        # results again, streamed to stdout: the same lines
        r = self.batch("results", batch_id, check=True)
        self.assertEqual([json.loads(line)["custom_id"] for line in r.stdout.splitlines()],
                         [c for _, c in valid])
        # list: newest first, the batch is there
        r = self.batch("list", "--limit", "5", check=True)
        self.assertTrue(r.stdout.startswith("ID "), r.stdout)
        self.assertIn(batch_id, r.stdout)
        page = json.loads(self.batch("list", "--json", check=True).stdout)
        self.assertEqual(page["data"][0]["id"], batch_id)
        # a completed batch cannot be cancelled
        r = self.batch("cancel", batch_id)
        self.assertEqual(r.returncode, FAILED, r.stderr)
        self.assertIn("BATCH_NOT_CANCELLABLE", r.stderr)

    def test_all_valid_no_wait_then_wait_exits_0(self):
        path = os.path.join(self.dir, "ok.jsonl")
        write_jsonl(path, 5)
        r = self.batch("submit", path, "--no-wait")
        self.assertEqual(r.returncode, OK, r.stderr)
        batch_id = r.stdout.strip()
        self.assertRegex(batch_id, UUID_RE)
        self.assertEqual(r.stderr, "")
        out = os.path.join(self.dir, "later.jsonl")
        r = self.batch("wait", batch_id, "-o", out, *WAIT)
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertEqual([x["status"] for x in read_jsonl(out)], ["succeeded"] * 5)
        # -o FILE writes the file whole; unknown batches are 404 and leave nothing behind
        r = self.batch("results", str(uuid.uuid4()), "-o", os.path.join(self.dir, "none.jsonl"))
        self.assertEqual(r.returncode, FAILED)
        self.assertIn("NOT_FOUND", r.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ["later.jsonl", "ok.jsonl"])
        # another key cannot see it
        r = self.batch("status", batch_id, env={"QUARRY_API_KEY": create_key("cli-batch-other")})
        self.assertEqual(r.returncode, FAILED)
        self.assertIn("NOT_FOUND", r.stderr)

    def test_stdin_and_results_on_stdout(self):
        path = os.path.join(self.dir, "in.jsonl")
        write_jsonl(path, 3, prefix="s")
        with open(path) as f:
            r = subprocess.run([os.path.join(BIN_DIR, "quarry"), "batch", "submit", "-", *WAIT],
                               stdin=f, capture_output=True, text=True,
                               env={**os.environ, **ENV, **self.env})
        self.assertEqual(r.returncode, OK, r.stderr)
        # stdout is the results alone; the id went to stderr
        self.assertEqual([json.loads(line)["custom_id"] for line in r.stdout.splitlines()],
                         ["s-0000", "s-0001", "s-0002"])
        self.assertRegex(r.stderr.splitlines()[0], UUID_RE)

    def test_strict_rejects_the_whole_batch(self):
        path = os.path.join(self.dir, "strict.jsonl")
        write_jsonl(path, 5, invalid={3: "not json at all"})
        r = self.batch("submit", path, "--strict", *WAIT)
        self.assertEqual(r.returncode, FAILED, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("HTTP 400 BATCH_INVALID", r.stderr)
        self.assertIn(f"{path}:3: INVALID_JSON: ", r.stderr)
        self.assertEqual(json.loads(self.batch("list", "--json", check=True).stdout)["data"], [])
        self.assertEqual(os.listdir(self.dir), ["strict.jsonl"])
        # nothing valid at all
        with open(path, "w") as f:
            f.write("\n[1, 2]\n")
        r = self.batch("submit", path)
        self.assertEqual(r.returncode, FAILED, r.stderr)
        self.assertIn("HTTP 400 BATCH_EMPTY", r.stderr)
        self.assertIn(f"{path}:2: ", r.stderr)

    def test_cancel(self):
        self.slow_emulator()
        path = os.path.join(self.dir, "many.jsonl")
        write_jsonl(path, 4000)
        r = self.batch("submit", path, "--no-wait")
        self.assertEqual(r.returncode, OK, r.stderr)
        batch_id = r.stdout.strip()
        r = self.batch("cancel", batch_id)
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertRegex(r.stdout, rf"^batch {batch_id} (cancelling|cancelled): \d+ cancelled")
        # again: the same answer
        self.assertEqual(self.batch("cancel", batch_id).returncode, OK)
        out = os.path.join(self.dir, "many.results.jsonl")
        r = self.batch("wait", batch_id, "-o", out, *WAIT)
        self.assertEqual(r.returncode, FAILED, r.stderr)       # not every request succeeded
        self.assertIn(f"batch {batch_id} cancelled", r.stderr)
        results = read_jsonl(out)
        self.assertEqual(len(results), 4000)
        statuses = {x["status"] for x in results}
        self.assertLessEqual(statuses, {"succeeded", "failed", "cancelled"})
        cancelled = [x for x in results if x["status"] == "cancelled"]
        self.assertGreater(len(cancelled), 0)
        self.assertTrue(all(x["error"] and x["error"]["code"] for x in cancelled))
        self.assertEqual(batch_json(self.key, batch_id)["status"], "cancelled")
        r = self.batch("cancel", str(uuid.uuid4()))
        self.assertEqual(r.returncode, FAILED)
        self.assertIn("NOT_FOUND", r.stderr)

    def test_ctrl_c_leaves_the_batch_running(self):
        self.slow_emulator()
        path = os.path.join(self.dir, "long.jsonl")
        write_jsonl(path, 4000)
        proc = subprocess.Popen([os.path.join(BIN_DIR, "quarry"), "batch", "submit", path,
                                 "--poll-interval", "0.2"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **ENV, **self.env})
        try:
            batch_id = proc.stdout.readline().strip()
            self.assertRegex(batch_id, UUID_RE)
            time.sleep(1)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        # dies of SIGINT, as a shell script running it expects
        self.assertEqual(proc.returncode, -signal.SIGINT, err)
        self.assertIn(f"batch {batch_id} goes on", err)
        self.assertIn(f"quarry batch wait {batch_id} -o {self.dir}/long.results.jsonl", err)
        self.assertIn(f"quarry batch cancel {batch_id}", err)
        self.assertEqual(batch_json(self.key, batch_id)["status"], "in_progress")
        self.assertEqual(os.listdir(self.dir), ["long.jsonl"])
        self.assertEqual(self.batch("cancel", batch_id).returncode, OK)

    def test_progress_bar_on_a_terminal(self):
        path = os.path.join(self.dir, "tty.jsonl")
        write_jsonl(path, 20)
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen([os.path.join(BIN_DIR, "quarry"), "batch", "submit", path,
                                     *WAIT], stdout=subprocess.PIPE, stderr=slave,
                                    env={**os.environ, **ENV, **self.env, "TERM": "xterm"})
            os.close(slave)
            slave = None
            seen = b""
            deadline = time.time() + 160
            while time.time() < deadline:
                ready, _, _ = select.select([master], [], [], 1)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:           # the other end closed
                        break
                    if not chunk:
                        break
                    seen += chunk
                elif proc.poll() is not None:
                    break
            proc.wait(timeout=30)
            proc.stdout.close()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        text = seen.decode(errors="replace")
        self.assertEqual(proc.returncode, OK, text)
        self.assertIn("\r", text)
        self.assertRegex(text, r"20/20 \[#+\] 100%  ok 20  failed 0 .* ETA ")
        self.assertIn("completed", text)


if __name__ == "__main__":
    unittest.main()
