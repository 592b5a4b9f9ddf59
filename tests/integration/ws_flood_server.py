#!/usr/bin/env python3
"""ws_flood_server.py: a hostile WebSocket server for test_ws.sh (stdlib only).

  ws_flood_server.py PORT_FILE MODE [COUNT]

Listens on 127.0.0.1, port 0 (the port goes to PORT_FILE), accepts one
client, answers its handshake (101, Sec-WebSocket-Accept), then by MODE:

  read      sends COUNT pings, the payload of ping i being i (decimal), and
            reads the client's frames meanwhile; then keeps reading until the
            pong for the last ping came, sends a close 1000 and reads until
            the client's close. Prints "pings N pongs M last P close C".
  noread    sends COUNT pings the same way and never reads a byte; then waits
            (still not reading) until the client hangs up. Prints "pings N"
            ("pings -1" when the client hung up before all went out).
  headers   prints the handshake's header lines, one "name: value" a line
            (names lower-cased), then sends a close 1000 and reads until the
            client's close.
  fragping  sends a ping with FIN=0 (a fragmented control frame, RFC 6455
            5.5), then reads until the client's close frame or its hang-up.
            Prints "close CODE" ("close none" without a close frame).

Loopback only; every wait is bounded by DEADLINE (then "deadline" is printed
and the exit status is 1).
"""
import base64
import hashlib
import os
import select
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEADLINE = 60.0


class Deadline(Exception):
    pass


def left(t_end):
    t = t_end - time.monotonic()
    if t <= 0:
        raise Deadline()
    return t


HANDSHAKE = []  # the handshake's header lines, as (lower-cased name, value)


def handshake(conn, t_end):
    head = b""
    while b"\r\n\r\n" not in head:
        conn.settimeout(left(t_end))
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    key = b""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if line:
            HANDSHAKE.append((name.strip().lower().decode(), value.strip().decode()))
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    conn.settimeout(None)


class Frames:
    """The client's frames (masked), parsed as they come."""

    def __init__(self):
        self.buf = bytearray()
        self.pongs = 0
        self.last_pong = b""
        self.close = None  # the close code, once the close frame came

    def feed(self, data):
        self.buf += data
        while True:
            b = self.buf
            if len(b) < 2:
                return
            op, n, pos = b[0] & 0x0F, b[1] & 0x7F, 2
            if n == 126:
                if len(b) < 4:
                    return
                n, pos = struct.unpack(">H", b[2:4])[0], 4
            elif n == 127:
                if len(b) < 10:
                    return
                n, pos = struct.unpack(">Q", b[2:10])[0], 10
            if b[1] & 0x80:
                pos += 4
            if len(b) < pos + n:
                return
            mask = b[pos - 4:pos] if b[1] & 0x80 else b"\0\0\0\0"
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(b[pos:pos + n]))
            del self.buf[:pos + n]
            if op == 0xA:
                self.pongs += 1
                self.last_pong = payload
            elif op == 0x8 and self.close is None:
                self.close = struct.unpack(">H", payload[:2])[0] if n >= 2 else 1005


def pings(count):
    out = bytearray()
    for i in range(1, count + 1):
        p = str(i).encode()
        out += bytes((0x89, len(p))) + p
    return bytes(out)


def read_some(conn, frames, t_end):
    """Reads what is there (waiting up to the deadline); False at EOF."""
    r, _, _ = select.select([conn], [], [], left(t_end))
    if not r:
        return True
    try:
        data = conn.recv(65536)
    except ConnectionError:
        return False
    if not data:
        return False
    frames.feed(data)
    return True


def mode_read(conn, count, t_end):
    out = pings(count)
    frames = Frames()
    conn.setblocking(False)
    sent = 0
    while sent < len(out):
        r, w, _ = select.select([conn], [conn], [], left(t_end))
        if w:
            try:
                sent += conn.send(out[sent:sent + 65536])
            except BlockingIOError:
                pass
        if r:
            data = conn.recv(65536)
            if not data:
                break
            frames.feed(data)
    last = str(count).encode()
    while frames.last_pong != last and read_some(conn, frames, t_end):
        pass
    conn.setblocking(True)
    conn.sendall(b"\x88\x02\x03\xe8")
    conn.setblocking(False)
    while frames.close is None and read_some(conn, frames, t_end):
        pass
    print("pings %d pongs %d last %s close %s" %
          (count, frames.pongs, frames.last_pong.decode() or "none", frames.close))


def mode_noread(conn, count, t_end):
    out = memoryview(pings(count))
    conn.setblocking(False)
    sent = 0
    try:
        while sent < len(out):
            select.select([], [conn], [], left(t_end))
            try:
                sent += conn.send(out[sent:sent + 65536])
            except BlockingIOError:
                pass
        # Wait for the hang-up without reading: POLLRDHUP is the peer's FIN,
        # POLLHUP / POLLERR its reset.
        p = select.poll()
        p.register(conn, select.POLLRDHUP)
        while not p.poll(left(t_end) * 1000):
            pass
    except ConnectionError:
        pass
    print("pings %d" % (count if sent == len(out) else -1))


def mode_fragping(conn, t_end):
    conn.sendall(b"\x09\x01p")
    frames = Frames()
    conn.setblocking(False)
    while frames.close is None and read_some(conn, frames, t_end):
        pass
    print("close %s" % (frames.close if frames.close is not None else "none"))


def mode_headers(conn, t_end):
    for name, value in HANDSHAKE:
        print("%s: %s" % (name, value))
    conn.sendall(b"\x88\x02\x03\xe8")  # close 1000
    frames = Frames()
    conn.setblocking(False)
    while frames.close is None and read_some(conn, frames, t_end):
        pass


def main():
    port_file, mode = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    t_end = time.monotonic() + DEADLINE
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    try:
        srv.settimeout(left(t_end))
        conn, _ = srv.accept()
        handshake(conn, t_end)
        if mode == "read":
            mode_read(conn, count, t_end)
        elif mode == "noread":
            mode_noread(conn, count, t_end)
        elif mode == "fragping":
            mode_fragping(conn, t_end)
        elif mode == "headers":
            mode_headers(conn, t_end)
        else:
            print("unknown mode " + mode)
            return 2
    except (Deadline, socket.timeout):
        print("deadline")
        return 1
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
