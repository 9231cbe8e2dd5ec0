#!/usr/bin/env bash
# Stage 3 of the face-detector experiment: continue from stage 2's best weights (then the shipped
# detector) at 416x416 with zoom-out augmentation (AlexeyAB's resize=0.33,
# yolo-fastest-1.1-face-416-zoomout.cfg). From the repository root, after tools/build.sh:
#   bash experiments/face-detector/run_416_zoomout.sh
cd "$(dirname "$0")/../.." || exit 1
CFG=experiments/face-detector/yolo-fastest-1.1-face-416-zoomout.cfg OUT=runs/face-detector-416-zoomout SEED=3 \
  exec bash experiments/face-detector/run_416_continue.sh
