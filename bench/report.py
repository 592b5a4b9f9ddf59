#!/usr/bin/python3
"""Turn bench/run.sh's raw measurements into RESULTS.md (stdlib only).

Usage: report.py OUT_DIR RESULTS.md
Reads OUT_DIR/{meta.env,versions.tsv,results.tsv,commands.tsv}. Every figure
is the MEDIAN over the runs that succeeded (wall, CPU and RSS each taken
separately); a row with a failed or wrong run says so.
"""
import csv
import math
import os
import statistics
import sys

TARGETS = {
    "w1_vs_curl": 2.0,      # flurry req/s >= 2x curl --parallel
    "w1_cpu_us": 15.0,      # flurry CPU per request <= 15 µs
    "w1_vs_pycurl": 1.5,    # flurry req/s >= 1.5x pycurl's CurlMulti
    "w1_vs_aiohttp": 8.0,   # flurry req/s >= 8x aiohttp
    "w2_over_pct": 2.0,     # wall within 2% of the ideal
    "w3_rss_bytes": 25e6,   # peak RSS < 25 MB at the big N
    "w3_flat": 1.10,        # RSS(big) <= 1.10 x RSS(small)
    "w1o_overhead": 0.05,   # CPU/req with never-binding limits < 1.05 x plain
    "w4_rate_share": 0.95,  # flurry --rate R achieves >= 95% of R (N / wall)
}
TOOL_ORDER = ["flurry", "flurry-template", "flurry-limits", "flurry-rate", "flurry-auto",
              "flurry-py", "flurry-py-uvloop", "flurry-py-sync", "floor",
              "curl", "pycurl", "aiohttp", "aiohttp-uvloop", "aiohttp-bucket", "aiohttp-sleep",
              "httpx", "wrk"]
TOOL_LABEL = {
    "flurry": "flurry",
    "flurry-template": "flurry (template + ids)",
    "flurry-limits": "flurry with limits that never bind",
    "flurry-rate": "flurry --rate R/s",
    "flurry-auto": "flurry --rate auto --retries 5",
    "flurry-py": "flurry Python AsyncClient.map (asyncio)",
    "flurry-py-uvloop": "flurry Python AsyncClient.map (uvloop)",
    "flurry-py-sync": "flurry Python Client.map (no asyncio)",
    "aiohttp-bucket": "aiohttp + asyncio token bucket",
    "aiohttp-sleep": "aiohttp + sleep(1/R) between launches",
    "floor": "libcurl floor (bench/libcurl_floor.c)",
    "curl": "curl --parallel",
    "pycurl": "pycurl CurlMulti",
    "aiohttp": "aiohttp",
    "aiohttp-uvloop": "aiohttp on uvloop",
    "httpx": "httpx",
    "wrk": "wrk (ceiling, parses nothing)",
}


