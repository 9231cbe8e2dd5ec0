#!/usr/bin/env bash
# Stage 2 of the age-gender experiment: a warm restart (SGDR's idea, Loshchilov & Hutter 2017) from
# stage 1's best checkpoint (run.sh) with half its peak learning rate, because stage 1 was still
# improving when its cosine schedule ended. Same data, split, width, input size and augmentation.
# Resumable like run.sh: run it again after an interruption.
#   bash experiments/age-gender-utkface/continue.sh   # from the repository root, after run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
start=${START:-runs/age-gender-utkface/weights/best.pt}
out=runs/age-gender-utkface-stage2
data=../shared/data
epochs=${EPOCHS:-16}
from=(--init "$start")
[ -f "$out/state.pt" ] && from=(--resume)
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
time build/tools/facekit train classifier --max-bad-fraction 0.02 \
  --train utkface:$data/utkface --train-split $data/utkface/splits/train.txt \
  --val utkface:$data/utkface --val-split $data/utkface/splits/val.txt \
  --run "$out" --width-mult 0.25 --input-size 96 --age-regression \
  --epochs "$epochs" --batch 64 --optimizer adamw --lr 0.001 --weight-decay 0.05 --schedule cosine --warmup-epochs 1 \
  --label-smoothing 0.1 --save-every 50 --threads 2 --loader-threads 2 --seed 2 "${from[@]}"
build/tools/facekit eval classifier --dataset utkface:$data/utkface --split $data/utkface/splits/test.txt \
  --model "$out/weights/best.pt" --json "$out/utkface_test.json" --plots "$out/plots_utkface_test" --threads 2
build/tools/facekit eval classifier --dataset aaf:$data/aaf-train/faces.csv \
  --model "$out/weights/best.pt" --json "$out/aaf_train.json" --plots "$out/plots_aaf_train" --threads 2
