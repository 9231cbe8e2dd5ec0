#!/usr/bin/env bash
# Classifier training throughput, facekit (LibTorch C++) against a plain PyTorch loop (Debian's
# python3-torch and torchvision), the same Inception-v3, batch, input size and threads, one after the
# other in one run; prints both and the ratio.
#   bash tools/bench_train_classifier.sh [THREADS] [BATCH] [SIZE] [STEPS]   (defaults 2 16 128 10; after tools/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}; batch=${2:-16}; size=${3:-128}; steps=${4:-10}
export OMP_WAIT_POLICY=PASSIVE
facekit=$(build/tools/bench/facekit_bench_train_classifier --threads "$threads" --batch "$batch" --size "$size" --steps "$steps")
pytorch=$(/usr/bin/python3 tools/bench/train_classifier_torch.py --threads "$threads" --batch "$batch" --size "$size" --steps "$steps")
echo "$facekit"
echo "$pytorch"
rate() { echo "$1" | grep -o '[0-9.]* img/s' | cut -d' ' -f1; }
awk -v f="$(rate "$facekit")" -v p="$(rate "$pytorch")" 'BEGIN { printf "facekit / PyTorch: %.2fx\n", f / p }'
