#!/usr/bin/env bash
# One continuation stage of the face-detector experiment at 416x416: train CFG from the shipped
# detector (models/pretrained/), or from WEIGHTS (with their WEIGHTS_CFG) when given, then measure
# the best and final weights on wider-val-dev at 416 and on the held-out face-mask images (small
# faces of the training distribution). Resumable, like run.sh. Stages 3 to 5 call it
# (run_416_zoomout.sh, run_416_blur.sh, run_xl_416.sh):
#   CFG=experiments/face-detector/X.cfg OUT=runs/NAME SEED=S [WEIGHTS=W WEIGHTS_CFG=C] \
#     bash experiments/face-detector/run_416_continue.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lists=runs/face-detector
out=${OUT:?OUT: the run folder}
cfg=${CFG:?CFG: the stage cfg}
name=$(basename "$cfg" .cfg)
bash experiments/face-detector/make_lists.sh
grep '\.xml$' "$lists/valid.txt" > "$lists/valid_facemask.txt"
mkdir -p "$out"
resume=()
[ -f "$out/backup/${name}_state.pt" ] && resume=(--resume)
export OMP_WAIT_POLICY=PASSIVE  # see run.sh
time build/tools/facekit train detector --cfg "$cfg" \
  --weights "${WEIGHTS:-models/pretrained/yolo-fastest-1.1-face.weights}" \
  --weights-cfg "${WEIGHTS_CFG:-models/pretrained/yolo-fastest-1.1-face.cfg}" \
  --data "$lists/face.data" --backup "$out/backup" \
  --validate-every "${VALIDATE_EVERY:-200}" --save-every 25 --threads 2 --loader-threads 2 \
  --seed "${SEED:?SEED: the training seed}" "${resume[@]}"
for weights in best final; do
  build/tools/facekit eval detector --dataset wider:../shared/data/wider-val-dev/wider_face_val_bbx_gt_416.txt \
    --model "$out/backup/${name}_$weights.weights" --cfg "$cfg" \
    --json "$out/wider_val_dev_$weights.json" --plots "$out/plots_$weights"
  build/tools/facekit eval detector --dataset "voc:$lists/valid_facemask.txt" --images ../shared/data/facemask/images \
    --model "$out/backup/${name}_$weights.weights" --cfg "$cfg" --json "$out/valid_facemask_$weights.json"
done
