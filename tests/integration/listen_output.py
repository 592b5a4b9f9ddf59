#!/usr/bin/env python3
"""listen_output.py: `flurry listen` writing its events to a pipe whose
reader stops reading, or goes away, for test_listen.sh.

  listen_output.py FLURRY backlog [nonblock]
      the reader stops after the port line; 40 deliveries of 20 KB are
      sent at once (--max-queue 100K): some are taken, some wait for the
      reader, the rest get 503 with Retry-After; meanwhile a GET and the
      head timeout (a slow client) are still served; then the reader
      drains, the 503'd ones are sent again, and every line must be whole
      JSON, every acknowledged delivery there exactly once and nothing else
  listen_output.py FLURRY gone [nonblock]
      a 100 KB line (more than the pipe holds) is begun, then the reader
      closes: the delivery gets 500 with the real error (EPIPE)
  listen_output.py FLURRY tty
      the same as backlog (20 deliveries, --max-queue 50K) with stdout a
      pseudo-terminal in raw mode; the terminal's file description (shared
      with the shell in real life) must stay blocking: flurry reopens it
  listen_output.py FLURRY shutdown [never]
      SIGTERM while a 100 KB line is begun: the reader then drains (or,
      never, does not): the line is finished (or the process still ends)

With nonblock the pipe is non-blocking before flurry starts (the case
where a short write used to leave a fragment). Prints one line per check,
"NAME<TAB>GOT<TAB>WANT". Loopback only; every wait is bounded.
"""
import atexit
import collections
import fcntl
import http.client
import json
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty

HOST = "127.0.0.1"
SPAWNED = []


@atexit.register
def _kill_spawned():
    for p in SPAWNED:
        if p.poll() is None:
            p.kill()
            p.wait()


def check(name, got, want):
    print(f"{name}\t{got}\t{want}", flush=True)


def spawn(flurry, args, nonblock):
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 65536)
    if nonblock:
        fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
    keep = os.dup(w)  # the same open file: its flags after flurry exits
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([flurry, "listen", "--port", "0", "--scheme", "none",
                          *args], stdout=w, stderr=err)
    SPAWNED.append(p)
    os.close(w)
    line = b""
    deadline = time.monotonic() + 10
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([r], [], [], 0.1)[0]:
            b = os.read(r, 1)  # one byte at a time: the events stay in the pipe
            if not b:
                break
            line += b
    if not line.strip().isdigit():
        print(f"flurry listen did not start: {line!r}", file=sys.stderr)
        p.kill()
        sys.exit(1)
    return p, r, keep, err, int(line)


def stderr_of(err):
    err.seek(0)
    return err.read().decode(errors="replace")


def post(port, ident, body, timeout=30):
    """(status, Retry-After, body) or ("error", None, why)."""
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("POST", "/hook", body=body,
                  headers={"webhook-id": ident, "Content-Type": "application/json"})
        r = c.getresponse()
        return str(r.status), r.getheader("Retry-After"), r.read().decode()
    except (OSError, http.client.HTTPException) as e:
        return "error", None, type(e).__name__
    finally:
        c.close()


def get_status(port):
    c = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        c.request("GET", "/hook")
        return str(c.getresponse().status)
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__
    finally:
        c.close()


def slow_client_cut(port):
    """A head never finished: closed by the server within 10 s?"""
    s = socket.create_connection((HOST, port), timeout=10)
    try:
        s.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\n")
        return "closed" if s.recv(100) == b"" else "answered"
    except socket.timeout:
        return "open"
    except OSError:
        return "closed"
    finally:
        s.close()


def in_pipe(r):
    """Bytes waiting in the pipe."""
    return struct.unpack("i", fcntl.ioctl(r, termios.FIONREAD, b"\0\0\0\0"))[0]


def wait_for(cond, secs):
    deadline = time.monotonic() + secs
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


class Sender(threading.Thread):
    def __init__(self, port, ident, body):
        super().__init__(daemon=True)
        self.port, self.delivery, self.body, self.result = port, ident, body, None

    def run(self):
        self.result = post(self.port, self.delivery, self.body)


class Drain(threading.Thread):
    def __init__(self, r):
        super().__init__(daemon=True)
        self.r, self.data = r, b""

    def run(self):
        while True:
            b = os.read(self.r, 65536)
            if not b:
                return
            self.data += b


