#!/usr/bin/env bash
# Stage 23 of the age-gender experiment: how large the detector's face box is in UTKFace's aligned
# images, and whether cropping detected faces at the training crop's scale helps.
#   1. facekit-infer on every 30th image of the train split: the detector's box (quartiles).
#   2. UTKFace val cropped from the detector's boxes (no --tta): at the shipped margin 1.4, at 5/3
#      (the scale of the training crop: 1.4 around the whole 200 px image, the box being 168 px
#      high), and the same faces cropped from the whole image as in training.
#   3. All-Age-Faces and the WIDER pipeline with --tta at --crop-margin 5/3, against stage 22's.
# No training.
#   bash experiments/age-gender-utkface/utkface_box.sh   # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data
out=${OUT:-runs/age-gender-utkface-stage23}
training_scale_margin=1.6666667
mkdir -p "$out/train-images" "$out/val-images"
export OMP_WAIT_POLICY=PASSIVE  # see experiments/face-detector/run.sh
awk 'NR % 30 == 0' "$data/utkface/splits/train.txt" | while read -r name; do
  ln -sf "$(realpath "$data/utkface/images/$name")" "$out/train-images/$name"
done
while read -r name; do ln -sf "$(realpath "$data/utkface/images/$name")" "$out/val-images/$name"; done \
  < "$data/utkface/splits/val.txt"
for set in train val; do
  build/tools/facekit-infer --input "$out/$set-images" --output '' --json "$out/$set-detections.jsonl" --threads 2 > /dev/null
done
/usr/bin/python3 - "$out" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
def best_boxes(path):  # image name -> the most confident box
    boxes = {}
    for line in open(path):
        record = json.loads(line)
        if record["faces"]:
            boxes[os.path.basename(record["source"])] = max(record["faces"], key=lambda f: f["score"])["box"]
    return boxes
train = best_boxes(f"{out}/train-detections.jsonl")
summary = {"faces": len(train), "images": len(os.listdir(f"{out}/train-images"))}
for name, f in {"width": lambda b: b[2] - b[0], "height": lambda b: b[3] - b[1],
                "centre_x": lambda b: (b[0] + b[2]) / 2, "centre_y": lambda b: (b[1] + b[3]) / 2}.items():
    summary[name] = statistics.quantiles([f(b) for b in train.values()], n=4)
json.dump(summary, open(f"{out}/utkface-box.json", "w"), indent=2)
print(json.dumps(summary))
# The val faces the detector found, with its box ("detected") or the whole image ("whole").
for name in ("detected", "whole"):
    with open(f"{out}/val-{name}.csv", "w") as csv:
        csv.write("image,age,gender,x,y,w,h\n")
        for image, (x1, y1, x2, y2) in sorted(best_boxes(f"{out}/val-detections.jsonl").items()):
            age, gender = image.split("_")[:2]
            box = (x1, y1, x2 - x1, y2 - y1) if name == "detected" else (0, 0, 200, 200)
            csv.write(f"{image},{age},{'MF'[int(gender)]}," + ",".join(f"{v:.2f}" for v in box) + "\n")
PY
run_val() {  # NAME CSV [OPTIONS...]
  local name=$1 csv=$2
  shift 2
  build/tools/facekit eval classifier --dataset "csv:$out/$csv" --images "$data/utkface/images" "$@" \
    --threads 2 --json "$out/val-$name.json" > /dev/null
}
run_val detected-margin-1.4 val-detected.csv
run_val detected-margin-5-3 val-detected.csv --crop-margin "$training_scale_margin"
run_val whole-image val-whole.csv
build/tools/facekit eval classifier --dataset "aaf:$data/aaf-train/faces.csv" --tta --crop-margin "$training_scale_margin" \
  --threads 2 --json "$out/aaf-margin-5-3-tta.json" > /dev/null
build/tools/facekit eval pipeline --dataset "wider-demographics:$data/wider-val-dev/demographics_416.csv" \
  --images "$data/wider-val-dev/images" --tta --crop-margin "$training_scale_margin" --threads 2 \
  --json "$out/pipeline-margin-5-3-tta.json" > /dev/null
/usr/bin/python3 - "$out" experiments/age-gender-utkface/results/stage22 <<'PY'
import json, sys
out, before = sys.argv[1:3]
load = lambda path: json.load(open(path))
print("| UTKFace val, faces detected | n | gender | exact | 1-off | MAE |\n|---|---|---|---|---|---|")
for name in ("detected-margin-1.4", "detected-margin-5-3", "whole-image"):
    r = load(f"{out}/val-{name}.json")
    print(f"| {name} | {r['n']} | {r['gender_acc']:.4f} | {r['age_exact']:.4f} | {r['age_1off']:.4f} | {r['age_mae']:.3f} |")
a, b = load(f"{before}/aaf.json"), load(f"{out}/aaf-margin-5-3-tta.json")
print("All-Age-Faces, --tta, margin 1.4 -> 5/3: " + ", ".join(
    f"{k} {a[k]:.4f} -> {b[k]:.4f}" for k in ("gender_acc", "age_exact", "age_1off", "age_mae")))
a, b = load(f"{before}/pipeline.json"), load(f"{out}/pipeline-margin-5-3-tta.json")
print("WIDER pipeline, --tta, margin 1.4 -> 5/3: " + ", ".join(
    f"{k} {a[k]:.4f} -> {b[k]:.4f}" for k in ("gender_acc", "age_group_acc")))
PY
