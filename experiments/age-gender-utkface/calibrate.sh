#!/usr/bin/env bash
# Stage 18 of the age-gender experiment: the shipped pair as it was before stage 18 (commit 195ada6)
# given a calibration line for its age in years, fitted by `facekit calibrate` on UTKFace val with
# --tta (the line, its in-sample and 2-fold cross-validated MAE in $OUT/line.json; the rule's 2-fold
# check by calibration_cv.py from the per-face CSV before), then UTKFace test,
# All-Age-Faces and the WIDER pipeline with and without the line. The two files it writes are what
# models/pretrained/ ships since stage 18. The rule is in README.md (stage 18).
#   bash experiments/age-gender-utkface/calibrate.sh   # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=${OUT:-runs/age-gender-utkface-stage18}
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
for member in age_gender age_gender_2; do
  git show "195ada6:models/pretrained/$member.pt" > "$out/$member-before.pt"
  cp "$out/$member-before.pt" "$out/$member.pt"
done
val=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/val.txt")
# The rule's check: the line's worth on val faces it was not fitted on (calibration_cv.py).
build/tools/facekit eval classifier "${val[@]}" --model "$out/age_gender-before.pt" --model "$out/age_gender_2-before.pt" \
  --tta --threads 2 --predictions "$out/before-val.csv" > /dev/null
/usr/bin/python3 experiments/age-gender-utkface/calibration_cv.py "$out/before-val.csv"
build/tools/facekit calibrate "${val[@]}" --model "$out/age_gender.pt" --model "$out/age_gender_2.pt" --tta --threads 2 \
  --json "$out/line.json" --write
for version in before after; do
  suffix=$([ $version = before ] && echo -before || true)
  pair=(--model "$out/age_gender$suffix.pt" --model "$out/age_gender_2$suffix.pt")
  for set in val test aaf; do
    dataset=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/$set.txt")
    [ "$set" = aaf ] && dataset=(--dataset "aaf:$data/aaf-train/faces.csv")
    build/tools/facekit eval classifier "${dataset[@]}" "${pair[@]}" --tta --threads 2 --json "$out/$version-$set.json" > /dev/null
    [ "$set" = val ] || build/tools/facekit eval classifier "${dataset[@]}" "${pair[@]}" --threads 2 \
      --json "$out/$version-$set-no-tta.json" > /dev/null
  done
  wider=(--dataset "wider-demographics:$data/wider-val-dev/demographics_416.csv" --images "$data/wider-val-dev/images")
  build/tools/facekit eval pipeline "${wider[@]}" --classifier "$out/age_gender$suffix.pt" \
    --classifier "$out/age_gender_2$suffix.pt" --tta --threads 2 --json "$out/$version-pipeline.json" > /dev/null
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
load = lambda name: json.load(open(f"{out}/{name}.json"))
line = load("line")
print(f"line: age = {line['offset']:.4f} + {line['scale']:.4f} x the estimate; val MAE {line['age_mae']:.4f} -> "
      f"{line['age_mae_calibrated']:.4f} (fitted there), {line['age_mae_cross_validated']:.4f} (2-fold cross-validated)")
print("| set | gender | exact, before -> after | 1-off, before -> after | MAE, before -> after |")
print("|---|---|---|---|---|")
for s in ("val", "test", "aaf", "test-no-tta", "aaf-no-tta"):
    a, b = load(f"before-{s}"), load(f"after-{s}")
    assert a["gender_acc"] == b["gender_acc"], s
    print(f"| {s} | {a['gender_acc']:.4f} | {a['age_exact']:.4f} -> {b['age_exact']:.4f} | "
          f"{a['age_1off']:.4f} -> {b['age_1off']:.4f} | {a['age_mae']:.3f} -> {b['age_mae']:.3f} |")
a, b = load("before-pipeline"), load("after-pipeline")
print(f"| WIDER pipeline --tta, age group agreement | | {a['age_group_acc']:.4f} -> {b['age_group_acc']:.4f} | | |")
PY
