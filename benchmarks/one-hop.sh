#!/usr/bin/env bash
# One hop, HTTP/1.1 keep-alive, small body: CPU per request of Heddle, HAProxy and nginx as
# proxies in front of the same nginx upstream, measured side by side in one run.
#
#   benchmarks/one-hop.sh [seconds-per-run] [rounds]
#
# Set-up (as in the project's PERFORMANCE.md): each proxy pinned to core 0 with one worker;
# wrk (-t1 -c32) and the nginx upstream (100-byte body) on core 1; runs alternate
# Heddle/HAProxy/nginx for several rounds. CPU per request = the proxy process's user+system
# time (children included, from /proc/PID/stat) divided by the requests served. Prints each
# run, then medians and the Heddle ÷ peer ratios. Installs nginx, haproxy and wrk if missing.
SECONDS_PER_RUN=${1:-8}
ROUNDS=${2:-3}
source "$(dirname "$0")/lib.sh"

UPSTREAM=$(free_port); P_HEDDLE=$(free_port); P_ADMIN=$(free_port); P_HAPROXY=$(free_port); P_NGINX=$(free_port)
write_upstream_conf "$UPSTREAM"
write_haproxy_conf "$P_HAPROXY" "$UPSTREAM"
cat > "$WORK/proxy-nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/proxy.pid; error_log $WORK/proxy.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; client_body_temp_path $WORK;
  proxy_temp_path $WORK; fastcgi_temp_path $WORK; uwsgi_temp_path $WORK; scgi_temp_path $WORK;
  upstream up { server 127.0.0.1:$UPSTREAM; keepalive 64; }
  server { listen 127.0.0.1:$P_NGINX; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
cat > "$WORK/heddle.yaml" <<CONF
apiVersion: heddle.dev/v1alpha1
kind: Proxy
metadata: {name: bench}
spec:
  outbound: {address: "127.0.0.1:$P_HEDDLE"}
  admin: {address: "127.0.0.1:$P_ADMIN"}
---
apiVersion: heddle.dev/v1alpha1
kind: Service
metadata: {name: web}
spec:
  endpoints: [{address: "127.0.0.1:$UPSTREAM"}]
CONF

taskset -c 1 nginx -c "$WORK/upstream.conf" & PIDS+=($!)
taskset -c 0 "$HEDDLE" proxy --config "$WORK/heddle.yaml" --workers 1 --log-level warning & PIDS+=($!); HEDDLE_PID=$!
taskset -c 0 haproxy -f "$WORK/haproxy.cfg" & PIDS+=($!); HAPROXY_PID=$!
taskset -c 0 nginx -c "$WORK/proxy-nginx.conf" & PIDS+=($!)
sleep 2
NGINX_PID=$(cat "$WORK/proxy.pid")  # the master; its worker is a child, counted by cutime/cstime
for port in $P_HEDDLE $P_HAPROXY $P_NGINX; do
  curl -sf -H 'Host: web' "http://127.0.0.1:$port/" >/dev/null || { echo "proxy on $port is not answering"; exit 1; }
done

declare -A RESULTS
run() {  # name pid port
  local before after out reqs errors
  before=$(cpu_ticks "$2")
  out=$(taskset -c 1 wrk -t1 -c32 -d"${SECONDS_PER_RUN}"s -H 'Host: web' "http://127.0.0.1:$3/")
  after=$(cpu_ticks "$2")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  errors=$(echo "$out" | grep -E 'Non-2xx|Socket errors' || true)
  local us
  us=$(python3 -c "print(round(($after-$before)*1e6/$TCK/$reqs, 2))")
  printf '%-8s %8s rps  %6s us CPU/request %s\n' "$1" "$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')" "$us" "$errors"
  RESULTS[$1]="${RESULTS[$1]:-} $us"
}
for round in $(seq "$ROUNDS"); do
  run heddle "$HEDDLE_PID" "$P_HEDDLE"
  run haproxy "$HAPROXY_PID" "$P_HAPROXY"
  run nginx "$NGINX_PID" "$P_NGINX"
done
python3 - "${RESULTS[heddle]}" "${RESULTS[haproxy]}" "${RESULTS[nginx]}" <<'PY'
import statistics, sys
h, a, n = ([float(x) for x in arg.split()] for arg in sys.argv[1:4])
med = lambda xs: statistics.median(xs)
print(f"median CPU/request: heddle {med(h):.2f} us (spread {min(h):.2f}-{max(h):.2f}), haproxy {med(a):.2f} us, nginx {med(n):.2f} us")
print(f"heddle / haproxy = {med(h)/med(a):.2f}    heddle / nginx = {med(h)/med(n):.2f}")
PY
