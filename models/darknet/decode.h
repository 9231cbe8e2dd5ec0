// From yolo/region head outputs to boxes: Darknet's get_yolo_box / get_region_box, the
// letterbox correction (correct_yolo_boxes) and per-class greedy NMS (do_nms_sort).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "datasets/box.h"
#include "datasets/preprocess.h"
#include "models/darknet/netdef.h"

namespace facekit::darknet {

struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // pixels
  float score = 0;                        // objectness x class probability
  int class_id = 0;
};

// Every candidate box of every yolo/region head, before any threshold, in network-input
// pixels: boxes (K, 4) as x1 y1 x2 y2 and scores (K, C) = objectness x class probability.
// K runs over heads, anchors, rows, columns in that order (as the ONNX export's `boxes`).
struct Candidates {
  torch::Tensor boxes, scores;
};
Candidates decode_candidates(const NetDef& net, const std::vector<torch::Tensor>& outputs, int64_t item = 0);

// Candidates with a score of at least `conf_thresh`, per class, after NMS at `iou_thresh`. With a
// geometry the boxes are mapped to the image but not clipped to it (Darknet's get_network_boxes,
// then do_nms_sort on the whole boxes); without one they stay in input pixels.
std::vector<Detection> select_detections(const Candidates& candidates, float conf_thresh, float iou_thresh,
                                         const LetterboxGeometry* geometry = nullptr);

// Boxes clipped to a width x height image (draw_detections' clipping, after NMS).
std::vector<Detection> clipped_to_image(std::vector<Detection> detections, int width, int height);

// decode_candidates + select_detections + clipped_to_image: what `darknet detect` draws.
std::vector<Detection> decode_detections(const NetDef& net, const std::vector<torch::Tensor>& outputs,
                                         const LetterboxGeometry& geometry, float conf_thresh,
                                         float iou_thresh, int64_t item = 0);

float box_iou(const Detection& a, const Detection& b);
std::vector<Detection> non_max_suppression(std::vector<Detection> detections, float iou_thresh);

}  // namespace facekit::darknet
