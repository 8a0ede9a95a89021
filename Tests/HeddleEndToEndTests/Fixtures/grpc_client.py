#!/usr/bin/env python3
"""A gRPC client for Heddle's end-to-end tests: calls heddle.test.Echo (see grpc_server.py)
through the proxy, naming the service in the authority. Prints one JSON object per call.

  grpc_client.py PORT AUTHORITY kinds          every streaming kind and a failing call
  grpc_client.py PORT AUTHORITY unary          one unary call (errors reported, not raised)
  grpc_client.py PORT AUTHORITY bulk MB        MB mebibytes each way through Bidi, 1 MiB messages
  grpc_client.py PORT AUTHORITY slow MS        one Slow call
  grpc_client.py PORT AUTHORITY fail REQUEST    one Fail call ("CODE message"): its status
  grpc_client.py PORT AUTHORITY deadline D MS  one Slow call of MS milliseconds with a deadline
                                               of D ms: the code, the time it took, and the
                                               deadline the server saw (LastDeadline)
"""
import json
import sys
import time

import grpc


def ident(data):
    return data


def report(**fields):
    print(json.dumps(fields), flush=True)


def status_of(error):
    return {
        "code": error.code().value[0],
        "details": error.details(),
        "trailing": {k: v for k, v in (error.trailing_metadata() or ())},
        "initial": {k: v for k, v in (error.initial_metadata() or ())},
    }


def main():
    port, authority, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
    options = [
        ("grpc.default_authority", authority),
        ("grpc.max_receive_message_length", 8 * 1024 * 1024),
        ("grpc.max_send_message_length", 8 * 1024 * 1024),
        ("grpc.enable_retries", 0),
    ]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=options)
    method = lambda name: f"/heddle.test.Echo/{name}"
    unary = channel.unary_unary(method("Unary"), request_serializer=ident, response_deserializer=ident)
    if scenario == "kinds":
        response, call = unary.with_call(b"ping", timeout=10)
        report(kind="unary", response=response.decode(), code=call.code().value[0],
               trailing={k: v for k, v in call.trailing_metadata()})
        stream = channel.unary_stream(method("ServerStream"), request_serializer=ident, response_deserializer=ident)
        report(kind="server-stream", responses=[m.decode() for m in stream(b"5", timeout=10)])
        client = channel.stream_unary(method("ClientStream"), request_serializer=ident, response_deserializer=ident)
        report(kind="client-stream", response=client(iter([b"a" * 10, b"b" * 20, b"c" * 30]), timeout=10).decode())
        bidi = channel.stream_stream(method("Bidi"), request_serializer=ident, response_deserializer=ident)
        report(kind="bidi", responses=[m.decode() for m in bidi(iter([b"one", b"two", b"three"]), timeout=10)])
        failing = channel.unary_unary(method("Fail"), request_serializer=ident, response_deserializer=ident)
        try:
            failing(b"9 precondition failed: caf\xc3\xa9 100%", timeout=10)
            report(kind="fail", code=0)
        except grpc.RpcError as error:
            report(kind="fail", **status_of(error))
    elif scenario == "unary":
        try:
            response, call = unary.with_call(b"ping", timeout=10)
            report(kind="unary", code=0, response=response.decode())
        except grpc.RpcError as error:
            report(kind="unary", **status_of(error))
    elif scenario == "bulk":
        megabytes = int(sys.argv[4])
        block = bytes(range(256)) * 4096
        bidi = channel.stream_stream(method("Bidi"), request_serializer=ident, response_deserializer=ident)
        received = 0
        matched = True
        for message in bidi(iter([block] * megabytes), timeout=120):
            received += len(message)
            matched = matched and message == block
        report(kind="bulk", received=received, matched=matched)
    elif scenario == "slow":
        slow = channel.unary_unary(method("Slow"), request_serializer=ident, response_deserializer=ident)
        try:
            report(kind="slow", code=0, response=slow(sys.argv[4].encode(), timeout=30).decode())
        except grpc.RpcError as error:
            report(kind="slow", **status_of(error))
    elif scenario == "fail":
        failing = channel.unary_unary(method("Fail"), request_serializer=ident, response_deserializer=ident)
        try:
            failing(sys.argv[4].encode(), timeout=10)
            report(kind="fail", code=0)
        except grpc.RpcError as error:
            report(kind="fail", **status_of(error))
    elif scenario == "deadline":
        deadline_ms, sleep_ms = int(sys.argv[4]), sys.argv[5]
        slow = channel.unary_unary(method("Slow"), request_serializer=ident, response_deserializer=ident)
        began = time.monotonic()
        try:
            slow(sleep_ms.encode(), timeout=deadline_ms / 1000)
            outcome = {"code": 0}
        except grpc.RpcError as error:
            outcome = status_of(error)
        elapsed = (time.monotonic() - began) * 1000
        last = channel.unary_unary(method("LastDeadline"), request_serializer=ident, response_deserializer=ident)
        seen = last(b"", timeout=10).decode()
        report(kind="deadline", elapsed_ms=elapsed, server_deadline_ms=seen, **outcome)
    channel.close()


if __name__ == "__main__":
    main()
