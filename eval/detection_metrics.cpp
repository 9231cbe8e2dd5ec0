#include "eval/detection_metrics.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>

namespace facekit::eval {
namespace {

constexpr float kApIouThreshold = 0.5f;
constexpr float kLooseIouThreshold = 0.3f, kStrictIouThreshold = 0.75f;
constexpr int kCocoRecallPoints = 101;       // cocoeval.py: recThrs = linspace(0, 1, 101)
constexpr float kCocoIouFirst = 0.5f, kCocoIouStep = 0.05f;
constexpr int kCocoIouCount = 10;            // 0.50, 0.55, ..., 0.95

struct Candidate {
  float score;
  size_t image, index;
};

bool at_least(const Box& box, float min_side) { return std::min(box.width(), box.height()) >= min_side; }

bool counts(const GroundTruth& truth, float min_side) { return !truth.ignore && at_least(truth.box, min_side); }

// Precision made non-increasing from the right (the "envelope" of VOC and COCO).
std::vector<double> envelope(const std::vector<double>& precision) {
  std::vector<double> e(precision);
  for (size_t i = e.size(); i-- > 1;) e[i - 1] = std::max(e[i - 1], e[i]);
  return e;
}

// Steps 1-4 of the matching rule (detection_metrics.h) for one detection; marks the matched box.
Outcome match_one(const ImageDetections& image, const Box& box, float iou_threshold, float min_side,
                  std::vector<bool>* matched) {
  int best = -1;
  float best_iou = iou_threshold;
  bool hits_ignored = false;
  for (size_t t = 0; t < image.truth.size(); ++t) {
    const float overlap = iou(box, image.truth[t].box);
    if (!counts(image.truth[t], min_side)) {
      hits_ignored |= overlap >= iou_threshold;
    } else if (!(*matched)[t] && overlap >= best_iou) {
      best = static_cast<int>(t);
      best_iou = overlap;
    }
  }
  if (best >= 0) {
    (*matched)[static_cast<size_t>(best)] = true;
    return Outcome::kTruePositive;
  }
  return hits_ignored || !at_least(box, min_side) ? Outcome::kIgnored : Outcome::kFalsePositive;
}

}  // namespace

Matching match_detections(const std::vector<ImageDetections>& images, float iou_threshold, float min_side) {
  Matching matching;
  std::vector<Candidate> candidates;
  std::vector<std::vector<bool>> matched(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    matched[i].assign(images[i].truth.size(), false);
    for (const auto& t : images[i].truth) matching.num_truth += counts(t, min_side);
    for (size_t d = 0; d < images[i].detections.size(); ++d) candidates.push_back({images[i].detections[d].score, i, d});
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  for (const auto& c : candidates) {
    const auto& image = images[c.image];
    matching.detections.push_back(
        {c.score, match_one(image, image.detections[c.index].box, iou_threshold, min_side, &matched[c.image])});
  }
  return matching;
}

ImageErrors image_errors(const ImageDetections& image, float iou_threshold, float score_threshold) {
  std::vector<size_t> order;
  for (size_t d = 0; d < image.detections.size(); ++d) {
    if (image.detections[d].score >= score_threshold) order.push_back(d);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return image.detections[a].score > image.detections[b].score; });
  ImageErrors errors;
  std::vector<bool> matched(image.truth.size(), false);
  for (const size_t d : order) {
    const Box& box = image.detections[d].box;
    const Outcome outcome = match_one(image, box, iou_threshold, /*min_side=*/0, &matched);
    if (outcome == Outcome::kTruePositive) errors.true_positives.push_back(box);
    if (outcome == Outcome::kFalsePositive) errors.false_positives.push_back(box);
  }
  for (size_t t = 0; t < image.truth.size(); ++t) {
    if (!matched[t] && !image.truth[t].ignore) errors.missed.push_back(image.truth[t].box);
  }
  return errors;
}

PrCurve pr_curve(const Matching& matching) {
  PrCurve curve;
  curve.num_truth = matching.num_truth;
  int tp = 0, fp = 0;
  const auto& d = matching.detections;
  for (size_t i = 0; i < d.size(); ++i) {
    tp += d[i].outcome == Outcome::kTruePositive;
    fp += d[i].outcome == Outcome::kFalsePositive;
    const bool last_of_tie = i + 1 == d.size() || d[i + 1].score != d[i].score;
    if (!last_of_tie || tp + fp == 0) continue;
    curve.thresholds.push_back(d[i].score);
    curve.precision.push_back(static_cast<double>(tp) / (tp + fp));
    curve.recall.push_back(matching.num_truth > 0 ? static_cast<double>(tp) / matching.num_truth : 0.0);
  }
  return curve;
}

double average_precision_voc(const PrCurve& curve) {
  const auto p = envelope(curve.precision);
  double ap = 0, previous_recall = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    ap += (curve.recall[i] - previous_recall) * p[i];
    previous_recall = curve.recall[i];
  }
  return ap;
}

