// Detector + classifier on faces with perceived labels (WIDER demographics).
//
// Matching: in each image, detections scoring at least the operating threshold are taken in
// decreasing score; each takes the unmatched labelled face it overlaps most if IoU >= 0.5 (VOC's
// rule). A labelled face with a detection is "detected"; gender and age are scored on those, from
// the classifier's output on the detection's own crop (what a user gets), not on the labelled box.
//
// Age groups: WIDER's perceived groups are coarser than the classifier's intervals. An interval
// maps to a group by its midpoint: below 30 Young Adult, 30 to 45 Adult, 45 to 60 Middle age,
// 60 and above Senior. WIDER has no child group; annotators put children in the youngest group or
// "Not Sure", so intervals below 15 map to Young Adult too.
#pragma once

#include <string>
#include <vector>

#include "datasets/age_intervals.h"
#include "datasets/formats/wider_demographics.h"

namespace facekit::eval {

int age_group_of_interval(const AgeInterval& interval);

struct PipelineFace {       // one detection with the classifier's answer
  Box box;
  float score = 0;
  int gender = -1;          // predicted
  int age_interval = -1;    // predicted
};

struct PipelineReport {
  int labelled = 0, detected = 0;
  int gender_n = 0, gender_right = 0, age_n = 0, age_right = 0;
  double detected_fraction = 0, gender_acc = 0, age_group_acc = 0;
  std::vector<std::vector<int>> age_group_confusion;  // rows: perceived, columns: predicted group
};

// `labels` and `detections` are per image, in the same order.
PipelineReport evaluate_pipeline(const std::vector<std::vector<DemographicFace>>& labels,
                                 const std::vector<std::vector<PipelineFace>>& detections,
                                 const std::vector<AgeInterval>& intervals, float operating_threshold);

std::string pipeline_report_json(const PipelineReport& report, double ms_per_image);

}  // namespace facekit::eval
