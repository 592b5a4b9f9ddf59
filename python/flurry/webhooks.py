"""flurry.webhooks: webhook signatures checked by the C library's verifier
(flurry/webhook.h: GitHub, Stripe, Standard Webhooks; HMAC-SHA256 compared
in constant time; timestamps within a tolerance both ways).

In a web framework's endpoint::

    body = await request.body()
    try:
        flurry.webhooks.verify("github", SECRET, request.headers, body)
    except flurry.webhooks.SignatureError as e:
        return Response(status_code=e.status, content=str(e))

Schemes and the headers they read:

- ``"github"``: X-Hub-Signature-256 (``sha256=<hex>``, HMAC of the body);
- ``"stripe"``: Stripe-Signature (``t=<unix>,v1=<hex>``, HMAC of
  ``"<t>.<body>"``);
- ``"standard"``: webhook-id, webhook-timestamp, webhook-signature
  (``v1,<base64>``; the secret is ``whsec_<base64>``).
"""

import time as _time
from collections.abc import Mapping

from . import _flurry

SCHEMES = ("github", "stripe", "standard")
TOLERANCE = 300
_SIG_HEADER = {"github": "x-hub-signature-256", "stripe": "stripe-signature",
               "standard": "webhook-signature"}
_STATUS = {"missing": 401, "malformed": 400, "stale": 401, "mismatch": 401}


class SignatureError(ValueError):
    """The delivery is not authentic or not fresh. ``verdict`` is one of
    "missing", "malformed", "stale", "mismatch"; ``status`` the HTTP status
    to answer with (400 for malformed, else 401)."""

    def __init__(self, verdict, message):
        super().__init__(message)
        self.verdict = verdict
        self.status = _STATUS.get(verdict, 401)


def _secrets(secret):
    items = [secret] if isinstance(secret, (str, bytes, bytearray)) else list(secret)
    if not items:
        raise ValueError("give at least one secret")
    out = []
    for s in items:
        if isinstance(s, str):
            out.append(s.encode())
        elif isinstance(s, (bytes, bytearray)):
            out.append(bytes(s))
        else:
            raise TypeError(f"a secret must be str or bytes, not {type(s).__name__}")
    return out


def _header(headers, name):
    if headers is None:
        return None
    if not isinstance(headers, Mapping) and not hasattr(headers, "get"):
        headers = dict(headers)
    v = headers.get(name)
    if v is None:  # a plain dict: any case
        for k, val in headers.items():
            if isinstance(k, str) and k.lower() == name:
                v = val
                break
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    return v


def check(scheme, secret, headers, body, *, tolerance=TOLERANCE, now=None):
    """The verdict on one delivery: "ok", "missing", "malformed", "stale" or
    "mismatch". secret: str/bytes, or a list of them (rotation: any may
    match). headers: any mapping (a framework's, or a dict: any case).
    body: the raw bytes as received."""
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be str, not {type(scheme).__name__}")
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be the raw bytes, not {type(body).__name__}")
    if not isinstance(tolerance, int) or tolerance < 0:
        raise ValueError(f"tolerance must be an int >= 0 seconds (got {tolerance!r})")
    t = int(_time.time()) if now is None else int(now)
    sig_name = _SIG_HEADER.get(scheme.lower(), "")
    verdict, _message = _flurry.webhook_verify(
        scheme.lower(), _secrets(secret), _header(headers, sig_name) if sig_name else None,
        _header(headers, "webhook-id"), _header(headers, "webhook-timestamp"), bytes(body),
        tolerance, t)
    return verdict


def verify(scheme, secret, headers, body, *, tolerance=TOLERANCE, now=None):
    """Checks one delivery (see check()); returns None when it is authentic
    and fresh, raises SignatureError otherwise (ValueError/TypeError for bad
    arguments, such as an unknown scheme or a malformed secret)."""
    verdict = check(scheme, secret, headers, body, tolerance=tolerance, now=now)
    if verdict != "ok":
        messages = {"missing": "missing signature", "malformed": "malformed signature",
                    "stale": "timestamp outside the tolerance", "mismatch": "signature mismatch"}
        raise SignatureError(verdict, messages.get(verdict, verdict))


def sign(scheme, secret, body, *, msg_id=None, timestamp=None):
    """The headers a sender adds to a delivery of body (for tests and
    senders): a dict of header name -> value."""
    if isinstance(body, str):
        body = body.encode()
    t = int(_time.time()) if timestamp is None else int(timestamp)
    s = scheme.lower() if isinstance(scheme, str) else scheme
    value = _flurry.webhook_sign(s, _secrets(secret), msg_id or "", t, bytes(body))
    if s == "standard":
        return {"webhook-id": msg_id or "", "webhook-timestamp": str(t),
                "webhook-signature": value}
    return {{"github": "X-Hub-Signature-256", "stripe": "Stripe-Signature"}.get(s, "X-Signature"):
            value}
