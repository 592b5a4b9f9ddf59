"""flurry: many HTTP API calls at once, from asyncio or plain Python, on the
C engine of libflurry (libcurl multi on libuv).

    async with flurry.AsyncClient(base_url="http://127.0.0.1:8080",
                                  concurrency=100, retries=3) as client:
        r = await client.get("/users/1")
        results = await client.gather([client.build("GET", f"/users/{i}")
                                       for i in range(1000)])

    with flurry.Client(concurrency=100) as c:
        results = c.gather(urls)

See help(flurry.AsyncClient), help(flurry.Client), help(flurry.Response).
"""

from . import webhooks
from ._client import AsyncClient, Client, Event, Request, WebSocket, build
from ._errors import (CancelledError, ConnectError, DNSError, Error, HTTPStatusError,
                      InternalError, InvalidRequestError, NoMemoryError, ProtocolError,
                      ResetError, StreamError, TimeoutError, TLSError, TooLargeError)
from ._flurry import version as __version__
from ._options import names as option_names
from ._response import Headers, Response

__all__ = ["AsyncClient", "Client", "Request", "WebSocket", "Response", "Headers", "Event", "build",
           "Error", "ConnectError", "DNSError", "TLSError", "TimeoutError", "ResetError",
           "HTTPStatusError", "ProtocolError", "TooLargeError", "CancelledError", "StreamError",
           "InvalidRequestError", "NoMemoryError", "InternalError", "webhooks", "option_names"]