def read_meta(out):
    meta = {}
    with open(os.path.join(out, "meta.env"), encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


class Row:
    """The median figures of one tool in one workload."""

    def __init__(self, runs):
        self.runs = runs
        self.tool = runs[0]["tool"]
        self.n = int(runs[0]["n"])
        ok = [r for r in runs if r["status"] == "ok"]
        self.ok = ok
        self.total = len(runs)
        if ok:
            self.wall = statistics.median(num(r["wall_s"]) for r in ok)
            self.cpu = statistics.median(num(r["user_s"]) + num(r["sys_s"]) for r in ok)
            self.rss_kib = statistics.median(num(r["maxrss_kib"]) for r in ok)
            self.reqs = statistics.median(num(r["requests"]) for r in ok)
            lats = [num(r.get("lat_ms")) for r in ok if num(r.get("lat_ms")) is not None]
            self.lat_ms = statistics.median(lats) if lats else None
            n429 = [num(r.get("n429")) for r in ok if num(r.get("n429")) is not None]
            self.n429 = statistics.median(n429) if n429 else None
            self.n429_max = max(n429) if n429 else None
            if self.tool == "wrk":
                self.rps = statistics.median(num(r["rps"]) for r in ok)
            else:
                self.rps = self.n / self.wall if self.wall else None
        else:
            self.wall = self.cpu = self.rss_kib = self.reqs = self.rps = self.lat_ms = None
            self.n429 = self.n429_max = None

    @property
    def good(self):
        return bool(self.ok)

    @property
    def status(self):
        bad = [r for r in self.runs if r["status"] != "ok"]
        if not bad:
            return "ok" if self.total == 1 else f"ok ({self.total} runs)"
        first = bad[0]
        what = first["status"].upper()
        note = first["note"].replace("|", "\\|")
        if self.ok:
            return f"ok {len(self.ok)}/{self.total}; {what}: {note}"
        return f"**{what}**: {note}"

    @property
    def cpu_us(self):
        if self.cpu is None or not self.reqs:
            return None
        return self.cpu / self.reqs * 1e6

    @property
    def rss_mib(self):
        return None if self.rss_kib is None else self.rss_kib / 1024


def fmt(v, spec, dash="–"):
    return dash if v is None else format(v, spec)


def pct(v):
    return "–" if v is None else f"{v:+.1f}%"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(ok):
    if ok is None:
        return "n/a (no figure)"
    return "**PASS**" if ok else "**MISS**"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, dest = sys.argv[1], sys.argv[2]
    meta = read_meta(out)
    versions = [line.rstrip("\n").split("\t", 1)
                for line in open(os.path.join(out, "versions.tsv"), encoding="utf-8") if line.strip()]
    runs = read_tsv(os.path.join(out, "results.tsv"))
    cmds = read_tsv(os.path.join(out, "commands.tsv"))

    rows = {}
    for r in runs:
        rows.setdefault((r["workload"], r["tool"]), []).append(r)
    table = {k: Row(v) for k, v in rows.items()}

    def get(w, tool):
        return table.get((w, tool))

    def tools_in(w):
        return [t for t in TOOL_ORDER if (w, t) in table]

    port = meta.get("port", "")
    outdir = meta.get("out", out)

    def clean_cmd(c):
        c = c.replace(outdir, "$OUT").replace(f"127.0.0.1:{port}", "127.0.0.1:$PORT")
        return c.replace(os.path.dirname(os.path.abspath(__file__)), "bench")

    w1n, w1c = int(meta["w1_n"]), int(meta["w1_c"])
    w2n, w2c = int(meta["w2_n"]), int(meta["w2_c"])
    w3n, w3s, w3c = int(meta["w3_n"]), int(meta["w3_small_n"]), int(meta["w3_c"])
    ideal = math.ceil(w2n / w2c) * 0.2
    w4n, w4c, w4rate = (int(meta.get(k, 0)) for k in ("w4_n", "w4_c", "w4_rate"))
    w4ideal = (w4n - 1) / w4rate if w4rate else None  # evenly spaced starts

    L = []
    add = L.append
    add("# flurry benchmark results")
    add("")
    if meta.get("quick") == "1":
        add("> **QUICK smoke run** (BENCH_QUICK=1): small N, one run. Not the reference figures.")
        add("")
    add(f"Generated by `bench/run.sh` (`make bench`) on {meta['date']}; "
        f"every figure is the **median of {meta['runs']} run(s)** "
        f"(runs interleaved across tools). Harness time: {meta.get('elapsed', '?')} s.")
    add("")
    add("## Machine")
    add("")
    add(f"- CPU: {meta['cpu']}, nproc {meta['nproc']}; memory {meta['mem']}")
    add(f"- kernel: {meta['kernel']}; OS: {meta['os']}")
    add(f"- pinning: {meta['pinning']}")
    add(f"- load average (1/5/15 min) at start: {meta.get('load_start', '?')}, at end: "
        f"{meta.get('load_end', '?')} (other work on the machine skews the figures)")
    for col, what in (("other_client_pct", "client core"), ("other_server_pct", "server core")):
        vals = [(num(r.get(col)), r) for r in runs if num(r.get(col)) is not None]
        if vals:
            worst = max(vals, key=lambda v: v[0])
            add(f"- CPU taken by other processes on the {what} during a run: median "
                f"{statistics.median(v for v, _ in vals):.0f}% of its wall time, worst {worst[0]:.0f}% "
                f"({worst[1]['workload']} {worst[1]['tool']} run {worst[1]['run']})")
    add(f"- server: nginx, 1 worker, own config, loopback 127.0.0.1 (port picked at run time), "
        f"keepalive_requests 1000000, access_log off; `/doc.json` = fixed {meta['doc_bytes']}-byte "
        f"JSON (application/json), `/delay` = echo_sleep 0.2 then a small JSON")
    if ("W4", "flurry-rate") in table or ("W4", "aiohttp-bucket") in table:
        add(f"- W4 server: `flurry mock` (the flurry binary under test), pinned like nginx, its "
            f"`/limited?rate={w4rate}&key=K` token bucket: {w4rate}/s per key, burst {w4rate}; a fresh key "
            "(a full bucket) for every run")
    add("")
    add("## Versions")
    add("")
    add("| tool | version |")
    add("|---|---|")
    for v in versions:
        add(f"| {v[0]} | {v[1] if len(v) > 1 else ''} |")
    add("")
    add("Measured with `/usr/bin/time -f '%e %U %S %M'`: wall s, user s, sys s, max RSS KiB of "
        "the client process (process start-up and input parsing included). "
        "CPU µs/req = (user + sys) / requests. req/s = N / wall "
        "(wrk: its own Requests/sec over a fixed duration).")
    add("")

    # ---- W1
    add(f"## W1 throughput: {w1n:,} GETs of /doc.json, concurrency {w1c}, bodies parsed, JSONL out")
    add("")
    add("| tool | status | wall s | req/s | CPU µs/req | peak RSS MiB |")
    add("|---|---|---:|---:|---:|---:|")
    for t in tools_in("W1"):
        r = get("W1", t)
        add(f"| {TOOL_LABEL[t]} | {r.status} | {fmt(r.wall, '.3f')} | {fmt(r.rps, ',.0f')} | "
            f"{fmt(r.cpu_us, '.1f')} | {fmt(r.rss_mib, '.1f')} |")
    add("")
    notes = []
    if ("W1", "pycurl") in table:
        notes.append("pycurl drives the same libcurl 7.88 from Python (CurlMulti, select loop, "
                     "json.loads of every body, JSONL out: pycurl's own retriever-multi pattern)")
    if ("W1", "floor") in table:
        notes.append("the libcurl floor is the least a libcurl client does per request "
                     "(multi_socket on epoll, reused connections, bodies written as they come, "
                     "nothing parsed, no timeout, no record): flurry's CPU above it is flurry's own")
    if ("W1", "aiohttp-uvloop") in table:
        notes.append("aiohttp on uvloop is the aiohttp peer's code on uvloop's libuv event loop")
    add("; ".join(notes) + (". " if notes else "") +
        "curl writes the raw bodies (it parses nothing); wrk reads and discards them "
        f"(`-t1 -c{w1c} -d{meta['wrk_secs']}s`, its req/s over the duration, its CPU per request counted).")
    add("")

    # ---- W1 overhead
    o_plain, o_lim = get("W1o", "flurry"), get("W1o", "flurry-limits")
    o_over = None
    if o_plain or o_lim:
        add(f"## W1 overhead of the retry and rate-limit machinery: {int(meta['w1o_n']):,} GETs of "
            f"/doc.json, concurrency {w1c}, {meta['w1o_runs']} interleaved run(s)")
        add("")
        add("| flurry | status | wall s | req/s | CPU µs/req | peak RSS MiB |")
        add("|---|---|---:|---:|---:|---:|")
        for label, r in (("plain", o_plain), (f"`{meta.get('limits', '')}`", o_lim)):
            if r:
                add(f"| {label} | {r.status} | {fmt(r.wall, '.3f')} | {fmt(r.rps, ',.0f')} | "
                    f"{fmt(r.cpu_us, '.2f')} | {fmt(r.rss_mib, '.1f')} |")
        o_ratio = ratio(o_lim and o_lim.cpu_us, o_plain and o_plain.cpu_us)
        o_over = None if o_ratio is None else (o_ratio - 1) * 100
        pairs = []
        for run in sorted({int(r["run"]) for r in runs if r["workload"] == "W1o"}):
            a = [r for r in runs if r["workload"] == "W1o" and int(r["run"]) == run and r["status"] == "ok"]
            cpu = {r["tool"]: num(r["user_s"]) + num(r["sys_s"]) for r in a}
            if cpu.get("flurry") and "flurry-limits" in cpu:
                pairs.append(f"{(cpu['flurry-limits'] / cpu['flurry'] - 1) * 100:+.1f}%")
        add("")
        add(f"CPU µs/req with the limits ÷ plain: **{fmt(o_ratio, '.3f')}× ({pct(o_over)})** (medians); "
            f"run by run (each pair back to back): {', '.join(pairs) or '–'}. The limits never bind "
            f"(W1 runs at ~20k req/s), so this is the cost of the bookkeeping alone: a token taken from "
            f"two buckets per start and the retry decision per response. More requests and runs than W1 "
            f"because CPU time is counted in 10 ms ticks and varies a few % from run to run.")
        add("")

    # ---- W2
    add(f"## W2 latency-bound: {w2n:,} GETs of /delay (200 ms each), concurrency {w2c} "
        f"(ideal {ideal:.1f} s)")
    add("")
    add("| tool | status | wall s | over ideal | CPU µs/req | peak RSS MiB |")
    add("|---|---|---:|---:|---:|---:|")
    waves = math.ceil(w2n / w2c)
    floor = None
    for t in tools_in("W2"):
        r = get("W2", t)
        if t == "wrk":
            floor = None if r.lat_ms is None else waves * r.lat_ms / 1000
            over = None if floor is None else (floor - ideal) / ideal * 100
            add(f"| wrk: server floor = {waves} waves × its mean latency "
                f"{fmt(r.lat_ms, '.2f')} ms | {r.status} | {fmt(floor, '.3f')} | {pct(over)} | – | – |")
            continue
        over = None if r.wall is None else (r.wall - ideal) / ideal * 100
        add(f"| {TOOL_LABEL[t]} | {r.status} | {fmt(r.wall, '.3f')} | {pct(over)} | "
            f"{fmt(r.cpu_us, '.1f')} | {fmt(r.rss_mib, '.1f')} |")
    add("")
    add(f"The wrk row is not a client run: wrk keeps {w2c} connections busy on /delay for "
        f"{meta['wrk_secs']} s, and {waves} back-to-back requests at its mean latency is the best "
        "any client can do against this server. /usr/bin/time's wall clock has 10 ms "
        f"resolution (truncated): {1 / ideal:.1f}% of {ideal:.1f} s.")
    add("")

    # ---- W3
    add(f"## W3 scale: {w3n:,} GETs of /doc.json, concurrency {w3c}; peak RSS vs {w3s:,}")
    add("")
    add(f"| tool | status | wall s | req/s | CPU µs/req | RSS MiB @{w3s:,} | RSS MiB @{w3n:,} | RSS ratio |")
    add("|---|---|---:|---:|---:|---:|---:|---:|")
    for t in [t for t in TOOL_ORDER if ("W3", t) in table or ("W3s", t) in table]:
        big, small = get("W3", t), get("W3s", t)
        st = big.status if big else "–"
        if small and (len(small.ok) < small.total or not big) and small.status != st:
            st += f"; @{w3s:,}: {small.status}"
        rr = ratio(big.rss_kib if big else None, small.rss_kib if small else None)
        add(f"| {TOOL_LABEL[t]} | {st} | {fmt(big and big.wall, '.2f')} | {fmt(big and big.rps, ',.0f')} | "
            f"{fmt(big and big.cpu_us, '.1f')} | {fmt(small and small.rss_mib, '.1f')} | "
            f"{fmt(big and big.rss_mib, '.1f')} | {fmt(rr, '.2f')} |")
    add("")
    add(f"At {w3n:,} the python peers run {meta.get('w3_peer_runs', '1')} time(s) (minutes each), "
        "httpx only with BENCH_W3_SLOW=1. Their RSS grows with N because the idiomatic "
        "gather() pattern creates every coroutine up front; curl -K parses the whole config first.")
    add("")

    # ---- W4
    w4tools = [t for t in TOOL_ORDER if ("W4", t) in table]
    if w4tools:
        add(f"## W4 rate-limited: {w4n:,} GETs of flurry mock's /limited at {w4rate}/s "
            f"(burst {w4rate}), concurrency {w4c}")
        add("")
        add("| tool | status | wall s | achieved req/s (N / wall) | 429s (median, max) | CPU µs/req | peak RSS MiB |")
        add("|---|---|---:|---:|---:|---:|---:|")
        for t in w4tools:
            r = get("W4", t)
            n429 = "–" if r.n429 is None else f"{r.n429:.0f} ({r.n429_max:.0f})"
            add(f"| {TOOL_LABEL[t].replace('R', str(w4rate)) if t == 'flurry-rate' else TOOL_LABEL[t]} | "
                f"{r.status} | {fmt(r.wall, '.2f')} | {fmt(r.rps, '.1f')} | {n429} | "
                f"{fmt(r.cpu_us, '.0f')} | {fmt(r.rss_mib, '.1f')} |")
        add("")
        add(f"A client that starts requests evenly at {w4rate}/s needs ({w4n:,} − 1) / {w4rate} = "
            f"{fmt(w4ideal, '.2f')} s ({fmt(w4ideal and w4n / w4ideal, '.1f')} req/s as N / wall); "
            f"one that also spends the server's burst of {w4rate} can finish in "
            f"{fmt(w4rate and (w4n - w4rate) / w4rate, '.2f')} s. Wall time includes start-up "
            "(about 0.2 s for python3 + aiohttp). No retries except for `--rate auto`: a 429 is a "
            "result, counted; `--rate auto` retries its 429s (429s counts every attempt) and learns the "
            "rate from them and from the server's RateLimit-Policy header. The python limiters are the "
            "tutorials' two: a token bucket (asyncio.Lock + sleep until the next token, capacity 1) "
            "awaited inside the semaphore, and `await asyncio.sleep(1 / R)` between task launches.")
        add("")

    # ---- ratios
    f1 = get("W1", "flurry")
    add("## Ratios (same run)")
    add("")
    add("| comparison | value |")
    add("|---|---:|")
    for t in ("curl", "pycurl", "aiohttp", "aiohttp-uvloop", "httpx", "wrk"):
        p = get("W1", t)
        if p is None:
            continue
        rv = ratio(f1 and f1.rps, p.rps)
        if t == "wrk":
            add(f"| W1 flurry req/s as a share of the wrk ceiling | {fmt(rv and rv * 100, '.0f')}{'%' if rv else ''} |")
        else:
            add(f"| W1 flurry req/s ÷ {TOOL_LABEL[t]} req/s | {fmt(rv, '.2f')}× |")
            add(f"| W1 {TOOL_LABEL[t]} CPU µs/req ÷ flurry's | "
                f"{fmt(ratio(p.cpu_us, f1 and f1.cpu_us), '.2f')}× |")
    fl = get("W1", "floor")
    if fl is not None:
        own = None
        if f1 is not None and f1.cpu_us is not None and fl.cpu_us is not None:
            own = f1.cpu_us - fl.cpu_us
        add(f"| W1 flurry CPU µs/req − the libcurl floor's (flurry's own work) | {fmt(own, '.1f')} µs |")
        c1 = get("W1", "curl")
        add(f"| W1 libcurl floor req/s ÷ curl --parallel req/s (the most any libcurl client gets) | "
            f"{fmt(ratio(fl.rps, c1 and c1.rps), '.2f')}× |")
    for t in ("flurry", "curl", "pycurl", "aiohttp", "aiohttp-uvloop", "httpx"):
        r = get("W2", t)
        if r is None:
            continue
        over = None if r.wall is None else (r.wall - ideal) / ideal * 100
        add(f"| W2 {TOOL_LABEL[t]} wall over the ideal {ideal:.1f} s | {pct(over)} |")
    if floor is not None:
        add(f"| W2 server floor (wrk's mean latency × {waves}) over the ideal | "
            f"{pct((floor - ideal) / ideal * 100)} |")
    for t in ("flurry", "curl", "pycurl", "aiohttp", "aiohttp-uvloop", "httpx"):
        big, small = get("W3", t), get("W3s", t)
        if big is None:
            continue
        rr = ratio(big.rss_kib, small.rss_kib if small else None)
        add(f"| W3 {TOOL_LABEL[t]} peak RSS @{w3n:,} (ratio to @{w3s:,}) | "
            f"{fmt(big.rss_mib, '.1f')} MiB ({fmt(rr, '.2f')}×) |")
    f3 = get("W3", "flurry")
    if f3 and f3.rss_mib is not None:
        for t in ("curl", "pycurl", "aiohttp", "aiohttp-uvloop", "httpx"):
            p = get("W3", t)
            if p and p.rss_kib:
                add(f"| W3 {TOOL_LABEL[t]} RSS ÷ flurry RSS @{w3n:,} | {p.rss_kib / f3.rss_kib:.1f}× |")
    if o_over is not None:
        add(f"| W1 overhead: CPU µs/req with never-binding limits over plain | {pct(o_over)} |")
    f4 = get("W4", "flurry-rate")
    for t in ("flurry-auto", "aiohttp-bucket", "aiohttp-sleep"):
        p = get("W4", t)
        if p is not None and f4 is not None:
            add(f"| W4 {TOOL_LABEL[t]} achieved req/s ÷ flurry --rate {w4rate}/s's | "
                f"{fmt(ratio(p.rps, f4.rps), '.2f')}× |")
    add("")

    # ---- targets
    add("## Targets")
    add("")
    add("From the issue, except those marked (bench): set by this benchmark as a check that the "
        "rate limiter does what it says.")
    add("")
    add("| target | measured | verdict |")
    add("|---|---:|---|")
    c1, a1, p1 = get("W1", "curl"), get("W1", "aiohttp"), get("W1", "pycurl")
    r_c = ratio(f1 and f1.rps, c1 and c1.rps)
    r_p = ratio(f1 and f1.rps, p1 and p1.rps)
    r_a = ratio(f1 and f1.rps, a1 and a1.rps)
    add(f"| W1: flurry ≥ 2× curl --parallel req/s | {fmt(r_c, '.2f')}× | "
        f"{verdict(None if r_c is None else r_c >= TARGETS['w1_vs_curl'])} |")
    cpu = f1 and f1.cpu_us
    add(f"| W1: flurry ≤ {TARGETS['w1_cpu_us']:.0f} µs CPU per request | {fmt(cpu, '.1f')} µs | "
        f"{verdict(None if cpu is None else cpu <= TARGETS['w1_cpu_us'])} |")
    add(f"| W1: flurry ≥ 1.5× pycurl CurlMulti req/s | {fmt(r_p, '.2f')}× | "
        f"{verdict(None if r_p is None else r_p >= TARGETS['w1_vs_pycurl'])} |")
    add(f"| W1: flurry ≥ 8× aiohttp req/s | {fmt(r_a, '.2f')}× | "
        f"{verdict(None if r_a is None else r_a >= TARGETS['w1_vs_aiohttp'])} |")
    f2 = get("W2", "flurry")
    over = None if not f2 or f2.wall is None else (f2.wall - ideal) / ideal * 100
    add(f"| W2: flurry within 2% of the ideal {ideal:.1f} s | {fmt(f2 and f2.wall, '.3f')} s "
        f"({pct(over)}) | {verdict(None if over is None else round(over, 6) <= TARGETS['w2_over_pct'])} |")
    rss_b = None if not f3 or f3.rss_kib is None else f3.rss_kib * 1024
    add(f"| W3: flurry peak RSS < 25 MB at {w3n:,} | {fmt(rss_b and rss_b / 1e6, '.1f')} MB "
        f"({fmt(f3 and f3.rss_mib, '.1f')} MiB) | "
        f"{verdict(None if rss_b is None else rss_b < TARGETS['w3_rss_bytes'])} |")
    f3s = get("W3s", "flurry")
    flat = ratio(f3 and f3.rss_kib, f3s and f3s.rss_kib)
    add(f"| W3: flurry RSS @{w3n:,} ≤ 1.10 × RSS @{w3s:,} | {fmt(flat, '.3f')}× | "
        f"{verdict(None if flat is None else round(flat, 6) <= TARGETS['w3_flat'])} |")
    if o_plain or o_lim:
        add(f"| W1 overhead: CPU µs/req with `{meta.get('limits', '')}` < 5% over plain | "
            f"{pct(o_over)} | {verdict(None if o_over is None else o_over < TARGETS['w1o_overhead'] * 100)} |")
    if ("W4", "flurry-rate") in table:
        share = None if not f4 or f4.rps is None else f4.rps / w4rate
        add(f"| W4 (bench): flurry --rate {w4rate}/s gets no 429 in any run | "
            f"{fmt(f4 and f4.n429_max, '.0f')} | "
            f"{verdict(None if not f4 or f4.n429_max is None else f4.n429_max == 0)} |")
        add(f"| W4 (bench): flurry --rate {w4rate}/s achieves ≥ 95% of {w4rate} req/s (N / wall) | "
            f"{fmt(f4 and f4.rps, '.1f')} req/s ({fmt(share and share * 100, '.1f')}%) | "
            f"{verdict(None if share is None else share >= TARGETS['w4_rate_share'])} |")
    add("")

    # ---- commands
    add("## Commands")
    add("")
    add("Each run: `timeout -k 5 T` around the line below (T scales with N). "
        "`$OUT` is the work dir (bench/out), `$PORT` the port picked for nginx. "
        "Input files: `wN.urls` (one URL per line, `...?i=1..N`), `wN.ids` (the ids), "
        "`wN.curl` (`url = \"...\"` lines for curl -K); W4's `w4.urls` is written afresh for every "
        "run (`/limited?rate=R&key=w4-TOOL-RUN&i=1..N`).")
    add("")
    for w in ("W1", "W1o", "W2", "W3s", "W3", "W4"):
        if not any(c["workload"] == w for c in cmds):
            continue
        add(f"**{w}**")
        add("")
        add("```sh")
        for c in cmds:
            if c["workload"] == w:
                add(clean_cmd(c["command"]).rstrip())
        add("```")
        add("")

    # ---- raw runs
    add("## All runs")
    add("")
    add("<details><summary>every measurement (wall s, user s, sys s, max RSS KiB)</summary>")
    add("")
    add("| workload | tool | run | N | wall | user | sys | RSS KiB | req/s | 429s | other CPU % client/server core | status | note |")
    add("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in runs:
        note = r["note"].replace("|", "\\|")
        add(f"| {r['workload']} | {r['tool']} | {r['run']} | {r['requests'] or r['n']} | {r['wall_s']} | {r['user_s']} | "
            f"{r['sys_s']} | {r['maxrss_kib']} | {r['rps']} | {r.get('n429') or '–'} | "
            f"{r.get('other_client_pct') or '–'}/{r.get('other_server_pct') or '–'} | {r['status']} | {note} |")
    add("")
    add("</details>")
    add("")

    text = "\n".join(L)
    with open(dest, "w", encoding="utf-8") as f:
        f.write(text)
    # the summary on stdout: everything up to the commands
    print(text.split("## Commands")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
