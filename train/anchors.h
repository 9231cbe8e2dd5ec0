// YOLO anchors from the training boxes: k-means on box widths and heights (in network input
// pixels) with the distance 1 - IoU of two boxes sharing a centre, as AlexeyAB's Darknet does in
// `detector calc_anchors` (src/detector.c calc_anchors, src/utils.c do_kmeans / dist).
//
// Differences from Darknet, on purpose:
// - initial centres by k-means++ (Arthur & Vassilvitskii 2007, with 1 - IoU as the distance and
//   a centre drawn with probability proportional to its square) from our own seeded generator,
//   instead of Darknet's random_centers (k distinct boxes from rand() seeded by time(0)): the
//   result is the same for the same seed on every machine and k-means++ rarely lands in a poor
//   local minimum;
// - an empty cluster is moved to the box worst served by the current centres (Darknet keeps the
//   old centre, which may then stay useless).
// Like Darknet, centres are the arithmetic mean of their boxes' widths and heights, iterations
// stop when no assignment changes (or after max_iterations), anchors are sorted by area,
// smallest first, and the reported quality is the mean over boxes of the IoU with their best
// anchor (Darknet prints it as "avg IoU").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/detection_data.h"

namespace facekit::train {

struct BoxSize {
  float w = 0, h = 0;  // pixels of the network input
};

// IoU of two boxes of these sizes placed on the same centre (Darknet's utils.c dist(), 1 - it).
float centred_iou(BoxSize a, BoxSize b);

// Mean over `boxes` of the IoU with the best of `anchors`.
double mean_best_iou(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors);

// Every box of `samples` as a size in pixels of a `width` x `height` network input: the
// normalised size times the input size, as calc_anchors does (the image is stretched to the
// input; with letterboxing the boxes would be a little smaller on the long side).
std::vector<BoxSize> box_sizes(const std::vector<DetectionSample>& samples, int width, int height);

struct AnchorOptions {
  int count = 9;
  uint64_t seed = 0;
  int max_iterations = 1000;  // Darknet's do_kmeans limit
};

struct AnchorResult {
  std::vector<BoxSize> anchors;  // sorted by area, smallest first
  double mean_iou = 0;           // of the boxes with their best anchor
  int iterations = 0;            // assignment steps until nothing changed
  bool converged = false;
};

// Throws std::invalid_argument when there are fewer distinct box sizes than anchors asked for.
AnchorResult kmeans_anchors(const std::vector<BoxSize>& boxes, const AnchorOptions& options);

// The anchors rounded to whole pixels (at least 1), as a cfg takes them.
std::vector<BoxSize> rounded_anchors(const std::vector<BoxSize>& anchors);

// "anchors = 10,14,  23,27,  37,58" (the cfg syntax; Darknet's own cfgs separate pairs by two
// spaces). Values are rounded to integers.
std::string anchors_cfg_line(const std::vector<BoxSize>& anchors);

}  // namespace facekit::train
