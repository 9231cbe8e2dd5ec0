#!/usr/bin/env bash
# The original project's output (../shared/data/seed-output/NAME_detected.jpg) beside facekit's on
# the same photo (runs/demo/NAME.jpg, made by tools/demo.sh), one picture per photo in
# runs/compare/. The pictures embed those photos, so they are not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
original=${1:-../shared/data/seed-output}
ours=${2:-runs/demo}
out=${3:-runs/compare}
[ -d "$ours" ] || { echo "compare: run bash tools/demo.sh first ($ours is missing)" >&2; exit 1; }
mkdir -p "$out"
/usr/bin/python3 - "$original" "$ours" "$out" <<'PY'
import pathlib, sys
import cv2

original, ours, out = map(pathlib.Path, sys.argv[1:])
HEIGHT = 540  # both halves scaled to this height

def titled(image, title):
    image = cv2.resize(image, (round(image.shape[1] * HEIGHT / image.shape[0]), HEIGHT))
    cv2.rectangle(image, (0, 0), (image.shape[1], 34), (40, 40, 40), cv2.FILLED)
    cv2.putText(image, title, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    return image

count = 0
for before in sorted(original.glob("*_detected.jpg")):
    name = before.name[: -len("_detected.jpg")]
    after = ours / f"{name}.jpg"
    if not after.exists():
        print(f"compare: no {after} (skipped)", file=sys.stderr)
        continue
    pair = cv2.hconcat([titled(cv2.imread(str(before)), "original project"), titled(cv2.imread(str(after)), "facekit")])
    cv2.imwrite(str(out / f"{name}.jpg"), pair)
    count += 1
print(f"{count} side-by-side pictures in {out}/")
PY
