#!/usr/bin/env python3
"""A test upstream for Heddle's end-to-end tests: a real HTTP/1.1 server (asyncio, stdlib only)
with behaviours chosen by path, plus a TCP echo mode. Prints its port on the first line.

  upstream.py http NAME     HTTP server on 127.0.0.1 (and ::1, same port, when there is IPv6
                            loopback); every response carries x-served-by: NAME
  upstream.py tcp-echo      echoes bytes; answers a half-close by closing
  upstream.py backlog       accepts nothing (listen backlog full): connects time out

HTTP paths:
  /hello                 200 "hello from NAME"
  /echo                  200 with the request body echoed back (chunked response), 100-continue honoured
  /count                 200 with the number of body bytes received (streams, any size)
  /bytes/N               200 with N bytes, chunked
  /trailers              200 "body before trailers", chunked, with the trailer x-checksum: abc123
  /until-close           200 "body until close" with no length, then closes the connection
  /slow/MS               waits MS milliseconds, then 200
  /headers               200 with the request head received, as text
  /close                 closes the connection without a response
  /garbage               answers with bytes that are not HTTP
  /hang                  never answers
  /ws                    WebSocket echo (RFC 6455, text and binary frames)
  /early                 413 at once, without reading the request body, then closes
  /stall                 a head promising 100 bytes, 10 of them, then nothing
  /then-drop             200, then the connection takes the next request and closes unanswered
                         (a keep-alive timeout that runs out just as the request arrives)
  /status/N              answers status N
  /stats                 200 with the number of requests this server received before this one
                         (requests for /stats and /last are not counted)
  /last                  200 with the head of the last request received before this one (other
                         than /stats and /last), as text
  /via/PORT/HOST/REST    calls http://127.0.0.1:PORT/REST with Host: HOST (a sidecar's outbound
                         listener), passing traceparent and tracestate on as an app that takes
                         part in tracing does, and answers with that call's status and body
"""
import asyncio
import base64
import hashlib
import socket
import sys

NAME = "upstream"
REQUESTS = 0
LAST = b""


async def read_head(reader):
    data = await reader.readuntil(b"\r\n\r\n")
    lines = data.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            name, value = line.split(":", 1)
            headers.append((name.strip().lower(), value.strip()))
    return method, target, version, headers, data


def header(headers, name):
    for key, value in headers:
        if key == name:
            return value
    return None


async def read_body(reader, headers, sink):
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return
            remaining = size
            while remaining:
                chunk = await reader.read(min(remaining, 65536))
                if not chunk:
                    raise ConnectionError("eof in body")
                remaining -= len(chunk)
                await sink(chunk)
            await reader.readexactly(2)
    else:
        remaining = int(header(headers, "content-length") or "0")
        while remaining:
            chunk = await reader.read(min(remaining, 65536))
            if not chunk:
                raise ConnectionError("eof in body")
            remaining -= len(chunk)
            await sink(chunk)


def response_head(status, reason, headers):
    lines = [f"HTTP/1.1 {status} {reason}", f"x-served-by: {NAME}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def call_via(path, headers):
    """GET /REST from 127.0.0.1:PORT with Host: HOST, forwarding the trace headers."""
    _, _, port, host, rest = path.split("/", 4)
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    lines = [f"GET /{rest} HTTP/1.1", f"Host: {host}", "Connection: close"]
    for name in ("traceparent", "tracestate"):
        value = header(headers, name)
        if value is not None:
            lines.append(f"{name}: {value}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        decoded = b""
        while body:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded += body[:size]
            body = body[size + 2:]
        body = decoded
    return status, body


async def send_fixed(writer, status, body, extra=()):
    writer.write(response_head(status, "OK" if status == 200 else "Status", [("content-length", str(len(body)))] + list(extra)) + body)
    await writer.drain()


async def websocket(reader, writer, headers):
    key = header(headers, "sec-websocket-key")
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    writer.write(response_head(101, "Switching Protocols", [("upgrade", "websocket"), ("connection", "Upgrade"), ("sec-websocket-accept", accept)]))
    await writer.drain()
    while True:
        first = await reader.readexactly(2)
        opcode = first[0] & 0x0F
        length = first[1] & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8), "big")
        mask = await reader.readexactly(4) if first[1] & 0x80 else b"\0\0\0\0"
        payload = bytearray(await reader.readexactly(length))
        for i in range(length):
            payload[i] ^= mask[i % 4]
        if opcode == 8:
            writer.write(bytes([0x88, 0]))
            await writer.drain()
            return
        out = bytes([0x80 | opcode])
        if length < 126:
            out += bytes([length])
        elif length < 65536:
            out += bytes([126]) + length.to_bytes(2, "big")
        else:
            out += bytes([127]) + length.to_bytes(8, "big")
        writer.write(out + bytes(payload))
        await writer.drain()


