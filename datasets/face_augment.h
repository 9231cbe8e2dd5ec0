// Training-time changes to a face crop: the box jittered before cropping, then a small rotation,
// a horizontal flip and colour changes. Every random draw comes from the generator passed in, so a
// seed reproduces a run whatever the thread count.
#pragma once

#include <random>

#include <opencv2/core.hpp>

#include "datasets/preprocess.h"

namespace facekit {

struct FaceAugmentOptions {
  float shift = 0.08f;        // box centre moves up to this share of its longer side
  float scale = 0.10f;        // box side scales by up to +-10 %
  float rotate_deg = 10.f;    // uniform in +-rotate_deg
  float flip = 0.5f;          // probability of a horizontal flip
  float brightness = 0.2f;    // added, as a share of 255, uniform in +-
  float contrast = 0.2f;      // multiplied by 1 +- contrast
  float saturation = 0.3f;    // blend with grey: 1 +- saturation
};

// The training crop: face_crop of a jittered box, then rotation, flip and colour.
cv::Mat augmented_face_crop(const cv::Mat& bgr, const Box& face, const FaceCropOptions& crop,
                            const FaceAugmentOptions& augment, std::mt19937* rng);

}  // namespace facekit
