#!/usr/bin/env bash
# The in-process unit tests under AddressSanitizer and UndefinedBehaviorSanitizer (CMake preset
# `sanitize`, clang, build-sanitize/): every torch-free test, Darknet parity against libdarknet,
# the inference preparation, the losses against libdarknet and the trainers (all but the
# classifier overfit, whose time bound is the release build's). Debian's LibTorch, OpenCV and
# libdarknet are not instrumented, but ASan still checks every access our code makes into their
# memory. The tests that run the facekit binaries end to end stay in the normal build.
# Then the loaders' tests under ThreadSanitizer (preset `tsan`, build-tsan/): their worker threads
# and the batch prepared ahead, in the torch-free test binary only (an uninstrumented LibTorch and
# its OpenMP pool would drown TSan in reports it cannot reason about).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize
ctest --preset sanitize
cmake --preset tsan >/dev/null
cmake --build --preset tsan
ctest --preset tsan