async def handle_http(reader, writer):
    drop_next = False
    try:
        while True:
            try:
                method, target, version, headers, raw = await read_head(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if drop_next:
                writer.close()
                return
            path = target.split("?", 1)[0]
            global REQUESTS, LAST
            if path not in ("/stats", "/last"):
                REQUESTS += 1
                LAST = raw
            if header(headers, "expect") == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            if path == "/early":
                await send_fixed(writer, 413, b"too large\n", [("connection", "close")])
                await asyncio.sleep(0.5)
                writer.close()
                return
            if path == "/echo":
                writer.write(response_head(200, "OK", [("transfer-encoding", "chunked")]))

                async def echo(chunk):
                    writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    await writer.drain()
                await read_body(reader, headers, echo)
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                continue
            total = 0

            async def count(chunk):
                nonlocal total
                total += len(chunk)
            await read_body(reader, headers, count)
            if path.startswith("/via/"):
                status, body = await call_via(path, headers)
                await send_fixed(writer, status, body)
            elif path == "/hello" or path == "/":
                await send_fixed(writer, 200, f"hello from {NAME}\n".encode())
            elif path == "/count":
                await send_fixed(writer, 200, f"{total}\n".encode())
            elif path.startswith("/bytes/"):
                size = int(path.split("/")[2])
                writer.write(response_head(200, "OK", [("transfer-encoding", "chunked")]))
                block = b"x" * 65536
                while size > 0:
                    piece = block[: min(size, len(block))]
                    writer.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    size -= len(piece)
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
            elif path == "/trailers":
                writer.write(response_head(200, "OK", [("transfer-encoding", "chunked"), ("trailer", "x-checksum")]))
                body = b"body before trailers\n"
                writer.write(b"%x\r\n" % len(body) + body + b"\r\n0\r\nx-checksum: abc123\r\n\r\n")
                await writer.drain()
            elif path == "/until-close":
                writer.write(response_head(200, "OK", [("connection", "close")]) + b"body until close\n")
                await writer.drain()
                writer.close()
                return
            elif path.startswith("/slow/"):
                await asyncio.sleep(int(path.split("/")[2]) / 1000)
                await send_fixed(writer, 200, f"slow from {NAME}\n".encode())
            elif path == "/headers":
                await send_fixed(writer, 200, raw)
            elif path.startswith("/status/"):
                await send_fixed(writer, int(path.split("/")[2]), f"status from {NAME}\n".encode())
            elif path == "/stats":
                await send_fixed(writer, 200, f"{REQUESTS}\n".encode())
            elif path == "/last":
                await send_fixed(writer, 200, LAST)
            elif path == "/close":
                writer.close()
                return
            elif path == "/garbage":
                writer.write(b"\x00\x01this is not http\r\n\r\n")
                await writer.drain()
                await asyncio.sleep(0.2)
                writer.close()
                return
            elif path == "/then-drop":
                drop_next = True
                await send_fixed(writer, 200, b"dropping the next request\n")
            elif path == "/stall":
                writer.write(response_head(200, "OK", [("content-length", "100")]) + b"x" * 10)
                await writer.drain()
                await asyncio.sleep(3600)
            elif path == "/hang":
                await asyncio.sleep(3600)
            elif path == "/ws":
                await websocket(reader, writer, headers)
                writer.close()
                return
            else:
                await send_fixed(writer, 404, b"not found\n")
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle_echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def main():
    global NAME
    mode = sys.argv[1]
    if mode == "backlog":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        fillers = []
        print(sock.getsockname()[1], flush=True)
        for _ in range(8):
            f = socket.socket()
            f.setblocking(False)
            try:
                f.connect(("127.0.0.1", sock.getsockname()[1]))
            except BlockingIOError:
                pass
            fillers.append(f)
        await asyncio.sleep(3600)
        return
    NAME = sys.argv[2] if len(sys.argv) > 2 else "upstream"
    handler = handle_http if mode == "http" else handle_echo
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # Also on ::1 at the same port when the machine has IPv6 loopback, so a name such as
    # localhost works whichever of its addresses a client picks.
    try:
        await asyncio.start_server(handler, "::1", port)
    except OSError:
        pass
    print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
