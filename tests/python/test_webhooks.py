"""flurry.webhooks against the library's verifier: known vectors of each
scheme, every verdict, rotation, bad arguments."""

import unittest

import flurry
from flurry import webhooks

BODY = b'{"id":"evt_1","type":"ping"}'
NOW = 1700000000


class TestWebhooks(unittest.TestCase):
    def test_each_scheme_round_trip_and_tamper(self):
        secrets = {"github": "gh-secret", "stripe": "whsec_stripe",
                   "standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
        for scheme, secret in secrets.items():
            with self.subTest(scheme=scheme):
                h = webhooks.sign(scheme, secret, BODY, msg_id="msg_1", timestamp=NOW)
                self.assertIsNone(webhooks.verify(scheme, secret, h, BODY, now=NOW))
                lower = {k.lower(): v for k, v in h.items()}  # any case
                self.assertEqual(webhooks.check(scheme, secret, lower, BODY, now=NOW), "ok")
                with self.assertRaises(webhooks.SignatureError) as cm:
                    webhooks.verify(scheme, secret, h, BODY + b" ", now=NOW)
                self.assertEqual(cm.exception.verdict, "mismatch")
                self.assertEqual(cm.exception.status, 401)
                self.assertEqual(webhooks.check(scheme, "other", h, BODY, now=NOW)
                                 if scheme != "standard" else "mismatch", "mismatch")
                self.assertEqual(webhooks.check(scheme, secret, {}, BODY, now=NOW), "missing")

    def test_github_known_vector(self):
        # GitHub's documented example: secret "It's a Secret to Everybody".
        h = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f"
                                    "4379c8b043e17"}
        self.assertEqual(webhooks.check("github", "It's a Secret to Everybody", h,
                                        b"Hello, World!"), "ok")
        self.assertEqual(webhooks.check("github", "It's a Secret to Everybody", h,
                                        b"Hello, World?"), "mismatch")

    def test_stale_malformed_rotation(self):
        h = webhooks.sign("stripe", "s1", BODY, timestamp=NOW)
        self.assertEqual(webhooks.check("stripe", "s1", h, BODY, now=NOW + 301), "stale")
        self.assertEqual(webhooks.check("stripe", "s1", h, BODY, now=NOW + 300), "ok")
        self.assertEqual(webhooks.check("stripe", ["old", "s1"], h, BODY, now=NOW), "ok")
        with self.assertRaises(webhooks.SignatureError) as cm:
            webhooks.verify("github", "x", {"X-Hub-Signature-256": "md5=abc"}, BODY)
        self.assertEqual((cm.exception.verdict, cm.exception.status), ("malformed", 400))

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "scheme must be"):
            webhooks.verify("gitlab", "s", {}, BODY)
        with self.assertRaisesRegex(ValueError, "not a valid standard secret"):
            webhooks.verify("standard", "whsec_!!!", {}, BODY)
        with self.assertRaisesRegex(TypeError, "body must be the raw bytes"):
            webhooks.verify("github", "s", {}, 42)
        with self.assertRaisesRegex(ValueError, "at least one secret"):
            webhooks.verify("github", [], {}, BODY)
        self.assertTrue(issubclass(webhooks.SignatureError, ValueError))
        self.assertIs(flurry.webhooks, webhooks)


if __name__ == "__main__":
    unittest.main()
