#include "train/anchors.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace facekit::train {
namespace {

// A uniform double in [0, 1) from the top 53 bits: the same sequence on every standard library
// (std::uniform_real_distribution's algorithm is left to the implementation).
double uniform01(std::mt19937_64* rng) { return static_cast<double>((*rng)() >> 11) * 0x1.0p-53; }

size_t distinct_sizes(const std::vector<BoxSize>& boxes) {
  std::vector<std::pair<float, float>> sizes;
  sizes.reserve(boxes.size());
  for (const auto& b : boxes) sizes.emplace_back(b.w, b.h);
  std::sort(sizes.begin(), sizes.end());
  return static_cast<size_t>(std::unique(sizes.begin(), sizes.end()) - sizes.begin());
}

// Index of the anchor with the highest IoU (the smallest 1 - IoU); the first one on ties.
int best_anchor(BoxSize box, const std::vector<BoxSize>& anchors, float* best_iou) {
  int best = 0;
  float best_value = -1;
  for (size_t j = 0; j < anchors.size(); ++j) {
    const float value = centred_iou(box, anchors[j]);
    if (value > best_value) best_value = value, best = static_cast<int>(j);
  }
  if (best_iou) *best_iou = best_value;
  return best;
}

// k-means++ seeding with d = 1 - IoU: the first centre is a box drawn uniformly, each next one a
// box drawn with probability proportional to d^2 to its closest centre so far.
std::vector<BoxSize> kmeans_plus_plus(const std::vector<BoxSize>& boxes, int count, std::mt19937_64* rng) {
  std::vector<BoxSize> centres = {boxes[(*rng)() % boxes.size()]};
  std::vector<double> weight(boxes.size());
  while (static_cast<int>(centres.size()) < count) {
    double total = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
      float iou = 0;
      best_anchor(boxes[i], centres, &iou);
      const double d = 1.0 - iou;
      weight[i] = d * d;
      total += weight[i];
    }
    // total > 0: there are more distinct sizes than centres (checked by the caller).
    double r = uniform01(rng) * total;
    size_t chosen = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
      if (weight[i] <= 0) continue;
      chosen = i;  // the last positive weight also catches rounding at the end of the walk
      r -= weight[i];
      if (r < 0) break;
    }
    centres.push_back(boxes[chosen]);
  }
  return centres;
}

// Darknet's kmeans_expectation: each box to its closest centre. Returns whether any changed.
bool assign(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& centres, std::vector<int>* assignment) {
  bool changed = false;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const int best = best_anchor(boxes[i], centres, nullptr);
    if (best != (*assignment)[i]) (*assignment)[i] = best, changed = true;
  }
  return changed;
}

// Darknet's kmeans_maximization: each centre becomes the mean width and height of its boxes. A
// centre left without boxes moves to the box its centre serves worst (not already taken).
void update_centres(const std::vector<BoxSize>& boxes, const std::vector<int>& assignment, std::vector<BoxSize>* centres) {
  const size_t k = centres->size();
  std::vector<double> sum_w(k, 0), sum_h(k, 0);
  std::vector<size_t> members(k, 0);
  for (size_t i = 0; i < boxes.size(); ++i) {
    const int c = assignment[i];
    sum_w[c] += boxes[i].w, sum_h[c] += boxes[i].h, ++members[c];
  }
  std::vector<float> served(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) served[i] = centred_iou(boxes[i], (*centres)[assignment[i]]);
  for (size_t c = 0; c < k; ++c) {
    if (members[c] > 0) {
      (*centres)[c] = {static_cast<float>(sum_w[c] / members[c]), static_cast<float>(sum_h[c] / members[c])};
      continue;
    }
    const size_t worst = static_cast<size_t>(std::min_element(served.begin(), served.end()) - served.begin());
    (*centres)[c] = boxes[worst];
    served[worst] = 2;  // above any IoU: another empty centre takes another box
  }
}

}  // namespace

float centred_iou(BoxSize a, BoxSize b) {
  const float inter = std::min(a.w, b.w) * std::min(a.h, b.h);
  const float uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0.f;
}

double mean_best_iou(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors) {
  if (boxes.empty() || anchors.empty()) return 0;
  double sum = 0;
  for (const auto& box : boxes) {
    float iou = 0;
    best_anchor(box, anchors, &iou);
    sum += iou;
  }
  return sum / static_cast<double>(boxes.size());
}

std::vector<BoxSize> box_sizes(const std::vector<DetectionSample>& samples, int width, int height) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("network size must be positive");
  std::vector<BoxSize> sizes;
  for (const auto& sample : samples) {
    for (const auto& box : sample.boxes) {
      if (box.w > 0 && box.h > 0) sizes.push_back({box.w * static_cast<float>(width), box.h * static_cast<float>(height)});
    }
  }
  return sizes;
}

AnchorResult kmeans_anchors(const std::vector<BoxSize>& boxes, const AnchorOptions& options) {
  if (options.count <= 0) throw std::invalid_argument("the number of anchors must be positive");
  if (options.max_iterations <= 0) throw std::invalid_argument("the iteration limit must be positive");
  const size_t distinct = distinct_sizes(boxes);
  if (distinct < static_cast<size_t>(options.count)) {
    throw std::invalid_argument("cannot make " + std::to_string(options.count) + " anchors from " +
                                std::to_string(boxes.size()) + " boxes of " + std::to_string(distinct) + " distinct sizes");
  }
  std::mt19937_64 rng(options.seed);
  AnchorResult result;
  result.anchors = kmeans_plus_plus(boxes, options.count, &rng);
  std::vector<int> assignment(boxes.size(), -1);
  while (result.iterations < options.max_iterations) {
    ++result.iterations;
    if (!assign(boxes, result.anchors, &assignment)) {
      result.converged = true;
      break;
    }
    update_centres(boxes, assignment, &result.anchors);
  }
  // Darknet's anchors_data_comparator: by area, smallest first.
  std::stable_sort(result.anchors.begin(), result.anchors.end(),
                   [](BoxSize a, BoxSize b) { return a.w * a.h < b.w * b.h; });
  result.mean_iou = mean_best_iou(boxes, result.anchors);
  return result;
}

std::vector<BoxSize> rounded_anchors(const std::vector<BoxSize>& anchors) {
  std::vector<BoxSize> rounded;
  for (const auto& a : anchors) rounded.push_back({std::max(1.f, std::round(a.w)), std::max(1.f, std::round(a.h))});
  return rounded;
}

std::string anchors_cfg_line(const std::vector<BoxSize>& anchors) {
  std::ostringstream line;
  line << "anchors = ";
  const auto rounded = rounded_anchors(anchors);
  for (size_t i = 0; i < rounded.size(); ++i) {
    if (i > 0) line << ",  ";
    line << static_cast<long>(rounded[i].w) << "," << static_cast<long>(rounded[i].h);
  }
  return line.str();
}

}  // namespace facekit::train
