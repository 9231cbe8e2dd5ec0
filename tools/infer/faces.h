// One frame's faces: the detector's boxes, filtered as the user asked, then classified in one
// batch with the shared face crop (datasets/preprocess) - exactly the crop training used.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "datasets/box.h"
#include "eval/detection_metrics.h"
#include "tools/facekit/classifiers.h"

namespace facekit::infer {

struct Face {
  Box box;
  float score = 0;  // detector confidence
  std::vector<float> gender_dist, age_dist;  // softmax outputs, in the config's label order
  std::optional<float> age_years;            // the age-regression head's expected age, calibrated
  int track = -1;                            // video: the track this face belongs to

  int gender() const;  // argmax of gender_dist, -1 before classification
  // The predicted age interval (eval::predicted_interval: from age_years where there is one), -1
  // before classification.
  int age(const std::vector<AgeInterval>& intervals) const;
};

struct FaceFilter {
  float min_face = 0;  // drop faces whose longer side is below this many pixels
  int max_faces = 0;   // keep the most confident ones; 0: all
};

// The detections kept, most confident first.
std::vector<Face> select_faces(const std::vector<eval::ScoredBox>& detections, const FaceFilter& filter);

// Crops every face of `bgr` as the classifier's config says (at each of its zooms) and classifies
// them in one forward pass.
void classify_faces(const cv::Mat& bgr, const cli::Classifier& classifier, std::vector<Face>* faces);

// "Male, (25, 32)"; verbose: "Male 0.97, (25, 32) 0.61, 27 y".
std::string face_label(const Face& face, const AgeGenderConfig& config, bool verbose);

}  // namespace facekit::infer
