# Shared by the benchmark scripts (sourced, not run): the peers' install, the release build, a
# scratch directory cleaned up at exit, free ports, the configurations of the nginx upstream and
# of the three proxies (Heddle, HAProxy, nginx) for HTTP/1.1, h2c and gRPC, starting and
# stopping them, the CPU time and memory of processes, the load runs (wrk, h2load and the
# open-loop generator openloop.c) and the results (`record`, then `report`: medians, spread,
# Heddle ÷ peer ratios, and SCENARIO.json in $RESULTS_DIR when run.sh sets it). Each script sets
# SECONDS_PER_RUN and ROUNDS itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# nginx, HAProxy, wrk, h2load and nghttp, gcc and curl from Debian, when missing.
for tool in nginx haproxy wrk h2load nghttp gcc curl; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light haproxy wrk nghttp2-client gcc curl >/dev/null
    break
  fi
done
export PATH="$PATH:/usr/sbin"

# The release build as it ships (scripts/build-release.sh), unless HEDDLE names one.
if [ -z "${HEDDLE:-}" ]; then
  echo "building heddle (release, scripts/build-release.sh)..."
  scripts/build-release.sh --product heddle >/dev/null
  HEDDLE=.build-release/release/heddle
fi
HEDDLE=$(realpath "$HEDDLE")

WORK=$(mktemp -d /tmp/heddle-bench.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM  # so that the EXIT trap runs on a signal too

fail() { echo "FAILED: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# spawn CORE COMMAND...: runs the command in the background pinned to CORE, killed at exit; its
# pid is ${PIDS[-1]}.
spawn() { local core=$1; shift; taskset -c "$core" "$@" & PIDS+=($!); }

# Client connections the proxies' configurations allow (HAProxy's maxconn; nginx's worker gets
# 1024 more for its upstream connections); the idle-connections scenario raises it.
MAX_CONNECTIONS=${MAX_CONNECTIONS:-4096}

# write_upstream_conf PORT [MODE]: one nginx worker answering 200 with a 100-byte body over
# HTTP/1.1 (MODE http1 or h2), or over h2c with a canned unary gRPC reply (MODE grpc: an empty
# message, grpc-status 0 in the trailers). For gRPC the request body is read first (a mirror
# subrequest does it; answering before it, nginx resets the stream, which nginx as a gRPC proxy
# then fails on), and the 405 a static file gives a POST is turned into the reply.
write_upstream_conf() {
  local location="return 200 \"$(printf '%0100d' 0)\";" listen=""
  if [ "${2:-http1}" = grpc ]; then
    printf '\0\0\0\0\0' > "$WORK/grpc-reply"
    listen=" http2"
    location="root $WORK; mirror /read-body; mirror_request_body on; rewrite ^ /grpc-reply break;
      types { } default_type application/grpc; add_trailer grpc-status 0; error_page 405 =200 /grpc-reply; }
    location = /read-body { internal; return 204;"
  fi
  cat > "$WORK/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/upstream.pid; error_log $WORK/upstream.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; client_body_temp_path $WORK;
  proxy_temp_path $WORK; fastcgi_temp_path $WORK; uwsgi_temp_path $WORK; scgi_temp_path $WORK;
  server { listen 127.0.0.1:$1$listen; location / { $location } } }
CONF
}

# write_haproxy_conf LISTEN-PORT UPSTREAM-PORT [MODE]: one thread, keep-alive reuse to the
# upstream; h2c from clients for MODE h2 and grpc, and to the upstream for grpc.
write_haproxy_conf() {
  local bind="" server=""
  case "${3:-http1}" in h2) bind=" proto h2" ;; grpc) bind=" proto h2"; server=" proto h2" ;; esac
  cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn $MAX_CONNECTIONS
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:$1$bind
  default_backend b
backend b
  server s1 127.0.0.1:$2$server
CONF
}

