#!/usr/bin/env bash
# Stage 19 of the age-gender experiment: the shipped pair with --tta's six views (each face as it
# is, 5 % closer and 5 % farther, each mirrored; eval/classify_faces.h) on UTKFace val, test,
# All-Age-Faces and the WIDER pipeline, against stage 18's --tta (the face and its mirror image
# only; results/stage18/after-*.json, the same pair). No training. The rules are in README.md.
#   bash experiments/age-gender-utkface/zoom.sh   # from the repository root, after tools/build.sh
# Stage 22 (the zoomed views cut from the photo), against stage 19's:
#   OUT=runs/age-gender-utkface-stage22 BEFORE=experiments/age-gender-utkface/results/stage19/ \
#     bash experiments/age-gender-utkface/zoom.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=${OUT:-runs/age-gender-utkface-stage19}
before=${BEFORE:-experiments/age-gender-utkface/results/stage18/after-}  # + val.json, test.json, ...
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
for set in val test aaf; do
  dataset=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/$set.txt")
  [ "$set" = aaf ] && dataset=(--dataset "aaf:$data/aaf-train/faces.csv")
  build/tools/facekit eval classifier "${dataset[@]}" --tta --threads 2 --json "$out/$set.json" > /dev/null
done
build/tools/facekit eval pipeline --dataset "wider-demographics:$data/wider-val-dev/demographics_416.csv" \
  --images "$data/wider-val-dev/images" --tta --threads 2 --json "$out/pipeline.json" > /dev/null
/usr/bin/python3 - "$out" "$before" <<'PY'
import json, sys
out, before = sys.argv[1:3]
load = lambda prefix, name: json.load(open(f"{prefix}{name}.json"))
print("| set | gender, before -> now | exact | 1-off | MAE |")
print("|---|---|---|---|---|")
for s in ("val", "test", "aaf"):
    a, b = load(before, s), load(f"{out}/", s)
    print(" | ".join([f"| {s}"] + [f"{a[k]:.4f} -> {b[k]:.4f}" for k in ("gender_acc", "age_exact", "age_1off")]
                     + [f"{a['age_mae']:.3f} -> {b['age_mae']:.3f} |"]))
a, b = load(before, "pipeline"), load(f"{out}/", "pipeline")
print(f"| WIDER pipeline | {a['gender_acc']:.4f} -> {b['gender_acc']:.4f} | age group {a['age_group_acc']:.4f} -> "
      f"{b['age_group_acc']:.4f} | | |")
PY
