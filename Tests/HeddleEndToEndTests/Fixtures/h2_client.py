#!/usr/bin/env python3
"""An HTTP/2 cleartext (prior knowledge) client for Heddle's end-to-end tests, on the `h2`
library: opens one connection, sends COUNT requests on it at once, and prints one JSON object
per stream (in stream order): status, headers, body length and text, trailers, reset code.

  h2_client.py PORT AUTHORITY PATH [--count N] [--method M] [--body-size B]
               [--header name:value]... [--cancel-after SECONDS]

With --cancel-after, every stream still open after that long is reset (CANCEL).
"""
import argparse
import json
import select
import socket
import sys

import h2.config
import h2.connection
import h2.events


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("authority")
    parser.add_argument("path")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body-size", type=int, default=0)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--cancel-after", type=float, default=None)
    args = parser.parse_args()

    sock = socket.create_connection(("127.0.0.1", args.port))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    conn.increment_flow_control_window(16 * 1024 * 1024)
    sock.sendall(conn.data_to_send())
    # Wait for the server's SETTINGS (its stream limit among them) before opening streams, as
    # real clients do.
    sock.settimeout(args.timeout)
    settled = False
    while not settled:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                settled = True
        sock.sendall(conn.data_to_send())

    body = bytes(i % 251 for i in range(args.body_size))
    streams = {}
    pending = {}
    for _ in range(args.count):
        stream_id = conn.get_next_available_stream_id()
        headers = [(":method", args.method), (":scheme", "http"), (":authority", args.authority), (":path", args.path)]
        for header in args.header:
            name, _, value = header.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        conn.send_headers(stream_id, headers, end_stream=not body)
        streams[stream_id] = {"status": None, "headers": {}, "body": bytearray(), "trailers": {}, "reset": None, "done": False}
        if body:
            pending[stream_id] = memoryview(body)

    def send_pending():
        for stream_id in list(pending):
            data = pending[stream_id]
            while len(data) > 0:
                window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                conn.send_data(stream_id, data[:window].tobytes())
                data = data[window:]
            if len(data) == 0:
                conn.end_stream(stream_id)
                del pending[stream_id]
            else:
                pending[stream_id] = data

    send_pending()
    sock.sendall(conn.data_to_send())
    closed = False
    if args.cancel_after is not None:
        sock.settimeout(args.cancel_after)
    while not all(s["done"] for s in streams.values()):
        try:
            data = sock.recv(65536)
        except socket.timeout:
            for stream_id, stream in streams.items():
                if not stream["done"]:
                    conn.reset_stream(stream_id)
                    stream["reset"] = "sent"
                    stream["done"] = True
            sock.sendall(conn.data_to_send())
            break
        if not data:
            closed = True
            break
        for event in conn.receive_data(data):
            stream = streams.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.ResponseReceived):
                stream["headers"] = dict(event.headers)
                stream["status"] = int(stream["headers"].get(":status", "0"))
            elif isinstance(event, h2.events.InformationalResponseReceived):
                pass
            elif isinstance(event, h2.events.TrailersReceived):
                stream["trailers"] = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                stream["body"] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                stream["done"] = True
            elif isinstance(event, h2.events.StreamReset):
                if stream is not None:
                    stream["reset"] = int(event.error_code)
                    stream["done"] = True
                pending.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                closed = True
        send_pending()
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if closed:
            break
    for stream_id in sorted(streams):
        stream = streams[stream_id]
        print(json.dumps({
            "stream": stream_id, "status": stream["status"], "headers": stream["headers"],
            "length": len(stream["body"]), "body": bytes(stream["body"][:300]).decode("utf-8", "replace"),
            "intact": bytes(stream["body"]) == body if body else None,
            "trailers": stream["trailers"], "reset": stream["reset"], "done": stream["done"],
        }), flush=True)
    conn.close_connection()
    try:
        sock.sendall(conn.data_to_send())
    except OSError:
        pass
    sock.close()


if __name__ == "__main__":
    main()
