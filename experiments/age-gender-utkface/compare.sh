#!/usr/bin/env bash
# Classifier ensembles side by side with --tta on UTKFace val (the choice), UTKFace test and
# All-Age-Faces: one JSON report per ensemble and set in OUT, then one table.
#   bash experiments/age-gender-utkface/compare.sh OUT NAME="A.pt B.pt" NAME2="A.pt C.pt" ...
# (from the repository root, after tools/build.sh; each NAME is a list of checkpoints averaged face by face)
# SETS=val reads validation only, for a rule that must hold there before test is read.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=$1
shift
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
names=()
for entry in "$@"; do
  name=${entry%%=*}
  names+=("$name")
  models=()
  for m in ${entry#*=}; do models+=(--model "$m"); done
  for set in ${SETS:-val test aaf}; do
    dataset=(--dataset "utkface:$data/utkface" --split "$data/utkface/splits/$set.txt")
    [ "$set" = aaf ] && dataset=(--dataset "aaf:$data/aaf-train/faces.csv")
    build/tools/facekit eval classifier "${dataset[@]}" "${models[@]}" --tta --threads 2 --json "$out/$name-$set.json" > /dev/null
  done
done
/usr/bin/python3 - "$out" "${names[@]}" <<'PY'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
print("| models (--tta) | val score | val MAE | test gender / exact / 1-off / MAE | All-Age-Faces gender / exact / 1-off / MAE |")
print("|---|---|---|---|---|")
for name in names:
    r = {s: json.load(open(f"{out}/{name}-{s}.json")) for s in ("val", "test", "aaf") if os.path.exists(f"{out}/{name}-{s}.json")}
    four = lambda x: f"{x['gender_acc']:.4f} / {x['age_exact']:.4f} / {x['age_1off']:.4f} / {x['age_mae']:.3f}" if x else "not read"
    score = (r["val"]["gender_acc"] + r["val"]["age_exact"]) / 2
    print(f"| {name} | {score:.4f} | {r['val']['age_mae']:.3f} | {four(r.get('test'))} | {four(r.get('aaf'))} |")
PY
