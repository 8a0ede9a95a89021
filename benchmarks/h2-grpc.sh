#!/usr/bin/env bash
# HTTP/2 and gRPC through one proxy: requests per second and CPU per request of Heddle, HAProxy
# and nginx, with h2load speaking h2c (HTTP/2 over cleartext, prior knowledge) to each.
#
#   benchmarks/h2-grpc.sh [seconds-per-run] [rounds]
#
# Two set-ups, each proxy pinned to core 0 with one worker, h2load (-c8 -m16: 8 connections,
# 16 streams each, closed loop) and the nginx upstream on core 1:
#   - h2: GET over h2c to the proxy (Heddle's `auto` listener, HAProxy `bind ... proto h2`,
#     nginx `listen ... http2`), HTTP/1.1 keep-alive to the upstream (100-byte body);
#   - grpc: a unary gRPC-shaped call (POST, content-type application/grpc, te: trailers, an
#     empty 5-byte-framed message) over h2c on both legs (a Heddle `grpc` service, HAProxy
#     `server ... proto h2`, nginx `grpc_pass`) to an nginx answering a canned gRPC reply (an
#     empty message, `grpc-status: 0` in the trailers). This measures the proxies' gRPC path
#     (h2c both sides, trailers carried through); no protobuf is decoded, by the proxies or by
#     the upstream, so it is the proxies' cost and not an application's.
# CPU per request = the proxy's user+system time over the run (/proc/PID/stat) ÷ requests
# answered; runs alternate Heddle/HAProxy/nginx for several rounds.
SECONDS_PER_RUN=${1:-8}
ROUNDS=${2:-3}
source "$(dirname "$0")/lib.sh"

for mode in h2 grpc; do
  start_peers "$mode"
  METRIC_SUFFIX=", $mode"
  tool=h2load; [ "$mode" = grpc ] && tool=grpc
  for round in $(seq "$ROUNDS"); do
    for name in "${PROXIES[@]}"; do cpu_load "$name" 1 "$tool" "${PORT[$name]}" web "${PID[$name]}"; done
  done
  stop_peers
done
report h2-grpc "h2c through one proxy (one core), h2load -c8 -m16 closed loop: GET to an HTTP/1.1 upstream (h2), and a unary gRPC-shaped POST over h2c both legs to an nginx returning a canned gRPC reply (grpc)"
