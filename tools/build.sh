#!/usr/bin/env bash
# Configures and builds facekit in build/ (Release, ccache, precompiled torch header).
# Extra arguments go to cmake, e.g. -DTorch_DIR=/opt/libtorch/share/cmake/Torch for CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
# Two jobs: each torch translation unit needs about 1.6 GB and a core.
cmake --build build -j "${FACEKIT_JOBS:-2}"
