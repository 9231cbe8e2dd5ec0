#include "tools/infer/draw.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace facekit::infer {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kMaleColour(230, 140, 40);     // BGR: blue
const cv::Scalar kFemaleColour(120, 60, 230);   // BGR: pink-red
const cv::Scalar kUnknownColour(60, 200, 60);   // BGR: green, an unclassified face
const cv::Scalar kTextColour(255, 255, 255);

int overlap_area(const cv::Rect& r, const std::vector<cv::Rect>& placed) {
  int area = 0;
  for (const auto& p : placed) area += (r & p).area();
  return area;
}

cv::Rect clamp_inside(cv::Rect r, cv::Size image) {
  r.x = std::clamp(r.x, 0, std::max(0, image.width - r.width));
  r.y = std::clamp(r.y, 0, std::max(0, image.height - r.height));
  return r;
}

// Candidate positions, best first: just above the face, just below it, then stepping further up
// and further down by half a label height.
std::vector<cv::Rect> candidates(const Box& face, cv::Size size, cv::Size image) {
  const int x = static_cast<int>(std::lround(face.x1));
  const int above = static_cast<int>(std::lround(face.y1)) - size.height;
  const int below = static_cast<int>(std::lround(face.y2));
  std::vector<cv::Rect> list = {clamp_inside({x, above, size.width, size.height}, image),
                                clamp_inside({x, below, size.width, size.height}, image)};
  const int step = std::max(1, size.height / 2);
  for (int k = 1; k * step <= image.height; ++k) {
    list.push_back(clamp_inside({x, above - k * step, size.width, size.height}, image));
    list.push_back(clamp_inside({x, below + k * step, size.width, size.height}, image));
  }
  return list;
}

cv::Scalar colour_of(const Face& face) {
  const int g = face.gender();
  return g < 0 ? kUnknownColour : g == 0 ? kMaleColour : kFemaleColour;
}

}  // namespace

std::vector<cv::Rect> place_labels(const std::vector<Box>& faces, const std::vector<cv::Size>& sizes, cv::Size image) {
  std::vector<cv::Rect> placed;
  for (size_t i = 0; i < faces.size(); ++i) {
    cv::Rect best;
    int best_overlap = -1;
    for (const auto& c : candidates(faces[i], sizes[i], image)) {
      const int overlap = overlap_area(c, placed);
      if (best_overlap < 0 || overlap < best_overlap) best = c, best_overlap = overlap;
      if (overlap == 0) break;
    }
    placed.push_back(best);
  }
  return placed;
}

LabelStyle label_style(cv::Size image) {
  // 0.5 (about 12 px text) up to a 500 px shorter side, growing with it beyond: a label stays
  // about 2.5 % of the picture's height, legible when a large photo is viewed scaled down.
  const double scale = std::max(0.5, std::min(image.width, image.height) / 1000.0);
  return {scale, std::max(1, static_cast<int>(std::lround(scale * 2))), std::max(3, static_cast<int>(scale * 6))};
}

void draw_faces(cv::Mat* image, const std::vector<Face>& faces, const std::vector<std::string>& labels) {
  const LabelStyle style = label_style(image->size());
  std::vector<Box> boxes;
  std::vector<cv::Size> sizes;
  std::vector<int> baselines;
  for (size_t i = 0; i < faces.size(); ++i) {
    int baseline = 0;
    const cv::Size text = cv::getTextSize(labels[i], kFont, style.font_scale, style.thickness, &baseline);
    boxes.push_back(faces[i].box);
    sizes.emplace_back(text.width + 2 * style.padding, text.height + baseline + 2 * style.padding);
    baselines.push_back(baseline);
  }
  const auto places = place_labels(boxes, sizes, image->size());
  for (size_t i = 0; i < faces.size(); ++i) {
    const Box& b = faces[i].box;
    cv::rectangle(*image, cv::Point(std::lround(b.x1), std::lround(b.y1)), cv::Point(std::lround(b.x2), std::lround(b.y2)),
                  colour_of(faces[i]), style.thickness + 1);
  }
  // Labels after all boxes, so no box line crosses a label.
  for (size_t i = 0; i < faces.size(); ++i) {
    cv::rectangle(*image, places[i], colour_of(faces[i]), cv::FILLED);
    const cv::Point origin(places[i].x + style.padding, places[i].y + places[i].height - style.padding - baselines[i]);
    cv::putText(*image, labels[i], origin, kFont, style.font_scale, kTextColour, style.thickness, cv::LINE_AA);
  }
}

}  // namespace facekit::infer