# write_nginx_proxy_conf LISTEN-PORT UPSTREAM-PORT [MODE]: one worker, 64 keep-alive upstream
# connections; h2c from clients for MODE h2 and grpc (`listen ... http2`), grpc_pass for grpc.
write_nginx_proxy_conf() {
  local listen="" pass="proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\";"
  case "${3:-http1}" in h2) listen=" http2" ;; grpc) listen=" http2"; pass="grpc_pass grpc://up;" ;; esac
  cat > "$WORK/proxy-nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/proxy.pid; error_log $WORK/proxy.err;
worker_rlimit_nofile $((MAX_CONNECTIONS + 2048));
events { worker_connections $((MAX_CONNECTIONS + 1024)); }
http { access_log off; keepalive_requests 10000000; client_body_temp_path $WORK;
  proxy_temp_path $WORK; fastcgi_temp_path $WORK; uwsgi_temp_path $WORK; scgi_temp_path $WORK;
  upstream up { server 127.0.0.1:$2; keepalive 64; }
  server { listen 127.0.0.1:$1$listen; location / { $pass } } }
CONF
}

# write_heddle_conf LISTEN-PORT ADMIN-PORT UPSTREAM-PORT [MODE]: the outbound listener
# (protocol auto: HTTP/1.1 or the h2c preface) routing Host `web` to the upstream, spoken to in
# HTTP/1.1, or in h2c for MODE grpc (a `grpc` service).
write_heddle_conf() {
  local protocol=http1
  [ "${4:-http1}" = grpc ] && protocol=grpc
  cat > "$WORK/heddle.yaml" <<CONF
apiVersion: heddle.dev/v1alpha1
kind: Proxy
metadata: {name: bench}
spec:
  outbound: {address: "127.0.0.1:$1"}
  admin: {address: "127.0.0.1:$2"}
---
apiVersion: heddle.dev/v1alpha1
kind: Service
metadata: {name: web}
spec:
  protocol: $protocol
  endpoints: [{address: "127.0.0.1:$3"}]
CONF
  # HEDDLE_TRACE_COLLECTOR=URL: the proxy traces (1 % of new traces) and exports there, to
  # measure what tracing costs.
  if [ -n "${HEDDLE_TRACE_COLLECTOR:-}" ]; then
    sed -i "s|^  admin: .*|&\\n  tracing: {collector: \"$HEDDLE_TRACE_COLLECTOR\", sampleRate: ${HEDDLE_TRACE_SAMPLE_RATE:-0.01}}|" "$WORK/heddle.yaml"
  fi
}

# probe MODE PORT: one request as the scenario's load sends it; fails unless it is answered 2xx
# (gRPC: with grpc-status 0 in the trailers, which h2load does not check).
probe() {
  case "$1" in
    http1) curl -sf -m 5 -H 'Host: web' "http://127.0.0.1:$2/" >/dev/null ;;
    h2) curl -sf -m 5 --http2-prior-knowledge -H 'Host: web' "http://127.0.0.1:$2/" >/dev/null ;;
    grpc) nghttp -t 5 -v -H ':authority: web' -H 'content-type: application/grpc' -H 'te: trailers' -d "$WORK/grpc-reply" \
            "http://127.0.0.1:$2/bench.Echo/Call" 2>&1 | grep 'grpc-status: 0' >/dev/null ;;  # a trailer: curl -D omits them
  esac
}

