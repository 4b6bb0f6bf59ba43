"""The consumer's credential chain, end to end through `quarry-consumer
--check-credentials`: environment, shared files with AWS_PROFILE, the container endpoint
(with its authorization token) and IMDSv2 (token first, then the role), with refresh
before expiry. Fake metadata servers run on loopback only."""
import datetime
import http.server
import json
import os
import subprocess
import tempfile
import threading
import unittest

from quarry_e2e import BIN_DIR


class FakeMetadata(http.server.BaseHTTPRequestHandler):
    """IMDSv2 and an ECS-style container endpoint. Each credentials response carries a new
    access key id, so a refresh is visible."""
    issued = 0
    requests = []

    def log_message(self, *args):
        pass

    def creds(self):
        FakeMetadata.issued += 1
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        return {"Code": "Success", "AccessKeyId": f"ASIAFAKE{FakeMetadata.issued:08d}",
                "SecretAccessKey": "fake-secret", "Token": "fake-session-token",
                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        FakeMetadata.requests.append(("PUT", self.path, dict(self.headers)))
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.reply(200, "imds-session-token")
        else:
            self.reply(400, "bad token request")

    def do_GET(self):
        FakeMetadata.requests.append(("GET", self.path, dict(self.headers)))
        if self.path.startswith("/latest/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                return self.reply(401, "missing IMDSv2 token")
            if self.path == "/latest/meta-data/iam/security-credentials/":
                return self.reply(200, "quarry-role\n")
            if self.path == "/latest/meta-data/iam/security-credentials/quarry-role":
                return self.reply(200, json.dumps(self.creds()), "application/json")
        if self.path == "/container/creds":
            if self.headers.get("Authorization") != "Bearer container-token":
                return self.reply(403, "bad authorization")
            return self.reply(200, json.dumps(self.creds()), "application/json")
        self.reply(404, "not found")


class CredentialChain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = os.path.join(BIN_DIR, "quarry-consumer")
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeMetadata)
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        if not os.path.exists(self.binary):
            self.skipTest(f"{self.binary} is not built")
        self.home = tempfile.mkdtemp()
        FakeMetadata.requests = []

    def check(self, extra_env, *flags):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("QUARRY_")}
        env.update({"HOME": self.home, "AWS_EC2_METADATA_DISABLED": "true",
                    "QUARRY_BEDROCK_ENDPOINT": "http://127.0.0.1:9"}, **extra_env)
        out = subprocess.run([self.binary, "--check-credentials", *flags], env=env,
                             capture_output=True, text=True, timeout=30)
        return out.returncode, json.loads(out.stdout) if out.returncode == 0 else out.stderr

    def test_environment_first(self):
        rc, out = self.check({"AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT1", "AWS_SECRET_ACCESS_KEY": "s",
                              "AWS_SESSION_TOKEN": "t", "AWS_PROFILE": "other"})
        self.assertEqual(rc, 0)
        self.assertEqual(out["source"], "env")
        self.assertEqual(out["access_key_id"], "AKIAENVI...")
        self.assertTrue(out["session_token"])

    def test_bearer_token(self):
        rc, out = self.check({"AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-abc"})
        self.assertEqual((rc, out["source"], out["access_key_id"]), (0, "bearer", ""))

    def test_shared_files_and_profiles(self):
        os.makedirs(os.path.join(self.home, ".aws"))
        with open(os.path.join(self.home, ".aws", "credentials"), "w") as f:
            f.write("[default]\naws_access_key_id = AKIADEFAULTPROF\naws_secret_access_key = x\n"
                    "[work]\naws_access_key_id=AKIAWORKPROFILE\naws_secret_access_key=y\n")
        with open(os.path.join(self.home, ".aws", "config"), "w") as f:
            f.write("[profile cfgonly]\naws_access_key_id=AKIACONFIGFILE1\n"
                    "aws_secret_access_key=z\n")
        for profile, key in ((None, "AKIADEFA..."), ("work", "AKIAWORK..."),
                             ("cfgonly", "AKIACONF...")):
            env = {"AWS_PROFILE": profile} if profile else {}
            rc, out = self.check(env)
            self.assertEqual((rc, out["source"], out["access_key_id"]), (0, "shared-file", key))
        rc, err = self.check({"AWS_PROFILE": "missing"})
        self.assertNotEqual(rc, 0)

    def test_container_endpoint_with_token_and_refresh(self):
        rc, out = self.check({"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.base + "/container/creds",
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer container-token"},
                             "--refresh")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["source"], "container")
        self.assertTrue(out["session_token"])
        self.assertGreater(out["expiration"], 0)
        gets = [r for r in FakeMetadata.requests if r[1] == "/container/creds"]
        self.assertEqual(len(gets), 2, "refreshed once before expiry")

    def test_container_plain_http_only_to_allowed_hosts(self):
        rc, err = self.check({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"})
        self.assertNotEqual(rc, 0)
        self.assertIn("loopback", err)
        self.assertEqual(FakeMetadata.requests, [])

    def test_imds_v2(self):
        rc, out = self.check({"AWS_EC2_METADATA_DISABLED": "false",
                              "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.base}, "--refresh")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["source"], "imds")
        self.assertTrue(out["access_key_id"].startswith("ASIAFAKE"))
        paths = [(m, p) for m, p, _ in FakeMetadata.requests]
        self.assertEqual(paths[0], ("PUT", "/latest/api/token"))
        self.assertIn(("GET", "/latest/meta-data/iam/security-credentials/quarry-role"), paths)
        role_gets = [p for m, p in paths if p.endswith("/quarry-role")]
        self.assertEqual(len(role_gets), 2, "refreshed once before expiry")

    def test_no_credentials_and_no_endpoint_means_emulator(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("QUARRY_")}
        env.update({"HOME": self.home, "AWS_EC2_METADATA_DISABLED": "true"})
        out = subprocess.run([self.binary, "--check-credentials"], env=env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        got = json.loads(out.stdout)
        self.assertEqual(got["source"], "fixed")
        self.assertEqual(got["endpoint"], "http://127.0.0.1:8090")

    def test_credentials_mean_real_bedrock_when_no_endpoint(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("QUARRY_")}
        env.update({"HOME": self.home, "AWS_ACCESS_KEY_ID": "AKIAREALKEY00001",
                    "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-central-1"})
        out = subprocess.run([self.binary, "--check-credentials"], env=env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(json.loads(out.stdout)["endpoint"],
                         "https://bedrock-runtime.eu-central-1.amazonaws.com")

    def test_secrets_never_printed(self):
        env = {"AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT1", "AWS_SECRET_ACCESS_KEY": "TOPSECRETVALUE",
               "AWS_SESSION_TOKEN": "SESSIONSECRET"}
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        full_env.update(env, HOME=self.home, QUARRY_BEDROCK_ENDPOINT="http://127.0.0.1:9")
        out = subprocess.run([self.binary, "--check-credentials"], env=full_env,
                             capture_output=True, text=True, timeout=30)
        for secret in ("TOPSECRETVALUE", "SESSIONSECRET", "AKIAENVIRONMENT1"):
            self.assertNotIn(secret, out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
