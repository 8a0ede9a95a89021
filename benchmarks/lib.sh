# Shared by the benchmark scripts (sourced, not run): the peers, the release build, a scratch
# directory cleaned up at exit, free ports, the nginx upstream and HAProxy configurations, and
# the CPU time of processes. Each script sets SECONDS_PER_RUN and ROUNDS itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# nginx, HAProxy and wrk from Debian, when missing.
for tool in nginx haproxy wrk; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light haproxy wrk >/dev/null
    break
  fi
done
export PATH="$PATH:/usr/sbin"

# The release build (exclusivity checks off, as the data path ships), unless HEDDLE names one.
if [ -z "${HEDDLE:-}" ]; then
  echo "building heddle (release, exclusivity checks off)..."
  swift build -c release --scratch-path .build-release -Xswiftc -enforce-exclusivity=unchecked --product heddle >/dev/null
  HEDDLE=.build-release/release/heddle
fi
HEDDLE=$(realpath "$HEDDLE")

WORK=$(mktemp -d /tmp/heddle-bench.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# write_upstream_conf PORT: one nginx worker answering 200 with a 100-byte body.
write_upstream_conf() {
  cat > "$WORK/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/upstream.pid; error_log $WORK/upstream.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; client_body_temp_path $WORK;
  proxy_temp_path $WORK; fastcgi_temp_path $WORK; uwsgi_temp_path $WORK; scgi_temp_path $WORK;
  server { listen 127.0.0.1:$1; location / { return 200 "$(printf '%0100d' 0)"; } } }
CONF
}

# write_haproxy_conf LISTEN-PORT UPSTREAM-PORT: one thread, keep-alive reuse to the upstream.
write_haproxy_conf() {
  cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:$1
  default_backend b
backend b
  server s1 127.0.0.1:$2
CONF
}

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
