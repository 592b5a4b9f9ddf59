"""flurry.AsyncClient and flurry.Client over the C engine (_flurry.Engine).

The AsyncClient runs on the running asyncio loop, in its own thread: the
engine's libuv backend fd is watched with ``loop.add_reader`` and its next
timer with ``loop.call_at`` (from ``uv_backend_timeout``); when either
fires, one ``uv_run(UV_RUN_NOWAIT)`` runs and both are armed again; a
map/stream/paginate consumer also runs it itself when it waits, so what
it just submitted starts at once. No helper thread, no polling. The sync
Client runs the same engine with the GIL released until a result arrives.
"""

import collections
import json as _json
from collections.abc import Mapping
from urllib.parse import urlencode

from . import _flurry
from ._errors import InvalidRequestError, from_response
from ._options import resolve
from ._path import compile_path
from ._response import Response

_ERR = {name: code for code, name, _ in _flurry.errors()}
_EHTTP = _ERR["http"]
_STREAMS = {"lines": _flurry.STREAM_LINES, "ndjson": _flurry.STREAM_NDJSON,
            "sse": _flurry.STREAM_SSE}
_RECONNECT = {"auto": _flurry.RECONNECT_AUTO, "never": _flurry.RECONNECT_NEVER,
              "on-error": _flurry.RECONNECT_ON_ERROR, "always": _flurry.RECONNECT_ALWAYS}
_END = object()
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect
# asyncio is imported by the first AsyncClient: the sync Client and
# webhooks.verify never pay for it (a third of `import flurry` otherwise).
asyncio = None
_WAIT = object()  # a step of a shared core: wait for the engine to feed the queue
_FAIR = 1024  # an async map/stream/paginate gives the loop a turn at least this often

Event = collections.namedtuple("Event", "data event id retry")
Event.__doc__ = "One Server-Sent Event: data (str), event type, last event id, retry (ms or -1)."


def _value(r):
    """gather/map: a Response, or the flurry.Error it stands for (a 4xx/5xx
    stays a Response: check r.status or call r.raise_for_status())."""
    code = r.error_code
    if code and code != _EHTTP:
        return from_response(r)
    return r


def _result(r):
    """One request's Response, or raise the flurry.Error of its failure."""
    code = r.error_code
    if code and code != _EHTTP:
        raise from_response(r)
    return r


def _verb(method, is_async):
    """client.get/post/...: request(method, url, **kw), async or not."""
    if is_async:
        async def verb(self, url, **kw):
            return await self.request(method, url, **kw)
    else:
        def verb(self, url, **kw):
            return self.request(method, url, **kw)
    verb.__name__ = method.lower()
    verb.__doc__ = (f"{method} url" + (" (json=, data= or content=)" if method == "POST" else "")
                    + ": a Response (see request()).")
    return verb


def _pairs(headers):
    if headers is None:
        return None
    if isinstance(headers, Mapping):
        items = headers.items()
    elif isinstance(headers, (str, bytes)):
        raise TypeError("headers must be a mapping or a sequence of (name, value) pairs")
    else:
        items = headers
    out = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError("headers must be a mapping or a sequence of (name, value) pairs") from None
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header names and values must be str (got {name!r}: {value!r})")
        out.append((name, value))
    return out


class Request:
    """A request built with client.build(), to pass to gather() or map()."""

    __slots__ = ("method", "url", "headers", "body", "is_json", "opts")

    def __init__(self, method, url, headers=None, body=None, is_json=False, opts=None):
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.is_json = is_json
        self.opts = opts

    def __repr__(self):
        return f"<Request {self.method} {self.url}>"


