#!/usr/bin/env bash
# Stage 24 of the age-gender experiment (a probe): stage 11 alone (the shipped age_gender_2.pt, crop
# margin 1.4) against stage 24 alone (margin 1.0, no grey in its training crops; 1.19 around boxes
# from photos), no --tta, on UTKFace val and test, All-Age-Faces and the WIDER pipeline.
#   bash experiments/age-gender-utkface/probe_stage24.sh   # after stage 24's training (README.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=${OUT:-runs/age-gender-utkface-stage24/probe}
mkdir -p $out
export OMP_WAIT_POLICY=PASSIVE
for who in s11 s24; do
  if [ $who = s11 ]; then model=models/pretrained/age_gender_2.pt; photo_margin=(); else model=runs/age-gender-utkface-stage24/weights/best.pt; photo_margin=(--crop-margin 1.19); fi
  for set in val test; do
    build/tools/facekit eval classifier --dataset utkface:$data/utkface --split $data/utkface/splits/$set.txt --model $model --threads 2 --json $out/$who-$set.json > /dev/null 2>&1
  done
  build/tools/facekit eval classifier --dataset aaf:$data/aaf-train/faces.csv --model $model "${photo_margin[@]}" --threads 2 --json $out/$who-aaf.json > /dev/null 2>&1
  build/tools/facekit eval pipeline --dataset wider-demographics:$data/wider-val-dev/demographics_416.csv --images $data/wider-val-dev/images --classifier $model "${photo_margin[@]}" --threads 2 --json $out/$who-pipeline.json > /dev/null 2>&1
done
/usr/bin/python3 - $out <<'PY'
import json, sys
o = sys.argv[1]
for s in ("val", "test", "aaf"):
    a, b = (json.load(open(f"{o}/{w}-{s}.json")) for w in ("s11", "s24"))
    print(s, " | ".join(f"{k} {a[k]:.4f} -> {b[k]:.4f}" for k in ("gender_acc", "age_exact", "age_1off", "age_mae")))
a, b = (json.load(open(f"{o}/{w}-pipeline.json")) for w in ("s11", "s24"))
print("pipeline", " | ".join(f"{k} {a[k]:.4f} -> {b[k]:.4f}" for k in ("gender_acc", "age_group_acc")))
PY
