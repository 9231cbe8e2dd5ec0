#!/usr/bin/env bash
# Stage 13 of the age-gender experiment: stage 5 (shipped alone until stage 13) and stage 13's
# retrained stage 11, both stored as float16, averaged face by face (facekit's ensemble: --model A
# --model B), against stage 5 alone; UTKFace val (the choice), UTKFace test and All-Age-Faces, all with
# --tta. Writes a JSON report per model and set into $OUT/ensemble/ and prints one table. The rule is
# in README.md (stage 13). The two float16 files it writes are what models/pretrained/ now ships.
#   bash experiments/age-gender-utkface/ensemble.sh   # from the repository root, after stage 13's training
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=${OUT:-runs/age-gender-utkface-stage13}/ensemble
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
stage5=runs/age-gender-utkface-stage5.pt  # stage 5's float32 checkpoint, as shipped until stage 13
[ -f "$stage5" ] || git show 99e2da8:models/pretrained/age_gender.pt > "$stage5"
build/tools/facekit convert classifier2fp16 --checkpoint "$stage5" -o "$out/stage5-fp16.pt"
build/tools/facekit convert classifier2fp16 --checkpoint "${OUT:-runs/age-gender-utkface-stage13}/weights/best.pt" \
  -o "$out/stage11-fp16.pt"
evaluate() {  # NAME SET: facekit eval classifier of model list NAME on SET (val, test or aaf)
  local models=()
  case $1 in
    stage5) models=(--model "$stage5") ;;
    stage5-fp16) models=(--model "$out/stage5-fp16.pt") ;;
    stage11-fp16) models=(--model "$out/stage11-fp16.pt") ;;
    ensemble) models=(--model "$out/stage5-fp16.pt" --model "$out/stage11-fp16.pt") ;;
  esac
  local dataset=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/$2.txt")
  [ "$2" = aaf ] && dataset=(--dataset "aaf:$data/aaf-train/faces.csv")
  build/tools/facekit eval classifier "${dataset[@]}" "${models[@]}" --tta --threads 2 --json "$out/$1-$2.json" > /dev/null
}
for name in stage5 stage5-fp16 stage11-fp16 ensemble; do
  for set in val test aaf; do evaluate "$name" "$set"; done
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("| model (--tta) | val score | test gender / exact / 1-off / MAE | All-Age-Faces gender / exact / 1-off / MAE |")
print("|---|---|---|---|")
for name in ("stage5", "stage5-fp16", "stage11-fp16", "ensemble"):
    r = {s: json.load(open(f"{out}/{name}-{s}.json")) for s in ("val", "test", "aaf")}
    four = lambda x: f"{x['gender_acc']:.4f} / {x['age_exact']:.4f} / {x['age_1off']:.4f} / {x['age_mae']:.3f}"
    score = (r["val"]["gender_acc"] + r["val"]["age_exact"]) / 2
    print(f"| {name} | {score:.4f} | {four(r['test'])} | {four(r['aaf'])} |")
PY
