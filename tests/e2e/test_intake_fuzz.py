"""An OpenAPI-driven fuzz run (schemathesis, bounded and derandomized) against the live
intake: every operation of schema/openapi.yaml with valid and invalid inputs; no 5xx, no
crash, and every response (status, headers, content type, body) conforms to the document."""
import os
import shutil
import subprocess
import tempfile
import unittest

from quarry_e2e import ENV, REPO, create_key, http, require_stack

EXAMPLES = int(os.environ.get("QUARRY_FUZZ_EXAMPLES", "60"))

# schemathesis has no serializer for JSON Lines, the body of POST /v1/batches: without one
# it would only ever send the JSON form. The schema describes a JSONL body as an array of
# request objects standing for its lines, so an array becomes one line per item; any other
# value (negative data) becomes a single line. Loaded through SCHEMATHESIS_HOOKS.
NDJSON_HOOKS = """
import json
import schemathesis


def _lines(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\\n" for item in items).encode()


@schemathesis.serializer("application/x-ndjson",
                         aliases=("application/jsonl", "application/x-jsonlines"))
class JsonLines:
    def as_requests(self, context, value):
        return {"data": _lines(value)}

    def as_werkzeug(self, context, value):
        return {"data": _lines(value)}
"""


def schemathesis_cli():
    venv = os.path.join(REPO, ".cache", "pyfuzz", "bin", "st")
    if os.access(venv, os.X_OK):
        return [venv]
    found = shutil.which("st") or shutil.which("schemathesis")
    return [found] if found else None


class OpenApiFuzz(unittest.TestCase):
    def setUp(self):
        require_stack(self)
        self.cli = schemathesis_cli()
        if not self.cli:
            # Installs into .cache/pyfuzz (a venv) when PyPI is reachable; harmless otherwise.
            subprocess.run([os.path.join(REPO, "scripts", "deps.sh"), "python"], timeout=600,
                           capture_output=True)
            self.cli = schemathesis_cli()
        if not self.cli:
            self.skipTest("schemathesis is not installed (scripts/deps.sh installs it into "
                          ".cache/pyfuzz); the OpenAPI fuzz run was not done")

    def test_fuzz_conforms(self):
        key = create_key("e2e-fuzz")
        cmd = self.cli + [
            "run", os.path.join(REPO, "schema", "openapi.yaml"),
            "--base-url", ENV["QUARRY_URL"],
            "-H", f"x-api-key: {key}",
            "--checks", "all",
            # negative_data_rejection counts a request with any unknown header (say "0: ")
            # as invalid input the server should have refused; HTTP servers ignore unknown
            # headers. Invalid bodies and parameters are still sent (-D all) and must get a
            # documented 4xx: status_code_conformance and not_a_server_error check that.
            "--exclude-checks", "negative_data_rejection",
            "--data-generation-method", "all",
            "--hypothesis-max-examples", str(EXAMPLES),
            "--hypothesis-derandomize",
            "--hypothesis-deadline", "None",
            "--hypothesis-suppress-health-check", "all",
            "--request-timeout", "70000",
            "--no-color",
        ]
        with tempfile.TemporaryDirectory() as scratch:  # hypothesis writes a cache in cwd
            with open(os.path.join(scratch, "quarry_fuzz_hooks.py"), "w") as f:
                f.write(NDJSON_HOOKS)
            env = dict(os.environ, SCHEMATHESIS_TELEMETRY="false",
                       SCHEMATHESIS_HOOKS="quarry_fuzz_hooks",
                       PYTHONPATH=os.pathsep.join(
                           p for p in (scratch, os.environ.get("PYTHONPATH")) if p))
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env,
                                  cwd=scratch)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, out[-6000:].replace(key, "<key>"))
        # The service is still up afterwards.
        self.assertEqual(http("GET", "/healthz")[0], 200)


if __name__ == "__main__":
    unittest.main()
