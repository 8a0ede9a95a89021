#!/usr/bin/env bash
# Regenerates scripts/heddle-layout.ld: which functions the linker puts first, together, in the
# heddle binary of a release build (Package.swift hands it to lld with -T; see
# scripts/build-release.sh).
#
# Why: a process's resident memory counts every page of code it has run, and the kernel maps a
# whole folio of the page cache (128 KiB and more here) around each page it faults in. Left in
# source order, the few thousand functions a proxy runs are spread over all 19 MiB of text, and
# 12 MiB of it ends up resident; listed first, they sit together in about 1.5 MiB.
# BENCHMARKS.md ("Memory, 2026-11-28") has the figures.
#
# How: builds heddle with LLVM's IR-level profile instrumentation (.build-profile; merging of
# identical functions off, as in release builds, so that every function keeps its own name and
# section), then runs it twice and writes the functions that ran:
#   1. as a proxy in front of an nginx upstream: start-up, HTTP/1.1 (wrk), h2c (h2load), the
#      admin endpoints, a graceful stop; hottest first;
#   2. as `heddle demo` (control plane, sidecars, load): what a mesh runs besides, after;
# and 3. adds what the instrumentation cannot see, from the page faults of a release build (perf;
# below). Functions the list does not name (new code) keep their default place, so a stale list
# costs memory, never correctness. Run it again when the proxy's code has changed much.
#
#   scripts/order-file.sh     # PROFILED_HEDDLE=path reuses an instrumented build; SCRATCH=dir
#                             # is the release build's (scripts/build-release.sh); ~15 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLCHAIN=$(dirname "$(realpath "$(command -v swift)")")
PROFDATA=$TOOLCHAIN/llvm-profdata
RUNTIME=$(ls "$TOOLCHAIN"/../lib/clang/*/lib/linux/libclang_rt.profile-"$(uname -m)".a 2>/dev/null | head -1)
[ -x "$PROFDATA" ] && [ -f "$RUNTIME" ] || { echo "needs the toolchain's llvm-profdata and profile runtime" >&2; exit 1; }

HEDDLE=${PROFILED_HEDDLE:-$ROOT/.build-profile/release/heddle}
if [ -z "${PROFILED_HEDDLE:-}" ]; then
  echo "building heddle with profile instrumentation (.build-profile)..."
  swift build -c release --scratch-path .build-profile --product heddle \
    -Xswiftc -enforce-exclusivity=unchecked \
    -Xswiftc -Xfrontend -Xswiftc -disable-llvm-merge-functions-pass \
    -Xswiftc -Xfrontend -Xswiftc -ir-profile-generate -Xswiftc -Xllvm -Xswiftc -pgo-temporal-instrumentation \
    -Xlinker "$RUNTIME" -Xlinker -u__llvm_profile_runtime >/dev/null
fi
# The benchmarks' peers, configurations and load runs (with HEDDLE set it builds nothing).
SECONDS_PER_RUN=3
source benchmarks/lib.sh

# 1. The proxy.
up=$(free_port); port=$(free_port); admin=$(free_port)
write_upstream_conf "$up"
write_heddle_conf "$port" "$admin" "$up"
spawn 1 nginx -c "$WORK/upstream.conf"
LLVM_PROFILE_FILE=$WORK/proxy.profraw "$HEDDLE" proxy --config "$WORK/heddle.yaml" --workers 1 --log-level warning & heddle=$!; PIDS+=("$heddle")
wait_until 10 probe http1 "$port" || fail "the instrumented proxy does not answer"
load wrk "$port" web
load h2load "$port" web
for path in metrics ready live config; do curl -s "http://127.0.0.1:$admin/$path" >/dev/null; done
kill -TERM "$heddle"; wait "$heddle"   # a graceful stop writes the profile at exit

# 2. The demo mesh.
LLVM_PROFILE_FILE=$WORK/demo.profraw "$HEDDLE" demo --duration 8 --view plain --control-plane-port 0 >/dev/null 2>&1

nm "$HEDDLE" > "$WORK/symbols.txt"
for run in proxy demo; do
  "$PROFDATA" merge -o "$WORK/$run.profdata" "$WORK/$run.profraw"
  "$PROFDATA" show --all-functions --counts "$WORK/$run.profdata" > "$WORK/$run.counts"
  "$PROFDATA" order "$WORK/$run.profdata" > "$WORK/$run.first-calls" 2>/dev/null
done
cat > "$WORK/layout.py" <<'PY'
import re, sys
work = sys.argv[1]
# Sections the page faults of a release build found besides (write_layout, below).
faulted = [l.strip() for l in open(f"{work}/faulted.txt")] if len(sys.argv) > 2 else []

def ran(run):
    """What ran, hottest first: a function with a nonzero block counter, or one in the trace of
    first calls the temporal instrumentation keeps (a function can run along edges that carry
    no counter). A file's own function is named "path/Module.build/File.swift.o;name"."""
    hotness, name = {}, None
    for line in open(f"{work}/{run}.counts"):
        m = re.match(r"  (\S.*):$", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"\s+Block counts: \[(.*)\]", line)
        if m and name is not None:
            counts = [int(c) for c in m.group(1).split(",") if c.strip()]
            if counts and max(counts) > 0:
                hotness[name] = max(hotness.get(name, 0), max(counts))
    for line in open(f"{work}/{run}.first-calls"):
        if line.strip() and not line.startswith("#"):
            hotness.setdefault(line.strip(), 0)
    return sorted(hotness, key=lambda s: (-hotness[s], s))

# The instrumented binary's symbols: a file's own function without one is private, and its
# section is named ".text..L" + name. An async function also runs as pieces with names of their
# own ("TY0_", "TQ1_", ... after its name).
symbols, pieces = set(), {}
for line in open(f"{work}/symbols.txt"):
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        symbols.add(parts[2])
        base = re.sub(r"(T[YQ]\d+_)+$", "", parts[2])
        if base != parts[2]:
            pieces.setdefault(base, []).append(parts[2])

def patterns(profiled):
    path, _, name = profiled.rpartition(";")
    for function in [name] + sorted(pieces.get(name, [])):
        if not re.fullmatch(r"[\w$.]+", function):
            continue
        if not path:
            yield f"*(.text.{function})"
        else:
            # Module.build/File.swift.o: the same in every build directory.
            where = "*" + "/".join(path.split("/")[-2:])
            private = "" if function in symbols else ".L"
            yield f"{where}(.text.{private}{function})"

listed, lines = set(), []
for run in ("proxy", "demo"):
    for profiled in ran(run):
        for pattern in patterns(profiled):
            if pattern not in listed:
                listed.add(pattern)
                lines.append("    " + pattern)
    if run == "proxy":
        # What the instrumentation does not see, after the proxy's functions: the destructors
        # of closure contexts (private, made after instrumentation; ~210 KiB in all), and the
        # C code every proxy runs (libyaml reads the configuration; NIO's Linux shims).
        lines.append("    *(.text..Lobjectdestroy*)")
        lines.append("    *CYaml.build/*(.text .text.*)")
        lines.append("    *CNIOLinux.build/*(.text .text.*)")
        lines.extend("    " + pattern for pattern in faulted if pattern not in listed)
print("/* Generated by scripts/order-file.sh: the functions a proxy runs, hottest first, then what")
print("   the demo mesh runs besides. Release builds of heddle link with it (Package.swift). */")
print("SECTIONS {")
print("  .text.hot : {")
print("\n".join(lines))
print("  }")
print("}")
print("INSERT BEFORE .text;")
PY
write_layout() { python3 "$WORK/layout.py" "$WORK" "$@" > scripts/heddle-layout.ld; }
write_layout
echo "scripts/heddle-layout.ld: $(grep -c '^    \*' scripts/heddle-layout.ld) functions from the profiles"

# 3. What the instrumentation cannot see (code made after it, such as closure destructors and
# key-path helpers, C code) or did not run: a release build with that layout runs as the
# benchmarks run it (rss.sh: an open loop at 2000 requests a second; wrk; a metrics scrape),
# its page faults in code are traced (perf), each faulting address is found in the link map,
# and the input section there joins the list after the proxy's functions. Three rounds: a
# fault maps a whole folio, so each round finds what the last one's faults hid.
if ! command -v perf >/dev/null; then
  echo "no perf: the page-fault refinement is skipped" >&2
  exit 0
fi
: > "$WORK/faulted.txt"
for round in 1 2 3; do
  SCRATCH=${SCRATCH:-.build-release} scripts/build-release.sh --product heddle -Xlinker -Map="$WORK/map.txt" >/dev/null 2>&1
  release=${SCRATCH:-.build-release}/release/heddle
  perf record -q -e page-faults -c 1 -d -o "$WORK/faults.data" -- "$release" proxy --config "$WORK/heddle.yaml" --workers 1 --log-level warning &
  recorder=$!; PIDS+=("$recorder")
  wait_until 10 probe http1 "$port" || fail "the release build does not answer"
  load open:2000 "$port" web
  load wrk "$port" web
  curl -s "http://127.0.0.1:$admin/metrics" >/dev/null
  kill -TERM $(pgrep -P "$recorder") 2>/dev/null || true
  wait "$recorder" || true
  perf script -i "$WORK/faults.data" -F ip,sym,symoff,addr,dso 2>/dev/null > "$WORK/faults.txt"
  nm "$release" > "$WORK/release-symbols.txt"
  before=$(wc -l < "$WORK/faulted.txt")
  python3 - "$WORK" "$(basename "$release")" >> "$WORK/faulted.txt" <<'PY'
import bisect, collections, re, sys
work, name = sys.argv[1], sys.argv[2]
# The input sections of the link, by address.
sections = []
for line in open(f"{work}/map.txt"):
    m = re.match(r"\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S+\.o):\((\.text[^)]*)\)$", line)
    if m:
        sections.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)))
