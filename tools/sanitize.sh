#!/usr/bin/env bash
# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer (CMake preset `sanitize`,
# clang, build-sanitize/): every torch-free test, Darknet parity against libdarknet and the
# inference preparation. Debian's LibTorch, OpenCV and libdarknet are not instrumented, but ASan
# still checks every access our code makes into their memory. The trainers' and the binaries'
# end-to-end tests stay in the normal build (their runs would take hours under ASan on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize
ctest --preset sanitize
