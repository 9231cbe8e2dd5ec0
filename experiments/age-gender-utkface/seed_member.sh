#!/usr/bin/env bash
# Stage 21 of the age-gender experiment: stage 21's network (stage 11's recipe, seed 21) as a third
# member of the shipped pair. Stored as float16, given its own calibration line (`facekit calibrate
# --tta --write` on UTKFace val, alone), then the pair and the three compared with --tta
# (compare.sh): on UTKFace val only unless SETS says more (the rule in README.md, stage 21, decides
# on val before test and All-Age-Faces are read).
#   bash experiments/age-gender-utkface/seed_member.sh                      # after stage 21's training
#   SETS="val test aaf" bash experiments/age-gender-utkface/seed_member.sh  # once the rule holds
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${OUT:-runs/age-gender-utkface-stage21}
member=$run/third/stage21-fp16.pt
mkdir -p "$run/third"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
build/tools/facekit convert classifier2fp16 --checkpoint "$run/weights/best.pt" -o "$member"
build/tools/facekit calibrate --dataset utkface:../shared/data/utkface --split ../shared/data/utkface/splits/val.txt \
  --model "$member" --tta --threads 2 --json "$run/third/stage21-line.json" --write
pair="models/pretrained/age_gender.pt models/pretrained/age_gender_2.pt"
SETS=${SETS:-val} bash experiments/age-gender-utkface/compare.sh "$run/third" pair="$pair" three="$pair $member"