sections.sort()
starts = [s[0] for s in sections]
symbols = {}
for line in open(f"{work}/release-symbols.txt"):
    parts = line.split()
    if len(parts) == 3:
        symbols.setdefault(parts[2], int(parts[0], 16))
# Each line: the faulting address, then the instruction's address, symbol+offset and binary. An
# instruction fetch faults at its own address. The load bias: the instruction's address less
# its symbol's address and offset, the same for every fault in the binary.
faults, bias = [], collections.Counter()
pattern = re.compile(r"\s*([0-9a-f]+)\s+.*?\s([0-9a-f]+)\s+(\S+?)(?:\+0x([0-9a-f]+))?\s+\((\S+)\)\s*$")
for line in open(f"{work}/faults.txt"):
    m = pattern.match(line)
    if not m or not m.group(5).endswith("/" + name):
        continue
    address, ip, symbol, offset = int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)
    if symbol in symbols and offset is not None:
        bias[ip - int(offset, 16) - symbols[symbol]] += 1
    if address == ip:
        faults.append(address)
if not bias:
    sys.exit(0)
load = bias.most_common(1)[0][0]
seen = set(l.strip() for l in open(f"{work}/faulted.txt"))
for address in faults:
    i = bisect.bisect_right(starts, address - load) - 1
    if i < 0 or address - load >= sections[i][0] + sections[i][1]:
        continue
    _, _, path, section = sections[i]
    if "/" not in path or path.startswith(("/lib", "/usr")):
        continue  # the C runtime's start-up objects
    entry = "*" + "/".join(path.split("/")[-2:]) + f"({section})"
    if entry not in seen:
        seen.add(entry)
        print(entry)
PY
  echo "round $round: $(( $(wc -l < "$WORK/faulted.txt") - before )) sections found by page faults"
  write_layout faulted
done
echo "scripts/heddle-layout.ld: $(grep -c '^    \*' scripts/heddle-layout.ld) functions"