# start_peers [MODE]: the nginx upstream (core 1) and the three proxies in front of it (core 0,
# one worker or thread each) for MODE http1 (HTTP/1.1 both legs, the default), h2 (h2c from
# the client, HTTP/1.1 to the upstream) or grpc (h2c both legs); waits until each answers. Sets
# PROXIES (heddle haproxy nginx), PORT[name] and PID[name] (also PORT[direct], the upstream);
# nginx's PID is its master, whose worker is a child (counted by cpu_ticks and rss_kib).
declare -A PORT PID
PROXIES=(heddle haproxy nginx)
PEER_PIDS=()
start_peers() {
  local mode=${1:-http1} first=${#PIDS[@]} name
  PORT[direct]=$(free_port); PORT[heddle]=$(free_port); PORT[haproxy]=$(free_port); PORT[nginx]=$(free_port)
  write_upstream_conf "${PORT[direct]}" "$mode"
  write_haproxy_conf "${PORT[haproxy]}" "${PORT[direct]}" "$mode"
  write_nginx_proxy_conf "${PORT[nginx]}" "${PORT[direct]}" "$mode"
  write_heddle_conf "${PORT[heddle]}" "$(free_port)" "${PORT[direct]}" "$mode"
  spawn 1 nginx -c "$WORK/upstream.conf"
  spawn 0 "$HEDDLE" proxy --config "$WORK/heddle.yaml" --workers 1 --log-level warning; PID[heddle]=${PIDS[-1]}
  spawn 0 haproxy -f "$WORK/haproxy.cfg"; PID[haproxy]=${PIDS[-1]}
  spawn 0 nginx -c "$WORK/proxy-nginx.conf"; PID[nginx]=${PIDS[-1]}
  PEER_PIDS=("${PIDS[@]:$first}")
  local upstream_mode=http1; [ "$mode" = grpc ] && upstream_mode=grpc
  wait_answer direct "$upstream_mode"
  for name in "${PROXIES[@]}"; do wait_answer "$name" "$mode"; done
}
# wait_answer NAME MODE: waits up to 10 s for PORT[NAME] to answer a probe.
wait_answer() { wait_until 10 probe "$2" "${PORT[$1]}" || fail "$1 on port ${PORT[$1]} does not answer $2"; }
# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (0) or SECONDS pass (1).
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -lt "$deadline" ] || return 1; sleep 0.1; done
}
# stop_peers: ends what start_peers started (before starting another set).
stop_peers() { kill "${PEER_PIDS[@]}" 2>/dev/null || true; wait "${PEER_PIDS[@]}" 2>/dev/null || true; PEER_PIDS=(); }

# cpu_ticks PID...: user+system time of the processes, their waited-for children and their
# live children, in clock ticks (getconf CLK_TCK a second).
cpu_ticks() {
  local total=0 pid child
  for pid in "$@"; do
    total=$((total + $(awk '{print $14+$15+$16+$17}' "/proc/$pid/stat")))
    for child in $(pgrep -P "$pid" || true); do total=$((total + $(awk '{print $14+$15}' "/proc/$child/stat"))); done
  done
  echo "$total"
}
TCK=$(getconf CLK_TCK)

# rss_kib FIELD PID: the /proc/PID/status memory field (VmRSS, or VmHWM: the peak) of the
# process and its children (nginx's worker), in KiB.
rss_kib() {
  local total=0 pid
  for pid in "$2" $(pgrep -P "$2" || true); do total=$((total + $(awk -v f="$1:" '$1 == f {print $2}' "/proc/$pid/status"))); done
  echo "$total"
}

# openloop_build: compiles the open-loop generator into $WORK once.
openloop_build() { [ -x "$WORK/openloop" ] || gcc -O2 -Wall -o "$WORK/openloop" benchmarks/openloop.c; }

