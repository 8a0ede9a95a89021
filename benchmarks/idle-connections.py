"""Holds COUNT idle keep-alive HTTP/1.1 connections open to 127.0.0.1:PORT, for
benchmarks/idle-connections.sh.

  idle-connections.py PORT COUNT

Opens the connections in batches of 200 (below nginx's listen backlog of 511), each from one of
127.0.0.1-127.0.0.8 (source addresses spread, so ports never run short), and sends one request
on each (`GET /`, Host: web), reading its whole answer: an idle connection that has served a
request is the keep-alive case, and a proxy that detects the protocol holds a silent one
differently. Prints `ready N` (N connections open and answered), then waits for a line on
standard input (the caller measures meanwhile, within 20 s: HAProxy's client timeout is 30 s),
prints `still-open M` (M of them not closed by the proxy meanwhile) and closes them all with a
reset (SO_LINGER 0: no TIME_WAIT left behind).
"""
import socket
import struct
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: web\r\n\r\n"


def answered(sock):
    """Reads one whole response (Content-Length framed); True if it was a 2xx."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        body += chunk
    return head.split(b" ", 2)[1].startswith(b"2")


def still_open(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""  # data on an idle connection: not expected, but open
    except BlockingIOError:
        return True
    except OSError:
        return False


def main(port, count):
    conns = []
    for start in range(0, count, 200):
        batch = []
        for i in range(start, min(start + 200, count)):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.bind((f"127.0.0.{1 + i % 8}", 0))
            sock.settimeout(10)
            sock.connect(("127.0.0.1", port))
            sock.sendall(REQUEST)
            batch.append(sock)
        for sock in batch:
            if not answered(sock):
                sys.exit(f"connection {len(conns)}: no 2xx answer")
            conns.append(sock)
    print(f"ready {len(conns)}", flush=True)
    sys.stdin.readline()
    print(f"still-open {sum(still_open(s) for s in conns)}", flush=True)
    for sock in conns:
        sock.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