def build(method, url, *, params=None, headers=None, json=None, data=None, content=None, **options):
    """A Request: method, url (absolute, or relative to the client's base_url),
    params (query: mapping or pairs), headers, one body of json (any JSON
    value), data (a mapping: form-encoded; or bytes/str) or content
    (bytes/str); other keywords override client options for this request
    (timeout=, retries=, deadline=, max_size=...)."""
    if not isinstance(method, str):
        raise TypeError(f"method must be str, not {type(method).__name__}")
    if not isinstance(url, str):
        raise TypeError(f"url must be str, not {type(url).__name__}")
    if params:
        if isinstance(params, (str, bytes)):
            raise TypeError("params must be a mapping or a sequence of (name, value) pairs")
        url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
    hdrs = _pairs(headers)
    body = None
    is_json = False
    given = [k for k, v in (("json", json), ("data", data), ("content", content)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give one body only (got {', '.join(given)})")
    if json is not None:
        body = _json.dumps(json, separators=(",", ":")).encode()
        is_json = True
    elif data is not None:
        if isinstance(data, Mapping):
            body = urlencode(data, doseq=True).encode()
            if not any(n.lower() == "content-type" for n, _ in hdrs or ()):
                hdrs = (hdrs or []) + [("Content-Type", "application/x-www-form-urlencoded")]
        else:
            content = data
    if content is not None:
        if isinstance(content, str):
            body = content.encode()
        elif isinstance(content, (bytes, bytearray, memoryview)):
            body = bytes(content)
        else:
            raise TypeError(f"content must be bytes or str, not {type(content).__name__}")
    opts = resolve(options, per_request=True) if options else None
    return Request(method.upper(), url, hdrs, body, is_json, opts)


class _Batch:
    """gather's token: counts results down, then wakes the waiter."""

    __slots__ = ("left", "fut")

    def __init__(self, left, fut=None):
        self.left = left
        self.fut = fut

    def _feed(self, r):
        self.left -= 1
        if self.left == 0 and self.fut is not None and not self.fut.done():
            self.fut.set_result(None)


class _Queue:
    """map's and stream's token: results (or streams with records) in arrival order."""

    __slots__ = ("items", "waiter")

    def __init__(self):
        self.items = collections.deque()
        self.waiter = None

    def _feed(self, r):
        self.items.append(r)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)


def _record(kind, rec):
    if kind == _flurry.STREAM_SSE:
        data, event, eid, retry = rec
        return Event(data.decode("utf-8", "replace"), event, eid, retry)
    if kind == _flurry.STREAM_NDJSON:
        return _json.loads(rec)
    return rec.decode("utf-8", "replace")


def _pages(chain, run):
    """The pages a chain holds (or with run, their items); a failed one raises."""
    for page in chain._take_records() or ():
        if page.error_code:
            raise from_response(page)
        if run is None:
            yield page
        else:
            yield from run(page.json())


class _Base:
    def __init_subclass__(cls, **kw):
        """Each client gets get/post/put/patch/delete/head/options calling
        its request(), coroutines when request() is one; a method the class
        defines itself (AsyncClient.get's fast path) stays."""
        super().__init_subclass__(**kw)
        is_async = bool(cls.request.__code__.co_flags & _CO_COROUTINE)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
            if method.lower() not in cls.__dict__:
                verb = _verb(method, is_async)
                verb.__qualname__ = f"{cls.__name__}.{verb.__name__}"
                setattr(cls, verb.__name__, verb)

    def __init__(self, base_url=None, *, headers=None, secret_headers=(), ca_file=None,
                 window=None, cache=None, **options):
        opts = resolve(options)  # TypeError / ValueError before anything is made
        self._engine = _flurry.Engine(Response)
        for opt, value in opts:
            self._engine.set_option(opt, value)
        self._concurrency = next((v for o, v in opts if o == 1), 64)
        self._window = window
        if base_url is not None:
            if not isinstance(base_url, str):
                raise TypeError(f"base_url must be str, not {type(base_url).__name__}")
            self._engine.set_base_url(base_url)
        for name, value in _pairs(headers) or ():
            try:
                self._engine.add_header(name, value)
            except ValueError:
                raise ValueError(f"invalid header {name!r}: a name must be an HTTP token "
                                 "and a value must hold no CR or LF") from None
        if isinstance(secret_headers, str):
            raise TypeError("secret_headers must be a sequence of header names")
        for name in secret_headers:
            self._engine.add_secret_header(name)
        if ca_file is not None:
            self._engine.set_ca_file(str(ca_file))
        if cache is not None:  # the HTTP cache: a SQLite file, or ":memory:"
            self._engine.set_cache(str(cache))

    build = staticmethod(build)

    def _submit(self, item, token):
        if item.__class__ is str:
            return self._engine.submit("GET", item, None, None, False, None, token)
        if isinstance(item, Request):
            return self._engine.submit(item.method, item.url, item.headers, item.body,
                                       item.is_json, item.opts, token)
        raise TypeError(f"expected a URL (str) or a flurry.Request, not {type(item).__name__}")

    def _submit_value(self, item, token):
        """As _submit, but a URL the engine refuses becomes an error value."""
        try:
            return self._submit(item, token)
        except InvalidRequestError as e:
            e.url = getattr(item, "url", item)
            return e

    def _window_size(self, window):
        w = window or self._window or 2 * self._concurrency
        if not isinstance(w, int) or w < 1:
            raise ValueError(f"window must be an int >= 1 (got {w!r})")
        return w

    # ---- the logic of map/stream/paginate, shared by both clients ----
    #
    # Each core is a plain generator over a _Queue token: it yields what the
    # user gets, or _WAIT when it needs the engine to feed the queue; the
    # client's _pump waits its way (an asyncio future, or engine.wait()).
    # _poke() hands new work to the engine (AsyncClient: a kick; Client:
    # nothing, its next wait() runs the loop).

    def _gather_submit(self, requests, batch):
        """gather's submissions: (results in input order, those in flight)."""
        rs = [self._submit_value(item, batch) for item in requests]
        pend = [r for r in rs if r.__class__ is Response]
        batch.left += len(pend)
        return rs, pend

    def _cancel_all_of(self, rs):
        for r in rs:
            r._cancel()
        if rs:
            self._poke()

    def _map_steps(self, q, requests, window):
        w = self._window_size(window)
        it = iter(requests)
        inflight = set()
        add, discard = inflight.add, inflight.discard
        items = q.items
        submit = self._engine.submit
        more = True
        try:
            while True:
                while more and len(inflight) < w:
                    item = next(it, _END)
                    if item is _END:
                        more = False
                        break
                    if item.__class__ is str:  # a URL: the per-item path, no call between
                        try:
                            r = submit("GET", item, None, None, False, None, q)
                        except InvalidRequestError as e:
                            e.url = item
                            r = e
                    else:
                        r = self._submit_value(item, q)
                    if r.__class__ is Response:
                        add(r)
                    else:
                        yield r
                if not inflight:
                    return
                self._poke()
                yield _WAIT
                while items:
                    r = items.popleft()
                    discard(r)
                    code = r.error_code  # _value(r), inline
                    yield r if not code or code == _EHTTP else from_response(r)
        finally:
            self._cancel_all_of(inflight)

    def _stream_steps(self, q, url, kind, method, max_record, buffer, until, reconnect, kw):
        mode = _STREAMS.get(kind)
        if mode is None:
            raise ValueError(f"kind must be one of {sorted(_STREAMS)} (got {kind!r})")
        if until is not None and (not isinstance(until, str) or not until or "\0" in until):
            raise ValueError(f"until must be a non-empty str (got {until!r})")
        rc = _RECONNECT.get(reconnect, -2) if reconnect is not None else -1
        if rc == -2:
            raise ValueError(f"reconnect must be one of {sorted(_RECONNECT)} (got {reconnect!r})")
        if not isinstance(buffer, int) or buffer < 1:
            raise ValueError(f"buffer must be an int >= 1 (got {buffer!r})")
        if max_record is not None and (not isinstance(max_record, int) or max_record < 16):
            raise ValueError(f"max_record must be an int >= 16 (got {max_record!r})")
        q_req = build(method, url, **kw)
        r = self._engine.submit(q_req.method, q_req.url, q_req.headers, q_req.body,
                                q_req.is_json, q_req.opts, q, mode, max_record or 0, until, rc)
        self._poke()
        try:
            while True:
                yield _WAIT
                q.items.clear()
                recs = r._take_records()
                if recs:
                    paused = len(recs) >= buffer and r._pause(True)
                    for rec in recs:
                        yield _record(mode, rec)
                        if not paused and r._backlog() >= buffer:
                            paused = r._pause(True)
                    if paused:
                        r._pause(False)
                        self._poke()
                if r.done:
                    for rec in r._take_records() or ():
                        yield _record(mode, rec)
                    if r.error_code:
                        raise from_response(r)
                    return
        finally:
            if not r.done and not self._engine.closed:
                self._cancel_all_of((r,))

    def _paginate_steps(self, q, url, items, max_pages, kw):
        run = compile_path(items) if items is not None else None
        if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 0):
            raise ValueError(f"max_pages must be an int >= 0 (got {max_pages!r})")
        q_req = build("GET", url, **kw)
        chain = self._engine.submit(q_req.method, q_req.url, q_req.headers, q_req.body,
                                    q_req.is_json, q_req.opts, q, _flurry.PAGINATE,
                                    max_pages or 0)
        self._poke()
        try:
            while True:
                yield _WAIT
                q.items.clear()
                yield from _pages(chain, run)
                if chain._ended() is not None:
                    yield from _pages(chain, run)  # those that came with the end
                    return
        finally:
            if not chain.done and not self._engine.closed:
                self._cancel_all_of((chain,))

    def map(self, requests, *, window=None):
        """Yields each request's result (Response or flurry.Error) in
        completion order, keeping at most `window` (default: twice the
        concurrency) submitted at once: memory stays bounded however long
        the input (any iterable, read lazily). Leaving the loop early
        cancels what is still in flight. On AsyncClient an async iterator,
        on Client a plain one."""
        return self._pump(self._map_steps, requests, window)

    def stream(self, url, kind="lines", *, method="GET", max_record=None, buffer=1000,
               until=None, reconnect=None, **kw):
        """Yields the records of a streamed response as they arrive:
        kind="lines" (str per line), "ndjson" (one parsed JSON value per
        line) or "sse" (flurry.Event per Server-Sent Event; reconnects with
        Last-Event-ID). Nothing of the body is kept. Back-pressure: when
        `buffer` records wait for a consumer slower than the server, the
        transfer pauses (flurry_request_pause: nothing more is read from the
        connection) until they are consumed. A failure raises the
        flurry.Error of its kind; leaving the loop early stops the stream.
        On AsyncClient an async iterator (``async for``), on Client a plain
        one (``for``).

        until="[DONE]" ends the stream at the first record whose data is
        exactly that (SSE: the event's data; lines: the line; NDJSON: the
        compact JSON value): it is not yielded, the transfer ends at once
        and nothing reconnects (OpenAI-style APIs end so).
        reconnect= says when an SSE stream whose request may be repeated
        (GET, HEAD, an Idempotency-Key header, retry_unsafe=True)
        reconnects: "auto" (the default: "always" for those), "never",
        "on-error" (a drop or idle timeout, not a clean end) or "always"
        (as EventSource). A POST is never repeated, whatever this says."""
        return self._pump(self._stream_steps, url, kind, method, max_record, buffer, until,
                          reconnect, kw)

    def paginate(self, url, *, items=None, max_pages=None, **kw):
        """Follows a paginated API by its Link header (rel="next"; when page 1
        also gives rel="last", the pages go out concurrently, bounded by the
        concurrency) with the engine's paginator, and yields each page's
        Response, or with items= a jq path (".[]", ".data.items[]") each
        item of each page's JSON body. Pages come in arrival order. A failed
        page raises its flurry.Error; the chain's limit is max_pages (or the
        client's). Leaving the loop early stops the chain. On AsyncClient
        an async iterator, on Client a plain one."""
        return self._pump(self._paginate_steps, url, items, max_pages, kw)

    @property
    def closed(self):
        return self._engine.closed

    def stats(self):
        """The engine's counters: queued, running, waiting, retries, rate, retry_budget."""
        return self._engine.stats()


