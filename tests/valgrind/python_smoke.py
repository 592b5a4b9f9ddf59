"""The Python package's extension under valgrind memcheck (make
test-valgrind): each feature once against `flurry mock` (gather with
errors, map, a cancelled task, a stream left early under back-pressure,
pages, a WebSocket, closing with a request in flight, webhooks, the sync
Client). tests/valgrind/run.sh runs it with PYTHONMALLOC=malloc and fails
on any memcheck error or definitely-lost byte; an assertion failing here
fails it too."""

import asyncio
import contextlib

import flurry
import support


async def features(base):
    async with flurry.AsyncClient(base_url=base, concurrency=16) as c:
        rs = await c.gather(["/json"] * 300 + ["http://127.0.0.1:1/"] * 5)
        assert sum(isinstance(r, flurry.ConnectError) for r in rs) == 5
        n = 0
        async for r in c.map(["/users/1"] * 200):
            n += r.json()["id"] + len(r.headers)
        assert n > 200
        t = asyncio.ensure_future(c.get("/delay/20000"))
        await asyncio.sleep(0.2)
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t
        gen = c.stream("/lines?n=100000", buffer=50)
        n = 0
        async with contextlib.aclosing(gen):
            async for _ in gen:
                n += 1
                if n == 2000:
                    break
        pages = [p async for p in c.paginate("/items?per_page=50&total=200")]
        assert len(pages) == 4
        async with c.websocket(base.replace("http", "ws") + "/ws/echo") as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
        pending = asyncio.ensure_future(c.get("/delay/20000"))
        await asyncio.sleep(0.1)
    try:
        await pending
        raise AssertionError("not cancelled by closing")
    except flurry.CancelledError:
        pass


def main():
    base = support.start().base
    try:
        asyncio.run(features(base))
        h = flurry.webhooks.sign("github", "s", b"b")
        assert flurry.webhooks.check("github", "s", h, b"b") == "ok"
        with flurry.Client(base_url=base) as c:
            assert all(r.status == 200 for r in c.gather(["/json"] * 100))
    finally:
        support.stop()
    print("ok")


if __name__ == "__main__":
    main()
