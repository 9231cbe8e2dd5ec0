#!/usr/bin/env bash
# Stage 4 of the face-detector experiment: continue from stage 3's best weights (the shipped
# detector) with stage 3's cfg plus AlexeyAB's blur=7 (yolo-fastest-1.1-face-416-blur.cfg).
# From the repository root, after tools/build.sh:
#   bash experiments/face-detector/run_416_blur.sh
cd "$(dirname "$0")/../.." || exit 1
CFG=experiments/face-detector/yolo-fastest-1.1-face-416-blur.cfg OUT=runs/face-detector-416-blur SEED=4 \
  exec bash experiments/face-detector/run_416_continue.sh
