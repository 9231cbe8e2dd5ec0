#!/usr/bin/env bash
# Stage 14 of the age-gender experiment: the shipped ensemble (stages 5 and 11, float16) with --tta,
# its age in years now the median of the averaged distribution, on UTKFace val (the choice), UTKFace
# test and All-Age-Faces, against stage 13's reports of the same models with the expectation
# (results/stage13/ensemble-*.json, written before the change). The rule is in README.md (stage 14).
#   bash experiments/age-gender-utkface/median.sh   # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=${OUT:-runs/age-gender-utkface-stage14}
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
for set in val test aaf; do
  dataset=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/$set.txt")
  [ "$set" = aaf ] && dataset=(--dataset "aaf:$data/aaf-train/faces.csv")
  build/tools/facekit eval classifier "${dataset[@]}" --tta --threads 2 --json "$out/ensemble-$set.json" > /dev/null
done
/usr/bin/python3 - "$out" experiments/age-gender-utkface/results/stage13 <<'PY'
import json, sys
median, mean = sys.argv[1], sys.argv[2]
print("| set (--tta) | MAE, expectation (stage 13) | MAE, median | gender / exact / 1-off unchanged |")
print("|---|---|---|---|")
for s in ("val", "test", "aaf"):
    a, b = (json.load(open(f"{d}/ensemble-{s}.json")) for d in (mean, median))
    same = all(a[k] == b[k] for k in ("gender_acc", "age_exact", "age_1off", "n"))
    print(f"| {s} | {a['age_mae']:.3f} | {b['age_mae']:.3f} | {'yes' if same else 'NO'} |")
PY
