#!/usr/bin/env bash
# The main job, for now: builds facekit and runs the Yolo-Fastest 1.1 COCO detector on the
# demo photos with facekit (LibTorch) and with libdarknet, dumping the tensors for comparison.
# The face pipeline (detector + gender/age) replaces this as the trainers land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
models=../shared/models/yolo-fastest-1.1
photos=${1:-../shared/data/seed-demo}
out=runs/demo
mkdir -p "$out"
for photo in "$photos"/*.jpg; do
  name=$(basename "$photo" .jpg)
  echo "== $photo"
  build/tools/facekit darknet forward --cfg $models/yolo-fastest-1.1.cfg --weights $models/yolo-fastest-1.1.weights \
    --names $models/coco.names --image "$photo" --dump "$out/$name" 2>/dev/null
done
echo "tensors (input.npy, yolo_<i>.npy, yolo_<i>_out.npy) are in $out/<photo>/"
echo "compare with libdarknet: add --backend darknet --dialect pjreddie to the command above"
