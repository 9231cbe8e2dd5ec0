#!/usr/bin/env bash
# Stage 7 of the face-detector experiment: no training, the shipped detectors with test-time
# augmentation (`facekit eval detector --tta`: each photo also runs mirrored, the mirrored boxes
# flipped back and merged with the plain ones by the one NMS). For both detectors at 416 and at the
# multi-scale sizes of stage 6b, without and with --tta, on the held-out face-mask images (the choice)
# and on wider-val-dev (the record). The rule is in README.md (stage 7), written before these runs.
#   bash experiments/face-detector/mirror.sh   # from the repository root, after tools/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lists=runs/face-detector
out=${OUT:-runs/face-detector-mirror}
bash experiments/face-detector/make_lists.sh > /dev/null
grep '\.xml$' "$lists/valid.txt" > "$lists/valid_facemask.txt"
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE  # see run.sh
printf '| detector, sizes | tta | face-mask all | face-mask >= 16 px | wider >= 16 px | wider >= 32 px | wider >= 64 px | wider all | ms per image (wider) |\n|---|---|---|---|---|---|---|---|---|\n'
for detector in yolo-fastest-1.1-face:416 yolo-fastest-1.1-face:320,512 yolo-fastest-1.1-xl-face:416 yolo-fastest-1.1-xl-face:320,416; do
  name=${detector%%:*} sizes=${detector#*:}
  for tta in "" --tta; do
    tag=$name-${sizes/,/+}${tta:+-tta}
    model=(--model "models/pretrained/$name.weights" --input-size "$sizes" $tta --threads 2)
    build/tools/facekit eval detector --dataset "voc:$lists/valid_facemask.txt" --images ../shared/data/facemask/images \
      "${model[@]}" --json "$out/$tag-facemask.json" > /dev/null
    build/tools/facekit eval detector --dataset wider:../shared/data/wider-val-dev/wider_face_val_bbx_gt_416.txt \
      "${model[@]}" --json "$out/$tag-wider.json" > /dev/null
    /usr/bin/python3 - "$name $sizes" "${tta:-no}" "$out/$tag-facemask.json" "$out/$tag-wider.json" <<'PY'
import json, sys
name, tta, facemask, wider = sys.argv[1:]
m, w = json.load(open(facemask)), json.load(open(wider))
cells = [m["ap50"]["all"], m["ap50"]["min16"]] + [w["ap50"][k] for k in ("min16", "min32", "min64", "all")]
print(f"| {name} | {tta} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {w['ms_per_image']:.1f} |")
PY
  done
done
