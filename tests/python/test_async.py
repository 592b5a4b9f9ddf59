"""flurry.AsyncClient against flurry mock: requests, responses, errors of
each kind, gather, map, cancellation, the loop never blocked."""

import asyncio
import contextlib
import json
import os
import unittest

import flurry
import support


def setUpModule():
    support.start()


def tearDownModule():
    support.stop()


class AsyncBase(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.base = support.MOCK.base
        self.c = flurry.AsyncClient(base_url=self.base, concurrency=16, timeout=10)
        await self.c.__aenter__()

    async def asyncTearDown(self):
        await self.c.aclose()


class TestRequests(AsyncBase):
    async def test_get_response_fields(self):
        r = await self.c.get("/json")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.reason, "OK")
        self.assertEqual(r.headers["CONTENT-TYPE"], r.headers["content-type"])
        self.assertIn("application/json", r.headers["Content-Type"])
        self.assertIn("slideshow", r.json())
        self.assertEqual(r.text, r.content.decode())
        self.assertEqual(r.url, self.base + "/json")
        self.assertEqual(r.attempts, 1)
        self.assertGreater(r.elapsed, 0)
        self.assertEqual(set(r.timings), {"dns", "connect", "tls", "first_byte", "total",
                                          "elapsed"})
        self.assertIs(r.raise_for_status(), r)
        self.assertIsNone(r.error)

    async def test_methods_bodies_headers_params(self):
        r = await self.c.post("/echo", json={"a": [1, 2]}, headers={"X-Test": "yes"},
                              params={"q": "a b"})
        echo = r.json()
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body"], {"a": [1, 2]})
        lower = {k.lower(): v for k, v in echo["headers"].items()}
        self.assertEqual(lower["x-test"], "yes")
        self.assertEqual(lower["content-type"], "application/json")
        self.assertIn("q=a+b", r.url)
        for method in ("put", "patch", "delete"):
            r = await getattr(self.c, method)("/echo", content=b"raw")
            self.assertEqual(r.json()["method"], method.upper())
        r = await self.c.request("POST", "/echo", data={"k": "v"})
        self.assertEqual(r.json()["body"], "k=v")

    async def test_client_headers_and_redirect(self):
        async with flurry.AsyncClient(base_url=self.base, headers={"X-Default": "d"}) as c:
            r = await c.get("/redirect/2")
            self.assertEqual(r.status, 200)
            self.assertTrue(r.url.endswith("/json"))
            r = await c.get("/headers")
            self.assertIn("d", r.text)

    async def test_http_status_is_a_response(self):
        r = await self.c.get("/status/404")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.kind, "http")
        with self.assertRaises(flurry.HTTPStatusError) as cm:
            r.raise_for_status()
        self.assertEqual(cm.exception.status, 404)
        self.assertIs(cm.exception.response, r)

    async def test_retries_count_attempts(self):
        async with flurry.AsyncClient(base_url=self.base, retries=2, retry_base=0.001) as c:
            r = await c.get("/status/503")
            self.assertEqual(r.status, 503)
            self.assertEqual(r.attempts, 3)


class TestErrors(AsyncBase):
    async def test_connect_error(self):
        with self.assertRaises(flurry.ConnectError) as cm:
            await self.c.get("http://127.0.0.1:1/")
        e = cm.exception
        self.assertEqual(e.kind, "connect")
        self.assertEqual(e.status, 0)
        self.assertIsNone(e.response)
        self.assertIsInstance(e, flurry.Error)

    async def test_timeout_is_builtin_timeout(self):
        with self.assertRaises(TimeoutError) as cm:
            await self.c.get("/delay/5000", timeout=0.2)
        self.assertIsInstance(cm.exception, flurry.TimeoutError)
        self.assertEqual(cm.exception.detail, "total_timeout")

    async def test_too_large(self):
        with self.assertRaises(flurry.TooLargeError):
            await self.c.get("/bytes/100000", max_size=1000)

    async def test_reset_and_protocol(self):
        with self.assertRaises(flurry.Error) as cm:
            await self.c.get("/reset")
        self.assertIn(cm.exception.kind, ("reset", "protocol"))
        with self.assertRaises(flurry.ProtocolError) as cm:
            await self.c.get("/redirect/5", max_redirects=1)
        self.assertEqual(cm.exception.detail, "too_many_redirects")

    async def test_dns(self):
        with self.assertRaises(flurry.DNSError):
            await self.c.get("http://no-such-host.invalid/", connect_timeout=2)

    async def test_invalid_url(self):
        with self.assertRaisesRegex(flurry.InvalidRequestError, "not an absolute http"):
            await self.c.get("ftp://127.0.0.1/")
        with self.assertRaises(ValueError):  # InvalidRequestError is one
            await self.c.get("http://127.0.0.1/a b")
        with self.assertRaisesRegex(flurry.InvalidRequestError, "invalid header"):
            await self.c.get("http://127.0.0.1/", headers={"Bad Name": "x"})


