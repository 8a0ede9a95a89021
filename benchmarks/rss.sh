#!/usr/bin/env bash
# CPU per request and peak memory at a steady 2000 requests a second, per proxy.
#
#   benchmarks/rss.sh [seconds-per-run] [rounds] [rate]      # rate default 2000
#
# Each round starts Heddle, HAProxy and nginx afresh (one worker each, pinned to core 0, in
# front of the nginx upstream on core 1) and runs the open-loop generator (openloop.c, core 1)
# at the rate against each in turn; then reads the proxy's peak resident memory since it
# started, VmHWM in /proc/PID/status (nginx: master + worker), and its CPU per request (user +
# system time over the run from /proc/PID/stat ÷ requests), and what is resident at the end split
# into the process's own memory (RssAnon) and its binary's and libraries' pages (RssFile, shared
# by every process that runs them). Target of issue 7: Heddle's RSS ≤ 30 MB, aim 15 MB.
SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
RATE=${3:-2000}
source "$(dirname "$0")/lib.sh"

METRIC_SUFFIX=" at $RATE rps"
for round in $(seq "$ROUNDS"); do
  start_peers http1
  for name in "${PROXIES[@]}"; do
    cpu_load "$name" 1 "open:$RATE" "${PORT[$name]}" web "${PID[$name]}"
    peak=$(rss_kib VmHWM "${PID[$name]}")
    # Of what is resident now: the process's own memory (heap, stacks: RssAnon) and the pages
    # of its binary and libraries (RssFile), which every process running them shares.
    anon=$(rss_kib RssAnon "${PID[$name]}")
    file=$(rss_kib RssFile "${PID[$name]}")
    printf '%-12s peak RSS %6.1f MiB (now: own %.1f MiB, binary and libraries %.1f MiB)\n' "$name" \
      "$(python3 -c "print($peak / 1024)")" "$(python3 -c "print($anon / 1024)")" "$(python3 -c "print($file / 1024)")"
    record "peak RSS (VmHWM) at $RATE rps" MiB "$name" "$(python3 -c "print(round($peak / 1024, 2))")"
    record "own memory (RssAnon) at $RATE rps" MiB "$name" "$(python3 -c "print(round($anon / 1024, 2))")"
    record "binary and library pages (RssFile) at $RATE rps" MiB "$name" "$(python3 -c "print(round($file / 1024, 2))")"
  done
  stop_peers
done
report rss "HTTP/1.1 at a constant $RATE rps (openloop.c, 16 connections) through one proxy (one core): CPU per request, and peak RSS (VmHWM, nginx master + worker) of a proxy started for the round"
