#!/usr/bin/env bash
# Runs every test: unit tests and end-to-end tests through the real `heddle` binary.
# Installs what the tests talk to (curl, wrk, openssl; python3 with h2 and grpcio for the test
# peers) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in curl wrk openssl python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq curl wrk openssl python3 >/dev/null
fi
# The HTTP/2 and gRPC tests' peers: the `h2` library and grpcio.
if ! python3 -c "import h2, grpc" >/dev/null 2>&1; then
  echo "installing: h2 grpcio (pip)"
  python3 -m pip install --quiet h2 grpcio
fi

swift build --build-tests
swift test --skip-build
# The micro benchmarks' smoke run (benchmarks/micro, a package of its own): a debug build and a
# few samples of each, so that they cannot rot; 2.5 to 4 minutes here, nearly all of it the build.
benchmarks/micro/smoke.sh
