"""flurry.Error and one subclass per error kind of the library."""

import builtins


class Error(Exception):
    """A request failed. ``kind`` is the library's error kind ("timeout",
    "connect", ...), ``detail`` a word refining it ("connect_timeout"),
    ``message`` the library's one-line description, ``status`` the HTTP
    status (0 when none arrived), ``response`` the Response when one arrived
    (its status, headers and body), ``url`` the request's URL."""

    kind = "error"

    def __init__(self, message, *, kind=None, detail="", status=0, response=None, url=""):
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        self.detail = detail
        self.status = status
        self.response = response
        self.url = url


def _kind(name, bases, kind, doc=None):
    """The subclass of one error kind (a class statement each, folded)."""
    doc = doc or f"A failure of kind {kind!r} (see flurry.Error)."
    return type(name, bases, {"kind": kind, "__doc__": doc, "__module__": __name__})


ConnectError = _kind("ConnectError", (Error,), "connect")
DNSError = _kind("DNSError", (ConnectError,), "dns")
TLSError = _kind("TLSError", (ConnectError,), "tls")
TimeoutError = _kind("TimeoutError", (Error, builtins.TimeoutError), "timeout")
ResetError = _kind("ResetError", (Error,), "reset")
HTTPStatusError = _kind("HTTPStatusError", (Error,), "http")
ProtocolError = _kind("ProtocolError", (Error,), "protocol")
TooLargeError = _kind("TooLargeError", (Error,), "too_large")
CancelledError = _kind("CancelledError", (Error,), "cancelled",
                       "The request was cancelled in the engine (client closed, cancel_all).")
StreamError = _kind("StreamError", (Error,), "stream")
InvalidRequestError = _kind("InvalidRequestError", (Error, ValueError), "invalid_request")
NoMemoryError = _kind("NoMemoryError", (Error, MemoryError), "nomem")
InternalError = _kind("InternalError", (Error,), "internal")


from . import _flurry  # noqa: E402

_flurry._set_invalid_request(InvalidRequestError)  # what the engine raises for a bad request

BY_KIND = {cls.kind: cls for cls in (ConnectError, DNSError, TLSError, TimeoutError, ResetError,
                                      HTTPStatusError, ProtocolError, TooLargeError,
                                      CancelledError, StreamError, InvalidRequestError,
                                      NoMemoryError, InternalError)}


def from_response(r):
    """The exception a failed Response stands for."""
    kind = r.kind
    cls = BY_KIND.get(kind, Error)
    status = r.status
    message = r.message or kind
    return cls(message, kind=kind, detail=r.detail, status=status,
               response=r if status else None, url=r.url)
