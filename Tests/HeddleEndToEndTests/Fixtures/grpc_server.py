#!/usr/bin/env python3
"""A gRPC server for Heddle's end-to-end tests (grpcio, no generated code: the service is
defined with generic handlers over raw bytes). Prints its port on the first line.

  grpc_server.py NAME

Service heddle.test.Echo:
  Unary         answers "NAME:" + the request; trailing metadata x-served-by: NAME
  ServerStream  the request is a count N: answers N messages "item-0" ... "item-(N-1)"
  ClientStream  answers "COUNT messages, BYTES bytes" after the client half-closes
  Bidi          echoes every message as it arrives
  Fail          the request is "CODE message": aborts with that status code and message,
                and trailing metadata x-failure-detail: kept
  Slow          the request is a number of milliseconds: waits that long, then answers "slow";
                the time left on the call's deadline when it arrived is kept
  LastDeadline  answers the milliseconds left on the last Slow call's deadline when it
                arrived ("none" when it had no deadline)
"""
import sys
import time
from concurrent import futures

import grpc

NAME = "grpc"


def identity(data):
    return data


def unary(request, context):
    context.set_trailing_metadata((("x-served-by", NAME),))
    return NAME.encode() + b":" + request


def server_stream(request, context):
    for index in range(int(request.decode())):
        yield f"item-{index}".encode()


def client_stream(requests, context):
    count = 0
    total = 0
    for message in requests:
        count += 1
        total += len(message)
    return f"{count} messages, {total} bytes".encode()


def bidi(requests, context):
    for message in requests:
        yield message


def fail(request, context):
    code_text, _, message = request.decode().partition(" ")
    code = next(c for c in grpc.StatusCode if c.value[0] == int(code_text))
    context.set_trailing_metadata((("x-failure-detail", "kept"),))
    context.abort(code, message)


LAST_DEADLINE = [b"none"]


def slow(request, context):
    remaining = context.time_remaining()
    LAST_DEADLINE[0] = b"none" if remaining is None else str(int(remaining * 1000)).encode()
    time.sleep(int(request.decode()) / 1000)
    return b"slow"


def last_deadline(request, context):
    return LAST_DEADLINE[0]


def main():
    global NAME
    NAME = sys.argv[1] if len(sys.argv) > 1 else "grpc"
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, identity, identity),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, identity, identity),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, identity, identity),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, identity, identity),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, identity, identity),
        "Slow": grpc.unary_unary_rpc_method_handler(slow, identity, identity),
        "LastDeadline": grpc.unary_unary_rpc_method_handler(last_deadline, identity, identity),
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        options=[("grpc.max_receive_message_length", 8 * 1024 * 1024), ("grpc.max_send_message_length", 8 * 1024 * 1024)],
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("heddle.test.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
