#!/usr/bin/env bash
# Stage 6b of the face-detector experiment: both shipped detectors run at several input sizes at once
# (facekit's --input-size S1,S2,...: one NMS over every size's detections). The rule (README.md, stage
# 6b), applied here: every set of two or more of 320, 416, 512 and 608 is scored on the held-out
# face-mask images (AP@0.5 over all faces), and so are the single sizes; in order of cost (the sum of the
# sizes' pixels) a costlier candidate is chosen only if it beats every cheaper one by more than 0.005.
# Only the chosen set is then measured on wider-val-dev. Run input_size.sh first (the lists).
#   bash experiments/face-detector/multi_scale.sh   # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lists=runs/face-detector
out=runs/face-detector-multi-scale
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see run.sh
candidates=(320 416 512 608 320,416 320,512 320,608 416,512 416,608 512,608 320,416,512 320,416,608 320,512,608
            416,512,608 320,416,512,608)
ap_all() { /usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['ap50']['all'])" "$1"; }
for detector in yolo-fastest-1.1-face yolo-fastest-1.1-xl-face; do
  scores=$out/$detector-facemask.tsv
  : > "$scores"
  for sizes in "${candidates[@]}"; do
    json=$out/$detector-${sizes//,/-}-facemask.json
    build/tools/facekit eval detector --dataset "voc:$lists/valid_facemask.txt" --images ../shared/data/facemask/images \
      --model "models/pretrained/$detector.weights" --input-size "$sizes" --threads 2 --json "$json" > /dev/null
    printf '%s\t%s\n' "$sizes" "$(ap_all "$json")" | tee -a "$scores"
  done
  chosen=$(/usr/bin/python3 - "$scores" <<'PY'
import sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
cost = lambda sizes: sum(int(s) ** 2 for s in sizes.split(","))
best = None  # the chosen candidate so far and the best AP of any cheaper candidate
for sizes, ap in sorted(rows, key=lambda r: cost(r[0])):
    ap = float(ap)
    if best is None or ap > best[1] + 0.005:
        best = (sizes, max(ap, best[1] if best else 0.0))
    else:
        best = (best[0], max(best[1], ap))
print(best[0])
PY
)
  echo "$detector: chosen input sizes $chosen"
  build/tools/facekit eval detector --dataset wider:../shared/data/wider-val-dev/wider_face_val_bbx_gt_416.txt \
    --model "models/pretrained/$detector.weights" --input-size "$chosen" --threads 2 \
    --json "$out/$detector-${chosen//,/-}-wider.json" | tail -8
done
