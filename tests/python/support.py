"""Shared by the Python tests: `flurry mock` on port 0 (the binary from
$FLURRY), started once per test module."""

import os
import subprocess
import sys
import tempfile
import time


class Mock:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.dir.name, "port")
        self.proc = subprocess.Popen([os.environ["FLURRY"], "mock", "--port", "0", "--port-file",
                                      port_file, "--quiet"], stdout=subprocess.DEVNULL)
        for _ in range(400):  # bounded: 20 s at most
            if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
                break
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.dir.cleanup()


MOCK = None


def start():
    global MOCK
    MOCK = Mock()
    return MOCK


def stop():
    if MOCK is not None:
        MOCK.stop()


def child_env():
    """The environment for a child python3 that imports this test's flurry."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
