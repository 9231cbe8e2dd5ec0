// Detection metrics on hand-computed cases, and the step AP against scikit-learn.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "eval/detection_metrics.h"

namespace facekit::eval {
namespace {

Box square(float x, float y, float side) { return {x, y, x + side, y + side}; }

ImageDetections image(std::vector<GroundTruth> truth, std::vector<ScoredBox> detections) {
  return {"image", std::move(truth), std::move(detections)};
}

double voc_ap(const std::vector<ImageDetections>& images, float min_side = 0) {
  return average_precision_voc(pr_curve(match_detections(images, 0.5f, min_side)));
}

// GT A, B; detections: .9 on A (TP), .8 elsewhere (FP), .7 on B (TP).
// Curve: (R .5, P 1), (R .5, P .5), (R 1, P 2/3).
TEST(DetectionMetrics, HandComputedApVocCocoAndStep) {
  const std::vector<ImageDetections> images = {
      image({{square(0, 0, 10)}, {square(20, 20, 10)}},
            {{square(0, 0, 10), .9f}, {square(50, 50, 10), .8f}, {square(20, 20, 10), .7f}})};
  const PrCurve curve = pr_curve(match_detections(images, 0.5f));
  ASSERT_EQ(curve.recall.size(), 3u);
  EXPECT_NEAR(average_precision_voc(curve), 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(average_precision_step(curve), 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  // 51 recall points up to .5 see precision 1, the 50 above see 2/3.
  EXPECT_NEAR(average_precision_coco101(curve), (51 + 50 * 2.0 / 3.0) / 101, 1e-12);
}

// Equal scores form one threshold: the order of ties does not change AP.
// 3 GT; .9 TP; .8 TP and .8 FP -> (R 1/3, P 1), (R 2/3, P 2/3): AP = 1/3 + 2/9.
TEST(DetectionMetrics, TiesDoNotDependOnOrder) {
  const std::vector<GroundTruth> truth = {{square(0, 0, 10)}, {square(20, 0, 10)}, {square(40, 0, 10)}};
  const ScoredBox first{square(0, 0, 10), .9f}, hit{square(20, 0, 10), .8f}, miss{square(90, 90, 10), .8f};
  const double a = voc_ap({image(truth, {first, hit, miss})});
  const double b = voc_ap({image(truth, {first, miss, hit})});
  EXPECT_NEAR(a, 1.0 / 3 + 2.0 / 9, 1e-12);
  EXPECT_NEAR(b, a, 1e-12);
}

// Per-image errors at an operating threshold. GT: A, B, C, and an ignore region I. Detections:
// .9 on A (TP), .8 on A again (FP: duplicate), .6 on I (ignored: neither), .5 far away (FP),
// .2 on B (below the threshold: dropped, so B is missed). C is never detected: missed.
TEST(DetectionMetrics, ImageErrorsAtAThreshold) {
  const ImageDetections one = image(
      {{square(0, 0, 10)}, {square(20, 0, 10)}, {square(40, 0, 10)}, {square(60, 0, 10), /*ignore=*/true}},
      {{square(0, 0, 10), .8f}, {square(0, 0, 10), .9f}, {square(60, 0, 10), .6f}, {square(90, 90, 10), .5f},
       {square(20, 0, 10), .2f}});
  const ImageErrors errors = image_errors(one, 0.5f, 0.25f);
  ASSERT_EQ(errors.true_positives.size(), 1u);
  ASSERT_EQ(errors.false_positives.size(), 2u);
  ASSERT_EQ(errors.missed.size(), 2u);
  EXPECT_EQ(errors.count(), 4u);
  EXPECT_EQ(errors.false_positives[0].x1, 0.f);   // the duplicate (.8) comes first by score
  EXPECT_EQ(errors.false_positives[1].x1, 90.f);
  EXPECT_EQ(errors.missed[0].x1, 20.f);
  EXPECT_EQ(errors.missed[1].x1, 40.f);
  // At threshold .1 the .2 detection finds B: one error fewer.
  EXPECT_EQ(image_errors(one, 0.5f, 0.1f).count(), 3u);
}

// A second detection of the same face is a false positive.
TEST(DetectionMetrics, DuplicatesAreFalsePositives) {
  const std::vector<ImageDetections> images = {
      image({{square(0, 0, 10)}}, {{square(0, 0, 10), .9f}, {square(0, 0, 10.5f), .8f}})};
  const Matching matching = match_detections(images, 0.5f);
  EXPECT_EQ(matching.detections[1].outcome, Outcome::kFalsePositive);
  EXPECT_NEAR(voc_ap(images), 1.0, 1e-12);
  const OperatingPoint point = operating_point(matching, 0.5f);
  EXPECT_EQ(point.true_positives, 1);
  EXPECT_EQ(point.false_positives, 1);
  EXPECT_NEAR(point.precision, 0.5, 1e-12);
  EXPECT_NEAR(point.recall, 1.0, 1e-12);
}

// A 20 px face, a 10 px face and an invalid one; a false positive scores highest.
// all:   .95 FP, .9 TP, .8 TP, .7 ignored -> envelope 2/3 over recall 0..1: AP 2/3
// min16: the 10 px face is ignored too -> .95 FP, .9 TP (R 1, P .5): AP .5
TEST(DetectionMetrics, IgnoreRegionsAndSizeBuckets) {
  const std::vector<ImageDetections> images = {image(
      {{square(0, 0, 20)}, {square(50, 50, 10)}, {square(100, 100, 30), /*ignore=*/true}},
      {{square(200, 200, 20), .95f}, {square(0, 0, 20), .9f}, {square(50, 50, 10), .8f}, {square(100, 100, 30), .7f}})};
  EXPECT_NEAR(voc_ap(images, 0), 2.0 / 3, 1e-12);
  EXPECT_NEAR(voc_ap(images, 16), 0.5, 1e-12);
  const Matching min16 = match_detections(images, 0.5f, 16);
  EXPECT_EQ(min16.num_truth, 1);
  EXPECT_EQ(min16.detections[2].outcome, Outcome::kIgnored);
  EXPECT_EQ(min16.detections[3].outcome, Outcome::kIgnored);
  const DetectionReport report = evaluate_detections(images, 0.5f);
  ASSERT_EQ(report.buckets.size(), 4u);
  EXPECT_EQ(report.buckets[0].num_truth, 2);
  EXPECT_EQ(report.buckets[2].num_truth, 0);  // min32: nothing counts, AP 0
  EXPECT_EQ(report.buckets[2].ap50, 0.0);
}

// COCO's area-range rule (cocoeval.py evaluateImg): an unmatched detection smaller than the bucket
// is ignored, not false. A 34 px face, found by a 30x34 box (IoU .88), and two boxes on background:
// 10 px (.95) and 20 px (.85).
// all:   .95 FP, .9 TP, .85 FP -> AP .5;  min16: the 10 px box is ignored -> AP 1;
// min32: the 20 px box too, and the 30 px detection still counts: it matches a face that counts.
TEST(DetectionMetrics, SmallUnmatchedDetectionsAreOutsideTheSizeBucket) {
  const std::vector<ImageDetections> images = {
      image({{square(0, 0, 34)}}, {{square(100, 100, 10), .95f}, {{0, 0, 30, 34}, .9f}, {square(200, 200, 20), .85f}})};
  EXPECT_NEAR(voc_ap(images, 0), 0.5, 1e-12);
  EXPECT_NEAR(voc_ap(images, 16), 1.0, 1e-12);
  const Matching min32 = match_detections(images, 0.5f, 32);
  ASSERT_EQ(min32.detections.size(), 3u);
  EXPECT_EQ(min32.detections[0].outcome, Outcome::kIgnored);
  EXPECT_EQ(min32.detections[1].outcome, Outcome::kTruePositive);
  EXPECT_EQ(min32.detections[2].outcome, Outcome::kIgnored);
}

// IoU exactly 0.5 matches; a valid face is preferred over an overlapping ignore region.
TEST(DetectionMetrics, ThresholdEdgeAndMatchingOrder) {
  const auto half = match_detections({image({{square(0, 0, 10)}}, {{{0, 0, 10, 20}, .9f}})}, 0.5f);
  EXPECT_EQ(half.detections[0].outcome, Outcome::kTruePositive);
  const auto both = match_detections(
      {image({{{0, 0, 10, 11}, /*ignore=*/true}, {square(0, 0, 10)}}, {{{0, 0, 10, 11}, .9f}})}, 0.5f);
  EXPECT_EQ(both.detections[0].outcome, Outcome::kTruePositive);
  EXPECT_EQ(voc_ap({image({{square(0, 0, 10)}}, {})}), 0.0);
}

// COCO AP over IoU .5:.95: a box shifted so IoU is 0.72 counts for thresholds .50 to .70 only.
TEST(DetectionMetrics, CocoApOverIouThresholds) {
  // 20x20 face, detection shifted by d px horizontally: IoU = (20 - d) / (20 + d) = 0.72.
  const float d = 20.f * (1 - 0.72f) / (1 + 0.72f);
  const std::vector<ImageDetections> images = {image({{square(0, 0, 20)}}, {{{d, 0, 20 + d, 20}, .9f}})};
  const DetectionReport report = evaluate_detections(images, 0.5f);
  EXPECT_NEAR(report.coco_ap, 5.0 / 10, 1e-6);  // thresholds .50 .55 .60 .65 .70 match
}

// AP at IoU 0.3 and 0.75 beside AP@0.5, per bucket: two 20 px faces, found by boxes shifted so
// that IoU is 0.4 (score .9) and 0.6 (.8). At 0.3 both match (AP 1); at 0.5 only the second, after
// a false positive (P .5 at R .5: AP .25); at 0.75 neither (AP 0). The JSON carries all three.
TEST(DetectionMetrics, ApAtLooseAndStrictIou) {
  const auto shift_for_iou = [](float iou) { return 20.f * (1 - iou) / (1 + iou); };  // IoU = (20 - d) / (20 + d)
  const float d4 = shift_for_iou(0.4f), d6 = shift_for_iou(0.6f);
  const std::vector<ImageDetections> images = {image({{square(0, 0, 20)}, {square(100, 0, 20)}},
                                                     {{{d4, 0, 20 + d4, 20}, .9f}, {{100 + d6, 0, 120 + d6, 20}, .8f}})};
  const DetectionReport report = evaluate_detections(images, 0.5f);
  for (const SizeBucket& bucket : {report.buckets[0], report.buckets[1]}) {  // all, min16: the same faces
    SCOPED_TRACE(bucket.name);
    EXPECT_NEAR(bucket.ap30, 1.0, 1e-9);
    EXPECT_NEAR(bucket.ap50, 0.25, 1e-9);
    EXPECT_NEAR(bucket.ap75, 0.0, 1e-9);
  }
  const std::string json = report_json(report, 1.0);
  EXPECT_NE(json.find("\"ap30\": {\"all\": 1, \"min16\": 1, \"min32\": 0, \"min64\": 0}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"ap75\": {\"all\": 0,"), std::string::npos) << json;
}

// The step AP equals scikit-learn's average_precision_score on the same matched detections,
// scaled by the share of faces found (sklearn's recall counts only the positives it is given).
TEST(DetectionMetrics, StepApAgreesWithScikitLearn) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> position(0, 300), side(8, 60), jitter(-6, 6);
  std::uniform_int_distribution<int> score_bucket(0, 40);  // coarse scores make ties
  std::vector<ImageDetections> images;
  for (int i = 0; i < 40; ++i) {
    ImageDetections im{"im" + std::to_string(i), {}, {}};
    for (int f = 0; f < 6; ++f) {
      const Box face = square(position(rng), position(rng), side(rng));
      im.truth.push_back({face, f == 5});
      if (f % 2 == 0) im.detections.push_back({{face.x1 + jitter(rng), face.y1 + jitter(rng), face.x2, face.y2}, score_bucket(rng) / 40.f});
    }
    for (int f = 0; f < 3; ++f) im.detections.push_back({square(position(rng), position(rng), side(rng)), score_bucket(rng) / 40.f});
    images.push_back(std::move(im));
  }
  const Matching matching = match_detections(images, 0.5f, 16);
  const double ours = average_precision_step(pr_curve(matching));
  const std::string csv = "/tmp/facekit_sklearn_" + std::to_string(::getpid()) + ".csv";
  int true_positives = 0;
  {
    std::ofstream out(csv);
    for (const auto& d : matching.detections) {
      if (d.outcome == Outcome::kIgnored) continue;
      true_positives += d.outcome == Outcome::kTruePositive;
      out << (d.outcome == Outcome::kTruePositive ? 1 : 0) << "," << d.score << "\n";
    }
  }
  const std::string command =
      "/usr/bin/python3 -c \"import numpy as np; from sklearn.metrics import average_precision_score as ap; "
      "d = np.loadtxt('" + csv + "', delimiter=',', ndmin=2); print('%.12f' % ap(d[:, 0], d[:, 1]))\" 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[256] = {};
  const bool read = fgets(buffer, sizeof(buffer), pipe) != nullptr;
  const int status = pclose(pipe);
  std::remove(csv.c_str());
  ASSERT_TRUE(read && status == 0) << "python3-sklearn missing? " << buffer;
  const double sklearn = std::stod(buffer) * true_positives / matching.num_truth;
  std::cout << "  step AP facekit " << ours << ", scikit-learn " << sklearn << "\n";
  EXPECT_GT(true_positives, 10);
  EXPECT_NEAR(ours, sklearn, 1e-6);
}

}  // namespace
}  // namespace facekit::eval
