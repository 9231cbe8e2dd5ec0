// Gender and age metrics on a hand-computed case.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval/classifier_metrics.h"

namespace facekit::eval {
namespace {

std::vector<float> one_hot(int i, int n = 8) {
  std::vector<float> p(n, 0.f);
  p[i] = 1.f;
  return p;
}

// Four faces (Adience intervals, midpoints 1 5 10 17.5 28.5 40.5 50.5 80):
//  1. male, (25, 32), 28 y; predicted male, one-hot (25, 32): exact; estimate 28.5, error 0.5
//  2. female, (8, 12), 10 y; predicted male, .6 (15, 20) .4 (8, 12): 1-off; estimate 14.5, error 4.5
//  3. unknown gender, (60, 100) only (Adience-like); predicted (38, 43): neither exact nor 1-off
//  4. female, (0, 2), 1 y; predicted female, (0, 2), regression head says 3: error 2
TEST(ClassifierMetrics, HandComputed) {
  const std::vector<FaceLabel> labels = {{0, 4, 28}, {1, 2, 10}, {-1, 7, -1}, {1, 0, 1}};
  std::vector<float> mixed(8, 0.f);
  mixed[3] = .6f;
  mixed[2] = .4f;
  const std::vector<FacePrediction> predictions = {
      {{.7f, .3f}, one_hot(4), {}}, {{.6f, .4f}, mixed, {}}, {{.5f, .5f}, one_hot(5), {}}, {{.2f, .8f}, one_hot(0), 3.f}};
  const auto r = evaluate_classifier(labels, predictions, adience_intervals(), 2);
  EXPECT_EQ(r.n, 4);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_EQ(r.gender_n, 3);
  EXPECT_DOUBLE_EQ(r.gender_acc, 2.0 / 3);
  EXPECT_EQ(r.age_n, 4);
  EXPECT_DOUBLE_EQ(r.age_exact, 0.5);
  EXPECT_DOUBLE_EQ(r.age_1off, 0.75);
  EXPECT_EQ(r.mae_n, 3);
  EXPECT_NEAR(r.age_mae, (0.5 + 4.5 + 2) / 3, 1e-6);
  EXPECT_EQ(r.gender_confusion, (std::vector<std::vector<int>>{{1, 0}, {1, 1}}));
  EXPECT_EQ(r.age_confusion[4][4], 1);
  EXPECT_EQ(r.age_confusion[2][3], 1);
  EXPECT_EQ(r.age_confusion[7][5], 1);
  EXPECT_EQ(r.age_confusion[0][0], 1);
  EXPECT_EQ(r.gender_acc_per_class, (std::vector<double>{1.0, 0.5}));
  EXPECT_DOUBLE_EQ(r.age_acc_per_interval[2], 0.0);
  EXPECT_DOUBLE_EQ(r.age_acc_per_interval[4], 1.0);
  // By labelled interval: (25, 32) face 1, (8, 12) face 2, (0, 2) face 4; (60, 100) has no gender.
  EXPECT_EQ(r.gender_acc_per_interval, (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(r.age_mae_per_interval.size(), 8u);
  EXPECT_NEAR(r.age_mae_per_interval[0], 2.0, 1e-6);
  EXPECT_NEAR(r.age_mae_per_interval[2], 4.5, 1e-6);
  EXPECT_NEAR(r.age_mae_per_interval[4], 0.5, 1e-6);
  EXPECT_DOUBLE_EQ(r.age_mae_per_interval[7], 0.0);

  const auto json = nlohmann::json::parse(classifier_report_json(r, adience_intervals()));
  for (const char* key : {"gender_acc", "age_exact", "age_1off", "age_mae", "n", "skipped"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(json["age_1off"].get<double>(), 0.75);
  EXPECT_EQ(json["age_confusion"][7][5].get<int>(), 1);
  EXPECT_EQ(json["age_intervals"][7].get<std::string>(), "(60, 100)");
  EXPECT_DOUBLE_EQ(json["age_mae_per_interval"][2].get<double>(), r.age_mae_per_interval[2]);
  EXPECT_DOUBLE_EQ(json["gender_acc_per_interval"][4].get<double>(), 1.0);
}

TEST(ClassifierMetrics, ExpectedAgeUsesMidpoints) {
  std::vector<float> p(8, 0.f);
  p[0] = .5f;  // midpoint 1
  p[7] = .5f;  // midpoint 80
  EXPECT_FLOAT_EQ(expected_age(p, adience_intervals()), 40.5f);
  EXPECT_THROW(expected_age({1.f}, adience_intervals()), std::invalid_argument);
}

// With an age-regression head the interval is the one nearest its years (as labels are made from
// ages), whatever the interval head says; without one, the interval head's most likely.
TEST(ClassifierMetrics, PredictedIntervalFollowsTheYearsHead) {
  const auto intervals = adience_intervals();
  EXPECT_EQ(predicted_interval(one_hot(4), 45.f, intervals), 5);    // 2 from (38, 43), 3 from (48, 53)
  EXPECT_EQ(predicted_interval(one_hot(4), 22.5f, intervals), 3);   // halfway: the lower, (15, 20)
  EXPECT_EQ(predicted_interval(one_hot(4), 70.f, intervals), 7);
  EXPECT_EQ(predicted_interval(one_hot(4), std::nullopt, intervals), 4);
  // evaluate_classifier scores that interval: face 1 right by its years, face 2 wrong by them.
  const std::vector<FaceLabel> labels = {{0, 5, 41}, {0, 4, 30}};
  const std::vector<FacePrediction> predictions = {{{1.f, 0.f}, one_hot(4), 40.f}, {{1.f, 0.f}, one_hot(4), 50.f}};
  const auto r = evaluate_classifier(labels, predictions, intervals, 0);
  EXPECT_DOUBLE_EQ(r.age_exact, 0.5);
  EXPECT_DOUBLE_EQ(r.age_1off, 0.5);  // 50 y is (48, 53), two from (25, 32)
  EXPECT_EQ(r.age_confusion[5][5], 1);
  EXPECT_EQ(r.age_confusion[4][6], 1);
}

TEST(ClassifierMetrics, MismatchedOutputsAreRefused) {
  EXPECT_THROW(evaluate_classifier({{0, 0, 1}}, {{{1.f, 0.f}, {1.f, 0.f}, {}}}, adience_intervals(), 0),
               std::invalid_argument);
  EXPECT_THROW(evaluate_classifier({{0, 0, 1}}, {}, adience_intervals(), 0), std::invalid_argument);
}

}  // namespace
}  // namespace facekit::eval
