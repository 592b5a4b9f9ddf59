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


class ConnectError(Error):
    kind = "connect"


class DNSError(ConnectError):
    kind = "dns"


class TLSError(ConnectError):
    kind = "tls"


class TimeoutError(Error, builtins.TimeoutError):
    kind = "timeout"


class ResetError(Error):
    kind = "reset"


class HTTPStatusError(Error):
    kind = "http"


class ProtocolError(Error):
    kind = "protocol"


class TooLargeError(Error):
    kind = "too_large"


class CancelledError(Error):
    """The request was cancelled in the engine (client closed, cancel_all)."""
    kind = "cancelled"


class StreamError(Error):
    kind = "stream"


class InvalidRequestError(Error, ValueError):
    kind = "invalid_request"


class NoMemoryError(Error, MemoryError):
    kind = "nomem"


class InternalError(Error):
    kind = "internal"


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
