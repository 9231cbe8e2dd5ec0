// From yolo/region head outputs to boxes: Darknet's get_yolo_box / get_region_box, the
// letterbox correction (correct_yolo_boxes) and per-class greedy NMS (do_nms_sort).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "datasets/preprocess.h"
#include "models/darknet/netdef.h"

namespace facekit::darknet {

struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // pixels of the original image
  float score = 0;                        // objectness x class probability
  int class_id = 0;
};

// Decodes every yolo and region layer of `net` from the per-layer outputs of
// DarknetNet::forward_all (batch index `item`), keeps boxes whose score is at least
// `conf_thresh`, maps them to the original image and applies NMS at `iou_thresh`.
std::vector<Detection> decode_detections(const NetDef& net, const std::vector<torch::Tensor>& outputs,
                                         const LetterboxGeometry& geometry, float conf_thresh,
                                         float iou_thresh, int64_t item = 0);

float box_iou(const Detection& a, const Detection& b);
std::vector<Detection> non_max_suppression(std::vector<Detection> detections, float iou_thresh);

}  // namespace facekit::darknet
