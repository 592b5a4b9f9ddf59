#!/usr/bin/python3
"""Benchmark peer: the idiomatic httpx fan-out.

One httpx.AsyncClient with limits=httpx.Limits(max_connections=N,
max_keepalive_connections=N) (the default keep-alive pool of 20 would make
connections churn at N > 20), an asyncio.Semaphore(N), one coroutine per URL,
asyncio.gather, `resp.json()`, one JSON line per request written to OUT (same
shape as flurry's output).

Usage: peer_httpx.py -c N -o OUT.jsonl URLS.txt
Bounded: at most --max URLs are read, each request has a --request-timeout
and the whole run a --total-timeout. Exit 0 if every request returned 200,
1 otherwise.
"""
import argparse
import asyncio
import json
import sys
import time

import httpx


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("-c", "--concurrency", type=int, default=64)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--max", type=int, default=1_000_000)
    p.add_argument("--request-timeout", type=float, default=30.0)
    p.add_argument("--total-timeout", type=float, default=900.0)
    p.add_argument("urls")
    return p.parse_args()


async def run(a):
    with open(a.urls, encoding="utf-8") as f:
        urls = [line.strip() for line in f if line.strip()][: a.max]
    sem = asyncio.Semaphore(a.concurrency)
    limits = httpx.Limits(max_connections=a.concurrency,
                          max_keepalive_connections=a.concurrency)
    # pool timeout off: the semaphore already bounds waiting for a connection
    timeout = httpx.Timeout(a.request_timeout, pool=None)
    failed = 0
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    with open(a.output, "w", encoding="utf-8") as out:
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

            async def one(i, url):
                nonlocal failed
                async with sem:
                    t0 = time.monotonic()
                    try:
                        resp = await client.get(url)
                        body = resp.json()
                        rec = {"id": i, "url": url, "status": resp.status_code,
                               "attempts": 1,
                               "elapsed_ms": round((time.monotonic() - t0) * 1000, 3),
                               "body": body}
                        if resp.status_code != 200:
                            failed += 1
                    except Exception as e:  # a failure is a result, not a crash
                        failed += 1
                        rec = {"id": i, "url": url, "attempts": 1,
                               "error": {"kind": type(e).__name__, "message": str(e)}}
                    out.write(dumps(rec) + "\n")

            await asyncio.wait_for(
                asyncio.gather(*(one(i, u) for i, u in enumerate(urls))),
                a.total_timeout)
    return 1 if failed else 0


def main():
    a = parse_args()
    try:
        return asyncio.run(run(a))
    except asyncio.TimeoutError:
        print("peer_httpx: total timeout", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
