#!/usr/bin/env bash
# Stage 2 of the age-gender experiment: a warm restart (SGDR's idea, Loshchilov & Hutter 2017) from
# stage 1's best checkpoint (run.sh) with half its peak learning rate, because stage 1 was still
# improving when its cosine schedule ended. Same data, split, width, input size and augmentation.
# Resumable like run.sh: run it again after an interruption.
#   bash experiments/age-gender-utkface/continue.sh   # from the repository root, after run.sh
set -euo pipefail
START=${START:-runs/age-gender-utkface/weights/best.pt}
OUT=runs/age-gender-utkface-stage2 INIT=$START LR=0.001 SEED=2 EPOCHS=${EPOCHS:-16} \
  exec bash "$(dirname "$0")/run.sh"
