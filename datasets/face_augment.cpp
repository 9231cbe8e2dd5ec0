#include "datasets/face_augment.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace facekit {
namespace {

float uniform(std::mt19937* rng, float low, float high) { return std::uniform_real_distribution<float>(low, high)(*rng); }

Box jittered(const Box& face, const FaceAugmentOptions& options, std::mt19937* rng) {
  const float side = std::max(face.width(), face.height());
  const float cx = (face.x1 + face.x2) / 2 + uniform(rng, -options.shift, options.shift) * side;
  const float cy = (face.y1 + face.y2) / 2 + uniform(rng, -options.shift, options.shift) * side;
  const float scale = 1 + uniform(rng, -options.scale, options.scale);
  const float half_w = face.width() * scale / 2, half_h = face.height() * scale / 2;
  return {cx - half_w, cy - half_h, cx + half_w, cy + half_h};
}

// Contrast and brightness as one linear map, then saturation as a blend with the grey image.
void change_colour(cv::Mat* crop, const FaceAugmentOptions& options, std::mt19937* rng) {
  const float contrast = 1 + uniform(rng, -options.contrast, options.contrast);
  const float brightness = 255 * uniform(rng, -options.brightness, options.brightness);
  const float saturation = 1 + uniform(rng, -options.saturation, options.saturation);
  cv::Mat image;
  crop->convertTo(image, CV_32FC3, contrast, brightness);
  cv::Mat grey, grey3;
  cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey, grey3, cv::COLOR_GRAY2BGR);
  cv::addWeighted(image, saturation, grey3, 1 - saturation, 0, image);
  image.convertTo(*crop, CV_8UC3);  // saturates to [0, 255]
}

}  // namespace

cv::Mat augmented_face_crop(const cv::Mat& bgr, const Box& face, const FaceCropOptions& crop,
                            const FaceAugmentOptions& augment, std::mt19937* rng) {
  cv::Mat out = face_crop(bgr, jittered(face, augment, rng), crop);
  const float angle = uniform(rng, -augment.rotate_deg, augment.rotate_deg);
  const cv::Point2f centre(out.cols / 2.f, out.rows / 2.f);
  cv::warpAffine(out, out, cv::getRotationMatrix2D(centre, angle, 1.0), out.size(), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, crop.fill);
  if (uniform(rng, 0, 1) < augment.flip) cv::flip(out, out, 1);
  change_colour(&out, augment, rng);
  return out;
}

}  // namespace facekit
