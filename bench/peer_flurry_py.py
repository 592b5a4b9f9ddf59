#!/usr/bin/python3
"""Benchmark peer: the flurry Python package (python/), AsyncClient.map on
asyncio (--uvloop: on uvloop; --sync: flurry.Client.map, no asyncio).

URLs are read lazily and go through map() with a bounded window (twice
the concurrency), so memory stays flat as N grows (W3). Every body is
parsed with Response.json() and written as one JSON line in flurry's
shape, as the other peers do. PYTHONPATH must reach the built package
(bench/run.sh sets it to <build>/python).

Usage: peer_flurry_py.py -c N -o OUT.jsonl [--uvloop | --sync] URLS.txt
Exit 0 if every request returned 200, 1 otherwise; bounded by
--total-timeout.
"""
import argparse
import json
import sys

import flurry


def arg_parser():
    p = argparse.ArgumentParser()
    p.add_argument("-c", "--concurrency", type=int, default=64)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--uvloop", action="store_true")
    p.add_argument("--sync", action="store_true")
    p.add_argument("--connect-timeout", type=float, default=10.0)
    p.add_argument("--request-timeout", type=float, default=30.0)
    p.add_argument("--total-timeout", type=float, default=900.0)
    p.add_argument("urls")
    return p


def record(i, r, dumps):
    if isinstance(r, flurry.Error):
        return 1, dumps({"id": i, "url": r.url, "error": {"kind": r.kind, "message": r.message}})
    rec = {"id": i, "url": r.url, "status": r.status, "attempts": r.attempts,
           "elapsed_ms": round(r.elapsed * 1000, 3), "body": r.json()}
    return (r.status != 200), dumps(rec)


def options(a):
    return dict(concurrency=a.concurrency, timeout=a.request_timeout,
                connect_timeout=a.connect_timeout)


def run_sync(a):
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    failed = 0
    with open(a.urls, encoding="utf-8") as src, open(a.output, "w", encoding="utf-8") as out, \
            flurry.Client(**options(a)) as c:
        urls = (line.strip() for line in src if line.strip())
        for i, r in enumerate(c.map(urls)):
            bad, line = record(i, r, dumps)
            failed += bad
            out.write(line + "\n")
    return 1 if failed else 0


async def run_async(a):
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    failed = 0
    with open(a.urls, encoding="utf-8") as src, open(a.output, "w", encoding="utf-8") as out:
        async with flurry.AsyncClient(**options(a)) as c:
            urls = (line.strip() for line in src if line.strip())
            i = 0
            async for r in c.map(urls):
                bad, line = record(i, r, dumps)
                failed += bad
                out.write(line + "\n")
                i += 1
    return 1 if failed else 0


def main():
    a = arg_parser().parse_args()
    if a.sync:
        return run_sync(a)  # asyncio is not even imported: a sync user does without
    import asyncio
    if a.uvloop:
        import uvloop
        uvloop.install()
    try:
        return asyncio.run(asyncio.wait_for(run_async(a), a.total_timeout))
    except asyncio.TimeoutError:
        print(f"{sys.argv[0]}: total timeout", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
