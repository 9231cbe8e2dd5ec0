#!/usr/bin/env bash
# Stage 15 of the age-gender experiment: the shipped pair (models/pretrained/age_gender.pt and
# age_gender_2.pt) against the pair with stage 15's network as a third member (stored as float16), on
# UTKFace val (the choice), UTKFace test and All-Age-Faces, all with --tta. Writes a JSON report per
# model list and set into $OUT/third/ and prints one table. The rule is in README.md (stage 15).
#   bash experiments/age-gender-utkface/third_member.sh   # from the repository root, after stage 15's training
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
run=${OUT:-runs/age-gender-utkface-stage15}
out=$run/third
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
build/tools/facekit convert classifier2fp16 --checkpoint "$run/weights/best.pt" -o "$out/stage15-fp16.pt"
pair=(--model models/pretrained/age_gender.pt --model models/pretrained/age_gender_2.pt)
evaluate() {  # NAME SET: facekit eval classifier of model list NAME on SET (val, test or aaf)
  local models=("${pair[@]}")
  [ "$1" = three ] && models+=(--model "$out/stage15-fp16.pt")
  [ "$1" = stage15 ] && models=(--model "$out/stage15-fp16.pt")
  local dataset=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/$2.txt")
  [ "$2" = aaf ] && dataset=(--dataset "aaf:$data/aaf-train/faces.csv")
  build/tools/facekit eval classifier "${dataset[@]}" "${models[@]}" --tta --threads 2 --json "$out/$1-$2.json" > /dev/null
}
for name in pair stage15 three; do
  for set in val test aaf; do evaluate "$name" "$set"; done
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("| models (--tta) | val score | test gender / exact / 1-off / MAE | All-Age-Faces gender / exact / 1-off / MAE |")
print("|---|---|---|---|")
for name in ("pair", "stage15", "three"):
    r = {s: json.load(open(f"{out}/{name}-{s}.json")) for s in ("val", "test", "aaf")}
    four = lambda x: f"{x['gender_acc']:.4f} / {x['age_exact']:.4f} / {x['age_1off']:.4f} / {x['age_mae']:.3f}"
    score = (r["val"]["gender_acc"] + r["val"]["age_exact"]) / 2
    print(f"| {name} | {score:.4f} | {four(r['test'])} | {four(r['aaf'])} |")
PY