def send_many(port, prefix, n):
    """n deliveries of 20 KB at once; returns once half were answered."""
    senders = [Sender(port, f"{prefix}-{i}", event(f"{prefix}-{i}", 20000)) for i in range(n)]
    for s in senders:
        s.start()
    wait_for(lambda: sum(s.result is not None for s in senders) >= n // 2, 30)
    return senders


def event(ident, size):
    return json.dumps({"id": ident, "pad": "x" * size})


def wait_exit(p, secs=15):
    """The exit status, or "hung" (then killed)."""
    try:
        return str(p.wait(secs))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "hung"


def stop(p, secs=15):
    p.send_signal(signal.SIGTERM)
    return wait_exit(p, secs)


def begin_big_line(port, r):
    """A delivery whose line (100 KB) is more than the pipe holds: begun,
    then waiting for the reader."""
    s = Sender(port, "big-1", event("big-1", 100000))
    s.start()
    wait_for(lambda: in_pipe(r) > 0 or s.result is not None, 10)
    check("a line larger than the pipe waits for the reader", s.result, None)
    return s


def check_output(data, acked):
    """Every line whole JSON; each acknowledged id exactly once; no other."""
    lines = data.split(b"\n")
    check("the output ends with a newline", "yes" if lines[-1] == b"" else repr(lines[-1][:40]), "yes")
    bad, ids = 0, collections.Counter()
    for ln in lines[:-1]:
        try:
            ids[json.loads(ln)["id"]] += 1
        except (ValueError, KeyError):
            bad += 1
    check("every line is whole JSON", bad, 0)
    check("every acknowledged delivery written exactly once",
          sorted(i for i in acked if ids[i] != 1), [])
    check("nothing written that was not acknowledged", sorted(set(ids) - set(acked)), [])


def backlog(flurry, nonblock):
    p, r, keep, err, port = spawn(flurry, ["--quiet", "--max-queue", "100K",
                                           "--header-timeout", "1"], nonblock)
    n = 40
    senders = send_many(port, "ev", n)
    check("a GET answered while the output is backed up", get_status(port), "405")
    check("a slow client cut while the output is backed up", slow_client_cut(port), "closed")
    now = [s.result for s in senders if s.result is not None]
    busy = [r for r in now if r[0] == "503"]
    check("503 once the queue is full", "yes" if len(busy) >= n // 4 else len(busy), "yes")
    check("every 503 has Retry-After", sorted({r[1] for r in busy}), ["5"])
    check("others answered 200 or 503 only", sorted({r[0] for r in now} - {"200", "503"}), [])
    check("some wait for the reader", "yes" if len(now) < n else "no", "yes")
    drain = Drain(r)
    drain.start()
    for s in senders:
        s.join(40)
    check("every delivery answered 200 or 503", sorted({s.result[0] for s in senders} - {"200", "503"}), [])
    acked = [s.delivery for s in senders if s.result[0] == "200"]
    retried = [post(port, s.delivery, s.body)[0] for s in senders if s.result[0] == "503"]
    check("the 503'd ones sent again: 200", sorted(set(retried)), ["200"] if retried else [])
    acked += [s.delivery for s in senders if s.result[0] == "503"]
    check("exit status", stop(p), "0")
    flags = fcntl.fcntl(keep, fcntl.F_GETFL) & os.O_NONBLOCK
    check("stdout's flags put back", "nonblocking" if flags else "blocking",
          "nonblocking" if nonblock else "blocking")
    os.close(keep)  # the last writer: the reader sees the end
    drain.join(10)
    check_output(drain.data, acked)


def gone(flurry, nonblock):
    p, r, keep, err, port = spawn(flurry, ["--quiet"], nonblock)
    s = begin_big_line(port, r)
    os.close(r)  # the reader is gone
    s.join(10)
    st, _, body = s.result if s.result else ("none", None, "")
    check("the reader gone: 500", st, "500")
    check("the real error (EPIPE)", "Broken pipe" in body and "No space" not in body, True)
    st, _, body = post(port, "small-1", event("small-1", 10), 10)
    check("next delivery: 500, EPIPE", f"{st} {'Broken pipe' in body}", "500 True")
    check("still serving", get_status(port), "405")
    check("exit status", stop(p), "0")


def on_tty(flurry):
    master, slave = pty.openpty()
    tty.setraw(slave)  # no CR added to each LF, no echo
    p = subprocess.Popen([flurry, "listen", "--port", "0", "--scheme", "none", "--quiet",
                          "--max-queue", "50K"], stdout=slave, stderr=subprocess.DEVNULL)
    SPAWNED.append(p)
    line = b""
    while not line.endswith(b"\n") and select.select([master], [], [], 10)[0]:
        line += os.read(master, 1)
    port = int(line)
    senders = send_many(port, "tty", 20)
    check("a GET answered while the terminal is not read", get_status(port), "405")
    check("503 once the queue is full", "yes" if any(
        s.result and s.result[0] == "503" for s in senders) else "no", "yes")
    nonblock = fcntl.fcntl(slave, fcntl.F_GETFL) & os.O_NONBLOCK
    check("the shell's terminal description left blocking", "no" if nonblock else "yes", "yes")
    data = b""
    while len([s for s in senders if s.is_alive()]) or select.select([master], [], [], 0.5)[0]:
        if select.select([master], [], [], 0.5)[0]:
            data += os.read(master, 65536)
    check("every delivery answered 200 or 503", sorted({s.result[0] for s in senders} - {"200", "503"}), [])
    check("exit status", stop(p), "0")
    check_output(data, [s.delivery for s in senders if s.result[0] == "200"])
    os.close(slave)
    os.close(master)


def shutdown(flurry, never):
    p, r, keep, err, port = spawn(flurry, [], False)
    s = begin_big_line(port, r)
    p.send_signal(signal.SIGTERM)
    if never:
        check("ends with a line begun and no reader", wait_exit(p), "0")
        check("says the line is unfinished", "left unfinished" in stderr_of(err), True)
        return
    drain = Drain(r)
    drain.start()
    check("exit status", wait_exit(p), "0")
    os.close(keep)
    drain.join(10)
    s.join(10)
    # whether or not its answer got out before the server closed, the line
    # begun is whole, once, and the only one
    check_output(drain.data, ["big-1"])


def main():
    flurry, what = sys.argv[1], sys.argv[2]
    flag = sys.argv[3] if len(sys.argv) > 3 else ""
    if what == "backlog":
        backlog(flurry, flag == "nonblock")
    elif what == "gone":
        gone(flurry, flag == "nonblock")
    elif what == "tty":
        on_tty(flurry)
    elif what == "shutdown":
        shutdown(flurry, flag == "never")
    else:
        sys.exit("usage: listen_output.py FLURRY backlog|gone|tty|shutdown [nonblock|never]")
    check("the driver ran to its end", "yes", "yes")


if __name__ == "__main__":
    main()
