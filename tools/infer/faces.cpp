#include "tools/infer/faces.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "datasets/preprocess.h"
#include "eval/classifier_metrics.h"

namespace facekit::infer {
namespace {

std::string with_probability(const std::string& label, float p) {
  char text[32];
  std::snprintf(text, sizeof text, " %.2f", p);
  return label + text;
}

}  // namespace

int Face::gender() const { return gender_dist.empty() ? -1 : eval::most_likely(gender_dist); }
int Face::age(const std::vector<AgeInterval>& intervals) const {
  return age_dist.empty() ? -1 : eval::predicted_interval(age_dist, age_years, intervals);
}

std::vector<Face> select_faces(const std::vector<eval::ScoredBox>& detections, const FaceFilter& filter) {
  std::vector<Face> faces;
  for (const auto& d : detections) {
    if (std::max(d.box.width(), d.box.height()) < filter.min_face) continue;
    faces.push_back({d.box, d.score, {}, {}, {}, -1});
  }
  std::stable_sort(faces.begin(), faces.end(), [](const Face& a, const Face& b) { return a.score > b.score; });
  if (filter.max_faces > 0 && faces.size() > static_cast<size_t>(filter.max_faces)) faces.resize(filter.max_faces);
  return faces;
}

void classify_faces(const cv::Mat& bgr, const cli::Classifier& classifier, std::vector<Face>* faces) {
  if (faces->empty()) return;
  const FaceCropOptions& crop = classifier.config.crop;
  std::vector<float> pixels;
  for (const auto& face : *faces) {
    for (float zoom : classifier.zooms) {
      append_normalised_chw(face_crop(bgr, face.box, zoomed(crop, zoom)), classifier.config.normalisation, &pixels);
    }
  }
  const auto crops = static_cast<int64_t>(faces->size() * classifier.zooms.size());
  const auto input = torch::from_blob(pixels.data(), {crops, 3, crop.size, crop.size});
  auto predictions = classifier.predict(input);
  for (size_t i = 0; i < faces->size(); ++i) {
    (*faces)[i].gender_dist = std::move(predictions[i].gender_prob);
    (*faces)[i].age_dist = std::move(predictions[i].age_prob);
    (*faces)[i].age_years = predictions[i].age_years;
  }
}

std::string face_label(const Face& face, const AgeGenderConfig& config, bool verbose) {
  const int g = face.gender(), a = face.age(config.intervals);
  if (g < 0 || a < 0) return "face";
  std::string gender = config.gender_labels[static_cast<size_t>(g)];
  std::string age = config.intervals[static_cast<size_t>(a)].label();
  if (!verbose) return gender + ", " + age;
  std::string label = with_probability(gender, face.gender_dist[g]) + ", " + with_probability(age, face.age_dist[a]);
  if (face.age_years) label += ", " + std::to_string(static_cast<int>(std::lround(*face.age_years))) + " y";
  return label;
}

}  // namespace facekit::infer