double average_precision_coco101(const PrCurve& curve) {
  const auto p = envelope(curve.precision);
  double sum = 0;
  size_t i = 0;
  for (int k = 0; k < kCocoRecallPoints; ++k) {
    const double r = static_cast<double>(k) / (kCocoRecallPoints - 1);
    while (i < curve.recall.size() && curve.recall[i] < r) ++i;
    if (i < p.size()) sum += p[i];
  }
  return sum / kCocoRecallPoints;
}

double average_precision_step(const PrCurve& curve) {
  double ap = 0, previous_recall = 0;
  for (size_t i = 0; i < curve.precision.size(); ++i) {
    ap += (curve.recall[i] - previous_recall) * curve.precision[i];
    previous_recall = curve.recall[i];
  }
  return ap;
}

OperatingPoint operating_point(const Matching& matching, float threshold) {
  OperatingPoint point;
  for (const auto& d : matching.detections) {
    if (d.score < threshold) break;
    point.true_positives += d.outcome == Outcome::kTruePositive;
    point.false_positives += d.outcome == Outcome::kFalsePositive;
  }
  const int predicted = point.true_positives + point.false_positives;
  point.precision = predicted > 0 ? static_cast<double>(point.true_positives) / predicted : 0.0;
  point.recall = matching.num_truth > 0 ? static_cast<double>(point.true_positives) / matching.num_truth : 0.0;
  return point;
}

DetectionReport evaluate_detections(const std::vector<ImageDetections>& images, float operating_threshold) {
  DetectionReport report;
  report.num_images = static_cast<int>(images.size());
  report.threshold = operating_threshold;
  for (const auto& [name, min_side] : std::vector<std::pair<std::string, float>>{
           {"all", 0.f}, {"min16", 16.f}, {"min32", 32.f}, {"min64", 64.f}}) {
    SizeBucket bucket;
    bucket.name = name;
    bucket.min_side = min_side;
    const Matching matching = match_detections(images, kApIouThreshold, min_side);
    bucket.curve = pr_curve(matching);
    bucket.ap50 = average_precision_voc(bucket.curve);
    bucket.num_truth = matching.num_truth;
    bucket.ap30 = average_precision_voc(pr_curve(match_detections(images, kLooseIouThreshold, min_side)));
    bucket.ap75 = average_precision_voc(pr_curve(match_detections(images, kStrictIouThreshold, min_side)));
    if (name == "all") report.at_threshold = operating_point(matching, operating_threshold);
    report.buckets.push_back(std::move(bucket));
  }
  double coco = 0;
  for (int k = 0; k < kCocoIouCount; ++k) {
    coco += average_precision_coco101(pr_curve(match_detections(images, kCocoIouFirst + k * kCocoIouStep)));
  }
  report.coco_ap = coco / kCocoIouCount;
  return report;
}

std::string report_json(const DetectionReport& report, double ms_per_image) {
  std::ostringstream out;
  out.precision(8);
  const auto by_bucket = [&](const char* key, auto SizeBucket::*value) {  // {"all": ..., "min16": ...}
    out << "  \"" << key << "\": {";
    for (size_t i = 0; i < report.buckets.size(); ++i) {
      out << (i ? ", " : "") << "\"" << report.buckets[i].name << "\": " << report.buckets[i].*value;
    }
    out << "},\n";
  };
  out << "{\n";
  by_bucket("ap50", &SizeBucket::ap50);
  by_bucket("ap30", &SizeBucket::ap30);
  by_bucket("ap75", &SizeBucket::ap75);
  by_bucket("num_gt_by_size", &SizeBucket::num_truth);
  out << "  \"coco_ap\": " << report.coco_ap << ",\n  \"recall\": " << report.at_threshold.recall
      << ",\n  \"precision\": " << report.at_threshold.precision << ",\n  \"threshold\": " << report.threshold
      << ",\n  \"num_gt\": " << (report.buckets.empty() ? 0 : report.buckets[0].num_truth)
      << ",\n  \"num_images\": " << report.num_images << ",\n  \"ms_per_image\": " << ms_per_image << "\n}\n";
  return out.str();
}

}  // namespace facekit::eval
