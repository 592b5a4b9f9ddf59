#!/usr/bin/env python3
"""Another origin for test_redirect_modes.sh: logs every request it gets.

Usage: origin_b.py PORT_FILE LOG_FILE A_URL
Writes its port to PORT_FILE, then one JSON line per request to LOG_FILE:
{"method", "path", "headers": {lower-case name: value}}. Answers by path:
  /sse...      an event stream of one event, then closes
  /ndjson...   one JSON line (also /lines)
  /page1       a JSON page whose Link rel="next" is A_URL's redirect to /page2
  /ws...       426 (it speaks no WebSocket; a client must not reach it anyway)
  /untyped     "hello world" with no Content-Type
  anything else  {"b": true}
A CONNECT (as to a proxy) is logged too, and refused with 403.
Stops by itself after 120 s.
"""
import http.server
import json
import os
import sys
import threading
import urllib.parse

port_file, log_file, a_url = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()


class B(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()}}
        with lock, open(log_file, "a") as f:
            f.write(json.dumps(entry) + "\n")
        path = self.path.split("?")[0]
        extra = {}
        status = 200
        if path.startswith("/sse"):
            body, ctype = b'data: {"b":1}\n\n', "text/event-stream"
        elif path.startswith("/ndjson") or path.startswith("/lines"):
            body, ctype = b'{"b":1}\n', "application/x-ndjson"
        elif path == "/page1":
            nxt = a_url + "/redirect-to?url=" + urllib.parse.quote(
                "http://127.0.0.1:%d/page2" % self.server.server_address[1], safe="")
            extra["Link"] = '<%s>; rel="next"' % nxt
            body, ctype = b'[{"id":1}]', "application/json"
        elif path.startswith("/ws"):
            status, body, ctype = 426, b"{}", "application/json"
        elif path == "/untyped":
            body, ctype = b"hello world", None
        else:
            body, ctype = b'[{"b":true}]', "application/json"
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_CONNECT(self):
        """As a proxy asked for a tunnel: logged, then refused (403)."""
        entry = {"method": "CONNECT", "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()}}
        with lock, open(log_file, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    do_GET = do_POST = do_HEAD = answer


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), B)
with open(port_file + ".tmp", "w") as f:  # renamed: the file appears whole
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
threading.Timer(120, server.shutdown).start()
server.serve_forever()
