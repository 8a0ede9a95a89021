#!/usr/bin/env python3
"""WebSocket echo check through a proxy: ws_client.py PORT HOST. Sends a text, a binary and a
70 000-byte message, prints each echo's length and whether it matched, then closes."""
import base64
import os
import socket
import sys

port, host = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall(
    f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
)
head = b""
while b"\r\n\r\n" not in head:
    chunk = sock.recv(1)
    if not chunk:
        sys.exit("closed during handshake")
    head += chunk
status = head.split(b"\r\n")[0].decode()
print(status)


def recv_exact(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("closed mid-frame")
        data += chunk
    return data


def send_frame(opcode, payload):
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(header + mask + masked)


def recv_frame():
    first = recv_exact(2)
    n = first[1] & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(8), "big")
    return first[0] & 0x0F, recv_exact(n)


for opcode, payload in [(1, b"hello heddle"), (2, bytes(range(256))), (2, os.urandom(70000))]:
    send_frame(opcode, payload)
    got_opcode, got = recv_frame()
    print(f"echo {len(got)} {'match' if got == payload and got_opcode == opcode else 'MISMATCH'}")
send_frame(8, b"")
opcode, _ = recv_frame()
print("closed" if opcode == 8 else f"unexpected opcode {opcode}")
