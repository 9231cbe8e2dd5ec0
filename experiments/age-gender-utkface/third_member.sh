#!/usr/bin/env bash
# Stage 15 of the age-gender experiment: the shipped pair (models/pretrained/age_gender.pt and
# age_gender_2.pt) against the pair with stage 15's network as a third member (stored as float16),
# all with --tta (compare.sh). The rule is in README.md (stage 15).
#   bash experiments/age-gender-utkface/third_member.sh   # from the repository root, after stage 15's training
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${OUT:-runs/age-gender-utkface-stage15}
mkdir -p "$run/third"
build/tools/facekit convert classifier2fp16 --checkpoint "$run/weights/best.pt" -o "$run/third/stage15-fp16.pt"
pair="models/pretrained/age_gender.pt models/pretrained/age_gender_2.pt"
bash experiments/age-gender-utkface/compare.sh "$run/third" pair="$pair" stage15="$run/third/stage15-fp16.pt" \
  three="$pair $run/third/stage15-fp16.pt"
