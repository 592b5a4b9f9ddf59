#!/usr/bin/python3
"""Benchmark peer: libcurl's multi interface from Python (pycurl CurlMulti).

The pattern of pycurl's own examples/retriever-multi.py: a pool of N Curl
handles set up once (connect and total timeouts, no signals), a free list,
URLs added as handles free up, `perform()` then `info_read()`, and
`select()` to wait. Two fixes to the example's loop, or W2 would take 70%
longer: freed handles start their next URL before the loop waits, and the
wait is bounded by libcurl's `timeout()` rather than a fixed second. URLs
are read as handles free up, so memory stays flat as N grows (W3). Every
body is decoded with json.loads and written as one JSON line in flurry's
shape. The same libcurl (7.88) as flurry and curl, but
Debian's python3-pycurl links its GnuTLS build (no TLS in the benchmark).

Usage: peer_pycurl.py -c N -o OUT.jsonl URLS.txt
Bounded: at most --max URLs are read, each request has a --request-timeout
(and a --connect-timeout), the whole run a --total-timeout. Exit 0 if every
request returned 200, 1 otherwise.
"""
import argparse
import io
import json
import sys
import time

import pycurl


def arg_parser():
    p = argparse.ArgumentParser()
    p.add_argument("-c", "--concurrency", type=int, default=64)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--max", type=int, default=1_000_000)
    p.add_argument("--connect-timeout", type=float, default=10.0)
    p.add_argument("--request-timeout", type=float, default=30.0)
    p.add_argument("--total-timeout", type=float, default=900.0)
    p.add_argument("urls")
    return p


def new_handle(a):
    c = pycurl.Curl()
    c.setopt(pycurl.NOSIGNAL, 1)
    c.setopt(pycurl.CONNECTTIMEOUT_MS, int(a.connect_timeout * 1000))
    c.setopt(pycurl.TIMEOUT_MS, int(a.request_timeout * 1000))
    c.buf = io.BytesIO()
    c.setopt(pycurl.WRITEFUNCTION, c.buf.write)
    return c


def run(a):
    src = open(a.urls, encoding="utf-8")  # read as handles free up: memory stays flat
    urls = (line.strip() for line in src if line.strip())
    m = pycurl.CurlMulti()
    free = [new_handle(a) for _ in range(a.concurrency)]
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    deadline = time.monotonic() + a.total_timeout
    failed = 0
    started = 0
    running = 0
    more = True
    with src, open(a.output, "w", encoding="utf-8") as out:

        def finish(c, error=None):
            nonlocal failed
            status = c.getinfo(pycurl.RESPONSE_CODE)
            rec = {"id": c.i, "url": c.url, "attempts": 1,
                   "elapsed_ms": round(c.getinfo(pycurl.TOTAL_TIME) * 1000, 3)}
            if error is None:
                rec["status"] = status
                try:
                    rec["body"] = json.loads(c.buf.getvalue())
                except ValueError as e:
                    error = str(e)
            if error is not None or status != 200:
                failed += 1
            if error is not None:
                rec["error"] = {"kind": "curl", "message": error}
            out.write(dumps(rec) + "\n")
            m.remove_handle(c)
            free.append(c)

        while more or running:
            if time.monotonic() > deadline:
                print(f"{sys.argv[0]}: total timeout", file=sys.stderr)
                return 1
            while free and more:
                url = next(urls, None) if started < a.max else None
                if url is None:
                    more = False
                    break
                c = free.pop()
                c.i, c.url = started, url
                c.buf.seek(0)
                c.buf.truncate()
                c.setopt(pycurl.URL, url)
                m.add_handle(c)
                started += 1
                running += 1
            while True:
                ret, _ = m.perform()
                if ret != pycurl.E_CALL_MULTI_PERFORM:
                    break
            while True:
                queued, ok, err = m.info_read()
                for c in ok:
                    finish(c)
                for c, _, msg in err:
                    finish(c, msg)
                running -= len(ok) + len(err)
                if queued == 0:
                    break
            if free and more:
                continue  # handles came free: start their next URLs before waiting
            if running:  # libcurl's own timeout bounds the wait
                t = m.timeout()
                m.select(t / 1000 if 0 <= t < 1000 else 1.0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(arg_parser().parse_args()))
