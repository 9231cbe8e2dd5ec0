// An axis-aligned box in pixels and its intersection over union: shared by NMS (models/darknet/
// decode) and the metrics (eval/), so both mean the same thing by "overlap".
#pragma once

#include <algorithm>

namespace facekit {

struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
};

inline float iou(const Box& a, const Box& b) {
  const float iw = std::max(0.f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float ih = std::max(0.f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = iw * ih;
  const float uni = a.width() * a.height() + b.width() * b.height() - inter;
  return uni > 0 ? inter / uni : 0.f;
}

}  // namespace facekit
