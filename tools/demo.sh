#!/usr/bin/env bash
# The main job: builds facekit and runs facekit-infer with the shipped models
# (models/pretrained: the Yolo-Fastest face detector and the gender/age classifier) on real photos:
# ../shared/data/seed-demo, or the image, folder or video given as the first argument.
#   bash tools/demo.sh [PHOTOS] [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
photos=${1:-../shared/data/seed-demo}
out=${2:-runs/demo}
if [ ! -e "$photos" ]; then
  echo "demo: $photos does not exist; give a photo, a folder or a video: bash tools/demo.sh PATH" >&2
  exit 1
fi
mkdir -p "$out"
# OpenMP threads sleep instead of spinning when they wait: on a busy machine spinning made LibTorch many times slower.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
build/tools/facekit-infer --input "$photos" --output "$out" --json "$out/faces.jsonl"
