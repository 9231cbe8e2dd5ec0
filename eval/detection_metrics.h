// Detection accuracy: matching detections to ground truth with ignore regions, precision-recall
// curves and average precision (VOC all-point, COCO 101-point, and the plain step sum that
// scikit-learn's average_precision_score computes). One place for every definition.
//
// Matching (per IoU threshold, detections in decreasing score over all images):
//  1. among this image's unmatched ground-truth boxes that are not ignored, take the one with the
//     highest IoU; if IoU >= threshold the detection is a true positive and the box is matched;
//  2. otherwise, if some ignored box (WIDER `invalid`, or smaller than the size bucket) has
//     IoU >= threshold, the detection is ignored: neither true nor false positive;
//  3. otherwise, if the detection itself is smaller than the size bucket (shorter side below it),
//     it is ignored too: it belongs to the faces the bucket leaves out;
//  4. otherwise it is a false positive (this includes a second detection of a matched face).
// Detections of equal score form one threshold of the curve (as scikit-learn does), so AP does not
// depend on the order of ties. Steps 2 and 3 are COCO's rules for ignore regions and area ranges
// (cocoeval.py evaluateImg: gtIg, and "set unmatched detections outside of area range to
// ignore"), with sizes measured by the shorter side instead of the area; the single match is VOC's
// (voc_eval.py).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "datasets/box.h"

namespace facekit::eval {

using facekit::Box;
using facekit::iou;

struct GroundTruth {
  Box box;
  bool ignore = false;  // e.g. WIDER's `invalid`
};

struct ScoredBox {
  Box box;
  float score = 0;
};

// One image's ground truth and detections (one class).
struct ImageDetections {
  std::string image;
  std::vector<GroundTruth> truth;
  std::vector<ScoredBox> detections;
};

enum class Outcome { kTruePositive, kFalsePositive, kIgnored };

struct MatchedDetection {
  float score;
  Outcome outcome;
};

struct Matching {
  std::vector<MatchedDetection> detections;  // sorted by decreasing score
  int num_truth = 0;                         // ground-truth boxes that count (not ignored)
};

// `min_side`: ground truth whose shorter side is below it becomes an ignore region, and so does an
// unmatched detection that small (0: none).
Matching match_detections(const std::vector<ImageDetections>& images, float iou_threshold, float min_side = 0);

// One image at one operating point: its detections scoring at least `score_threshold`, matched
// by the same rule (all sizes), split into true and false positives (ignored ones are in
// neither), and the ground truth left unmatched (ignore regions are never missed).
struct ImageErrors {
  std::vector<Box> true_positives, false_positives, missed;
  size_t count() const { return false_positives.size() + missed.size(); }
};
ImageErrors image_errors(const ImageDetections& image, float iou_threshold, float score_threshold);

// Precision and recall after each distinct score threshold, highest first.
struct PrCurve {
  std::vector<double> thresholds, precision, recall;
  int num_truth = 0;
};
PrCurve pr_curve(const Matching& matching);

// VOC2010+ all-point interpolation: area under the precision envelope.
double average_precision_voc(const PrCurve& curve);
// COCO: mean of the envelope at recall 0, 0.01, ..., 1.
double average_precision_coco101(const PrCurve& curve);
// sum over thresholds of (recall step) x precision, no interpolation (sklearn's definition).
double average_precision_step(const PrCurve& curve);

// Precision and recall of the detections scoring at least `threshold`.
struct OperatingPoint {
  double precision = 0, recall = 0;
  int true_positives = 0, false_positives = 0;
};
OperatingPoint operating_point(const Matching& matching, float threshold);

// The report `facekit eval detector` prints and writes.
struct SizeBucket {
  std::string name;  // "all", "min16", "min32", "min64"
  float min_side;
  double ap50 = 0;
  // The same at a looser and a stricter match (VOC all-point AP at IoU 0.3 and 0.75): how much of
  // what AP@0.5 misses is where the boxes lie rather than whether a face was found. 0.75 is COCO's
  // AP75; 0.3 is the loose criterion small-face work uses when box conventions differ.
  double ap30 = 0, ap75 = 0;
  int num_truth = 0;
  PrCurve curve;
};
struct DetectionReport {
  std::vector<SizeBucket> buckets;
  double coco_ap = 0;  // AP@[.5:.95], all sizes
  OperatingPoint at_threshold;
  float threshold = 0;
  int num_images = 0;
};
// Buckets: all faces, min side >= 16, >= 32, >= 64 px.
DetectionReport evaluate_detections(const std::vector<ImageDetections>& images, float operating_threshold);

// {"ap50": {"all": ..., "min16": ...}, "ap30": {...}, "ap75": {...}, "coco_ap": ..., "recall": ..., "precision": ..., "num_gt": ...}
std::string report_json(const DetectionReport& report, double ms_per_image);

}  // namespace facekit::eval
