#include "eval/classifier_metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace facekit::eval {
namespace {

std::vector<std::vector<int>> square(size_t n) { return std::vector<std::vector<int>>(n, std::vector<int>(n, 0)); }

// Each row's diagonal share: the accuracy on faces whose label is that row.
std::vector<double> row_recall(const std::vector<std::vector<int>>& confusion) {
  std::vector<double> recall;
  for (size_t r = 0; r < confusion.size(); ++r) {
    int total = 0;
    for (int c : confusion[r]) total += c;
    recall.push_back(total ? static_cast<double>(confusion[r][r]) / total : 0.0);
  }
  return recall;
}

}  // namespace

int most_likely(const std::vector<float>& probabilities) {
  return static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
}

int predicted_interval(const std::vector<float>& age_prob, std::optional<float> age_years,
                       const std::vector<AgeInterval>& intervals) {
  return age_years ? nearest_age_interval(intervals, *age_years) : most_likely(age_prob);
}

int predicted_interval(const FacePrediction& p, const std::vector<AgeInterval>& intervals) {
  return predicted_interval(p.age_prob, p.age_years, intervals);
}

float expected_age(const std::vector<float>& age_prob, const std::vector<AgeInterval>& intervals) {
  if (age_prob.size() != intervals.size()) throw std::invalid_argument("expected_age: one probability per interval");
  double sum = 0;
  for (size_t i = 0; i < intervals.size(); ++i) sum += age_prob[i] * intervals[i].midpoint();
  return static_cast<float>(sum);
}

float predicted_age(const FacePrediction& p, const std::vector<AgeInterval>& intervals) {
  return p.age_years ? *p.age_years : expected_age(p.age_prob, intervals);
}

ClassifierReport evaluate_classifier(const std::vector<FaceLabel>& labels, const std::vector<FacePrediction>& predictions,
                                     const std::vector<AgeInterval>& intervals, int skipped) {
  if (labels.size() != predictions.size()) throw std::invalid_argument("evaluate_classifier: one prediction per label");
  constexpr size_t kGenders = 2;
  ClassifierReport report;
  report.n = static_cast<int>(labels.size());
  report.skipped = skipped;
  report.gender_confusion = square(kGenders);
  report.age_confusion = square(intervals.size());
  int gender_right = 0, age_right = 0, age_near = 0;
  double abs_error = 0;
  const size_t k = intervals.size();
  std::vector<double> gender_right_in(k, 0), gender_n_in(k, 0), abs_error_in(k, 0), mae_n_in(k, 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& label = labels[i];
    const auto& p = predictions[i];
    if (p.gender_prob.size() != kGenders || p.age_prob.size() != intervals.size()) {
      throw std::invalid_argument("evaluate_classifier: prediction " + std::to_string(i) + " has the wrong number of outputs");
    }
    if (label.gender >= 0) {
      const int g = most_likely(p.gender_prob);
      ++report.gender_confusion[label.gender][g];
      gender_right += g == label.gender;
      ++report.gender_n;
      if (label.age_interval >= 0) {
        gender_right_in[label.age_interval] += g == label.gender;
        ++gender_n_in[label.age_interval];
      }
    }
    if (label.age_interval >= 0) {
      const int a = predicted_interval(p, intervals);
      ++report.age_confusion[label.age_interval][a];
      age_right += a == label.age_interval;
      age_near += std::abs(a - label.age_interval) <= 1;
      ++report.age_n;
    }
    if (label.age >= 0) {
      const float estimate = predicted_age(p, intervals);
      abs_error += std::abs(estimate - label.age);
      ++report.mae_n;
      if (label.age_interval >= 0) {
        abs_error_in[label.age_interval] += std::abs(estimate - label.age);
        ++mae_n_in[label.age_interval];
      }
    }
  }
  const auto ratio = [](double part, int whole) { return whole ? part / whole : 0.0; };
  report.gender_acc = ratio(gender_right, report.gender_n);
  report.age_exact = ratio(age_right, report.age_n);
  report.age_1off = ratio(age_near, report.age_n);
  report.age_mae = ratio(abs_error, report.mae_n);
  report.gender_acc_per_class = row_recall(report.gender_confusion);
  report.age_acc_per_interval = row_recall(report.age_confusion);
  for (size_t i = 0; i < k; ++i) {
    report.gender_acc_per_interval.push_back(gender_n_in[i] ? gender_right_in[i] / gender_n_in[i] : 0.0);
    report.age_mae_per_interval.push_back(mae_n_in[i] ? abs_error_in[i] / mae_n_in[i] : 0.0);
  }
  return report;
}

std::string classifier_report_json(const ClassifierReport& report, const std::vector<AgeInterval>& intervals) {
  std::vector<std::string> labels;
  for (const auto& i : intervals) labels.push_back(i.label());
  nlohmann::ordered_json json = {
      {"gender_acc", report.gender_acc}, {"age_exact", report.age_exact}, {"age_1off", report.age_1off},
      {"age_mae", report.age_mae},       {"n", report.n},                 {"skipped", report.skipped},
      {"gender_n", report.gender_n},     {"age_n", report.age_n},         {"mae_n", report.mae_n},
      {"age_intervals", labels},         {"gender_labels", {"Male", "Female"}},
      {"gender_acc_per_class", report.gender_acc_per_class},
      {"age_acc_per_interval", report.age_acc_per_interval},
      {"gender_acc_per_interval", report.gender_acc_per_interval},
      {"age_mae_per_interval", report.age_mae_per_interval},
      {"gender_confusion", report.gender_confusion},
      {"age_confusion", report.age_confusion},
  };
  return json.dump(2) + "\n";
}

}  // namespace facekit::eval
