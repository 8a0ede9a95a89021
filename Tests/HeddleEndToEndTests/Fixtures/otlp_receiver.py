#!/usr/bin/env python3
"""A test OTLP/HTTP trace receiver for Heddle's end-to-end tests (stdlib only).

  otlp_receiver.py NAME [--fail-first N]

Prints its port on the first line, then one JSON line per span received on POST /v1/traces
(OTLP/JSON): service (the resource's service.name), traceId, spanId, parentSpanId, name, kind,
status and attributes (as a flat key → value object). --fail-first N answers the first N
posts 503, as a collector that is starting up does.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_FIRST = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
POSTS = 0


def attribute_value(value):
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    return None


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global POSTS
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        POSTS += 1
        if POSTS <= FAIL_FIRST:
            self.answer(503, b'{"message":"starting"}')
            return
        if self.path != "/v1/traces" or self.headers.get("content-type") != "application/json":
            self.answer(404, b'{"message":"POST application/json to /v1/traces"}')
            return
        try:
            request = json.loads(body)
            for resource_spans in request["resourceSpans"]:
                resource = {a["key"]: attribute_value(a["value"]) for a in resource_spans["resource"]["attributes"]}
                for scope_spans in resource_spans["scopeSpans"]:
                    for span in scope_spans["spans"]:
                        print(json.dumps({
                            "service": resource.get("service.name"),
                            "traceId": span["traceId"],
                            "spanId": span["spanId"],
                            "parentSpanId": span.get("parentSpanId", ""),
                            "name": span["name"],
                            "kind": span["kind"],
                            "start": int(span["startTimeUnixNano"]),
                            "end": int(span["endTimeUnixNano"]),
                            "status": span.get("status", {}),
                            "attributes": {a["key"]: attribute_value(a["value"]) for a in span["attributes"]},
                        }), flush=True)
        except (KeyError, ValueError, TypeError) as error:
            print(json.dumps({"malformed": str(error)}), flush=True)
            self.answer(400, b'{"message":"malformed"}')
            return
        self.answer(200, b"{}")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
