#!/usr/bin/env bash
# Open loop at constant rates: the latency each proxy adds over going to the upstream directly,
# at p50, p99 and p99.9, with requests sent on a fixed schedule (not when the previous answer
# came back, as wrk does), latency measured from each request's scheduled send time.
#
#   benchmarks/open-loop.sh [seconds-per-run] [rounds] [rates]      # rates default "1000 5000"
#
# The generator is benchmarks/openloop.c (compiled with gcc; wrk2 is not packaged in Debian and
# h2load's --rps measures from the actual send and gives no percentiles): 16 keep-alive
# connections, a request waiting for a free connection counts that wait. Each proxy pinned to
# core 0 with one worker, generator and nginx upstream (100-byte body) on core 1. Each round,
# at each rate: direct, then Heddle, HAProxy and nginx; added latency = the proxy's percentile
# minus direct's in the same round. Absolute percentiles are recorded too (for the plot).
SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
RATES=${3:-1000 5000}
source "$(dirname "$0")/lib.sh"

PERCENTILES=(p50 p75 p90 p99 p99.9 p99.99)

start_peers http1
openloop_build
for round in $(seq "$ROUNDS"); do
  for rate in $RATES; do
    declare -A direct=()
    for name in direct "${PROXIES[@]}"; do
      load "open:$rate" "${PORT[$name]}" web
      read -r -a values < <(openloop_percentiles "${PERCENTILES[@]}")
      line=""
      for i in "${!PERCENTILES[@]}"; do
        p=${PERCENTILES[$i]} v=${values[$i]}
        record "latency $p at $rate rps" us "$name" "$v"
        if [ "$name" = direct ]; then direct[$p]=$v
        elif [[ " p50 p99 p99.9 " == *" $p "* ]]; then
          record "added latency $p at $rate rps" us "$name" "$(python3 -c "print(round($v - ${direct[$p]}, 1))")"
        fi
        line+=" $p $v"
      done
      printf '%-8s %5s rps  latency (us):%s\n' "$name" "$rate" "$line"
    done
  done
done
report open-loop "HTTP/1.1 at a constant rate (benchmarks/openloop.c, 16 keep-alive connections, latency from the scheduled send), each proxy on one core; added latency = the proxy's percentile − direct's (nginx upstream, no proxy) in the same round"
