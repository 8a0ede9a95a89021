#!/usr/bin/env bash
# Fuzzes the HTTP/1.1 framing parser (HeddleHTTP1) with libFuzzer and AddressSanitizer,
# seeded with the unit tests' smuggling corpus.   Usage: fuzz/run.sh [seconds]  (default 60)
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_TO_RUN=${1:-60}
# lld: gold fails with an internal error on the instrumented objects.
swift build --scratch-path ../.build-fuzz -c release \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --product HTTP1Fuzzer
CORPUS=$(mktemp -d)
trap 'rm -rf "$CORPUS"' EXIT
find ../Tests/HeddleHTTP1Tests/Corpus -name '*.http' -exec cp {} "$CORPUS/" \;
printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' > "$CORPUS/get"
printf 'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n' > "$CORPUS/chunked"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 204 No Content\r\n\r\n' > "$CORPUS/responses"
../.build-fuzz/release/HTTP1Fuzzer -max_total_time="$SECONDS_TO_RUN" -max_len=8192 "$CORPUS"
