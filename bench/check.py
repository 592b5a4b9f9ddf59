#!/usr/bin/python3
"""Sanity-check one tool's output after a benchmark run (not timed).

Usage: check.py MODE FILE N MARKER
  MODE jsonl : one JSON object per line (flurry, aiohttp, httpx): exactly N
               lines, each parses, none carries an "error", any "status" is
               200, each contains MARKER (the server's body was kept), and if
               the lines carry "url", the N URLs are distinct.
  MODE bodies: curl's raw bodies, one document per line: exactly N lines, each
               parses as JSON and contains MARKER.
  MODE rated : W4 (a rate-limited server): as jsonl, but a final status 429
               is a result too (its body need not hold MARKER); counts the
               attempts answered 429, from "attempt_log" when a line has one.
Prints "ok" (rated: "ok n429=K") or "wrong: <reason>" on stdout; exit 0 / 1.
"""
import json
import sys


def count_429(obj):
    """Attempts answered 429: from the attempt log, else the final status."""
    log = obj.get("attempt_log")
    if isinstance(log, list):
        return sum(1 for a in log if isinstance(a, dict) and a.get("status") == 429)
    return 1 if obj.get("status") == 429 else 0


def check(mode, path, n, marker, tally):
    lines = 0
    urls = set()
    with_url = 0
    try:
        f = open(path, "rb")
    except OSError as e:
        return f"no output ({e.strerror})"
    with f:
        for raw in f:
            lines += 1
            if lines > n:
                continue  # keep counting, stop checking
            line = raw.decode("utf-8", "replace")
            try:
                obj = json.loads(line)
            except ValueError:
                return f"line {lines} is not JSON: {line[:80]!r}"
            limited = mode == "rated" and isinstance(obj, dict) and obj.get("status") == 429
            if marker not in line and not limited:
                return f"line {lines} lacks the body ({marker}): {line[:80]!r}"
            if mode in ("jsonl", "rated"):
                if not isinstance(obj, dict):
                    return f"line {lines} is not an object"
                if obj.get("error") and not limited:
                    return f"line {lines} is an error: {line[:120]!r}"
                st = obj.get("status", 200)
                if st != 200 and not limited:
                    return f"line {lines} has status {st}"
                if mode == "rated":
                    tally["n429"] += count_429(obj)
                if "url" in obj:
                    with_url += 1
                    urls.add(obj["url"])
    if lines != n:
        return f"{lines} lines, expected {n}"
    if with_url == n and len(urls) != n:
        return f"{len(urls)} distinct URLs, expected {n}"
    return None


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("jsonl", "bodies", "rated"):
        print(__doc__, file=sys.stderr)
        return 2
    tally = {"n429": 0}
    err = check(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], tally)
    if err is not None:
        print("wrong: " + err)
    elif sys.argv[1] == "rated":
        print(f"ok n429={tally['n429']}")
    else:
        print("ok")
    return 0 if err is None else 1


if __name__ == "__main__":
    sys.exit(main())