class TestBadArguments(unittest.IsolatedAsyncioTestCase):
    def test_options(self):
        with self.assertRaisesRegex(TypeError, "unexpected keyword argument 'bogus'"):
            flurry.AsyncClient(bogus=1)
        with self.assertRaisesRegex(ValueError, "concurrency must be between 1 and"):
            flurry.AsyncClient(concurrency=0)
        with self.assertRaisesRegex(TypeError, "concurrency must be an int"):
            flurry.AsyncClient(concurrency="many")
        with self.assertRaisesRegex(ValueError, "rate must look like"):
            flurry.AsyncClient(rate="fast")
        with self.assertRaisesRegex(TypeError, "timeout must be a number of seconds"):
            flurry.AsyncClient(timeout="1")
        with self.assertRaisesRegex(ValueError, "base_url"):
            flurry.AsyncClient(base_url="not a url")
        with self.assertRaisesRegex(TypeError, "headers must be"):
            flurry.AsyncClient(headers="X: y")
        with self.assertRaisesRegex(ValueError, "invalid header"):
            flurry.AsyncClient(headers={"X": "a\r\nb"})

    def test_option_table_drives_keywords(self):
        names = flurry.option_names()
        for key in ("max_in_flight", "timeout_ms", "timeout", "rate", "host_rate", "retries",
                    "breaker_cooldown", "secret_name_heuristic", "max_pages"):
            self.assertIn(key, names)
        flurry.AsyncClient(rate="3000/min", host_rate=5, breaker_cooldown=1, verify=False,
                           http_version="1.1", retry_jitter="decorrelated",
                           secret_headers=["X-Api-Key"])

    def test_help_shows_docstrings(self):
        import pydoc
        text = pydoc.render_doc(flurry.AsyncClient, renderer=pydoc.plaintext)
        for word in ("add_reader", "gather(self, requests)", "errors as values",
                     "map(self, requests", "paginate(self, url", "stream(self, url",
                     "websocket(self, url", "Cancelling the awaiting task"):
            self.assertIn(word, text)
        self.assertIn("case-insensitive", pydoc.render_doc(flurry.Response,
                                                           renderer=pydoc.plaintext))

    async def test_request_arguments(self):
        async with flurry.AsyncClient() as c:
            with self.assertRaisesRegex(ValueError, "client option"):
                await c.get("http://127.0.0.1:1/", concurrency=2)
            with self.assertRaisesRegex(ValueError, "one body only"):
                await c.post("http://127.0.0.1:1/", json={}, content=b"x")
            with self.assertRaisesRegex(TypeError, "url must be str"):
                await c.get(42, timeout=1)
            with self.assertRaisesRegex(TypeError, "expected a URL"):
                await c.gather([42])
            with self.assertRaisesRegex(ValueError, "relative one needs the client's base_url"):
                await c.get("/json")
            with self.assertRaisesRegex(ValueError, "kind must be one of"):
                async for _ in c.stream("http://127.0.0.1:1/", kind="xml"):
                    pass


