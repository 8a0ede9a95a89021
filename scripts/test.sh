#!/usr/bin/env bash
# Runs every test: unit tests and end-to-end tests through the real `heddle` binary, then the
# benchmarks' smoke runs. Installs what the tests talk to (curl, wrk, openssl, promtool, etcd,
# nft for the partition test, chromium and tesseract for the dashboard; python3 with h2 and
# grpcio for the test peers) when missing;
# the benchmark suite installs its own peers.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in curl wrk openssl python3 promtool etcd nft chromium tesseract strace; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # promtool (Debian's prometheus package) checks the example alert rules and the proxies' /metrics;
  # etcd-server is the etcd store's peer; nftables cuts a control plane in a network namespace
  # off from etcd; headless chromium loads the dashboard, and tesseract reads its screenshot back;
  # strace shows which system calls the proxy makes on its sockets.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    curl wrk openssl python3 prometheus etcd-server nftables chromium tesseract-ocr tesseract-ocr-eng fonts-dejavu-core strace >/dev/null
fi
# The HTTP/2 and gRPC tests' peers: the `h2` library and grpcio.
if ! python3 -c "import h2, grpc" >/dev/null 2>&1; then
  echo "installing: h2 grpcio (pip)"
  python3 -m pip install --quiet h2 grpcio
fi

swift build --build-tests
swift test --skip-build --skip DashboardTests
# The dashboard's tests run headless Chromium beside a whole demo mesh: on their own, so that
# the browser's start does not starve the timing-sensitive tests above.
swift test --skip-build --filter DashboardTests
# The benchmark suite's smoke run with the debug build: every scenario for 1-2 s, one round, so
# that the scripts cannot rot; it installs nginx, HAProxy, h2load, gcc and matplotlib when
# missing, fails if a scenario does, and takes about a minute here.
HEDDLE=.build/debug/heddle benchmarks/run.sh --smoke
# The scale benchmark's smoke run (benchmarks/scale): a tiny mesh, a few seconds, so that it
# cannot rot; BENCHMARKS.md has the figures at 10 000 proxies.
.build/debug/heddle-scale-bench --services 20 --instances 40 --proxies 50 --rounds 2
# The release build as it ships (scripts/build-release.sh: lld, with the code laid out by
# scripts/heddle-layout.ld) and the memory benchmark's smoke run with it, so that neither can
# rot: about 7 minutes here, nearly all of it the build.
scripts/build-release.sh --product heddle >/dev/null
# (readelf's output is taken whole first: `readelf | grep -q` under pipefail fails whenever
# grep exits on its match before readelf's last write, which is a race on a slow machine.)
sections=$(readelf -SW .build-release/release/heddle)
grep -q ' \.text\.hot ' <<<"$sections" || {
  echo "the release build has no .text.hot: scripts/heddle-layout.ld was not applied; its sections:" >&2
  echo "$sections" >&2
  exit 1
}
# The socket calls (Sources/CHeddleSocketCalls) checked in the binary that ships too: it is
# linked differently (lld, the layout script) from the debug one the suite above ran.
HEDDLE_BINARY=.build-release/release/heddle swift test --skip-build --filter SocketCallTests
HEDDLE=.build-release/release/heddle benchmarks/rss.sh 2 1
# The micro benchmarks' smoke run (benchmarks/micro, a package of its own): a debug build and a
# few samples of each, so that they cannot rot. It builds into .build, reusing what the test build
# compiled there, so it comes last; about 1.5 minutes here, nearly all of it the harness's build.
benchmarks/micro/smoke.sh
