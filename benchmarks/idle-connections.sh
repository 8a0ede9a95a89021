#!/usr/bin/env bash
# Many connections: the memory each idle keep-alive client connection costs a proxy.
#
#   benchmarks/idle-connections.sh [count] [rounds]      # count default 10000
#
# Each round starts Heddle, HAProxy and nginx afresh (one worker each, core 0, limits raised to
# hold the connections), then for each in turn: its resident memory (VmRSS, nginx master +
# worker), COUNT connections opened by idle-connections.py (core 1), each having served one
# request and left idle, its resident memory again a second later, and the connections closed
# (COUNT is cut to what the open files limit lets HAProxy hold: 9900 on a limit of 20000).
# Memory per connection = (RSS with them − RSS before) ÷ COUNT; fails if the proxy closed any of
# them meanwhile. Target of issue 7: ≤ 10 KiB per connection for Heddle.
COUNT=${1:-10000}
ROUNDS=${2:-3}
source "$(dirname "$0")/lib.sh"

# Open files: the proxies and the client each hold COUNT. HAProxy insists on 2 descriptors a
# connection it allows (maxconn) and cannot go past the hard limit (20000 on the project's
# machine, where root lacks CAP_SYS_RESOURCE): COUNT is cut to what it can hold, for all three.
ulimit -n "$(ulimit -Hn)"
FITS=$(( ( ($(ulimit -n) - 14) / 2 - 50) / 100 * 100 ))
if [ "$COUNT" -gt "$FITS" ]; then
  echo "open files hard limit $(ulimit -n): holding $FITS connections instead of $COUNT (HAProxy needs 2 descriptors each)"
  COUNT=$FITS
fi
MAX_CONNECTIONS=$((COUNT + 50))

# hold_idle NAME: the measurement above for one proxy.
hold_idle() {
  local name=$1 before after ready open
  before=$(rss_kib VmRSS "${PID[$name]}")
  coproc CLIENT { exec taskset -c 1 python3 benchmarks/idle-connections.py "${PORT[$name]}" "$COUNT"; }
  PIDS+=("$CLIENT_PID")
  read -t 120 -r _ ready <&"${CLIENT[0]}" || fail "$name: the client could not open $COUNT connections"
  sleep 1
  after=$(rss_kib VmRSS "${PID[$name]}")
  echo measured >&"${CLIENT[1]}"
  read -t 10 -r _ open <&"${CLIENT[0]}" || fail "$name: no word from the client"
  wait "$CLIENT_PID" || true
  [ "$ready" = "$COUNT" ] && [ "$open" = "$COUNT" ] || fail "$name: $ready connections answered, $open of them still open"
  local per=$(python3 -c "print(round(($after - $before) / $COUNT, 2))")
  printf '%-8s RSS %7.1f MiB -> %7.1f MiB with %s idle connections: %5s KiB per connection\n' \
    "$name" "$(python3 -c "print($before / 1024)")" "$(python3 -c "print($after / 1024)")" "$COUNT" "$per"
  record "memory per idle connection ($COUNT held)" KiB "$name" "$per"
}

for round in $(seq "$ROUNDS"); do
  start_peers http1
  for name in "${PROXIES[@]}"; do hold_idle "$name"; done
  stop_peers
done
report idle-connections "$COUNT idle keep-alive HTTP/1.1 connections (each served one request) held open to one proxy: (VmRSS with them − VmRSS before) ÷ $COUNT, nginx master + worker"
