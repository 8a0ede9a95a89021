#!/usr/bin/env bash
# One hop, HTTP/1.1 keep-alive, small body: CPU per request of Heddle, HAProxy and nginx as
# proxies in front of the same nginx upstream, measured side by side in one run.
#
#   benchmarks/one-hop.sh [seconds-per-run] [rounds]
#
# Set-up (as in the project's PERFORMANCE.md): each proxy pinned to core 0 with one worker;
# wrk (-t1 -c32, closed loop) and the nginx upstream (100-byte body) on core 1; runs alternate
# Heddle/HAProxy/nginx for several rounds. CPU per request = the proxy process's user+system
# time (children included, from /proc/PID/stat) divided by the requests served. Prints each
# run, then medians, spread and the Heddle ÷ peer ratios. Installs the peers if missing.
SECONDS_PER_RUN=${1:-8}
ROUNDS=${2:-3}
source "$(dirname "$0")/lib.sh"

start_peers http1
for round in $(seq "$ROUNDS"); do
  for name in "${PROXIES[@]}"; do cpu_load "$name" 1 wrk "${PORT[$name]}" web "${PID[$name]}"; done
done
report one-hop "HTTP/1.1 keep-alive through one proxy (one core), wrk -t1 -c32 closed loop, 100-byte body; CPU per request from /proc/PID/stat"
