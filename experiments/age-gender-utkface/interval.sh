#!/usr/bin/env bash
# Stage 16 of the age-gender experiment: the shipped ensemble (stages 5 and 11, float16) with its age
# interval taken as the one nearest its age in years (eval::predicted_interval), on UTKFace val (the
# choice), UTKFace test, All-Age-Faces and the WIDER pipeline, against the same models with the
# interval head's most likely interval (results/stage13/ensemble-*.json and
# results/stage16/pipeline-head*.json, written before the change). See README.md (stage 16).
#   bash experiments/age-gender-utkface/interval.sh   # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=${OUT:-runs/age-gender-utkface-stage16}
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
for set in val test aaf; do
  dataset=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/$set.txt")
  [ "$set" = aaf ] && dataset=(--dataset "aaf:$data/aaf-train/faces.csv")
  build/tools/facekit eval classifier "${dataset[@]}" --tta --threads 2 --json "$out/ensemble-$set.json" > /dev/null
  [ "$set" = val ] || build/tools/facekit eval classifier "${dataset[@]}" --threads 2 --json "$out/ensemble-$set-no-tta.json" > /dev/null
done
wider=(--dataset "wider-demographics:$data/wider-val-dev/demographics_416.csv" --images "$data/wider-val-dev/images")
build/tools/facekit eval pipeline "${wider[@]}" --threads 2 --json "$out/pipeline-years.json" > /dev/null
build/tools/facekit eval pipeline "${wider[@]}" --tta --threads 2 --json "$out/pipeline-years-tta.json" > /dev/null
/usr/bin/python3 - "$out" experiments/age-gender-utkface/results <<'PY'
import json, sys
years, results = sys.argv[1], sys.argv[2]
load = lambda path: json.load(open(path))
print("| set | exact, interval head | exact, nearest the years | 1-off, interval head | 1-off, nearest the years |")
print("|---|---|---|---|---|")
for s in ("val", "test", "aaf", "test-no-tta", "aaf-no-tta"):
    a, b = load(f"{results}/stage13/ensemble-{s}.json"), load(f"{years}/ensemble-{s}.json")
    assert a["gender_acc"] == b["gender_acc"] and a["age_mae"] == b["age_mae"], s
    print(f"| {s} | {a['age_exact']:.4f} | {b['age_exact']:.4f} | {a['age_1off']:.4f} | {b['age_1off']:.4f} |")
for tta in ("", "-tta"):
    a, b = load(f"{results}/stage16/pipeline-head{tta}.json"), load(f"{years}/pipeline-years{tta}.json")
    print(f"| WIDER pipeline{tta}, age group agreement | {a['age_group_acc']:.4f} | {b['age_group_acc']:.4f} | | |")
PY
