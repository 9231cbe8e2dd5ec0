#!/usr/bin/env bash
# Builds facekit and runs the whole test suite (unit, parity against libdarknet, CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
cd build
ctest --output-on-failure -j "${FACEKIT_JOBS:-2}" --timeout 900
