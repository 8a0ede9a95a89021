#!/usr/bin/env bash
# CI's smoke run of the micro benchmarks (this package, BENCHMARKS.md): a debug build and three
# short iterations of each benchmark, so that they keep building against the Heddle modules and
# their fixtures keep checking what they measure (a benchmark whose request no longer routes or
# parses stops the run). The figures of a debug build mean nothing; BENCHMARKS.md says how to
# measure.
#
# Builds into the main package's scratch directory (the repository's .build, or
# HEDDLE_MICRO_SCRATCH), so that the modules `swift build --build-tests` compiled there (NIO,
# NIOSSL/BoringSSL, swift-crypto, swift-certificates, NIOHTTP2, the Heddle modules: same
# checkouts, versions and flags) are reused rather than compiled again for this package.
set -euo pipefail
cd "$(dirname "$0")"
scratch="${HEDDLE_MICRO_SCRATCH:-$(cd ../.. && pwd)/.build}"

swift build --scratch-path "$scratch" --product HeddleMicro
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! HEDDLE_MICRO_SMOKE=1 "$(swift build --scratch-path "$scratch" --show-bin-path)/HeddleMicro" >"$log" 2>&1; then
  cat "$log"
  echo "micro benchmarks smoke run: FAILED" >&2
  exit 1
fi
count=$(grep -c '^Debug results for' "$log" || true)
if [ "$count" -eq 0 ]; then
  cat "$log"
  echo "micro benchmarks smoke run: no benchmark ran" >&2
  exit 1
fi
echo "micro benchmarks smoke run: $count benchmarks ran"
