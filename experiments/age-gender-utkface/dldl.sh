#!/usr/bin/env bash
# Stage 17 of the age-gender experiment: the shipped pair (stages 5 and 11, float16) against stage 5
# with stage 17 (stage 11's recipe with the DLDL-v2 loss for the years head, stored as float16) in
# stage 11's place, all with --tta (compare.sh). The rule is in README.md (stage 17).
#   bash experiments/age-gender-utkface/dldl.sh   # from the repository root, after stage 17's training
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${OUT:-runs/age-gender-utkface-stage17}
mkdir -p "$run/pair"
build/tools/facekit convert classifier2fp16 --checkpoint "$run/weights/best.pt" -o "$run/pair/stage17-fp16.pt"
bash experiments/age-gender-utkface/compare.sh "$run/pair" \
  shipped="models/pretrained/age_gender.pt models/pretrained/age_gender_2.pt" \
  stage17="$run/pair/stage17-fp16.pt" \
  stages-5-17="models/pretrained/age_gender.pt $run/pair/stage17-fp16.pt"
