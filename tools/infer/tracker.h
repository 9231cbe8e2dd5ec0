// Faces followed through a video: each detection is matched to a track by overlap, and a track's
// gender and age distributions are averaged over time so that a face's label does not flicker
// between frames. Between detections (`--every N`) the boxes are carried along by optical flow.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "tools/infer/faces.h"

namespace facekit::infer {

struct TrackerOptions {
  float match_iou = 0.3f;  // a detection continues a track when their boxes overlap this much
  float smoothing = 0.3f;  // weight of the newest frame in the exponential moving average
  int max_missed = 5;      // detection frames a track survives without a matching face
};

class FaceTracker {
 public:
  explicit FaceTracker(TrackerOptions options = {}) : options_(options) {}

  // A frame with fresh detections (already classified): matches them to tracks (greedily, most
  // overlapping pairs first), starts new tracks, and replaces each face's distributions with its
  // track's smoothed ones.
  void update(std::vector<Face>* faces);

  // A frame without detection: every live track's face, moved by the median optical flow of the
  // points inside its box between `previous` and `current` (grey images).
  std::vector<Face> follow(const cv::Mat& previous, const cv::Mat& current);

 private:
  struct Track {
    int id = 0;
    Face face;  // last box, smoothed distributions
    int missed = 0;
  };
  void smooth(Track* track, const Face& observed) const;

  TrackerOptions options_;
  std::vector<Track> tracks_;
  int next_id_ = 0;
};

}  // namespace facekit::infer
