#include "models/darknet/decode.h"

#include <algorithm>
#include <cmath>

namespace facekit::darknet {
namespace {

struct Candidate {
  float cx, cy, w, h;  // network-input pixels
  float objectness;
  std::vector<float> class_probs;
};

// A head's output viewed as (anchors, entries, h, w) on the CPU.
torch::Tensor head_view(const torch::Tensor& output, int64_t item, int64_t anchors) {
  const auto x = output[item].detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return x.view({anchors, -1, x.size(1), x.size(2)});
}

void decode_yolo(const LayerDef& l, const torch::Tensor& output, int64_t item, int net_w, int net_h,
                 std::vector<Candidate>* out) {
  const int64_t anchors = static_cast<int64_t>(l.mask.size());
  const auto p = head_view(output, item, anchors);
  const auto a = p.accessor<float, 4>();
  const int64_t gh = p.size(2), gw = p.size(3);
  for (int64_t n = 0; n < anchors; ++n) {
    const float anchor_w = l.anchors[2 * l.mask[n]], anchor_h = l.anchors[2 * l.mask[n] + 1];
    for (int64_t j = 0; j < gh; ++j) {
      for (int64_t i = 0; i < gw; ++i) {
        Candidate c;
        c.objectness = a[n][4][j][i];
        c.cx = (i + a[n][0][j][i]) * net_w / gw;
        c.cy = (j + a[n][1][j][i]) * net_h / gh;
        if (l.new_coords) {  // AlexeyAB: w = 4 t^2 anchor, no exp
          c.w = a[n][2][j][i] * a[n][2][j][i] * 4 * anchor_w;
          c.h = a[n][3][j][i] * a[n][3][j][i] * 4 * anchor_h;
        } else {
          c.w = std::exp(a[n][2][j][i]) * anchor_w;
          c.h = std::exp(a[n][3][j][i]) * anchor_h;
        }
        for (int k = 0; k < l.classes; ++k) c.class_probs.push_back(a[n][5 + k][j][i]);
        out->push_back(std::move(c));
      }
    }
  }
}

// Region anchors are in grid cells, not pixels (get_region_box).
void decode_region(const LayerDef& l, const torch::Tensor& output, int64_t item, int net_w, int net_h,
                   std::vector<Candidate>* out) {
  const auto p = head_view(output, item, l.num);
  const auto a = p.accessor<float, 4>();
  const int64_t gh = p.size(2), gw = p.size(3);
  const int class_start = l.coords + (l.background ? 0 : 1);
  for (int64_t n = 0; n < l.num; ++n) {
    for (int64_t j = 0; j < gh; ++j) {
      for (int64_t i = 0; i < gw; ++i) {
        Candidate c;
        c.objectness = l.background ? 1.f : a[n][l.coords][j][i];
        c.cx = (i + a[n][0][j][i]) * net_w / gw;
        c.cy = (j + a[n][1][j][i]) * net_h / gh;
        c.w = std::exp(a[n][2][j][i]) * l.anchors[2 * n] * net_w / gw;
        c.h = std::exp(a[n][3][j][i]) * l.anchors[2 * n + 1] * net_h / gh;
        for (int k = 0; k < l.classes; ++k) c.class_probs.push_back(a[n][class_start + k][j][i]);
        out->push_back(std::move(c));
      }
    }
  }
}

// correct_yolo_boxes: undo the letterbox offset and scale.
Detection to_image(const Candidate& c, const LetterboxGeometry& g, int class_id, float score) {
  const float sx = static_cast<float>(g.image_w) / g.resized_w;
  const float sy = static_cast<float>(g.image_h) / g.resized_h;
  Detection d;
  d.x1 = std::clamp((c.cx - c.w / 2 - g.offset_x) * sx, 0.f, static_cast<float>(g.image_w));
  d.y1 = std::clamp((c.cy - c.h / 2 - g.offset_y) * sy, 0.f, static_cast<float>(g.image_h));
  d.x2 = std::clamp((c.cx + c.w / 2 - g.offset_x) * sx, 0.f, static_cast<float>(g.image_w));
  d.y2 = std::clamp((c.cy + c.h / 2 - g.offset_y) * sy, 0.f, static_cast<float>(g.image_h));
  d.score = score;
  d.class_id = class_id;
  return d;
}

}  // namespace

float box_iou(const Detection& a, const Detection& b) {
  const float iw = std::max(0.f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float ih = std::max(0.f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = iw * ih;
  const float uni = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 0.f;
}

std::vector<Detection> non_max_suppression(std::vector<Detection> detections, float iou_thresh) {
  std::stable_sort(detections.begin(), detections.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<Detection> kept;
  for (const auto& d : detections) {
    const bool overlaps = std::any_of(kept.begin(), kept.end(), [&](const Detection& k) {
      return k.class_id == d.class_id && box_iou(k, d) > iou_thresh;
    });
    if (!overlaps) kept.push_back(d);
  }
  return kept;
}

std::vector<Detection> decode_detections(const NetDef& net, const std::vector<torch::Tensor>& outputs,
                                         const LetterboxGeometry& geometry, float conf_thresh,
                                         float iou_thresh, int64_t item) {
  std::vector<Candidate> candidates;
  for (const auto& layer : net.layers) {
    const auto& output = outputs[static_cast<size_t>(layer.index)];
    if (layer.type == LayerType::kYolo) decode_yolo(layer, output, item, net.width, net.height, &candidates);
    if (layer.type == LayerType::kRegion) decode_region(layer, output, item, net.width, net.height, &candidates);
  }
  std::vector<Detection> detections;
  for (const auto& c : candidates) {
    if (c.objectness < conf_thresh) continue;
    for (size_t k = 0; k < c.class_probs.size(); ++k) {
      const float score = c.objectness * c.class_probs[k];
      if (score >= conf_thresh) detections.push_back(to_image(c, geometry, static_cast<int>(k), score));
    }
  }
  return non_max_suppression(std::move(detections), iou_thresh);
}

}  // namespace facekit::darknet