class AsyncClient(_Base):
    """An asyncio HTTP client on the C engine of flurry.

    AsyncClient(base_url=None, *, headers=None, secret_headers=(),
    ca_file=None, window=None, cache=None, **options)

    cache="api.db" (or ":memory:") answers GET and HEAD from an HTTP cache
    (RFC 9111) in that SQLite file, shared with other clients, processes
    and the flurry command; cache_mode=1 (skip), 2 (refresh) or 3
    (offline) and cache_ttl=3600 (s) per client or request,
    cache_max_bytes per client; Response.cache says where each answer
    came from.

    Every client option of the C library is a keyword, by its name in the
    library's table (max_in_flight, timeout_ms, rate_milli, ...) or a
    friendlier spelling: concurrency=100, per_host=8, timeout=10 (s),
    connect_timeout=2, idle_timeout=30, deadline=60, retries=3,
    retry_base=0.1, retry_cap=10, retry_unsafe=True,
    retry_jitter="decorrelated", retry_budget=500, breaker_threshold=5,
    breaker_cooldown=5, rate="20/s" or "auto", burst=5, host_rate="5/s",
    max_size=1 << 20, max_redirects=5, follow_redirects=False,
    verify=False, http_version="2", max_pages=100,
    secret_name_heuristic=True. Bad names raise TypeError, values out of
    range ValueError naming the keyword.

    One client per event loop and thread: it binds to the loop that first
    uses it; another loop or thread gets RuntimeError. Use it as
    ``async with flurry.AsyncClient(...) as client:``; leaving the block
    cancels what is still in flight and closes the client.

    It runs on the running asyncio loop, in its own thread: the engine's
    libuv backend fd is watched with loop.add_reader and its next timer
    with loop.call_at; when either fires, one uv_run(UV_RUN_NOWAIT) runs
    (map, stream and paginate also run it when they wait for results).
    No helper thread, no polling: plain asyncio, uvloop and uvicorn alike.

    Requests: get/post/put/patch/delete/head/options/request return a
    Response (a 4xx/5xx too: call raise_for_status()); a transport failure
    raises the flurry.Error of its kind (flurry.TimeoutError is also the
    builtin TimeoutError). Cancelling the awaiting task cancels the request
    in the engine. gather() and map() return errors as values;
    paginate(), stream() and websocket() cover pages, NDJSON/SSE/lines
    streams (with back-pressure) and WebSockets.
    """

    def __init__(self, base_url=None, **kwargs):
        global asyncio
        if asyncio is None:
            import asyncio
        super().__init__(base_url, **kwargs)
        self._loop = None
        self._fut_type = None
        self._timer = None
        self._timer_due = 0.0
        self._kicked = False
        self._websockets = set()

    # ---- the loop integration ----

    def _bind(self):
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return loop
        if self._engine.closed:
            raise RuntimeError("flurry: the client is closed")
        if self._loop is not None:
            raise RuntimeError("flurry: this AsyncClient is bound to another event loop; "
                               "create one client per event loop")
        fd = self._engine.backend_fd()  # RuntimeError from another thread
        loop.add_reader(fd, self._on_io)
        self._loop = loop
        self._fut_type = type(loop.create_future())
        return loop

    def _kick(self):
        if not self._kicked:
            self._kicked = True
            self._loop.call_soon(self._on_kick)

    def _on_kick(self):
        if self._kicked:  # else a run since the kick was asked for served it
            self._on_io()

    def _on_timer(self):
        self._timer = None
        self._on_io()

    def _on_io(self):
        engine = self._engine
        if engine.closed:
            return
        self._kicked = False
        done = engine.run()
        if done:
            self._deliver(done)
        t = engine.backend_timeout()
        timer = self._timer
        if t < 0:
            if timer is not None:
                timer.cancel()
                self._timer = None
            return
        due = self._loop.time() + t / 1000.0
        if timer is not None:
            if self._timer_due <= due + 0.001:
                return  # fires in time (early is harmless)
            timer.cancel()
        self._timer = self._loop.call_at(due, self._on_timer)
        self._timer_due = due

    def _deliver(self, done):
        it = iter(done)
        ft = self._fut_type
        for tok, r in zip(it, it):
            if tok.__class__ is _Queue:  # map/stream/paginate: _feed, inline
                tok.items.append(r)
                w = tok.waiter
                if w is not None:  # woken once per batch
                    tok.waiter = None
                    if not w.done():
                        w.set_result(None)
            elif tok.__class__ is ft:
                if not tok.done():
                    tok.set_result(r)
            elif tok is not None:
                tok._feed(r)

    # ---- one request ----

    async def _send(self, method, url, headers, body, is_json, opts):
        loop = self._loop if self._loop is not None else self._bind()
        if loop is not asyncio.get_running_loop():
            self._bind()  # raises: another loop
        fut = loop.create_future()
        r = self._engine.submit(method, url, headers, body, is_json, opts, fut)
        self._kick()
        try:
            await fut
        except asyncio.CancelledError:
            r._cancel()
            self._kick()
            raise
        return _result(r)

    async def request(self, method, url, **kw):
        """Sends one request (see flurry.build for the keywords) and returns
        its Response; raises the flurry.Error of a transport failure."""
        if not kw and method.__class__ is str and url.__class__ is str:
            return await self._send(method.upper(), url, None, None, False, None)
        q = build(method, url, **kw)
        return await self._send(q.method, q.url, q.headers, q.body, q.is_json, q.opts)

    async def get(self, url, **kw):
        """GET url: a Response (see request())."""
        if not kw and url.__class__ is str:
            return await self._send("GET", url, None, None, False, None)
        return await self.request("GET", url, **kw)

    # ---- many requests ----

    async def gather(self, requests):
        """Runs every request (URL strings or client.build() Requests)
        concurrently, bounded by the client's concurrency, and returns their
        results in input order: a Response, or the flurry.Error of a failed
        one (like asyncio.gather(..., return_exceptions=True)). Cancelling
        the awaiting task cancels them all."""
        loop = self._bind()
        batch = _Batch(0, loop.create_future())
        rs, pend = self._gather_submit(requests, batch)
        if batch.left:
            self._kick()
            try:
                await batch.fut
            except asyncio.CancelledError:
                self._cancel_all_of(pend)
                raise
        return [r if r.__class__ is not Response else _value(r) for r in rs]

    async def _pump(self, core, *args):
        """Runs a shared core (see _Base), awaiting where it waits."""
        loop = self._bind()
        q = _Queue()
        steps = core(q, *args)
        since = 0  # results handed out since the loop last had a turn
        try:
            for x in steps:
                if x is not _WAIT:
                    since += 1
                    yield x
                elif not q.items:
                    # Run the engine now, in this task: what the core just
                    # submitted starts at once and what is ready comes in,
                    # ahead of the callbacks queued on the loop. Waiting for
                    # the kick instead let connections idle while this task's
                    # turn came round: 35% more CPU and wall time per request
                    # at W1 (the kick then finds nothing left to do).
                    self._on_io()
                    if not q.items:
                        since = 0
                        q.waiter = loop.create_future()
                        await q.waiter
                        q.waiter = None
                    elif since >= _FAIR:
                        # Results came, again: still a loop turn for the
                        # others now and then, or a fast server would keep
                        # this loop to itself.
                        since = 0
                        await asyncio.sleep(0)
        finally:
            steps.close()

    def _poke(self):
        if not self._engine.closed:
            self._kick()

    def websocket(self, url, *, headers=None, max_message=None):
        """An async context manager for a WebSocket (ws:// or wss://) on this
        client's engine: ``async with client.websocket(url) as ws: await
        ws.send("hi"); msg = await ws.recv()``. Text messages come as str,
        binary ones as bytes; recv() raises flurry.Error when the connection
        failed, or ConnectionError once it closed."""
        return WebSocket(self, url, headers, max_message)

    # ---- lifetime ----

    async def cancel_all(self):
        """Cancels every request in flight (their awaiters get flurry.CancelledError)."""
        self._deliver(self._engine.cancel_all())

    async def aclose(self):
        """Cancels what is in flight and closes the client (idempotent)."""
        if self._engine.closed:
            return
        for ws in list(self._websockets):
            await ws.close(1001, "client closing")
        if self._loop is not None:
            self._loop.remove_reader(self._engine.backend_fd())
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._deliver(self._engine.close())

    async def __aenter__(self):
        self._bind()
        return self

    async def __aexit__(self, *exc):
        await self.aclose()


