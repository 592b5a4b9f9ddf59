#!/usr/bin/python3
"""BENCH_PROFILE=1's report: where flurry's time goes, per request (stdlib only).

Usage: profile.py DIR N
Reads DIR/callgrind.1.out and DIR/callgrind.out (flurry on 1 and on N GETs,
the same command) and, when there, DIR/perf.data and DIR/strace.txt; writes
Markdown on stdout. Per-request instruction figures are (I(N) - I(1)) / (N - 1):
start-up, reading the options and tearing down cancel out. callgrind counts
instructions in user space only (repeatable, ±1% from run to run: how
completions batch into loop turns varies); perf samples CPU time, kernel
included; strace counts system calls (and slows the run, so batches grow).
"""
import os
import re
import shutil
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(?:[*<>]\s+)?(.*?)\s*\[(.*)\]\s*$")


def annotate(path, inclusive):
    """{(function, object): Ir} from callgrind_annotate."""
    args = ["callgrind_annotate", "--threshold=100", f"--inclusive={'yes' if inclusive else 'no'}", path]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in out.splitlines():
        if line.startswith("-- Auto-annotated source"):
            break
        m = LINE.match(line)
        if m:
            key = (m.group(2), os.path.basename(m.group(3)))
            costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    return costs


def total(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"profile: no totals in {path}")


def per_request(many, one, n):
    return {k: (v - one.get(k, 0)) / (n - 1) for k, v in many.items()}


def short(name, width=90):
    name = re.sub(r"^(\./)?\S*/(src|cli|server)/", r"\2/", name)
    return name if len(name) <= width else name[: width - 1] + "…"


def callgrind_section(d, n, L):
    one, many = os.path.join(d, "callgrind.1.out"), os.path.join(d, "callgrind.out")
    ipr = (total(many) - total(one)) / (n - 1)
    L.append(f"## Instructions (callgrind): **{ipr:,.0f} per request**")
    L.append("")
    L.append(f"I({n:,}) = {total(many):,}, I(1) = {total(one):,}; (I(N) - I(1)) / (N - 1).")
    L.append("")
    self_n, self_1 = annotate(many, False), annotate(one, False)
    per = per_request(self_n, self_1, n)
    by_obj = {}
    for (fn, obj), v in per.items():
        by_obj[obj] = by_obj.get(obj, 0) + v
    L.append("### By object (self cost: the code that ran, whoever called it)")
    L.append("")
    L.append("| object | instructions / request | share |")
    L.append("|---|---:|---:|")
    for obj, v in sorted(by_obj.items(), key=lambda kv: -kv[1]):
        if abs(v) >= 50:
            L.append(f"| {obj} | {v:,.0f} | {v / ipr * 100:.1f}% |")
    L.append("")
    L.append("### Top functions, self cost")
    L.append("")
    L.append("| instructions / request | function | object |")
    L.append("|---:|---|---|")
    for (fn, obj), v in sorted(per.items(), key=lambda kv: -kv[1])[:30]:
        L.append(f"| {v:,.0f} | `{short(fn)}` | {obj} |")
    L.append("")
    inc = per_request(annotate(many, True), annotate(one, True), n)
    L.append("### Top functions, inclusive cost (with everything they call)")
    L.append("")
    L.append("libcurl's internal functions have no symbols (`???:0x...`, offsets in libcurl.so).")
    L.append("")
    L.append("| instructions / request | function | object |")
    L.append("|---:|---|---|")
    rows = [(v, fn, obj) for (fn, obj), v in inc.items() if v <= ipr * 1.01 and "below main" not in fn]
    for v, fn, obj in sorted(rows, key=lambda r: -r[0])[:45]:
        L.append(f"| {v:,.0f} | `{short(fn)}` | {obj} |")
    L.append("")


def perf_section(d, n, L):
    data = os.path.join(d, "perf.data")
    if not os.path.exists(data) or shutil.which("perf") is None:
        return

    def report(sort):
        args = ["perf", "report", "-i", data, "--no-children", "--sort", sort, "-g", "none",
                "--stdio", "--percent-limit", "0.5"]
        out = subprocess.run(args, capture_output=True, text=True).stdout
        return [l for l in out.splitlines() if l.strip() and not l.startswith("#")]

    L.append("## CPU time (perf, cpu-clock samples, kernel included)")
    L.append("")
    L.append(f"flurry on {n:,} GETs, pinned like the benchmark's client. Shares of its CPU time:")
    L.append("")
    L.append("```")
    L.extend(report("dso"))
    L.append("```")
    L.append("")
    L.append("```")
    L.extend(report("dso,sym")[:40])
    L.append("```")
    L.append("")


def strace_section(d, n, L):
    path = os.path.join(d, "strace.txt")
    if not os.path.exists(path):
        return
    L.append("## System calls (strace -f -c)")
    L.append("")
    L.append("strace slows every call, so more completions arrive per loop turn than in a "
             "benchmark run: the per-request counts of epoll_wait and write are lower bounds.")
    L.append("")
    L.append("| system call | calls | per request |")
    L.append("|---|---:|---:|")
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5 or not re.match(r"^[\d.]+$", parts[0]) or not parts[3].isdigit():
                continue
            calls = int(parts[3])
            if parts[-1] == "total":
                L.append(f"| **total** | {calls:,} | {calls / n:.2f} |")
            elif calls >= n / 100:
                L.append(f"| {parts[-1]} | {calls:,} | {calls / n:.2f} |")
    L.append("")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d, n = sys.argv[1], int(sys.argv[2])
    L = [f"# Where flurry's time goes: W1, {n:,} GETs of nginx's /doc.json", ""]
    meta = os.path.join(d, "command.txt")
    if os.path.exists(meta):
        with open(meta, encoding="utf-8") as f:
            L += ["```sh", f.read().rstrip(), "```", ""]
    if os.path.exists(os.path.join(d, "callgrind.out")):
        callgrind_section(d, n, L)
    perf_section(d, n, L)
    strace_section(d, n, L)
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
