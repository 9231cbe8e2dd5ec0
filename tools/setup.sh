#!/usr/bin/env bash
# Installs every Debian 12 package facekit needs to build, test and benchmark. Safe to re-run.
# Run as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  clang libclang-rt-14-dev   # libFuzzer and the sanitizers (tools/fuzz.sh, tools/sanitize.sh)
  libtorch-dev libopencv-dev opencv-data darknet
  libdnnl-dev   # oneDNN's headers: the prepared detector runs as oneDNN primitives (LibTorch links the library)
  ocl-icd-opencl-dev   # dnnl-config.cmake requires OpenCL (Debian builds oneDNN with its OpenCL GPU runtime); only a recommend of libdnnl-dev
  libgloo-dev   # headers of Gloo, which LibTorch's c10d ProcessGroupGloo includes (distributed training)
  libonnx-dev libprotobuf-dev protobuf-compiler
  libboost-program-options-dev libgtest-dev libgmock-dev libbenchmark-dev
  libtinyxml2-dev nlohmann-json3-dev   # Pascal VOC XML; COCO json annotations and JSON reports
  libmatio-dev   # IMDB-WIKI .mat metadata
  libopenblas0-pthread   # LibTorch/OpenCV otherwise use the slow reference libblas.so.3
  python3-torch python3-torchvision python3-onnx python3-opencv python3-numpy python3-sklearn python3-scipy   # reference checks
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} packages already installed"
fi

# ONNX Runtime, the reference runtime of the ONNX tests: the npm package onnxruntime-node
# (its prebuilt library ships inside the package; --ignore-scripts skips optional downloads).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
ort_dir="$(cd "$(dirname "$0")" && pwd)/ort"
if [ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]; then
  echo "setup: installing onnxruntime-node into $ort_dir"
  (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
