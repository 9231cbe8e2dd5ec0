#!/usr/bin/env bash
# Later stages of the age-gender experiment: a warm restart (SGDR's idea, Loshchilov & Hutter 2017)
# from the previous stage's best checkpoint with half its peak learning rate, because each stage was
# still improving when its cosine schedule ended. Same data, split, width and augmentation; INPUT_SIZE
# retrains at another crop side (default 96 px).
# Resumable like run.sh: run it again after an interruption, with the same variables.
#   bash experiments/age-gender-utkface/continue.sh   # stage 2, from the repository root, after run.sh
#   START=runs/age-gender-utkface-stage2/weights/best.pt OUT=runs/age-gender-utkface-stage3 LR=0.0005 SEED=3 \
#     EPOCHS=12 bash experiments/age-gender-utkface/continue.sh   # stage 3
#   START=runs/age-gender-utkface-stage3/weights/best.pt OUT=runs/age-gender-utkface-stage4 LR=0.0005 SEED=4 EPOCHS=16 \
#     INPUT_SIZE=128 bash experiments/age-gender-utkface/continue.sh   # stage 4: stage 3 at 128 px crops
set -euo pipefail
START=${START:-runs/age-gender-utkface/weights/best.pt}
OUT=${OUT:-runs/age-gender-utkface-stage2} INIT=$START LR=${LR:-0.001} SEED=${SEED:-2} EPOCHS=${EPOCHS:-16} \
  exec bash "$(dirname "$0")/run.sh"
