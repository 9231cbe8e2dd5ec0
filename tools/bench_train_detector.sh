#!/usr/bin/env bash
# Detector training throughput, facekit against Darknet itself, in one run: Debian's `darknet detector
# train` (libdarknet on the CPU) and `facekit train detector` on the same cfg (models/cfg/yolov3-tiny-face.cfg
# at 416x416, batch 8, subdivisions 1, random=0), the same images (All-Age-Faces train with its Darknet
# labels) and the same number of iterations, both from random weights, one after the other. Prints
# images/s of each and the ratio twice: over the whole command (start-up included; LibTorch's start-up
# is under a second) and over the training loop alone (what a long run's throughput converges to).
#   bash tools/bench_train_detector.sh [ITERATIONS] [THREADS]     (defaults 10 and all cores; after tools/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-10}
threads=${2:-$(nproc)}
batch=8
data=$(cd ../shared/data && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sed "s|^|$data/aaf-train/|" "$data/aaf-train/images.txt" > "$work/train.txt"
sed -e "s/^batch=.*/batch=$batch/" -e 's/^subdivisions=.*/subdivisions=1/' -e 's/^random=1/random=0/' \
    -e "s/^max_batches *=.*/max_batches=$iterations/" models/cfg/yolov3-tiny-face.cfg > "$work/face.cfg"
mkdir -p "$work/darknet" "$work/facekit"
for who in darknet facekit; do
  cat > "$work/$who.data" <<DATA
classes = 1
train = $work/train.txt
names = $PWD/models/cfg/face.names
backup = $work/$who
DATA
done

seconds() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { print b - a }'; }
images=$((iterations * batch))

# Both as a user runs them, on an idle machine: facekit with OpenMP's own wait policy (its threads spin
# a little before they sleep). On cores shared with other work, export OMP_WAIT_POLICY=PASSIVE first.
start=$(date +%s.%N)
# libdarknet is single-threaded on the CPU; -nogpu is ignored by a CPU build.
(cd "$work" && darknet detector train "$work/darknet.data" "$work/face.cfg" > "$work/darknet.log" 2>&1)
darknet_s=$(seconds "$start")

start=$(date +%s.%N)
build/tools/facekit train detector --cfg "$work/face.cfg" --data "$work/facekit.data" \
  --threads "$threads" --loader-threads "$threads" --save-every "$iterations" > "$work/facekit.log" 2>&1
facekit_s=$(seconds "$start")

# The training loop alone, as each tool times it (process start, reading the lists and building the
# net left out): darknet prints each iteration's seconds ("N: loss, avg, rate, S seconds, I images"),
# facekit's progress bar the images/s of its loop so far (its last line: all iterations).
darknet_loop_s=$(grep -o '[0-9.]* seconds, [0-9]* images' "$work/darknet.log" | awk '{ s += $1 } END { print s }')
facekit_loop_rate=$(tr '\r' '\n' < "$work/facekit.log" | grep -o '[0-9.]* img/s' | tail -1 | cut -d' ' -f1)

echo "yolov3-tiny-face 416x416, batch $batch, $iterations iterations ($images images), $(nproc) cores"
awk -v n="$images" -v d="$darknet_s" -v f="$facekit_s" -v t="$threads" -v dl="$darknet_loop_s" -v fr="$facekit_loop_rate" 'BEGIN {
  printf "whole command (start-up included)\n"
  printf "  darknet (libdarknet, 1 thread)   %8.1f s  %6.2f img/s\n", d, n / d
  printf "  facekit (LibTorch, %d threads)    %8.1f s  %6.2f img/s\n", t, f, n / f
  printf "  facekit / darknet                %8.1fx\n", d / f
  printf "training loop only (each tool'"'"'s own timing)\n"
  printf "  darknet                          %8.1f s  %6.2f img/s\n", dl, n / dl
  printf "  facekit                          %8.1f s  %6.2f img/s\n", n / fr, fr
  printf "  facekit / darknet                %8.1fx\n", fr / (n / dl) }'