class Client(_Base):
    """The same engine without asyncio: each call runs the libuv loop, with
    the GIL released, until its results are in.

    Client(base_url=None, *, headers=None, secret_headers=(), ca_file=None,
    window=None, **options): the keywords of flurry.AsyncClient.
    get/post/put/patch/delete/request return a Response or raise a
    flurry.Error; gather() returns results in input order, map() yields them
    in completion order with a bounded window; stream() and paginate() are
    plain iterators with the semantics of AsyncClient's (``for event in
    c.stream("/sse", kind="sse", until="[DONE]"):``). Use ``with
    flurry.Client() as c:``; one thread only. Ctrl-C is noticed while it
    waits (at once, or within 0.1 s when the signal went to another
    thread): the call cancels what it started and raises
    KeyboardInterrupt.
    """

    def _deliver(self, done):
        it = iter(done)
        for tok, r in zip(it, it):
            if tok.__class__ is _Queue:  # _feed, inline: no waiter without asyncio
                tok.items.append(r)
            elif tok is not None:
                tok._feed(r)

    def _wait(self):
        done = self._engine.wait()
        if done:
            self._deliver(done)
        elif not self._engine.pending():
            raise RuntimeError("flurry: the engine stopped with requests unanswered (a bug)")

    def request(self, method, url, **kw):
        """Sends one request (see flurry.build) and returns its Response."""
        q = build(method, url, **kw)
        b = _Batch(1)
        r = self._engine.submit(q.method, q.url, q.headers, q.body, q.is_json, q.opts, b)
        try:
            while b.left:
                self._wait()
        except BaseException:
            r._cancel()
            raise
        return _result(r)

    def gather(self, requests):
        """Results in input order: Response or flurry.Error (errors as values)."""
        batch = _Batch(0)
        rs, pend = self._gather_submit(requests, batch)
        try:
            while batch.left:
                self._wait()
        except BaseException:
            self._cancel_all_of(pend)
            raise
        return [r if r.__class__ is not Response else _value(r) for r in rs]

    def _pump(self, core, *args):
        """Runs a shared core (see _Base), running the engine where it waits."""
        q = _Queue()
        steps = core(q, *args)
        try:
            for x in steps:
                if x is not _WAIT:
                    yield x
                elif not q.items:
                    self._wait()
        finally:
            steps.close()

    def _poke(self):
        pass  # the next wait() runs the loop

    def close(self):
        """Cancels what is pending and frees the engine (idempotent)."""
        if not self._engine.closed:
            self._deliver(self._engine.close())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        engine = getattr(self, "_engine", None)
        if engine is not None and not engine.closed:
            try:
                self.close()
            except RuntimeError:
                pass


