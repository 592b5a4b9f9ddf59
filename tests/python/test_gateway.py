"""examples/python/gateway.py under /usr/bin/python3 -m uvicorn on
loopback, with `flurry mock` as the upstream and `flurry listen` as the
receiver of its background notifications: the aggregate, 504 on an
upstream timeout, 502 on an upstream failure, the background POST, the
webhook endpoint (signed, tampered, unsigned)."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import flurry
import support

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                        "python")
SECRET = "gh-test-secret"
NOTIFY_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PROCS = []
GW = {}
LISTEN_OUT = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc):
    for _ in range(600):  # bounded: 30 s
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_gateway(name, **env):
    port = free_port()
    e = dict(os.environ, UPSTREAM=support.MOCK.base, GITHUB_SECRET=SECRET, **env)
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", "gateway:app", "--host", "127.0.0.1",
                          "--port", str(port), "--log-level", "warning"], cwd=EXAMPLES, env=e)
    PROCS.append(p)
    wait_port(port, p)
    GW[name] = f"http://127.0.0.1:{port}"


def setUpModule():
    global LISTEN_OUT
    support.start()
    tmp = tempfile.mkdtemp()
    LISTEN_OUT = os.path.join(tmp, "events.jsonl")
    lst = subprocess.Popen([os.environ["FLURRY"], "listen", "--scheme", "standard", "--secret",
                            NOTIFY_SECRET, "--port", "0", "-o", LISTEN_OUT],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    PROCS.append(lst)
    listen_port = int(lst.stdout.readline().decode().strip())
    start_gateway("main", NOTIFY_URL=f"http://127.0.0.1:{listen_port}/notify")
    start_gateway("slow", COMMENTS_PATH="/delay/5000", UPSTREAM_TIMEOUT="0.3")


def tearDownModule():
    for p in PROCS:
        p.terminate()
    for p in PROCS:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    support.stop()


def call(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {},
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class TestGateway(unittest.TestCase):
    def test_aggregate_and_background_notification(self):
        status, body = call(GW["main"] + "/users/7/overview")
        self.assertEqual(status, 200)
        self.assertEqual(body["user"]["id"], 7)
        self.assertIsInstance(body["posts"], list)
        self.assertIsInstance(body["comments"], list)
        # The background POST reached flurry listen, signature verified.
        events = []
        for _ in range(400):  # bounded: 20 s
            if os.path.exists(LISTEN_OUT):
                with open(LISTEN_OUT) as f:
                    events = [json.loads(line) for line in f if line.strip()]
            if events:
                break
            time.sleep(0.05)
        self.assertTrue(any('"uid":7' in json.dumps(e, separators=(",", ":")) for e in events),
                        events)

    def test_upstream_failure_is_502(self):
        status, body = call(GW["main"] + "/users/0/overview")  # the mock: 404
        self.assertEqual(status, 502)
        self.assertEqual(body["error"], "upstream_failed")
        self.assertEqual(body["upstream"], "user")

    def test_upstream_timeout_is_504(self):
        status, body = call(GW["slow"] + "/users/3/overview")
        self.assertEqual(status, 504)
        self.assertEqual(body["error"], "upstream_timeout")
        self.assertEqual(body["upstream"], "comments")
        self.assertIn("did not answer within 0.3 s", body["message"])

    def test_webhook_endpoint(self):
        payload = b'{"zen":"Keep it logically awesome."}'
        h = flurry.webhooks.sign("github", SECRET, payload)
        h.update({"X-GitHub-Event": "ping", "Content-Type": "application/json"})
        status, body = call(GW["main"] + "/webhooks/github", payload, h)
        self.assertEqual((status, body["accepted"]), (202, "ping"))
        status, body = call(GW["main"] + "/webhooks/github", payload + b" ", h)
        self.assertEqual((status, body["error"]), (401, "mismatch"))
        status, body = call(GW["main"] + "/webhooks/github", payload,
                            {"Content-Type": "application/json"})
        self.assertEqual((status, body["error"]), (401, "missing"))


if __name__ == "__main__":
    unittest.main()
