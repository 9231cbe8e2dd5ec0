#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build-fuzz/, and runs each for SECONDS (default 60) from the committed seed corpus with a fixed
# seed. FUZZ_RUNS=N runs N inputs per target instead, which makes the run repeatable (CI uses
# it). A crash leaves its input in build-fuzz/crashes/: add it to tests/fuzz/corpus/ as
# regression-*, fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFACEKIT_FUZZ=ON -DFACEKIT_SANITIZE=address,undefined -DFACEKIT_BUILD_TESTS=OFF -DFACEKIT_BUILD_BENCHMARKS=OFF >/dev/null
targets=(cfg weights wider npy darknet_labels voc coco utkface face_csv adience wider_demographics)
cmake --build build-fuzz -j 2 --target "${targets[@]/#/fuzz_}"
limit=(-max_total_time="$seconds")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
rm -rf build-fuzz/crashes build-fuzz/corpus
mkdir -p build-fuzz/crashes
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  cp tests/fuzz/corpus/$t/* "$work"/
  echo "== fuzz_$t: ${limit[*]}"
  build-fuzz/tests/fuzz/fuzz_$t -seed=1 "${limit[@]}" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/crashes/$t- "$work" 2>&1 | grep -E "DONE|ERROR|SUMMARY" || true
  if ls build-fuzz/crashes/$t-* >/dev/null 2>&1; then echo "fuzz_$t found a crash: build-fuzz/crashes/"; exit 1; fi
done
echo "fuzzing: no crash in ${#targets[@]} targets (${limit[*]})"