class WebSocket:
    """A WebSocket connection (see AsyncClient.websocket). The library
    answers pings, pings an idle peer and stops reading while its send queue
    is full (back-pressure); messages received wait here until recv()."""

    def __init__(self, client, url, headers, max_message):
        if not isinstance(url, str):
            raise TypeError(f"url must be str, not {type(url).__name__}")
        self._client = client
        self._url = url
        self._headers = [f"{n}: {v}" for n, v in _pairs(headers) or ()]
        self._max = max_message or 0
        self._ws = None
        self._inbox = collections.deque()
        self._waiter = None
        self._opened = None

    def _feed(self, ws):
        msgs = ws._take()
        if msgs:
            self._inbox.extend(msgs)
        for f in (self._waiter, self._opened):
            if f is not None and not f.done():
                f.set_result(None)

    async def __aenter__(self):
        c = self._client
        loop = c._bind()
        self._opened = loop.create_future()
        self._ws = c._engine.ws_connect(self._url, self._headers, self._max, self)
        c._websockets.add(self)
        c._kick()
        try:
            while not self._ws.open and self._ws.status is None:
                self._opened = loop.create_future()
                await self._opened
        except BaseException:
            await self.close()
            raise
        self._raise_closed()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    def _raise_closed(self):
        st = self._ws.status
        if st is None:
            return
        kind, message, code, reason, _by_server, http_status = st
        if kind != "ok":
            from ._errors import BY_KIND, Error
            raise BY_KIND.get(kind, Error)(message or kind, kind=kind, status=http_status,
                                           url=self._url)
        raise ConnectionError(f"WebSocket closed ({code} {reason})".strip())

    async def send(self, data):
        """Queues a message: str as text, bytes as binary."""
        if isinstance(data, str):
            self._ws.send(data.encode(), True)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            self._ws.send(bytes(data), False)
        else:
            raise TypeError(f"send takes str or bytes, not {type(data).__name__}")
        self._client._kick()

    async def recv(self):
        """The next message (str or bytes), waiting for it."""
        loop = self._client._loop
        while not self._inbox:
            self._raise_closed()
            self._waiter = loop.create_future()
            await self._waiter
            self._waiter = None
        is_text, data = self._inbox.popleft()
        return data.decode("utf-8", "replace") if is_text else data

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.recv()
        except ConnectionError:
            raise StopAsyncIteration from None

    @property
    def close_status(self):
        """None while open; then (kind, message, code, reason, by_server, http_status)."""
        return self._ws.status if self._ws is not None else None

    async def close(self, code=1000, reason=None):
        """Starts the close handshake and waits for its end (bounded by the
        library's close timeout)."""
        ws = self._ws
        if ws is None:
            return
        c = self._client
        if ws.status is None:
            ws.close(code, reason)
            c._kick()
            loop = c._loop
            while ws.status is None:
                self._waiter = loop.create_future()
                await self._waiter
                self._waiter = None
        c._websockets.discard(self)
