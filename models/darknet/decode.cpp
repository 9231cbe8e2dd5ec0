#include "models/darknet/decode.h"

#include <algorithm>
#include <cmath>

namespace facekit::darknet {
namespace {

// A head's output (batch item) as rows: (anchors * h * w, entries), anchor-major.
torch::Tensor head_rows(const torch::Tensor& output, int64_t item, int64_t anchors) {
  const auto x = output[item].detach().to(torch::kCPU, torch::kFloat32);
  const int64_t h = x.size(1), w = x.size(2);
  return x.view({anchors, -1, h, w}).permute({0, 2, 3, 1}).reshape({anchors * h * w, -1});
}

// Column (i) and row (j) of every row of head_rows.
std::pair<torch::Tensor, torch::Tensor> cell_indices(int64_t anchors, int64_t h, int64_t w) {
  const auto i = torch::arange(w, torch::kFloat32).repeat({anchors * h});
  const auto j = torch::arange(h, torch::kFloat32).repeat_interleave(w).repeat({anchors});
  return {i, j};
}

// Anchor (w, h) of every row, in the units the layer stores them.
torch::Tensor anchor_sizes(const LayerDef& l, int64_t anchors, int64_t cells) {
  auto sizes = torch::empty({anchors, 2});
  for (int64_t n = 0; n < anchors; ++n) {
    const int a = l.type == LayerType::kYolo ? l.mask[static_cast<size_t>(n)] : static_cast<int>(n);
    sizes[n][0] = l.anchors[static_cast<size_t>(2 * a)];
    sizes[n][1] = l.anchors[static_cast<size_t>(2 * a + 1)];
  }
  return sizes.repeat_interleave(cells, 0);
}

// get_yolo_box: centre (i + x) / grid, size exp(t) * anchor (or 4 t^2 anchor with new_coords),
// anchors in input pixels; get_region_box: the same with anchors in grid cells.
Candidates decode_head(const LayerDef& l, const torch::Tensor& output, int64_t item, int net_w, int net_h) {
  const bool region = l.type == LayerType::kRegion;
  const int64_t anchors = region ? l.num : static_cast<int64_t>(l.mask.size());
  const int64_t h = l.out.h, w = l.out.w;
  const auto rows = head_rows(output, item, anchors);
  const auto [i, j] = cell_indices(anchors, h, w);
  auto sizes = anchor_sizes(l, anchors, h * w);
  if (region) sizes = sizes * torch::tensor({static_cast<float>(net_w) / w, static_cast<float>(net_h) / h});
  const auto cx = (i + rows.select(1, 0)) * (static_cast<float>(net_w) / w);
  const auto cy = (j + rows.select(1, 1)) * (static_cast<float>(net_h) / h);
  const auto t = rows.narrow(1, 2, 2);
  const auto size = (l.new_coords ? t * t * 4 : t.exp()) * sizes;
  const int64_t obj_at = region ? l.coords : 4;
  const int64_t class_at = region ? l.coords + (l.background ? 0 : 1) : 5;
  const auto objectness = (region && l.background) ? torch::ones({rows.size(0), 1}) : rows.narrow(1, obj_at, 1);
  Candidates c;
  c.boxes = torch::stack({cx - size.select(1, 0) / 2, cy - size.select(1, 1) / 2, cx + size.select(1, 0) / 2,
                          cy + size.select(1, 1) / 2},
                         1);
  c.scores = objectness * rows.narrow(1, class_at, l.classes);
  return c;
}

// correct_yolo_boxes: undo the letterbox offset and scale (not clipped: Darknet's NMS sees the
// whole boxes).
Detection to_image(Detection d, const LetterboxGeometry& g) {
  const float sx = static_cast<float>(g.image_w) / g.resized_w;
  const float sy = static_cast<float>(g.image_h) / g.resized_h;
  d.x1 = (d.x1 - g.offset_x) * sx;
  d.y1 = (d.y1 - g.offset_y) * sy;
  d.x2 = (d.x2 - g.offset_x) * sx;
  d.y2 = (d.y2 - g.offset_y) * sy;
  return d;
}

}  // namespace

Candidates decode_candidates(const NetDef& net, const std::vector<torch::Tensor>& outputs, int64_t item) {
  std::vector<torch::Tensor> boxes, scores;
  for (const auto& layer : net.layers) {
    if (layer.type != LayerType::kYolo && layer.type != LayerType::kRegion) continue;
    const auto head = decode_head(layer, outputs[static_cast<size_t>(layer.index)], item, net.width, net.height);
    boxes.push_back(head.boxes);
    scores.push_back(head.scores);
  }
  if (boxes.empty()) return {torch::empty({0, 4}), torch::empty({0, 0})};
  return {torch::cat(boxes), torch::cat(scores)};
}

std::vector<Detection> select_detections(const Candidates& candidates, float conf_thresh, float iou_thresh,
                                         const LetterboxGeometry* geometry) {
  std::vector<Detection> detections;
  const auto kept = (candidates.scores >= conf_thresh).nonzero();
  const auto boxes = candidates.boxes.accessor<float, 2>();
  const auto scores = candidates.scores.accessor<float, 2>();
  const auto index = kept.accessor<int64_t, 2>();
  for (int64_t r = 0; r < kept.size(0); ++r) {
    const int64_t k = index[r][0], c = index[r][1];
    Detection d{boxes[k][0], boxes[k][1], boxes[k][2], boxes[k][3], scores[k][c], static_cast<int>(c)};
    detections.push_back(geometry ? to_image(d, *geometry) : d);
  }
  return non_max_suppression(std::move(detections), iou_thresh);
}

std::vector<Detection> clipped_to_image(std::vector<Detection> detections, int width, int height) {
  const auto max_x = static_cast<float>(width), max_y = static_cast<float>(height);
  for (auto& d : detections) {
    d.x1 = std::clamp(d.x1, 0.f, max_x);
    d.y1 = std::clamp(d.y1, 0.f, max_y);
    d.x2 = std::clamp(d.x2, 0.f, max_x);
    d.y2 = std::clamp(d.y2, 0.f, max_y);
  }
  return detections;
}

std::vector<Detection> decode_detections(const NetDef& net, const std::vector<torch::Tensor>& outputs,
                                         const LetterboxGeometry& geometry, float conf_thresh,
                                         float iou_thresh, int64_t item) {
  return clipped_to_image(select_detections(decode_candidates(net, outputs, item), conf_thresh, iou_thresh, &geometry),
                          geometry.image_w, geometry.image_h);
}

float box_iou(const Detection& a, const Detection& b) {
  return iou({a.x1, a.y1, a.x2, a.y2}, {b.x1, b.y1, b.x2, b.y2});
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

}  // namespace facekit::darknet
