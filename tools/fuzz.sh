#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset `fuzz`: clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-sanitize/), and runs each for SECONDS (default 60) from the
# committed seed corpus with a fixed seed. FUZZ_RUNS=N runs N inputs per target instead, which
# makes the run repeatable (CI uses it). A crash leaves its input in build-sanitize/crashes/: add
# it to tests/fuzz/corpus/ as regression-*, and a test of it to tests/; fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=build-sanitize
cmake --preset sanitize >/dev/null
cmake --build --preset fuzz
targets=()  # every fuzz_* the preset built (tests/fuzz/CMakeLists.txt lists them)
for exe in "$out"/tests/fuzz/fuzz_*; do [ -f "$exe" ] && [ -x "$exe" ] && targets+=("${exe##*/fuzz_}"); done
rm -rf $out/crashes $out/corpus
mkdir -p $out/crashes
for t in "${targets[@]}"; do
  work=$out/corpus/$t
  limit=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  mkdir -p "$work"
  cp tests/fuzz/corpus/$t/* "$work"/
  echo "== fuzz_$t: ${limit[*]}"
  $out/tests/fuzz/fuzz_$t -seed=1 "${limit[@]}" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix=$out/crashes/$t- "$work" 2>&1 | grep -E "DONE|ERROR|SUMMARY" || true
  if ls $out/crashes/$t-* >/dev/null 2>&1; then echo "fuzz_$t found a crash: $out/crashes/"; exit 1; fi
done
echo "fuzzing: no crash in ${#targets[@]} targets"
