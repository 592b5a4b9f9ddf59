#!/usr/bin/python3
"""Benchmark peer: the idiomatic aiohttp fan-out.

One ClientSession with TCPConnector(limit=N), an asyncio.Semaphore(N), one
coroutine per URL, asyncio.gather, `await resp.json()`, one JSON line per
request written to OUT (same shape as flurry's output).

Usage: peer_aiohttp.py [--uvloop] -c N -o OUT.jsonl URLS.txt
--uvloop runs the same code on uvloop's event loop (libuv, like flurry)
instead of asyncio's default one. Bounded: at most --max URLs are read, each request has a --request-timeout
and the whole run a --total-timeout. Exit 0 if every request returned 200,
1 otherwise. peer_aiohttp_rate.py (W4) is this with a rate limiter hooked in.
"""
import argparse
import asyncio
import json
import sys
import time

import aiohttp


def arg_parser():
    p = argparse.ArgumentParser()
    p.add_argument("-c", "--concurrency", type=int, default=64)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--max", type=int, default=1_000_000)
    p.add_argument("--request-timeout", type=float, default=30.0)
    p.add_argument("--total-timeout", type=float, default=900.0)
    p.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    p.add_argument("urls")
    return p


async def run(a, acquire=None, pace=None):
    """acquire: awaited inside the semaphore before each request (a limiter);
    pace: awaited between task launches, then created one by one (else all
    coroutines go to one gather at once)."""
    with open(a.urls, encoding="utf-8") as f:
        urls = [line.strip() for line in f if line.strip()][: a.max]
    sem = asyncio.Semaphore(a.concurrency)
    connector = aiohttp.TCPConnector(limit=a.concurrency)
    timeout = aiohttp.ClientTimeout(total=a.request_timeout)
    failed = 0
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    with open(a.output, "w", encoding="utf-8") as out:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def one(i, url):
                nonlocal failed
                async with sem:
                    if acquire is not None:
                        await acquire()
                    t0 = time.monotonic()
                    try:
                        async with session.get(url) as resp:
                            body = await resp.json()
                            rec = {"id": i, "url": url, "status": resp.status,
                                   "attempts": 1,
                                   "elapsed_ms": round((time.monotonic() - t0) * 1000, 3),
                                   "body": body}
                            if resp.status != 200:
                                failed += 1
                    except Exception as e:  # a failure is a result, not a crash
                        failed += 1
                        rec = {"id": i, "url": url, "attempts": 1,
                               "error": {"kind": type(e).__name__, "message": str(e)}}
                    out.write(dumps(rec) + "\n")

            async def launch_paced():
                tasks = []
                for i, u in enumerate(urls):
                    if i > 0:
                        await pace()
                    tasks.append(asyncio.create_task(one(i, u)))
                await asyncio.gather(*tasks)

            everything = (launch_paced() if pace is not None else
                          asyncio.gather(*(one(i, u) for i, u in enumerate(urls))))
            await asyncio.wait_for(everything, a.total_timeout)
    return 1 if failed else 0


def main(a=None, **hooks):
    a = a or arg_parser().parse_args()
    if getattr(a, "uvloop", False):
        import uvloop  # Debian's python3-uvloop
        uvloop.install()
    try:
        return asyncio.run(run(a, **hooks))
    except asyncio.TimeoutError:
        print(f"{sys.argv[0]}: total timeout", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
