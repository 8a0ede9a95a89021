#!/usr/bin/env bash
# The release build of heddle as it ships and as the benchmarks measure it:
#   - runtime exclusivity checks off in every module (Heddle's own modules have it from
#     Package.swift; this passes it to the dependencies too);
#   - every module's functions in sections of their own, identical functions not merged, so
#     that the link can lay the code out by use (Package.swift links with lld and
#     scripts/heddle-layout.ld; scripts/order-file.sh explains why and makes the list).
#
#   scripts/build-release.sh [swift build options]     # e.g. --product heddle
#   .build-release/release/heddle
#
# SCRATCH=dir builds elsewhere than .build-release.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-.build-release}
FLAGS=(
  -Xswiftc -enforce-exclusivity=unchecked
  -Xswiftc -Xfrontend -Xswiftc -function-sections
  -Xswiftc -Xfrontend -Xswiftc -disable-llvm-merge-functions-pass
)
# SwiftPM rebuilds no object when only these flags change, and relinks nothing when only the
# layout changes: a build with other flags is cleared, and a binary older than the layout goes.
stamp="$SCRATCH/heddle-release-flags"
if [ -d "$SCRATCH" ] && [ "$(cat "$stamp" 2>/dev/null)" != "${FLAGS[*]}" ]; then
  find -L "$SCRATCH" -name '*.o' -delete 2>/dev/null || true
fi
for binary in "$SCRATCH"/*/release/heddle; do
  [ -f "$binary" ] && [ scripts/heddle-layout.ld -nt "$binary" ] && rm -f "$binary"
done
swift build -c release --scratch-path "$SCRATCH" "${FLAGS[@]}" "$@"
echo "${FLAGS[*]}" > "$stamp"
