#!/usr/bin/python3
"""Benchmark peer for W4: aiohttp under its own rate limiter.

peer_aiohttp.py's idiomatic fan-out (one ClientSession with
TCPConnector(limit=N), an asyncio.Semaphore(N), one JSON line per request)
plus one of the two home-made limiters the asyncio tutorials teach:

  --limiter bucket : an asyncio token bucket (rate tokens a second, holding
                     at most --burst, default 1: evenly spaced), awaited by
                     each coroutine before its request (the default);
  --limiter sleep  : "await asyncio.sleep(1 / rate) between launches", one
                     task created per URL.

No retries: a 429 is written as a result (status 429) like any other. Exit 0
if every request returned 200, 1 otherwise.

Usage: peer_aiohttp_rate.py --rate R [--limiter bucket|sleep] -c N -o OUT URLS.txt
(and peer_aiohttp.py's bounds: --max, --request-timeout, --total-timeout).
"""
import asyncio
import sys
import time

import peer_aiohttp


class TokenBucket:
    """The tutorials' asyncio token bucket: `rate` tokens a second, at most
    `capacity` saved up; acquire() sleeps until a token is there."""

    def __init__(self, rate, capacity):
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def acquire(self):
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def main():
    p = peer_aiohttp.arg_parser()
    p.add_argument("--rate", type=float, required=True, help="requests per second")
    p.add_argument("--burst", type=float, default=1.0)
    p.add_argument("--limiter", choices=("bucket", "sleep"), default="bucket")
    a = p.parse_args()
    if not 0 < a.rate <= 1e6 or a.burst < 1:
        p.error("--rate must be in (0, 1e6] and --burst >= 1")
    if a.limiter == "sleep":
        return peer_aiohttp.main(a, pace=lambda: asyncio.sleep(1 / a.rate))
    return peer_aiohttp.main(a, acquire=TokenBucket(a.rate, a.burst).acquire)


if __name__ == "__main__":
    sys.exit(main())
