// Drawing faces and their labels so that they stay legible: a filled box with the text above each
// face, kept inside the image, and moved (above, below, then further up or down) until it overlaps
// no other label. The original project's labels were drawn in place and covered each other in
// group photos.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "tools/infer/faces.h"

namespace facekit::infer {

// Where each label goes: `faces[i]` gets a `sizes[i]` rectangle inside `image`, as close above the
// face as possible and overlapping no rectangle placed before it (faces are placed in the order
// given; callers pass the most confident first). When the image is too crowded for that, the
// least overlapping candidate is used.
std::vector<cv::Rect> place_labels(const std::vector<Box>& faces, const std::vector<cv::Size>& sizes, cv::Size image);

// Text height grows with the image so labels stay readable on large photos and fit small ones.
struct LabelStyle {
  double font_scale = 0.5;
  int thickness = 1;
  int padding = 3;
};
LabelStyle label_style(cv::Size image);

// Draws the boxes and labels (labels[i] for faces[i]) onto `image`.
void draw_faces(cv::Mat* image, const std::vector<Face>& faces, const std::vector<std::string>& labels);

}  // namespace facekit::infer