# load TOOL PORT HOST: one run of SECONDS_PER_RUN on core 1 against 127.0.0.1:PORT (ended 30 s
# past it at the latest), its output kept in $WORK/load.out; sets REQUESTS (answered) and RPS.
# Fails on any error or non-2xx answer.
#   wrk       closed loop, HTTP/1.1, 32 connections (-t1 -c32)
#   wrk1      closed loop, HTTP/1.1, one connection (-t1 -c1 --latency): a request's own path
#   h2load    closed loop, h2c prior knowledge, 8 connections × 16 streams (GET)
#   grpc      h2load, gRPC-shaped unary POST (5-byte empty message, content-type
#             application/grpc, te: trailers), 8 connections × 16 streams
#   open:RATE the open-loop generator at RATE requests a second, 16 connections
load() {
  local tool=$1 port=$2 host=$3 out="$WORK/load.out" url="http://127.0.0.1:$2/"
  local on_core_1=(timeout $((SECONDS_PER_RUN + 30)) taskset -c 1)
  case "$tool" in
    wrk|wrk1)
      local c=32 latency=""; [ "$tool" = wrk1 ] && c=1 latency=--latency
      "${on_core_1[@]}" wrk -t1 -c$c -d"${SECONDS_PER_RUN}s" $latency -H "Host: $host" "$url" > "$out" || fail "wrk on port $port: exit $?"
      ! grep -E 'Non-2xx|Socket errors' "$out" || fail "wrk on port $port: errors"
      read -r REQUESTS RPS < <(awk '/requests in/ {r=$1} /Requests\/sec/ {s=$2} END {print r, s}' "$out") ;;
    h2load|grpc)
      local grpc=(); [ "$tool" = grpc ] && { grpc=(-d "$WORK/grpc-reply" -H 'content-type: application/grpc' -H 'te: trailers'); url+=bench.Echo/Call; }
      "${on_core_1[@]}" h2load -c8 -m16 -D "$SECONDS_PER_RUN" "${grpc[@]}" -H ":authority: $host" "$url" > "$out" || fail "h2load on port $port: exit $?"
      grep -q ' 0 failed, 0 errored, 0 timeout' "$out" && grep -q ' 0 4xx, 0 5xx' "$out" || fail "h2load on port $port: errors ($(grep -E '^(requests|status)' "$out" | tr '\n' ' '))"
      read -r REQUESTS RPS < <(awk '/^requests:/ {r=$8} /^finished in/ {s=$4} END {print r, s}' "$out") ;;
    open:*)
      openloop_build
      local rate=${tool#open:}
      "${on_core_1[@]}" "$WORK/openloop" 127.0.0.1 "$port" "$host" "$rate" "$SECONDS_PER_RUN" 16 > "$out" || fail "open loop at $rate rps on port $port: $(cat "$out")"
      read -r REQUESTS RPS < <(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["completed"], r["rate"])' "$out") ;;
  esac
}

# openloop_percentiles P...: the last open-loop run's latency percentiles (µs), in the order
# given (p50, p99, p99.9, ...).
openloop_percentiles() {
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["latency_us"]; print(*(r[p] for p in sys.argv[2:]))' \
    "$WORK/load.out" "$@"
}

# cpu_load NAME HOPS TOOL PORT HOST PID...: a load run (see load) that records, under NAME,
# the CPU per request (per hop) of the processes PID... over the run, and requests per second
# (for the closed loops; an open loop's is its rate).
cpu_load() {
  local name=$1 hops=$2 tool=$3 port=$4 host=$5; shift 5
  local before after us
  before=$(cpu_ticks "$@")
  load "$tool" "$port" "$host"
  after=$(cpu_ticks "$@")
  [ "${REQUESTS:-0}" -gt 0 ] 2>/dev/null || fail "$name: no request completed in ${SECONDS_PER_RUN}s on port $port ($tool; output in $WORK/load.out)"
  us=$(python3 -c "print(round(($after - $before) * 1e6 / $TCK / $REQUESTS / $hops, 2))")
  printf '%-12s %8.0f rps  %7s us CPU/request%s\n' "$name" "$RPS" "$us" "$([ "$hops" = 1 ] || echo /hop)"
  [[ $tool == open:* ]] || record "requests per second${METRIC_SUFFIX:-}" rps "$name" "$RPS"  # else the set rate
  record "CPU per request${METRIC_SUFFIX:-}" us "$name" "$us"
}

# record METRIC UNIT NAME VALUE: one measurement of one round (NAME: heddle, haproxy, nginx,
# direct, or a Heddle variant such as mtls).
record() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$WORK/records.tsv"; }
# report SCENARIO DESCRIPTION: medians, spread and ratios of everything recorded; writes
# $RESULTS_DIR/SCENARIO.json when RESULTS_DIR is set.
report() { python3 benchmarks/results.py scenario "$1" "$2" "$WORK/records.tsv" "${RESULTS_DIR:-}"; }
