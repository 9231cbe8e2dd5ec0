#!/usr/bin/env bash
# Writes the training and validation lists of the face-detector experiment into runs/face-detector/.
# Training: All-Age-Faces train (Darknet labels) + the face-mask set (VOC XML, all three classes are
# faces); validation (for choosing the best weights only): every 16th image of each, held out.
# wider-val-dev is never used here: it is the yardstick (facekit eval detector).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=$(cd ../shared/data && pwd)
out=runs/face-detector
mkdir -p "$out"
{ LC_ALL=C ls "$data"/facemask/annotations/*.xml; sed "s|^|$data/aaf-train/|" "$data"/aaf-train/images.txt; } > "$out/all.txt"
awk 'NR % 16 == 0' "$out/all.txt" > "$out/valid.txt"
awk 'NR % 16 != 0' "$out/all.txt" > "$out/train.txt"
cat > "$out/face.data" <<DATA
classes = 1
train = $PWD/$out/train.txt
valid = $PWD/$out/valid.txt
names = $PWD/models/cfg/face.names
class_map = $PWD/models/cfg/facemask.map
backup = $PWD/$out/backup
DATA
wc -l "$out"/train.txt "$out"/valid.txt
