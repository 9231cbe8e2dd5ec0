// The pipeline metrics on a hand-computed case, the age-group mapping, and the demographics file.
#include <gtest/gtest.h>

#include <filesystem>

#include "datasets/formats/face_labels.h"
#include "eval/pipeline_metrics.h"
#include "tests/test_util.h"

namespace facekit::eval {
namespace {

namespace fs = std::filesystem;

TEST(PipelineMetrics, AgeGroupsFollowIntervalMidpoints) {
  const auto adience = adience_intervals();
  const int expected[] = {kYoungAdult, kYoungAdult, kYoungAdult, kYoungAdult, kYoungAdult, kAdult, kMiddleAge, kSenior};
  for (size_t i = 0; i < adience.size(); ++i) EXPECT_EQ(age_group_of_interval(adience[i]), expected[i]) << adience[i].label();
}

// Image 1: faces A (male, Adult) and B (female, Senior); detections: .9 on A saying male (38, 43),
// .8 on A again (a duplicate: A is taken, it matches nothing), .7 on B saying male (60, 100).
// Image 2: face C (Not Sure, Young Adult); a .1 detection on it is below the threshold.
// Detected 2 of 3; gender: A right, B wrong -> 1/2; age: A Adult right, B Senior right -> 2/2.
TEST(PipelineMetrics, HandComputed) {
  const Box a{0, 0, 20, 20}, b{50, 50, 80, 80}, c{10, 10, 30, 30};
  const std::vector<std::vector<DemographicFace>> labels = {
      {{"1.jpg", 0, a, kMale, kAdult}, {"1.jpg", 1, b, kFemale, kSenior}}, {{"2.jpg", 0, c, -1, kYoungAdult}}};
  const std::vector<std::vector<PipelineFace>> detections = {
      {{a, .9f, kMale, 5}, {Box{1, 1, 21, 21}, .8f, kFemale, 0}, {b, .7f, kMale, 7}}, {{c, .1f, kMale, 4}}};
  const auto r = evaluate_pipeline(labels, detections, adience_intervals(), 0.25f);
  EXPECT_EQ(r.labelled, 3);
  EXPECT_EQ(r.detected, 2);
  EXPECT_DOUBLE_EQ(r.detected_fraction, 2.0 / 3);
  EXPECT_EQ(r.gender_n, 2);
  EXPECT_DOUBLE_EQ(r.gender_acc, 0.5);
  EXPECT_EQ(r.age_n, 2);
  EXPECT_DOUBLE_EQ(r.age_group_acc, 1.0);
  EXPECT_EQ(r.age_group_confusion[kSenior][kSenior], 1);
  EXPECT_EQ(r.age_group_confusion[kAdult][kAdult], 1);
}

TEST(PipelineMetrics, WiderDemographicsFile) {
  const fs::path csv = fs::path(FACEKIT_SHARED_DIR) / "data/wider-val-dev/demographics_416.csv";
  FACEKIT_REQUIRE_PATH(csv);
  const auto faces = read_wider_demographics(csv.string());
  ASSERT_EQ(faces.size(), 679u);  // data/README
  int gender_known = 0, age_known = 0;
  for (const auto& f : faces) {
    gender_known += f.gender >= 0;
    age_known += f.age_group != kUnknownGroup;
  }
  EXPECT_EQ(gender_known, 497);  // 679 minus 182 "Not Sure"
  EXPECT_EQ(age_known, 415);     // 679 minus 264 "Not Sure"
  EXPECT_EQ(faces[0].image, "0--Parade/0_Parade_Parade_0_125.jpg");
  EXPECT_EQ(faces[0].gender, kFemale);
  EXPECT_EQ(faces[0].age_group, kMiddleAge);
  EXPECT_FLOAT_EQ(faces[0].box.x2, 210.84f + 10.56f);
}

}  // namespace
}  // namespace facekit::eval
