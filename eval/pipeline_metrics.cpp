#include "eval/pipeline_metrics.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace facekit::eval {
namespace {

constexpr float kMatchIou = 0.5f;
constexpr float kAdultFrom = 30, kMiddleAgeFrom = 45, kSeniorFrom = 60;
constexpr int kGroups = 4;

// Index of the detection matched to each labelled face, or -1.
std::vector<int> match(const std::vector<DemographicFace>& faces, const std::vector<PipelineFace>& detections,
                       float threshold) {
  std::vector<int> order(detections.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return detections[a].score > detections[b].score; });
  std::vector<int> matched(faces.size(), -1);
  for (int d : order) {
    if (detections[d].score < threshold) break;
    int best = -1;
    float best_iou = kMatchIou;
    for (size_t f = 0; f < faces.size(); ++f) {
      const float overlap = iou(detections[d].box, faces[f].box);
      if (matched[f] < 0 && overlap >= best_iou) best = static_cast<int>(f), best_iou = overlap;
    }
    if (best >= 0) matched[best] = d;
  }
  return matched;
}

}  // namespace

int age_group_of_interval(const AgeInterval& interval) {
  const float age = interval.midpoint();
  if (age < kAdultFrom) return kYoungAdult;
  if (age < kMiddleAgeFrom) return kAdult;
  if (age < kSeniorFrom) return kMiddleAge;
  return kSenior;
}

PipelineReport evaluate_pipeline(const std::vector<std::vector<DemographicFace>>& labels,
                                 const std::vector<std::vector<PipelineFace>>& detections,
                                 const std::vector<AgeInterval>& intervals, float operating_threshold) {
  if (labels.size() != detections.size()) throw std::invalid_argument("evaluate_pipeline: one detection list per image");
  PipelineReport r;
  r.age_group_confusion.assign(kGroups, std::vector<int>(kGroups, 0));
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto matched = match(labels[i], detections[i], operating_threshold);
    for (size_t f = 0; f < labels[i].size(); ++f) {
      const DemographicFace& face = labels[i][f];
      ++r.labelled;
      if (matched[f] < 0) continue;
      ++r.detected;
      const PipelineFace& d = detections[i][matched[f]];
      if (face.gender >= 0 && d.gender >= 0) {
        ++r.gender_n;
        r.gender_right += d.gender == face.gender;
      }
      if (face.age_group != kUnknownGroup && d.age_interval >= 0) {
        const int predicted = age_group_of_interval(intervals.at(d.age_interval));
        ++r.age_n;
        r.age_right += predicted == face.age_group;
        ++r.age_group_confusion[face.age_group][predicted];
      }
    }
  }
  const auto ratio = [](int part, int whole) { return whole ? static_cast<double>(part) / whole : 0.0; };
  r.detected_fraction = ratio(r.detected, r.labelled);
  r.gender_acc = ratio(r.gender_right, r.gender_n);
  r.age_group_acc = ratio(r.age_right, r.age_n);
  return r;
}

std::string pipeline_report_json(const PipelineReport& r, double ms_per_image) {
  std::vector<std::string> groups;
  for (int g = kYoungAdult; g <= kSenior; ++g) groups.push_back(age_group_name(g));
  const nlohmann::ordered_json json = {
      {"detected_fraction", r.detected_fraction}, {"gender_acc", r.gender_acc},   {"age_group_acc", r.age_group_acc},
      {"labelled", r.labelled},                   {"detected", r.detected},       {"gender_n", r.gender_n},
      {"age_n", r.age_n},                         {"age_groups", groups},         {"age_group_confusion", r.age_group_confusion},
      {"ms_per_image", ms_per_image},
  };
  return json.dump(2) + "\n";
}

}  // namespace facekit::eval
