"""Quarry's SigV4 signer against AWS's own SDK: botocore signs the same Bedrock requests
(model ids with ':', cross-region inference profiles, ARNs; with and without a session
token) and the Authorization headers must be identical."""
import datetime
import os
import subprocess
import tempfile
import unittest
import urllib.parse
from unittest import mock

from quarry_e2e import BIN_DIR

MODEL_IDS = [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0",
    "amazon.nova-pro-v1:0",
]
BODY = (b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"system":"be brief",'
        b'"messages":[{"role":"user","content":"What is \\u00e9t\\u00e9 in English? 50% off!"}]}')


class SigV4AgainstBotocore(unittest.TestCase):
    def setUp(self):
        try:
            import botocore.auth  # noqa: F401
        except ImportError:
            self.skipTest("botocore is not installed (pip install botocore)")
        self.tool = os.path.join(BIN_DIR, "tools", "sigv4_sign")
        if not os.path.exists(self.tool):
            self.skipTest(f"{self.tool} is not built (make)")

    def botocore_sign(self, url, region, access, secret, token, when):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        req = botocore.awsrequest.AWSRequest("POST", url, data=BODY,
                                             headers={"Content-Type": "application/json",
                                                      "Accept": "application/json"})
        creds = botocore.credentials.Credentials(access, secret, token)
        with mock.patch("botocore.auth.datetime") as dt:
            dt.datetime.utcnow.return_value = when
            dt.datetime.now.return_value = when.replace(tzinfo=datetime.timezone.utc)
            with mock.patch("botocore.auth.get_current_datetime", create=True,
                            return_value=when):
                botocore.auth.SigV4Auth(creds, "bedrock", region).add_auth(req)
        return req.headers

    def quarry_sign(self, path, headers, region, access, secret, token, amz_date):
        with tempfile.NamedTemporaryFile() as body:
            body.write(BODY)
            body.flush()
            env = dict(os.environ, AWS_ACCESS_KEY_ID=access, AWS_SECRET_ACCESS_KEY=secret)
            env.pop("AWS_SESSION_TOKEN", None)
            if token:
                env["AWS_SESSION_TOKEN"] = token
            args = [self.tool, "POST", path, amz_date, region, "bedrock", body.name]
            args += [f"{k}:{v}" for k, v in headers]
            return subprocess.run(args, capture_output=True, text=True, env=env,
                                  check=True).stdout.strip()

    def test_identical_authorization_headers(self):
        when = datetime.datetime(2026, 11, 25, 9, 30, 15)
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        cases = 0
        for region in ("us-east-1", "eu-west-1"):
            host = f"bedrock-runtime.{region}.amazonaws.com"
            for model in MODEL_IDS:
                for token in (None, "IQoJb3JpZ2luX2VjEXAMPLE//session+token="):
                    with self.subTest(region=region, model=model, token=bool(token)):
                        # The wire path as the SDKs send it: the model id URI-encoded.
                        path = "/model/" + urllib.parse.quote(model, safe="") + "/invoke"
                        url = f"https://{host}{path}"
                        signed = self.botocore_sign(url, region, "AKIDEXAMPLEQUARRY",
                                                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                    token, when)
                        self.assertEqual(signed["X-Amz-Date"], amz_date)
                        headers = [("Host", host), ("Content-Type", "application/json"),
                                   ("Accept", "application/json"), ("X-Amz-Date", amz_date)]
                        if token:
                            headers.append(("X-Amz-Security-Token", token))
                        mine = self.quarry_sign(path, headers, region, "AKIDEXAMPLEQUARRY",
                                                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                token, amz_date)
                        self.assertEqual(mine, signed["Authorization"])
                        cases += 1
        self.assertEqual(cases, 2 * len(MODEL_IDS) * 2)


if __name__ == "__main__":
    unittest.main()
