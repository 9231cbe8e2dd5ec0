// Gender and age accuracy: one place for every definition `facekit eval classifier`, the trainer's
// validation and `facekit eval pipeline` report.
//
//  gender_acc   argmax of the gender output equals the label, over faces with a known gender.
//  age_exact    argmax of the age-interval output equals the label's interval (an exact age maps to
//               the nearest interval, ties to the lower), over faces with a known age or interval.
//  age_1off     the predicted interval is the label's or a neighbour in the list (Levi and Hassner
//               2015, "1-off" accuracy).
//  age_mae      mean |estimate - age| in years over faces with an exact age. The estimate is the
//               age-regression head's expected value when the model has one, otherwise the
//               expectation of interval midpoints under the predicted interval distribution.
//  confusion    rows: the label, columns: the prediction (counts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "datasets/age_intervals.h"

namespace facekit::eval {

struct FaceLabel {
  int gender = -1;        // 0 male, 1 female, -1 unknown
  int age_interval = -1;  // -1 unknown
  float age = -1;         // years, -1 unknown
};

struct FacePrediction {
  std::vector<float> gender_prob;  // 2, sums to 1
  std::vector<float> age_prob;     // one per interval, sums to 1
  std::optional<float> age_years;  // from an age-regression head
};

struct ClassifierReport {
  int n = 0;        // faces scored
  int skipped = 0;  // faces left out (unreadable image, no usable label)
  double gender_acc = 0, age_exact = 0, age_1off = 0, age_mae = 0;
  int gender_n = 0, age_n = 0, mae_n = 0;  // faces each metric is averaged over
  std::vector<std::vector<int>> gender_confusion, age_confusion;
  std::vector<double> gender_acc_per_class, age_acc_per_interval;  // recall of each row
  // By the face's labelled age interval (0 where it has no face with that label): where gender and
  // age errors come from, e.g. gender on infants' faces.
  std::vector<double> gender_acc_per_interval, age_mae_per_interval;
};

// Expected age under the interval distribution, using each interval's midpoint.
float expected_age(const std::vector<float>& age_prob, const std::vector<AgeInterval>& intervals);

ClassifierReport evaluate_classifier(const std::vector<FaceLabel>& labels, const std::vector<FacePrediction>& predictions,
                                     const std::vector<AgeInterval>& intervals, int skipped);

// {"gender_acc", "age_exact", "age_1off", "age_mae", "n", "skipped", confusion matrices, per-class accuracy,
//  per-interval gender accuracy and MAE}
std::string classifier_report_json(const ClassifierReport& report, const std::vector<AgeInterval>& intervals);

}  // namespace facekit::eval
