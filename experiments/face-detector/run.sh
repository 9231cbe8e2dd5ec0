#!/usr/bin/env bash
# The face-detector experiment: Yolo-Fastest 1.1 (COCO weights) retrained for faces on All-Age-Faces
# train + the face-mask set, on the CPU, then measured on wider-val-dev by face size.
# Resumable: run it again after an interruption and training continues where it stopped.
#   bash experiments/face-detector/run.sh            # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/face-detector
bash experiments/face-detector/make_lists.sh
resume=()
[ -f "$out/backup/yolo-fastest-1.1-face-cpu_state.pt" ] && resume=(--resume)
# PASSIVE: OpenMP threads sleep instead of spinning when the cores are shared (measured: with
# spinning, 2 threads beside a compiler ran 10x slower than 1 thread).
export OMP_WAIT_POLICY=PASSIVE
time build/tools/facekit train detector --cfg experiments/face-detector/yolo-fastest-1.1-face-cpu.cfg \
  --weights ../shared/models/yolo-fastest-1.1/yolo-fastest-1.1.weights \
  --weights-cfg ../shared/models/yolo-fastest-1.1/yolo-fastest-1.1.cfg \
  --data "$out/face.data" --validate-every 500 --save-every 25 --threads 2 --loader-threads 2 --seed 1 "${resume[@]}"
for weights in best final; do
  build/tools/facekit eval detector --dataset wider:../shared/data/wider-val-dev/wider_face_val_bbx_gt_416.txt \
    --model "$out/backup/yolo-fastest-1.1-face-cpu_$weights.weights" --cfg experiments/face-detector/yolo-fastest-1.1-face-cpu.cfg \
    --json "$out/wider_val_dev_$weights.json" --plots "$out/plots_$weights"
done
