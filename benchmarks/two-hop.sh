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
#     (p50 and p99; one request in flight, so the figures are each request's own path).
# Then medians, and CPU per hop ÷ HAProxy's one plain hop.
SECONDS_PER_RUN=${1:-8}
ROUNDS=${2:-3}
source "$(dirname "$0")/lib.sh"

UPSTREAM=$(free_port); CP=$(free_port); P_HAPROXY=$(free_port)
CLIENT_OUT=$(free_port); TLS_IN=$(free_port); PLAIN_IN=$(free_port)
write_upstream_conf "$UPSTREAM"
write_haproxy_conf "$P_HAPROXY" "$UPSTREAM"

taskset -c 1 nginx -c "$WORK/upstream.conf" & PIDS+=($!)
taskset -c 0 haproxy -f "$WORK/haproxy.cfg" & PIDS+=($!); HAPROXY_PID=$!
taskset -c 1 "$HEDDLE" control-plane --data-dir "$WORK/cp" --address "127.0.0.1:$CP" --log-level warning & PIDS+=($!)
sleep 2
token() { "$HEDDLE" token create --service "$1" --control-plane "http://127.0.0.1:$CP"; }
sidecar() {  # service inbound-port outbound-port extra...
  local service=$1 inbound=$2 outbound=$3; shift 3
  taskset -c 0 "$HEDDLE" proxy --control-plane "http://127.0.0.1:$CP" --service "$service" --app-port "$UPSTREAM" \
    --inbound "127.0.0.1:$inbound" --outbound "127.0.0.1:$outbound" --admin "127.0.0.1:$(free_port)" \
    --snapshot "$WORK/$service.yaml" --workers 1 --log-level warning "$@" &
  PIDS+=($!)
}
sidecar app "$TLS_IN" "$(free_port)" --join-token "$(token app)" --calls ''
APP_PID=${PIDS[-1]}
sidecar plain "$PLAIN_IN" "$(free_port)" --inbound-tls disabled --calls ''
PLAIN_PID=${PIDS[-1]}
sidecar bench "$(free_port)" "$CLIENT_OUT" --join-token "$(token bench)" --calls app,plain
CLIENT_PID=${PIDS[-1]}
for _ in $(seq 100); do
  if curl -sf -H 'Host: app' "http://127.0.0.1:$CLIENT_OUT/" >/dev/null && curl -sf -H 'Host: plain' "http://127.0.0.1:$CLIENT_OUT/" >/dev/null; then break; fi
  sleep 0.1
done
curl -sf -H 'Host: app' "http://127.0.0.1:$CLIENT_OUT/" >/dev/null || { echo "the mesh is not answering"; exit 1; }

declare -A RESULTS
cpu_run() {  # name hops host port pids...
  local name=$1 hops=$2 host=$3 port=$4; shift 4
  local before after out reqs us
  before=$(cpu_ticks "$@")
  out=$(taskset -c 1 wrk -t1 -c32 -d"${SECONDS_PER_RUN}"s -H "Host: $host" "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$@")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  us=$(python3 -c "print(round(($after-$before)*1e6/$TCK/$reqs/$hops, 2))")
  printf '%-12s %8s rps  %6s us CPU/request/hop %s\n' "$name" "$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')" "$us" \
    "$(echo "$out" | grep -E 'Non-2xx|Socket errors' || true)"
  RESULTS[$name]="${RESULTS[$name]:-} $us"
}
latency_run() {  # name host port → p50 and p99 in microseconds
  local out
  out=$(taskset -c 1 wrk -t1 -c1 -d"${SECONDS_PER_RUN}"s --latency -H "Host: $2" "http://127.0.0.1:$3/")
  python3 - "$1" "$out" <<'PY'
import re, sys
name, out = sys.argv[1], sys.argv[2]
def us(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1e6}[unit]
pct = {m.group(1): us(m.group(2)) for m in re.finditer(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", out, re.M)}
print(f"{name} {pct['50']} {pct['99']}")
PY
}
declare -A LAT
for round in $(seq "$ROUNDS"); do
  cpu_run mtls 2 app "$CLIENT_OUT" "$CLIENT_PID" "$APP_PID"
  cpu_run plaintext 2 plain "$CLIENT_OUT" "$CLIENT_PID" "$PLAIN_PID"
  cpu_run haproxy 1 app "$P_HAPROXY" "$HAPROXY_PID"
  for spec in "direct x $UPSTREAM" "mtls app $CLIENT_OUT" "plaintext plain $CLIENT_OUT"; do
    read -r name host port <<<"$spec"
    read -r _ p50 p99 <<<"$(latency_run "$name" "$host" "$port")"
    printf '%-12s latency p50 %7.1f us  p99 %7.1f us (one request in flight)\n' "$name" "$p50" "$p99"
    LAT[$name]="${LAT[$name]:-} $p50/$p99"
  done
done
python3 - "${RESULTS[mtls]}" "${RESULTS[plaintext]}" "${RESULTS[haproxy]}" "${LAT[direct]}" "${LAT[mtls]}" "${LAT[plaintext]}" <<'PY'
import statistics, sys
m, p, h = ([float(x) for x in arg.split()] for arg in sys.argv[1:4])
lat = [[tuple(float(v) for v in pair.split("/")) for pair in arg.split()] for arg in sys.argv[4:7]]
med = statistics.median
print(f"median CPU per request per hop: mTLS {med(m):.2f} us (spread {min(m):.2f}-{max(m):.2f}), plaintext {med(p):.2f} us; HAProxy one plain hop {med(h):.2f} us")
print(f"mTLS hop / HAProxy plain hop = {med(m)/med(h):.2f}    (target <= 3)")
direct, mtls, plain = ([med(v[i] for v in rows) for i in (0, 1)] for rows in lat)
print(f"latency added by two hops, p50/p99: mTLS {mtls[0]-direct[0]:.0f}/{mtls[1]-direct[1]:.0f} us, plaintext {plain[0]-direct[0]:.0f}/{plain[1]-direct[1]:.0f} us")
PY
