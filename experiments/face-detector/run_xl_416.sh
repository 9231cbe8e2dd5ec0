#!/usr/bin/env bash
# Stage 5 of the face-detector experiment: Yolo-Fastest 1.1 XL retrained for faces at 416x416 from
# its COCO weights (yolo-fastest-1.1-xl-face-416.cfg). From the repository root, after tools/build.sh:
#   bash experiments/face-detector/run_xl_416.sh
cd "$(dirname "$0")/../.." || exit 1
xl=../shared/models/yolo-fastest-1.1-xl
CFG=experiments/face-detector/yolo-fastest-1.1-xl-face-416.cfg OUT=runs/face-detector-xl-416 SEED=5 VALIDATE_EVERY=400 \
  WEIGHTS=$xl/yolo-fastest-1.1-xl.weights WEIGHTS_CFG=$xl/yolo-fastest-1.1-xl.cfg \
  exec bash experiments/face-detector/run_416_continue.sh