class TestMany(AsyncBase):
    async def test_gather_input_order_errors_as_values(self):
        reqs = [self.c.build("GET", f"/users/{i}") for i in range(1, 21)]
        reqs += ["http://127.0.0.1:1/", "/status/500", "ftp://x/"]
        rs = await self.c.gather(reqs)
        self.assertEqual(len(rs), 23)
        for i in range(20):
            self.assertEqual(rs[i].json()["id"], i + 1)
        self.assertIsInstance(rs[20], flurry.ConnectError)
        self.assertEqual(rs[21].status, 500)
        self.assertIsInstance(rs[22], flurry.InvalidRequestError)
        self.assertEqual(await self.c.gather([]), [])

    async def test_map_completion_order_bounded(self):
        urls = [f"/delay/{ms}" for ms in (300, 0, 0, 0)]
        out = []
        async for r in self.c.map(urls, window=4):
            out.append(r.url)
        self.assertEqual(len(out), 4)
        self.assertTrue(out[-1].endswith("/delay/300"))  # the slow one comes last
        seen = []

        def gen():
            for i in range(100):
                seen.append(self.c.stats()["running"] + self.c.stats()["queued"])
                yield f"/users/{i + 1}"

        n = 0
        async for r in self.c.map(gen(), window=5):
            n += 1
        self.assertEqual(n, 100)
        self.assertLessEqual(max(seen), 5)

    async def test_map_break_cancels_rest(self):
        gen = self.c.map(["/json"] + ["/delay/20000"] * 3, window=4)
        async with contextlib.aclosing(gen):
            async for r in gen:
                break
        st = self.c.stats()
        self.assertEqual(st["running"] + st["queued"], 0)


    async def test_map_runs_the_engine_itself(self):
        # The consumer runs the engine when it waits: its submissions start
        # without a loop callback (no kick). Without that, this map stalls.
        self.c._kick = lambda: None
        out = []

        async def consume():
            async for r in self.c.map([f"/users/{i}" for i in range(1, 41)], window=8):
                out.append(r.json()["id"])

        await asyncio.wait_for(consume(), 30)  # a safety bound, not a verdict
        self.assertEqual(sorted(out), list(range(1, 41)))
        self.assertEqual(self.c._engine.pending(), 0)

    async def test_map_results_buffered_across_turns(self):
        # The body awaits other work on the same client (and yields to the
        # loop) while results keep arriving: each comes exactly once, the
        # window holds, and nothing is left in the engine.
        seen = []
        ids = []
        async for r in self.c.map([f"/users/{i}" for i in range(1, 61)], window=6):
            ids.append(r.json()["id"])
            seen.append(self.c.stats()["running"] + self.c.stats()["queued"])
            if len(ids) % 3 == 0:
                self.assertEqual((await self.c.get("/json")).status, 200)
            await asyncio.sleep(0)
        self.assertEqual(sorted(ids), list(range(1, 61)))
        self.assertLessEqual(max(seen), 6)
        self.assertEqual(self.c._engine.pending(), 0)

    async def test_map_break_leaks_nothing(self):
        gen = self.c.map(["/json"] + ["/delay/20000"] * 7, window=8)
        async with contextlib.aclosing(gen):
            async for r in gen:
                self.assertEqual(r.status, 200)
                break
        # Every response went back from the engine: the cancelled ones too.
        for _ in range(100):  # bounded: a few loop turns at most
            if self.c._engine.pending() == 0:
                break
            await asyncio.sleep(0.01)
        self.assertEqual(self.c._engine.pending(), 0)
        st = self.c.stats()
        self.assertEqual(st["running"] + st["queued"], 0)


class TestCancellation(AsyncBase):
    async def test_task_cancel_cancels_in_engine(self):
        task = asyncio.ensure_future(self.c.get("/delay/20000"))
        for _ in range(1000):  # bounded: until the request is on the wire
            await asyncio.sleep(0.005)
            if self.c.stats()["running"] == 1:
                break
        self.assertEqual(self.c.stats()["running"], 1)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        self.assertEqual(self.c.stats()["running"], 0)

    async def test_wait_for_timeout_cancels(self):
        with self.assertRaises(asyncio.TimeoutError):
            await asyncio.wait_for(self.c.get("/delay/20000"), 0.1)
        st = self.c.stats()
        self.assertEqual(st["running"] + st["queued"], 0)

    async def test_gather_task_cancel(self):
        task = asyncio.ensure_future(self.c.gather(["/delay/20000"] * 5))
        await asyncio.sleep(0.05)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        st = self.c.stats()
        self.assertEqual(st["running"] + st["queued"], 0)

    async def test_leaving_async_with_cancels_in_flight(self):
        async with flurry.AsyncClient(base_url=self.base) as c:
            task = asyncio.ensure_future(c.get("/delay/20000"))
            await asyncio.sleep(0.05)
        with self.assertRaises(flurry.CancelledError):
            await task
        self.assertTrue(c.closed)
        with self.assertRaisesRegex(RuntimeError, "closed"):
            await c.get("/json")


class Ticker:
    """A task counting its loop turns (ticks) inside `async with`."""

    def __init__(self):
        self.ticks = 0
        self._stop = False
        self._task = None

    async def _run(self):
        while not self._stop:
            self.ticks += 1
            await asyncio.sleep(0)

    async def __aenter__(self):
        self._task = asyncio.ensure_future(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc):
        self._stop = True
        await self._task


