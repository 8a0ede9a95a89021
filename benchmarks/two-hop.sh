#!/usr/bin/env bash
# Two hops, the mesh's real path: wrk → client sidecar → server sidecar → nginx, over mutual
# TLS 1.3 and, for comparison, with the inbound listener in plaintext; HAProxy as one plain hop
# in the same run as the reference.
#
#   benchmarks/two-hop.sh [seconds-per-run] [rounds]
#
# A control plane (its own data directory) gives the sidecars their certificates; each sidecar
# runs one worker pinned to core 0 (they share it, as two proxies on one node would), HAProxy
# too; wrk, nginx and the control plane on core 1. Reported per run:
#   - CPU per request per hop: both sidecars' CPU time (from /proc/PID/stat) ÷ requests ÷ 2,
#     wrk -t1 -c32 (closed loop);
#   - latency added: wrk -t1 -c1 --latency through the two sidecars minus straight to nginx
#     (p50 and p99; one request in flight, so the figures are each request's own path);
#   - latency added at a constant 1000 rps (benchmarks/openloop.c, 16 connections, latency from
#     each request's scheduled send time) through the two sidecars minus straight to nginx
#     (p50, p99, p99.9): the target's own terms.
# Then medians, spread, and CPU per hop ÷ HAProxy's one plain hop.
SECONDS_PER_RUN=${1:-8}
ROUNDS=${2:-3}
source "$(dirname "$0")/lib.sh"

UPSTREAM=$(free_port); CP=$(free_port); P_HAPROXY=$(free_port)
CLIENT_OUT=$(free_port); TLS_IN=$(free_port); PLAIN_IN=$(free_port)
write_upstream_conf "$UPSTREAM"
write_haproxy_conf "$P_HAPROXY" "$UPSTREAM"

spawn 1 nginx -c "$WORK/upstream.conf"
spawn 0 haproxy -f "$WORK/haproxy.cfg"; HAPROXY_PID=${PIDS[-1]}
spawn 1 "$HEDDLE" control-plane --data-dir "$WORK/cp" --address "127.0.0.1:$CP" --log-level warning
sleep 2
token() { "$HEDDLE" token create --service "$1" --control-plane "http://127.0.0.1:$CP"; }
sidecar() {  # service inbound-port outbound-port extra...
  local service=$1 inbound=$2 outbound=$3; shift 3
  spawn 0 "$HEDDLE" proxy --control-plane "http://127.0.0.1:$CP" --service "$service" --app-port "$UPSTREAM" \
    --inbound "127.0.0.1:$inbound" --outbound "127.0.0.1:$outbound" --admin "127.0.0.1:$(free_port)" \
    --snapshot "$WORK/$service.yaml" --workers 1 --log-level warning "$@"
}
sidecar app "$TLS_IN" "$(free_port)" --join-token "$(token app)" --calls ''
APP_PID=${PIDS[-1]}
sidecar plain "$PLAIN_IN" "$(free_port)" --inbound-tls disabled --calls ''
PLAIN_PID=${PIDS[-1]}
sidecar bench "$(free_port)" "$CLIENT_OUT" --join-token "$(token bench)" --calls app,plain
CLIENT_PID=${PIDS[-1]}
probe_mesh() { local host; for host in app plain; do curl -sf -m 5 -H "Host: $host" "http://127.0.0.1:$CLIENT_OUT/" >/dev/null || return; done; }
wait_until 20 probe_mesh || fail "the mesh is not answering (Host: app and plain through 127.0.0.1:$CLIENT_OUT)"

# wrk_percentiles: p50 and p99 (µs) of the last wrk --latency run.
wrk_percentiles() {
  python3 - "$WORK/load.out" <<'PY'
import re, sys
def us(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1e6}[unit]
pct = {m.group(1): us(m.group(2)) for m in re.finditer(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", open(sys.argv[1]).read(), re.M)}
print(pct["50"], pct["99"])
PY
}
for round in $(seq "$ROUNDS"); do
  cpu_load mtls 2 wrk "$CLIENT_OUT" app "$CLIENT_PID" "$APP_PID"
  cpu_load plaintext 2 wrk "$CLIENT_OUT" plain "$CLIENT_PID" "$PLAIN_PID"
  cpu_load haproxy 1 wrk "$P_HAPROXY" app "$HAPROXY_PID"
  load wrk1 "$UPSTREAM" x
  read -r direct50 direct99 < <(wrk_percentiles)
  for spec in "mtls app" "plaintext plain"; do
    read -r name host <<<"$spec"
    load wrk1 "$CLIENT_OUT" "$host"
    read -r p50 p99 < <(wrk_percentiles)
    printf '%-12s latency p50 %7.1f us  p99 %7.1f us, direct %7.1f / %7.1f us (one request in flight)\n' "$name" "$p50" "$p99" "$direct50" "$direct99"
    record "added latency p50, one request in flight" us "$name" "$(python3 -c "print($p50 - $direct50)")"
    record "added latency p99, one request in flight" us "$name" "$(python3 -c "print($p99 - $direct99)")"
  done
  # The target's own terms: added latency at a constant 1000 rps (open loop, from the
  # scheduled send time), over direct in the same round.
  load open:1000 "$UPSTREAM" x
  read -r d50 d99 d999 < <(openloop_percentiles p50 p99 p99.9)
  for spec in "mtls app" "plaintext plain"; do
    read -r name host <<<"$spec"
    load open:1000 "$CLIENT_OUT" "$host"
    read -r p50 p99 p999 < <(openloop_percentiles p50 p99 p99.9)
    printf '%-12s at 1000 rps: p50 %7.1f  p99 %7.1f  p99.9 %7.1f us, direct %7.1f / %7.1f / %7.1f us\n' "$name" "$p50" "$p99" "$p999" "$d50" "$d99" "$d999"
    record "added latency p50 at 1000 rps" us "$name" "$(python3 -c "print(round($p50 - $d50, 1))")"
    record "added latency p99 at 1000 rps" us "$name" "$(python3 -c "print(round($p99 - $d99, 1))")"
    record "added latency p99.9 at 1000 rps" us "$name" "$(python3 -c "print(round($p999 - $d999, 1))")"
  done
done
report two-hop "client → sidecar → sidecar → nginx, mutual TLS (mtls) and plaintext inbound, both sidecars on core 0; CPU per request per hop (both sidecars' CPU ÷ requests ÷ 2) under wrk -t1 -c32, vs HAProxy's one plain hop; added latency with one request in flight (wrk -c1) and at 1000 rps (open loop) over direct (targets of issue 7: CPU per hop ≤ 3× HAProxy's, added p99 at 1000 rps ≤ 0.5 ms)"
