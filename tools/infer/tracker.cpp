#include "tools/infer/tracker.h"

#include <algorithm>
#include <tuple>

#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

namespace facekit::infer {
namespace {

constexpr int kPointsPerSide = 6;  // a grid of points per face for the optical flow

void blend(std::vector<float>* average, const std::vector<float>& newest, float weight) {
  if (average->size() != newest.size()) {
    *average = newest;
    return;
  }
  for (size_t i = 0; i < newest.size(); ++i) (*average)[i] += weight * (newest[i] - (*average)[i]);
}

float median(std::vector<float> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

// The median displacement of a grid of points inside `box`, or zero when none could be followed.
cv::Point2f box_motion(const Box& box, const cv::Mat& previous, const cv::Mat& current) {
  std::vector<cv::Point2f> from, to;
  for (int i = 1; i <= kPointsPerSide; ++i) {
    for (int j = 1; j <= kPointsPerSide; ++j) {
      from.emplace_back(box.x1 + box.width() * j / (kPointsPerSide + 1), box.y1 + box.height() * i / (kPointsPerSide + 1));
    }
  }
  std::vector<unsigned char> found;
  std::vector<float> error;
  cv::calcOpticalFlowPyrLK(previous, current, from, to, found, error);
  std::vector<float> dx, dy;
  for (size_t k = 0; k < from.size(); ++k) {
    if (!found[k]) continue;
    dx.push_back(to[k].x - from[k].x);
    dy.push_back(to[k].y - from[k].y);
  }
  if (dx.empty()) return {0, 0};
  return {median(dx), median(dy)};
}

}  // namespace

void FaceTracker::smooth(Track* track, const Face& observed) const {
  blend(&track->face.gender_dist, observed.gender_dist, options_.smoothing);
  blend(&track->face.age_dist, observed.age_dist, options_.smoothing);
  if (observed.age_years && track->face.age_years) {
    track->face.age_years = *track->face.age_years + options_.smoothing * (*observed.age_years - *track->face.age_years);
  } else {
    track->face.age_years = observed.age_years;
  }
  track->face.box = observed.box;
  track->face.score = observed.score;
}

void FaceTracker::update(std::vector<Face>* faces) {
  std::vector<std::tuple<float, size_t, size_t>> pairs;  // (iou, track, face)
  for (size_t t = 0; t < tracks_.size(); ++t) {
    for (size_t f = 0; f < faces->size(); ++f) {
      const float overlap = iou(tracks_[t].face.box, (*faces)[f].box);
      if (overlap >= options_.match_iou) pairs.emplace_back(overlap, t, f);
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  std::vector<bool> track_taken(tracks_.size(), false), face_taken(faces->size(), false);
  for (const auto& [overlap, t, f] : pairs) {
    if (track_taken[t] || face_taken[f]) continue;
    track_taken[t] = face_taken[f] = true;
    smooth(&tracks_[t], (*faces)[f]);
    tracks_[t].missed = 0;
    (*faces)[f] = tracks_[t].face;
    (*faces)[f].track = tracks_[t].id;
  }
  for (size_t t = 0; t < track_taken.size(); ++t) {
    if (!track_taken[t]) ++tracks_[t].missed;
  }
  tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(), [&](const Track& t) { return t.missed > options_.max_missed; }),
                tracks_.end());
  for (size_t f = 0; f < faces->size(); ++f) {
    if (face_taken[f]) continue;
    (*faces)[f].track = next_id_;
    tracks_.push_back({next_id_++, (*faces)[f], 0});
  }
}

std::vector<Face> FaceTracker::follow(const cv::Mat& previous, const cv::Mat& current) {
  std::vector<Face> faces;
  for (auto& track : tracks_) {
    if (track.missed > 0) continue;  // lost at the last detection: do not draw a stale box
    const cv::Point2f motion = box_motion(track.face.box, previous, current);
    Box& b = track.face.box;
    const float w = static_cast<float>(current.cols), h = static_cast<float>(current.rows);
    b = {std::clamp(b.x1 + motion.x, 0.f, w), std::clamp(b.y1 + motion.y, 0.f, h), std::clamp(b.x2 + motion.x, 0.f, w),
         std::clamp(b.y2 + motion.y, 0.f, h)};
    Face face = track.face;
    face.track = track.id;
    faces.push_back(std::move(face));
  }
  return faces;
}

}  // namespace facekit::infer
