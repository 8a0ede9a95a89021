#!/usr/bin/env python3
"""An HTTP/2 cleartext (prior knowledge) server for Heddle's end-to-end tests, on the `h2`
library with asyncio. Prints its port on the first line.

  h2_server.py NAME

Paths (every response carries x-served-by: NAME):
  /hello        200 "hello from NAME over h2"
  /echo         200 with the request body (flow control honoured both ways)
  /headers      200 with the request header block as JSON
  /bytes/N      200 with N bytes
  /trailers     200 "body before trailers", then trailers x-checksum: abc123
  /reset        resets the stream with ENHANCE_YOUR_CALM before answering
  /reset-mid    sends the response head and 1000 bytes, then resets with ENHANCE_YOUR_CALM
  /goaway       answers "goaway from NAME", then sends GOAWAY and closes the connection
  /stats        200 with {"resets": N}: streams clients have reset on this server so far
  /slow/MS      waits MS milliseconds, then answers "slow from NAME"
"""
import asyncio
import json
import sys

import h2.config
import h2.connection
import h2.errors
import h2.events

NAME = "h2"
RESETS = 0


class Server(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.requests = {}
        self.outgoing = {}
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)

    def data_received(self, data):
        try:
            events = self.conn.receive_data(data)
        except Exception:
            self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self.requests[event.stream_id] = {"headers": event.headers, "body": bytearray()}
            elif isinstance(event, h2.events.DataReceived):
                request = self.requests.get(event.stream_id)
                if request is not None:
                    request["body"] += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.respond(event.stream_id)
            elif isinstance(event, h2.events.WindowUpdated):
                for stream_id in list(self.outgoing):
                    self.send_pending(stream_id)
            elif isinstance(event, h2.events.StreamReset):
                global RESETS
                RESETS += 1
                self.requests.pop(event.stream_id, None)
                self.outgoing.pop(event.stream_id, None)
        self.flush()

    def respond(self, stream_id):
        request = self.requests.get(stream_id)
        if request is None:
            return
        headers = dict(request["headers"])
        path = headers.get(":path", "/").split("?")[0]
        if path == "/hello":
            self.send(stream_id, 200, f"hello from {NAME} over h2\n".encode())
        elif path == "/echo":
            self.send(stream_id, 200, bytes(request["body"]))
        elif path == "/headers":
            self.send(stream_id, 200, json.dumps(request["headers"]).encode(), content_type="application/json")
        elif path.startswith("/bytes/"):
            self.send(stream_id, 200, b"x" * int(path.split("/")[2]))
        elif path == "/trailers":
            self.send(stream_id, 200, b"body before trailers\n", trailers=[("x-checksum", "abc123")])
        elif path == "/reset":
            self.conn.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
            self.requests.pop(stream_id, None)
        elif path == "/reset-mid":
            self.conn.send_headers(stream_id, [(":status", "200"), ("x-served-by", NAME)])
            self.conn.send_data(stream_id, b"y" * 1000)
            self.conn.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
            self.requests.pop(stream_id, None)
        elif path == "/goaway":
            self.send(stream_id, 200, f"goaway from {NAME}\n".encode())
            self.conn.close_connection(last_stream_id=stream_id)
            self.flush()
            self.transport.close()
        elif path == "/stats":
            self.send(stream_id, 200, json.dumps({"resets": RESETS}).encode(), content_type="application/json")
        elif path.startswith("/slow/"):
            delay = int(path.split("/")[2]) / 1000

            def later():
                if stream_id in self.requests:
                    self.send(stream_id, 200, f"slow from {NAME}\n".encode())
                    self.flush()
            asyncio.get_running_loop().call_later(delay, later)
        else:
            self.send(stream_id, 404, b"not found\n")

    def send(self, stream_id, status, body, content_type="text/plain", trailers=None):
        self.conn.send_headers(stream_id, [
            (":status", str(status)), ("content-type", content_type),
            ("content-length", str(len(body))), ("x-served-by", NAME),
        ])
        self.outgoing[stream_id] = [memoryview(body), trailers]
        self.send_pending(stream_id)

    def send_pending(self, stream_id):
        entry = self.outgoing.get(stream_id)
        if entry is None:
            return
        body, trailers = entry
        try:
            while len(body) > 0:
                window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
                if window <= 0:
                    entry[0] = body
                    return
                self.conn.send_data(stream_id, body[:window].tobytes())
                body = body[window:]
            if trailers:
                self.conn.send_headers(stream_id, trailers, end_stream=True)
            else:
                self.conn.end_stream(stream_id)
        except Exception:
            pass
        self.outgoing.pop(stream_id, None)
        self.requests.pop(stream_id, None)


async def main():
    global NAME
    NAME = sys.argv[1] if len(sys.argv) > 1 else "h2"
    server = await asyncio.get_running_loop().create_server(Server, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
