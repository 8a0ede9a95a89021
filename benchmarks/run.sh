#!/usr/bin/env bash
# The benchmark suite, one command: every scenario of issue 7 side by side with HAProxy and
# nginx, each alternating the proxies for several rounds, and the results in one directory.
#
#   benchmarks/run.sh [--smoke]       # HEDDLE=path/to/heddle to skip the release build
#
# Scenarios (each script's header says how it measures): one-hop.sh (CPU per request, closed
# loop), open-loop.sh (added latency at 1000 and 5000 rps), two-hop.sh (the mesh path, mTLS and
# plaintext), h2-grpc.sh (h2c and gRPC), rss.sh (CPU and peak RSS at 2000 rps),
# idle-connections.sh (memory per idle connection, 10 000 held). Writes
# benchmarks/results/DATE/: SCENARIO.json and SCENARIO.log for each, summary.md (medians,
# spread, Heddle ÷ HAProxy and Heddle ÷ nginx), latency.png (open-loop percentiles) and
# machine.txt (date, cores, load, versions, command). About 15 minutes; --smoke runs each
# scenario for 1–2 s, one round (about a minute and a half), to prove the scripts still work.
# Exits 1 naming the scenarios that failed (after running the others).
source "$(dirname "$0")/lib.sh"  # the peers' install and the release build, once for all
export HEDDLE

if [ "${1:-}" = --smoke ]; then
  SCENARIOS=("one-hop 1 1" "open-loop 1 1" "two-hop 1 1" "h2-grpc 1 1" "rss 2 1" "idle-connections 1000 1")
  RESULTS_DIR=benchmarks/results/$(date +%Y-%m-%d-%H%M%S)-smoke
else
  SCENARIOS=("one-hop 8 3" "open-loop 10 3" "two-hop 8 3" "h2-grpc 8 3" "rss 10 3" "idle-connections 10000 3")
  RESULTS_DIR=benchmarks/results/$(date +%Y-%m-%d-%H%M%S)
fi
export RESULTS_DIR
mkdir -p "$RESULTS_DIR"
python3 -c 'import matplotlib' 2>/dev/null || { echo "installing: matplotlib (pip)"; python3 -m pip install --quiet matplotlib; }

{
  echo "date: $(date -Iseconds)"
  echo "command: benchmarks/run.sh $*"
  echo "heddle: $HEDDLE ($(stat -c %y "$HEDDLE"))"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  haproxy -v | sed -n 1p; nginx -v 2>&1; wrk -v 2>&1 | sed -n 1p || true; h2load --version
} > "$RESULTS_DIR/machine.txt"

failed=()
for spec in "${SCENARIOS[@]}"; do
  read -r name args <<<"$spec"
  echo "== $name ($args)"
  # In the background so that a signal to this script reaches it (cleanup kills PIDS).
  bash "benchmarks/$name.sh" $args > >(tee "$RESULTS_DIR/$name.log") 2>&1 & PIDS+=($!)
  started=$SECONDS
  wait $! || failed+=("$name")
  [ -f "$RESULTS_DIR/$name.json" ] || [[ " ${failed[*]} " == *" $name "* ]] || failed+=("$name")
  echo "== $name: $((SECONDS - started)) s"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS_DIR/machine.txt"

echo "== summary ($RESULTS_DIR)"
python3 benchmarks/results.py summary "$RESULTS_DIR" "${SCENARIOS[@]%% *}"
[ ${#failed[@]} -eq 0 ] || fail "benchmark scenarios: ${failed[*]} (logs in $RESULTS_DIR)"
