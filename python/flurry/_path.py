"""A small subset of jq paths for paginate(items=...): ``.``, ``.key``,
``.key.sub``, ``."odd key"``, ``.[]`` (each element or value), ``.[N]``,
chained: ``.data.items[]``, ``.[].id``. Anything else raises ValueError at
once (the flurry command takes full jq programs; Python code can filter
the yielded pages itself)."""

import re

_TOKEN = re.compile(r'\.?(?:([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"\\]|\\.)*)"|\[\]|\[(-?\d+)\])')


def compile_path(path):
    if not isinstance(path, str):
        raise TypeError(f"items must be a jq path string, not {type(path).__name__}")
    p = path.strip()
    if not p.startswith("."):
        raise ValueError(f"items must be a jq path starting with '.' (got {path!r})")
    steps = []
    i = 1 if p == "." else 0
    while i < len(p):
        m = _TOKEN.match(p, i)
        if m is None or m.end() == i:
            if p[i:] == ".":
                break
            raise ValueError(f"items: unsupported jq path {path!r} at {p[i:]!r} "
                             "(supported: .key, .\"key\", .[], .[N], chained)")
        key, qkey, index = m.group(1), m.group(2), m.group(3)
        if key is not None:
            steps.append(("key", key))
        elif qkey is not None:
            steps.append(("key", qkey.encode().decode("unicode_escape")))
        elif index is not None:
            steps.append(("index", int(index)))
        else:
            steps.append(("each", None))
        i = m.end()

    def run(value):
        vals = [value]
        for op, arg in steps:
            nxt = []
            for v in vals:
                if op == "key":
                    if isinstance(v, dict):
                        nxt.append(v.get(arg))
                    elif v is None:
                        nxt.append(None)
                    else:
                        raise ValueError(f"items {path!r}: cannot index {type(v).__name__} with {arg!r}")
                elif op == "index":
                    nxt.append(v[arg] if isinstance(v, list) and -len(v) <= arg < len(v) else None)
                else:
                    if isinstance(v, list):
                        nxt.extend(v)
                    elif isinstance(v, dict):
                        nxt.extend(v.values())
                    elif v is not None:
                        raise ValueError(f"items {path!r}: cannot iterate over {type(v).__name__}")
            vals = nxt
        return vals

    return run
