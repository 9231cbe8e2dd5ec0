#!/usr/bin/env bash
# One run, side by side: the same convolution stack in oneDNN directly and in LibTorch.
# Needs libdnnl-dev (oneDNN's headers; LibTorch already links its library): apt-get install libdnnl-dev
set -euo pipefail
cd "$(dirname "$0")"
out=../../runs/onednn-fused-conv
mkdir -p "$out"
g++ -O2 -fopenmp onednn_stack.cpp -o "$out/onednn_stack" -ldnnl
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
"$out/onednn_stack" layers.txt
/usr/bin/python3 torch_stack.py layers.txt
