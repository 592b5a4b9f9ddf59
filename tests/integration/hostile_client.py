#!/usr/bin/env python3
"""hostile_client.py: raw-socket clients for test_hostile_clients.sh.

  smuggle PORT PATH      sends each request of the smuggling corpus on its own
                         connection; prints "NAME GOT EXPECTED" per case, GOT
                         and EXPECTED being "<status> <closed|open>"
  slow PORT PATH N SECS [probe]
                         opens N slow connections (idle, head trickled a byte
                         a second, body trickled a byte a second), prints
                         "open N", then answers each line read on stdin with
                         "still-open K"; ends when every connection was closed
                         by the server (and the probe answered) or after SECS,
                         printing "closed C answered A of N". With probe, one
                         more connection sends a whole POST of "{}" once the N
                         are open; then also prints "probe STATUS after K
                         closed": K slow ones were closed when its answer came
Loopback only; every wait is bounded.
"""
import select
import socket
import sys
import time

HOST = "127.0.0.1"
WAIT = 10.0  # seconds for an answer and for the close after it


def corpus(path):
    h = "Host: x\r\n"
    p = "POST " + path + " HTTP/1.1\r\n" + h
    te = p + "Transfer-Encoding: chunked\r\n"
    cases = [
        # name, request, expected status
        ("cl-and-te", p + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("te-and-cl", te + "Content-Length: 5\r\n\r\n0\r\n\r\n", 400),
        ("cl-duplicate-same", p + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("cl-duplicate-differing", p + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
        ("cl-list", p + "Content-Length: 5, 5\r\n\r\nhello", 400),
        ("cl-negative", p + "Content-Length: -1\r\n\r\nhello", 400),
        ("cl-plus-sign", p + "Content-Length: +5\r\n\r\nhello", 400),
        ("cl-hex", p + "Content-Length: 0x5\r\n\r\nhello", 400),
        ("cl-empty", p + "Content-Length: \r\n\r\nhello", 400),
        ("cl-absurd", p + "Content-Length: 99999999999999999999999\r\n\r\nhello", 413),
        ("cl-over-int64", p + "Content-Length: 18446744073709551616\r\n\r\nhello", 413),
        ("chunk-size-not-hex", te + "\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk-size-negative", te + "\r\n-5\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk-size-huge", te + "\r\nffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 413),
        ("chunk-size-over-64-bit", te + "\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", 413),
        ("chunk-data-too-long", te + "\r\n5\r\nhelloXX0\r\n\r\n", 400),
        ("te-gzip-chunked", p + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),
        ("te-identity", p + "Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("te-twice", te + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("te-space-before-colon", p + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
        ("te-in-http-1.0", "POST " + path + " HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("obs-fold", p + "X-A: a\r\n b\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("obs-fold-content-length", p + "Content-Length:\r\n 5\r\n\r\nhello", 400),
        ("bare-lf-everywhere", ("POST " + path + " HTTP/1.1\n" + "Host: x\nContent-Length: 5\n\nhello"), 400),
        ("bare-lf-request-line", "POST " + path + " HTTP/1.1\n" + h + "Content-Length: 5\r\n\r\nhello", 400),
        ("bare-lf-last-header", p + "Content-Length: 5\n\r\nhello", 400),
        ("bare-lf-empty-line", p + "Content-Length: 5\r\n\nhello", 400),
        ("bare-cr-in-header", p + "X-A: a\rb\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("nul-in-request-line", "POST " + path + "\0x HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello", 400),
        ("nul-in-header", p + "X-A: a\0b\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("control-byte-in-header", p + "X-A: a\x01b\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("cr-in-uri", "POST " + path + "\rx HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello", 400),
        ("space-in-uri", "POST " + path + " x HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello", 400),
        ("two-spaces-after-method", "POST  " + path + " HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello", 400),
        ("no-colon", p + "Bogus header line\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("no-host", "POST " + path + " HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("two-hosts", p + "Host: y\r\nContent-Length: 5\r\n\r\nhello", 400),
    ]
    return cases


def exchange(port, req):
    """Sends req; returns (status, closed) once the server closed, or after
    WAIT seconds without news."""
    s = socket.create_connection((HOST, port), timeout=WAIT)
    data, closed = b"", "open"
    try:
        s.sendall(req.encode("latin-1"))
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            d = s.recv(65536)
            if not d:
                closed = "closed"
                break
            data += d
    except socket.timeout:
        pass
    except (ConnectionResetError, BrokenPipeError):
        closed = "closed"
    finally:
        s.close()
    line = data.split(b"\r\n", 1)[0].split(b" ")
    status = line[1].decode() if len(line) > 1 and data.startswith(b"HTTP/1.") else "none"
    return status, closed


def smuggle(port, path):
    for name, req, want in corpus(path):
        status, closed = exchange(port, req)
        print(f"{name} {status} {closed} {want} closed", flush=True)


# ---- slow clients -----------------------------------------------------------

def open_slow(port, path, n):
    """n connections: i % 3 == 0 idle, 1 head trickled, 2 body trickled."""
    conns = []
    for i in range(n):
        s = socket.create_connection((HOST, port), timeout=WAIT)
        s.setblocking(False)
        mode = i % 3
        if mode == 1:
            s.send(("POST " + path + " HTTP/1.1\r\nHost: x\r\nX-Slow: ").encode())
        elif mode == 2:
            s.send(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n").encode())
        conns.append([s, mode, "open"])
    return conns


def poll_closed(conns, timeout):
    """Marks the connections the server closed (EOF, reset) or answered."""
    live = {c[0].fileno(): c for c in conns if c[2] == "open"}
    if not live:
        return
    p = select.poll()  # not select(): more than 1,024 descriptors
    for fd in live:
        p.register(fd, select.POLLIN)
    for fd, _ in p.poll(timeout * 1000):
        c = live[fd]
        try:
            d = c[0].recv(65536)
            c[2] = "answered" if d else "closed"
        except BlockingIOError:
            pass
        except OSError:
            c[2] = "closed"


def send_probe(port, path):
    s = socket.create_connection((HOST, port), timeout=WAIT)
    s.sendall(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
               "Connection: close\r\n\r\n{}").encode())
    s.setblocking(False)
    return s


def probe_answer(probe, conns, got):
    """got: [status, closed count when it came]; filled once."""
    if probe is None or got[0] is not None:
        return
    try:
        d = probe.recv(65536)
    except BlockingIOError:
        return
    except OSError:
        d = b""
    line = d.split(b"\r\n", 1)[0].split(b" ")
    got[0] = line[1].decode() if len(line) > 1 else "none"
    got[1] = sum(1 for c in conns if c[2] != "open")


def slow(port, path, n, secs, with_probe):
    conns = open_slow(port, path, n)
    print(f"open {n}", flush=True)
    probe = send_probe(port, path) if with_probe else None
    got = [None, 0]
    deadline = time.monotonic() + secs
    next_trickle = time.monotonic() + 1.0
    stdin_open = True
    while time.monotonic() < deadline and (any(c[2] == "open" for c in conns) or
                                           (probe is not None and got[0] is None)):
        r = select.select([sys.stdin], [], [], 0.2)[0] if stdin_open else time.sleep(0.2)
        poll_closed(conns, 0)
        probe_answer(probe, conns, got)
        if r:
            line = sys.stdin.readline()
            if not line:
                stdin_open = False
            else:
                left = sum(1 for c in conns if c[2] == "open")
                print(f"still-open {left}", flush=True)
        if time.monotonic() >= next_trickle:
            next_trickle += 1.0
            for c in conns:
                if c[2] == "open" and c[1] != 0:
                    try:
                        c[0].send(b"a")
                    except OSError:
                        pass  # a cut connection: poll_closed sees it
    poll_closed(conns, 0)
    closed = sum(1 for c in conns if c[2] == "closed")
    answered = sum(1 for c in conns if c[2] == "answered")
    for c in conns:
        c[0].close()
    print(f"closed {closed} answered {answered} of {n}", flush=True)
    if probe is not None:
        probe.close()
        print(f"probe {got[0]} after {got[1]} closed", flush=True)


def main(argv):
    if len(argv) >= 3 and argv[0] == "smuggle":
        smuggle(int(argv[1]), argv[2])
    elif len(argv) >= 5 and argv[0] == "slow":
        slow(int(argv[1]), argv[2], int(argv[3]), float(argv[4]), argv[5:] == ["probe"])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
