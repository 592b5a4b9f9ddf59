"""Keyword arguments -> the library's options (flurry_opt), from its table.

Every row of the C option table (``_flurry.options()``, i.e.
flurry_opt_get_info) is a keyword under its own name (``max_in_flight``,
``timeout_ms``...). Friendlier spellings are derived from the names, so a
new option of the library shows up here without a change:

- ``<name>_ms`` also as ``<name>`` in seconds (``timeout=2.5``,
  ``connect_timeout=1``, ``deadline=30``, ``retry_base=0.1``);
- ``<name>_milli`` (rates) also as ``<name>``: a number of requests per
  second or a string ``"20/s"``, ``"3000/min"``, ``"100/h"``; ``rate="auto"``
  turns on the adaptive per-host rate (``rate_auto``);
- a few aliases people know from aiohttp/httpx: ``concurrency``
  (max_in_flight), ``per_host`` (max_per_host), ``retries`` (attempts - 1),
  ``verify`` (verify_tls), ``max_size`` (max_response_bytes),
  ``follow_redirects`` (False: max_redirects=0), ``burst`` (rate_burst),
  ``http_version`` ("auto", "1.1", "2", "h2c").
"""

from . import _flurry

# name -> (opt, default, min, max, client_only)
TABLE = {row[0]: row[1:] for row in _flurry.options()}

ALIASES = {
    "concurrency": "max_in_flight",
    "per_host": "max_per_host",
    "verify": "verify_tls",
    "max_size": "max_response_bytes",
    "burst": "rate_burst",
    "host_burst": "host_burst",
}

_HTTP_VERSIONS = {"auto": 0, "1.1": 1, "http/1.1": 1, "2": 2, "http/2": 2, "h2c": 3}
_JITTERS = {"full": 0, "decorrelated": 1}
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0,
        "h": 3600.0, "hour": 3600.0}


def _int(key, value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"{key} must be an int, not {type(value).__name__}")


def _seconds(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{key} must be a number of seconds, not {type(value).__name__}")
    if value != value or value < 0:
        raise ValueError(f"{key} must be a number of seconds >= 0 (got {value!r})")
    return int(round(value * 1000))


def parse_rate(key, value):
    """'20/s', '3000/min', 5 (per second) -> thousandths of a request per second."""
    if isinstance(value, bool):
        raise TypeError(f"{key} must be a number or a string like '20/s', not bool")
    if isinstance(value, (int, float)):
        per_s = float(value)
    elif isinstance(value, str):
        num, sep, unit = value.strip().partition("/")
        try:
            n = float(num)
        except ValueError:
            n = None
        if n is None or (sep and unit.strip().lower() not in _PER):
            raise ValueError(f"{key} must look like '20/s', '3000/min' or '100/h' (got {value!r})")
        per_s = n / (_PER[unit.strip().lower()] if sep else 1.0)
    else:
        raise TypeError(f"{key} must be a number or a string like '20/s', not {type(value).__name__}")
    if per_s != per_s or per_s < 0:
        raise ValueError(f"{key} must be >= 0 (got {value!r})")
    return int(round(per_s * 1000))


def _check(key, name, value):
    opt, _default, lo, hi, _client_only = TABLE[name]
    if not lo <= value <= hi:
        raise ValueError(f"{key} must be between {lo} and {hi} (got {value})")
    return opt


def resolve(kwargs, per_request=False):
    """Keywords -> [(opt, value)], checked against the table's ranges.
    Unknown keywords: TypeError; bad values: ValueError, naming the keyword."""
    out = {}

    def put(key, name, value):
        if per_request and TABLE[name][4]:
            raise ValueError(f"{key} is a client option: it cannot be set per request")
        out[name] = (_check(key, name, value), value)

    for key, value in kwargs.items():
        if value is None:
            continue
        name = ALIASES.get(key, key)
        if name in TABLE:
            if name == "http_version" and isinstance(value, str):
                if value.lower() not in _HTTP_VERSIONS:
                    raise ValueError(f"http_version must be one of {sorted(_HTTP_VERSIONS)} (got {value!r})")
                value = _HTTP_VERSIONS[value.lower()]
            elif name == "retry_jitter" and isinstance(value, str):
                if value not in _JITTERS:
                    raise ValueError(f"retry_jitter must be 'full' or 'decorrelated' (got {value!r})")
                value = _JITTERS[value]
            put(key, name, _int(key, value))
        elif key == "retries":
            put(key, "max_attempts", _int(key, value) + 1)
        elif key == "follow_redirects":
            if not value:
                put(key, "max_redirects", 0)
        elif key in ("rate", "host_rate") and value == "auto":
            put(key, "rate_auto", 1)
        elif key + "_ms" in TABLE:
            put(key, key + "_ms", _seconds(key, value))
        elif key + "_milli" in TABLE:
            put(key, key + "_milli", parse_rate(key, value))
        else:
            raise TypeError(f"unexpected keyword argument {key!r}")
    return list(out.values())


def names():
    """Every keyword an option takes (for help texts)."""
    keys = set(TABLE) | set(ALIASES) | {"retries", "follow_redirects"}
    for n in TABLE:
        if n.endswith("_ms"):
            keys.add(n[:-3])
        if n.endswith("_milli"):
            keys.add(n[:-6])
    return sorted(keys)
