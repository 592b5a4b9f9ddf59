#!/usr/bin/env python3
"""An origin for test_resilience.sh's host pause: says when it answered 503.

Usage: pause_origin.py PORT_FILE LOG_FILE
Writes its port to PORT_FILE. /first answers 503 with Retry-After: 2 the
first time, 200 after; anything else answers 200 {}. Appends one line per
answer to LOG_FILE once the answer is sent: "STATUS PATH MS", MS the
monotonic time in milliseconds (the 503's line is what a test waits for
before sending more). Stops by itself after 120 s.
"""
import http.server
import os
import sys
import threading
import time

port_file, log_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()
first_seen = [False]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        status, extra = 200, {}
        with lock:
            if path == "/first" and not first_seen[0]:
                first_seen[0] = True
                status, extra = 503, {"Retry-After": "2"}
        body = b"{}"
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        with lock, open(log_file, "a") as f:
            f.write("%d %s %d\n" % (status, self.path, time.monotonic() * 1000))


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, port_file)
threading.Timer(120, srv.shutdown).start()
srv.serve_forever()
