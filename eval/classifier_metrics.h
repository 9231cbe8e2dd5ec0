// Gender and age accuracy: one place for every definition `facekit eval classifier`, the trainer's
// validation and `facekit eval pipeline` report.
//
//  gender_acc   argmax of the gender output equals the label, over faces with a known gender.
//  age_exact    the predicted interval (predicted_interval, below) is the label's (an exact age maps
//               to the nearest interval, ties to the lower), over faces with a known age or interval.
//  age_1off     the predicted interval is the label's or a neighbour in the list (Levi and Hassner
//               2015, "1-off" accuracy).
//  age_mae      mean |estimate - age| in years over faces with an exact age. The estimate is the
//               age-regression head's expected value (through the checkpoint's calibration line,
//               models/classifier/age_calibration.h) when the model has one, otherwise the
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

// The index of the largest probability (the first of equals): the predicted gender or interval.
int most_likely(const std::vector<float>& probabilities);

// The predicted age interval: the one nearest the age in years where the classifier has an
// age-regression head (nearest_age_interval, as the labels are made), else the most likely of the
// interval head. Stage 16 of experiments/age-gender-utkface: the years head's estimate errs by small
// amounts, so its interval is more often within one of the truth (UTKFace val 1-off 0.961 against
// the interval head's 0.950), at some exact accuracy (0.648 against 0.671), and label and years agree.
int predicted_interval(const std::vector<float>& age_prob, std::optional<float> age_years,
                       const std::vector<AgeInterval>& intervals);
int predicted_interval(const FacePrediction& p, const std::vector<AgeInterval>& intervals);

// Expected age under the interval distribution, using each interval's midpoint.
float expected_age(const std::vector<float>& age_prob, const std::vector<AgeInterval>& intervals);

// The predicted age in years: the years head's estimate where there is one, else expected_age.
float predicted_age(const FacePrediction& p, const std::vector<AgeInterval>& intervals);

ClassifierReport evaluate_classifier(const std::vector<FaceLabel>& labels, const std::vector<FacePrediction>& predictions,
                                     const std::vector<AgeInterval>& intervals, int skipped);

// {"gender_acc", "age_exact", "age_1off", "age_mae", "n", "skipped", confusion matrices, per-class accuracy,
//  per-interval gender accuracy and MAE}
std::string classifier_report_json(const ClassifierReport& report, const std::vector<AgeInterval>& intervals);

}  // namespace facekit::eval
