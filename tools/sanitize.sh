#!/usr/bin/env bash
# The torch-free unit tests (cfg, weights, metrics, WIDER, fuzz regressions) built with
# AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/. (Debian's LibTorch is not built
# with sanitizers, so the torch tests stay in the normal build.)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFACEKIT_SANITIZE=address,undefined \
  -DFACEKIT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j "${FACEKIT_JOBS:-2}" --target facekit_format_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/tests/facekit_format_tests
