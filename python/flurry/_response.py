"""flurry.Response and its case-insensitive Headers."""

import json as _json
from collections.abc import Mapping

from . import _flurry
from ._errors import HTTPStatusError, from_response

_HTTP = "http"
_decoder = _json.JSONDecoder()
_decode = _decoder.decode  # what json.loads(str) does without keywords
_scan = _decoder.scan_once  # its C scanner: one value from an index, no regex around it


class Headers(Mapping):
    """Response headers: a read-only mapping, names compared without regard
    to case. ``h["content-type"]`` is the first value; ``h.get_list(name)``
    every value; iteration yields each name once (as first received)."""

    __slots__ = ("_items", "_index")

    def __init__(self, items=()):
        self._items = list(items)
        self._index = {}
        for name, value in self._items:
            self._index.setdefault(name.lower(), value)

    def __getitem__(self, name):
        return self._index[name.lower()]

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self):
        seen = set()
        for name, _ in self._items:
            low = name.lower()
            if low not in seen:
                seen.add(low)
                yield name

    def __len__(self):
        return len(self._index)

    def get_list(self, name):
        low = name.lower()
        return [v for n, v in self._items if n.lower() == low]

    def items(self):
        return list(self._items)

    def __repr__(self):
        return f"Headers({self._items!r})"


class Response(_flurry.Response):
    """The result of one request.

    ``status``, ``reason``, ``headers`` (case-insensitive mapping),
    ``content`` (bytes), ``text``, ``json()``, ``url`` (effective, after
    redirects), ``elapsed`` (seconds, all attempts), ``attempts``,
    ``cache`` (with ``cache=``: "hit", "revalidated", "miss", "stale" or
    "bypass"; else None),
    ``timings`` (dict of seconds: dns, connect, tls, first_byte, total,
    elapsed), ``raise_for_status()``. When the request failed, ``kind`` is
    the error kind ("ok" otherwise), ``detail`` and ``message`` say more;
    ``error`` is the matching flurry.Error (None when it succeeded).

    Everything is read lazily from the C response: a Response costs one
    small object until you look at it."""

    __slots__ = ()

    @property
    def headers(self):
        h = self._cache
        if h is None:
            h = self._cache = Headers(self.header_list())
        return h

    @property
    def encoding(self):
        ct = self.header("content-type") or ""
        for part in ct.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                return v.strip('"')
        return "utf-8"

    @property
    def text(self):
        """The body decoded (charset of Content-Type, else UTF-8; errors replaced)."""
        try:
            return self.content.decode(self.encoding, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")

    def json(self, **kw):
        """The body parsed as JSON (json.loads; UTF-8, as RFC 8259 says,
        decoded straight from the C buffer; UTF-16/32 or a BOM still
        work)."""
        if not kw:
            try:
                s = self._utf8()
            except UnicodeDecodeError:
                s = None
            if s is not None and not s.startswith("\ufeff"):
                # The C scanner straight away when the value starts at 0 and
                # only whitespace follows it (most bodies); anything else
                # (leading space, bad JSON) through decode, as json.loads.
                try:
                    value, end = _scan(s, 0)
                except StopIteration:
                    return _decode(s)
                if end == len(s) or not s[end:].strip(" \t\n\r"):
                    return value
                return _decode(s)
        return _json.loads(self.content, **kw)

    @property
    def ok(self):
        return self.error_code == 0

    @property
    def is_success(self):
        return 200 <= self.status < 300

    @property
    def error(self):
        """The flurry.Error this response stands for, or None."""
        return None if self.error_code == 0 else from_response(self)

    def raise_for_status(self):
        """Raises flurry.HTTPStatusError for a 4xx/5xx status (the error kind
        of the library for it), the matching flurry.Error for a transport
        failure; returns the response otherwise."""
        if self.error_code:
            raise from_response(self)
        if self.status >= 400:
            raise HTTPStatusError(f"HTTP {self.status} {self.reason}".strip(), kind=_HTTP,
                                  status=self.status, response=self, url=self.url)
        return self

    def __repr__(self):
        if not self.done:
            return "<Response [pending]>"
        if self.error_code and not self.status:
            return f"<Response [{self.kind}: {self.message}]>"
        return f"<Response [{self.status} {self.reason}]>"