class TestLoopIntegration(AsyncBase):
    async def test_loop_never_blocked(self):
        async with Ticker() as tk:
            rs = await asyncio.gather(*(self.c.get(f"/delay/{i % 5}") for i in range(1000)))
        self.assertEqual(len(rs), 1000)
        self.assertTrue(all(r.status == 200 for r in rs))
        # The ticker ran between the requests' completions, many times over.
        self.assertGreater(tk.ticks, 100)

    async def test_busy_map_leaves_the_loop_to_others(self):
        # Cache hits complete inside the run that starts them: the map's
        # consumer finds results every time it runs the engine itself, and
        # must still give the loop a turn every _FAIR results or so (it
        # never did: 0 ticks).
        url = f"{self.base}/cache/py-fair?cc=max-age%3D3600"
        async with flurry.AsyncClient(cache=":memory:") as c:
            self.assertEqual((await c.get(url)).cache, "miss")
            async with Ticker() as tk:
                start = tk.ticks
                caches = [r.cache async for r in c.map([url] * 4096, window=8)]
                during = tk.ticks - start
        self.assertEqual(caches, ["hit"] * 4096)
        self.assertGreaterEqual(during, 4096 // (2 * flurry._client._FAIR))

    async def test_other_loop_is_an_error(self):
        await self.c.get("/json")  # bound to this loop
        err = []

        def other():
            async def use():
                try:
                    await self.c.get("/json")
                except RuntimeError as e:
                    err.append(str(e))
            asyncio.run(use())

        await asyncio.get_running_loop().run_in_executor(None, other)
        self.assertEqual(len(err), 1)
        self.assertIn("one client per", err[0])


class TestUvloop(unittest.TestCase):
    """The loop integration on uvloop (Debian's python3-uvloop): map (the
    consumer running the engine itself), gather, a cancelled request and
    an early break, on one client."""

    def test_map_gather_cancel_on_uvloop(self):
        import uvloop

        async def scenario():
            async with flurry.AsyncClient(base_url=support.MOCK.base, concurrency=8) as c:
                ids = [r.json()["id"] async for r in c.map(
                    [f"/users/{i}" for i in range(1, 51)], window=8)]
                rs = await c.gather(["/json", "http://127.0.0.1:1/"])
                task = asyncio.ensure_future(c.get("/delay/20000"))
                await asyncio.sleep(0.05)
                task.cancel()
                cancelled = False
                try:
                    await task
                except asyncio.CancelledError:
                    cancelled = True
                gen = c.map(["/json"] + ["/delay/20000"] * 3, window=4)
                async with contextlib.aclosing(gen):
                    async for _ in gen:
                        break
                for _ in range(100):  # bounded: a few loop turns at most
                    if c._engine.pending() == 0:
                        break
                    await asyncio.sleep(0.01)
                return ids, rs, cancelled, c._engine.pending(), c.stats()

        loop = uvloop.new_event_loop()
        try:
            ids, rs, cancelled, pending, st = loop.run_until_complete(scenario())
        finally:
            loop.close()
        self.assertEqual(sorted(ids), list(range(1, 51)))
        self.assertEqual(rs[0].status, 200)
        self.assertIsInstance(rs[1], flurry.ConnectError)
        self.assertTrue(cancelled)
        self.assertEqual(pending, 0)
        self.assertEqual(st["running"] + st["queued"], 0)


class TestStreams(AsyncBase):
    async def test_ndjson_lines_sse(self):
        vals = [v async for v in self.c.stream("/ndjson?n=20", kind="ndjson")]
        self.assertEqual(len(vals), 20)
        lines = []
        async for line in self.c.stream("/lines?n=1000000", kind="lines"):
            lines.append(line)
            if len(lines) == 50:
                break
        self.assertEqual(len(lines), 50)
        events = [e async for e in self.c.stream("/sse?n=5", kind="sse")]
        self.assertEqual(len(events), 5)
        self.assertIsInstance(events[0], flurry.Event)
        self.assertEqual(events[0].event, "tick")

    async def test_until_sentinel_ends_a_post_stream(self):
        """POST /chat answers an SSE body ending in data: [DONE]. With
        until="[DONE]" the sentinel is not a record and ends the stream;
        the mock's per-key call counter shows one POST per stream (the
        next call is number 2, none repeated)."""
        key = f"py-until-{os.getpid()}"
        evs = [e async for e in self.c.stream(f"/chat?key={key}", kind="sse", method="POST",
                                              json={"prompt": "hi"}, until="[DONE]")]
        self.assertEqual([json.loads(e.data)["delta"] for e in evs], ["Hel", "lo"])
        self.assertEqual(json.loads(evs[0].data)["call"], 1)
        evs = [e.data async for e in self.c.stream(f"/chat?key={key}", kind="sse",
                                                   method="POST", json={})]
        self.assertEqual(evs[-1], "[DONE]")  # without until: a record like the others
        self.assertEqual(json.loads(evs[0])["call"], 2)
        # lines: the sentinel stops a million-line body at once
        lines = [x async for x in self.c.stream("/lines?n=1000000", until="line 5")]
        self.assertEqual(lines, ["line 1", "line 2", "line 3", "line 4"])
        for bad in ("", 5):
            with self.assertRaisesRegex(ValueError, "until must be"):
                async for _ in self.c.stream("/lines", until=bad):
                    pass

    async def test_reconnect_policy(self):
        """/sse cut after every 2 events (retry: 0): "never" ends with the
        error after 2 events; "on-error" resumes with Last-Event-ID and
        gets all 5, then takes the clean end as the end."""
        url = "/sse?n=5&cut_every=2&retry=0"
        got = []
        with self.assertRaises(flurry.Error):
            async for e in self.c.stream(url, kind="sse", reconnect="never"):
                got.append(e.id)
        self.assertEqual(got, ["1", "2"])
        got = [e.id async for e in self.c.stream(url, kind="sse", reconnect="on-error")]
        self.assertEqual(got, ["1", "2", "3", "4", "5"])
        got = [e.id async for e in self.c.stream(url, kind="sse", reconnect="always")]
        self.assertEqual(got, ["1", "2", "3", "4", "5"])  # then 204: no more
        with self.assertRaisesRegex(ValueError, "reconnect must be one of"):
            async for _ in self.c.stream(url, kind="sse", reconnect="sometimes"):
                pass

    async def test_slow_consumer_pauses_the_transfer(self):
        """1,000,000 lines; the consumer stops after 10 while the loop turns
        3,000 times: the records waiting stay near `buffer` (one read more
        at most), where without back-pressure they pile up by the
        hundred thousand. Then the rest arrives: nothing lost."""
        import sys
        gen = self.c.stream("/lines?n=1000000", kind="lines", buffer=100)
        n = 0
        async with contextlib.aclosing(gen):
            async for _ in gen:
                n += 1
                if n == 10:
                    before = sys.getallocatedblocks()
                    for _ in range(3000):
                        await asyncio.sleep(0)
                    grown = sys.getallocatedblocks() - before
                    self.assertLess(grown, 20000)
        self.assertEqual(n, 1000000)


class TestPaginateWebSocket(AsyncBase):
    async def test_paginate_items(self):
        ids = [it["id"] async for it in self.c.paginate("/items?per_page=50&total=230",
                                                          items=".[]")]
        self.assertEqual(sorted(ids), list(range(1, 231)))
        pages = [p async for p in self.c.paginate("/items?per_page=50&total=230")]
        self.assertEqual(len(pages), 5)
        self.assertTrue(all(p.status == 200 for p in pages))
        with self.assertRaisesRegex(ValueError, "unsupported jq path"):
            async for _ in self.c.paginate("/items", items=".items | map(.id)"):
                pass

    async def test_paginate_limit_and_failure(self):
        ids = [it["id"] async for it in self.c.paginate("/items?per_page=10&total=100",
                                                          items=".[]", max_pages=2)]
        self.assertEqual(len(ids), 20)
        with self.assertRaises(flurry.HTTPStatusError):
            async for _ in self.c.paginate("/status/500"):
                pass

    async def test_websocket_echo(self):
        url = self.base.replace("http://", "ws://") + "/ws/echo"
        async with self.c.websocket(url) as ws:
            await ws.send("hi")
            self.assertEqual(await ws.recv(), "hi")
            await ws.send(b"\x00\x01")
            self.assertEqual(await ws.recv(), b"\x00\x01")
        self.assertEqual(ws.close_status[0], "ok")
        with self.assertRaises(flurry.ConnectError):
            async with self.c.websocket("ws://127.0.0.1:1/ws/echo"):
                pass


if __name__ == "__main__":
    unittest.main()
