#!/usr/bin/env bash
# Reference counting per request on the one-hop path, counted exactly (not sampled): uprobes on
# libswiftCore's swift_retain and swift_release, recorded with their call chains while wrk sends
# HTTP/1.1 keep-alive requests through Heddle to an nginx upstream. Prints the calls per request
# in all, then per calling function (the first caller outside the Swift runtime and outlined
# copy/destroy helpers). Timing on these shared machines moves by ±10 % from run to run; these
# counts repeat within about one call per request (connection set-up spread over the run), so
# an A/B of a hot-path change can be read from them.
#
#   benchmarks/refcounts.sh [top-N]        # HEDDLE=path/to/heddle to skip the release build
#
# Needs perf with uprobe support and root (perf probe). A uprobe costs microseconds, so the load
# is light (wrk -c8, 3 s: a few thousand requests).
TOP=${1:-30}
SECONDS_PER_RUN=3
ROUNDS=1
source "$(dirname "$0")/lib.sh"

core=$(ldd "$HEDDLE" | awk '/libswiftCore/ {print $3}')
[ -n "$core" ] || fail "cannot find libswiftCore.so of $HEDDLE"
perf probe -q -x "$core" -a swift_retain -a swift_release 2>/dev/null || true
# The uprobes go with the run, however it ends.
trap 'perf probe -q -d "probe_libswiftCore:*" >/dev/null 2>&1 || true; cleanup' EXIT
probes=$(perf probe -l 2>/dev/null || true)
[[ "$probes" == *probe_libswiftCore:swift_retain* ]] || fail "perf probe could not place uprobes on $core (root needed)"

port=$(free_port); upstream=$(free_port)
write_upstream_conf "$upstream"
write_heddle_conf "$port" "$(free_port)" "$upstream"
spawn 1 nginx -c "$WORK/upstream.conf"
spawn 0 "$HEDDLE" proxy --config "$WORK/heddle.yaml" --workers 1 --log-level warning; heddle=${PIDS[-1]}
wait_until 10 probe http1 "$port" || fail "heddle does not answer"
taskset -c 1 wrk -t1 -c8 -d1s -H 'Host: web' "http://127.0.0.1:$port/" >/dev/null  # warm the pool
perf record -q -e probe_libswiftCore:swift_retain -e probe_libswiftCore:swift_release -g -o "$WORK/rc.data" -p "$heddle" -- sleep 4 >/dev/null 2>&1 &
recorder=$!
sleep 0.5
taskset -c 1 wrk -t1 -c8 -d"${SECONDS_PER_RUN}s" -H 'Host: web' "http://127.0.0.1:$port/" > "$WORK/wrk.out"
wait "$recorder"
requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
perf script -i "$WORK/rc.data" 2>/dev/null > "$WORK/rc.txt"
python3 - "$requests" "$WORK/rc.txt" "$TOP" <<'PY'
import collections, re, sys
requests, text, top = int(sys.argv[1]), open(sys.argv[2]).read(), int(sys.argv[3])
frame = re.compile(r'^\s*[0-9a-f]+\s+(\S+?)(\+0x[0-9a-f]+)?\s+\((.*)\)\s*$')
helper = re.compile(r'(Vwcp|Vwxx|WOh|WOc|WOe|WOy|Tm)$')
totals, callers = collections.Counter(), collections.Counter()
for block in text.split('\n\n'):
    lines = block.strip().split('\n')
    if not lines or not lines[0].strip():
        continue
    totals['retain' if 'swift_retain' in lines[0] else 'release'] += 1
    frames = [m.groups() for m in map(frame.match, lines[1:]) if m]
    caller = next((f for f, _, d in frames[1:] if 'libswiftCore' not in d and not f.endswith('@plt') and not helper.search(f)), '?')
    callers[caller] += 1
print(f"{requests} requests: {totals['retain'] / requests:.1f} swift_retain and {totals['release'] / requests:.1f} swift_release per request")
nio = sum(v for k, v in callers.items() if 'NIO' in k[:20])
print(f"  from NIO: {nio / requests:.1f}, from the rest: {(sum(callers.values()) - nio) / requests:.1f}")
for name, count in callers.most_common(top):
    print(f"{count / requests:7.2f}  {name[:150]}")
PY
