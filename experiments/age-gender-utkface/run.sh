#!/usr/bin/env bash
# The age-gender experiment: AgeGenderNet (Inception-v3 at width 0.25, 96 px crops, age-regression
# head) trained from random weights on UTKFace train, chosen on val, reported on test and, as a
# cross-dataset check, on All-Age-Faces (aaf-train, never trained on). CPU recipe for one session on
# 2 cores; the full-size GPU recipe is in README.md beside this script.
# Resumable: run it again after an interruption and training continues where it stopped.
#   bash experiments/age-gender-utkface/run.sh       # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# OUT, INIT (a checkpoint to start from), LR, SEED, EPOCHS, INPUT_SIZE, WIDTH, GENDER_WEIGHT, EMA, AGE_SIGMA and
# AGE_L1 are set by continue.sh (later stages).
out=${OUT:-runs/age-gender-utkface}
data=../shared/data
epochs=${EPOCHS:-14}
from=()
[ -n "${INIT:-}" ] && from=(--init "$INIT")
[ -f "$out/state.pt" ] && from=(--resume)
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
# UTKFace's train split lists 243 of its 19022 photos a second time under another name (1.3 %,
# some with other labels). The trainer drops the repeats and counts them as bad data; 2 % lets it start.
time build/tools/facekit train classifier --max-bad-fraction 0.02 \
  --train utkface:$data/utkface --train-split $data/utkface/splits/train.txt \
  --val utkface:$data/utkface --val-split $data/utkface/splits/val.txt \
  --run "$out" --width-mult "${WIDTH:-0.25}" --input-size "${INPUT_SIZE:-96}" --age-regression \
  --epochs "$epochs" --batch 64 --optimizer adamw --lr "${LR:-0.002}" --weight-decay 0.05 --schedule cosine --warmup-epochs 1 \
  --label-smoothing 0.1 --gender-weight "${GENDER_WEIGHT:-1}" --ema "${EMA:-0}" \
  --age-sigma "${AGE_SIGMA:-0}" --age-l1 "${AGE_L1:-0}" --save-every 50 --threads 2 --loader-threads 2 --seed "${SEED:-1}" "${from[@]}"
build/tools/facekit eval classifier --dataset utkface:$data/utkface --split $data/utkface/splits/test.txt \
  --model "$out/weights/best.pt" --json "$out/utkface_test.json" --plots "$out/plots_utkface_test" --threads 2
build/tools/facekit eval classifier --dataset aaf:$data/aaf-train/faces.csv \
  --model "$out/weights/best.pt" --json "$out/aaf_train.json" --plots "$out/plots_aaf_train" --threads 2
