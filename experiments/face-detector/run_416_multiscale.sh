#!/usr/bin/env bash
# Stage 2 of the face-detector experiment: continue from stage 1's best weights (run.sh) at a 416x416
# input with multi-scale training (yolo-fastest-1.1-face-416-multiscale.cfg), then measure on
# wider-val-dev at the cfg's 416. Resumable, like run.sh.
#   bash experiments/face-detector/run_416_multiscale.sh   # from the repository root, after run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
stage1=runs/face-detector
out=runs/face-detector-416
cfg=experiments/face-detector/yolo-fastest-1.1-face-416-multiscale.cfg
name=$(basename "$cfg" .cfg)
bash experiments/face-detector/make_lists.sh
mkdir -p "$out"
resume=()
[ -f "$out/backup/${name}_state.pt" ] && resume=(--resume)
export OMP_WAIT_POLICY=PASSIVE  # see run.sh
time build/tools/facekit train detector --cfg "$cfg" \
  --weights "$stage1/backup/yolo-fastest-1.1-face-cpu_best.weights" \
  --weights-cfg experiments/face-detector/yolo-fastest-1.1-face-cpu.cfg \
  --data "$stage1/face.data" --backup "$out/backup" \
  --validate-every 300 --save-every 25 --threads 2 --loader-threads 2 --seed 2 "${resume[@]}"
for weights in best final; do
  build/tools/facekit eval detector --dataset wider:../shared/data/wider-val-dev/wider_face_val_bbx_gt_416.txt \
    --model "$out/backup/${name}_$weights.weights" --cfg "$cfg" \
    --json "$out/wider_val_dev_$weights.json" --plots "$out/plots_$weights"
done
