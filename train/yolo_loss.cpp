#include "train/yolo_loss.h"

#include <algorithm>
#include <cmath>

#include "datasets/box.h"
#include "models/darknet/darknet_net.h"
#include "train/box_iou_loss.h"

namespace facekit::train {
namespace {

// Centre-size box (Darknet's `box`) -> corners, for facekit's iou.
Box corners(float x, float y, float w, float h) { return {x - w / 2, y - h / 2, x + w / 2, y + h / 2}; }
Box corners(const CentreBox& b) { return corners(b.x, b.y, b.w, b.h); }

// How an element of the head input is trained.
enum Kind : uint8_t {
  kBce,       // logistic outputs: weight * BCE(sigmoid(x), target)
  kSquared,   // w and h under iou_loss=mse: weight * (x - target)^2 / 2
  kDelta,     // box entries under an IoU loss: weight 0, the gradient is -target (Darknet's delta)
};

// Per-element targets and weights over the head input; weight 0 means "no loss".
struct Targets {
  std::vector<float> target, weight;
  std::vector<uint8_t> kind;
  double iou_loss = 0;  // sum of iou_normalizer * (1 - IoU kind) over the kDelta boxes
};

class YoloAssigner {
 public:
  YoloAssigner(const darknet::LayerDef& head, const float* output, int batch, int h, int w, int net_w, int net_h)
      : head_(head), out_(output), batch_(batch), h_(h), w_(w), net_w_(net_w), net_h_(net_h),
        entries_(5 + head.classes), size_(static_cast<size_t>(batch) * head.mask.size() * entries_ * h * w) {
    targets_.target.assign(size_, 0.f);
    targets_.weight.assign(size_, 0.f);
    targets_.kind.assign(size_, kBce);
  }

  // Darknet's entry_index: image b, anchor slot n, entry e (0..4 box+obj, 5.. classes), cell (i, j).
  size_t index(int b, int n, int e, int j, int i) const {
    return ((static_cast<size_t>(b) * head_.mask.size() + n) * entries_ + e) * h_ * w_ + static_cast<size_t>(j) * w_ + i;
  }
  float out(int b, int n, int e, int j, int i) const { return out_[index(b, n, e, j, i)]; }

  // get_yolo_box with anchor `anchor` (Darknet passes mask[n], or best_n: the same anchor).
  CentreBox predicted(int b, int n, int anchor, int j, int i) const {
    return {(i + out(b, n, 0, j, i)) / w_, (j + out(b, n, 1, j, i)) / h_,
            std::exp(out(b, n, 2, j, i)) * head_.anchors[2 * anchor] / net_w_,
            std::exp(out(b, n, 3, j, i)) * head_.anchors[2 * anchor + 1] / net_h_};
  }
  Box predicted(int b, int n, int j, int i) const { return corners(predicted(b, n, head_.mask[n], j, i)); }

  void set(size_t k, float target, float weight, Kind kind = kBce) {
    targets_.target[k] = target;
    targets_.weight[k] = weight;
    targets_.kind[k] = kind;
  }

  // The logistic's target for a cell offset: with AlexeyAB's scale_x_y the decoded offset is
  // sigmoid * s - (s - 1) / 2, so the sigmoid must reach (offset + (s - 1) / 2) / s (s = 1: Darknet).
  // Not clamped: a truth_thresh match trains a cell the truth's centre lies outside of, and
  // delta_yolo_box then pulls towards an offset beyond [0, 1]; BCE's gradient, sigmoid - target,
  // is that delta for any target.
  float logistic_target(float offset) const {
    const float s = head_.scale_x_y;
    return (offset + (s - 1) / 2) / s;
  }

  // delta_yolo_box with anchor mask[n] (Darknet passes best_n in its second loop: the same anchor).
  // Overwrites, as pjreddie's does (AlexeyAB's adds up the deltas of truths sharing a cell).
  float assign_box(const TruthBox& t, int b, int n, int anchor, int j, int i) {
    const CentreBox truth{t.x, t.y, t.w, t.h};
    const CentreBox pred = predicted(b, n, anchor, j, i);
    if (head_.iou_loss != darknet::IouLoss::kMse) return assign_iou_box(truth, pred, b, n, j, i);
    const float scale = (2 - t.w * t.h) * head_.iou_normalizer;
    set(index(b, n, 0, j, i), logistic_target(t.x * w_ - i), scale);
    set(index(b, n, 1, j, i), logistic_target(t.y * h_ - j), scale);
    set(index(b, n, 2, j, i), std::log(t.w * net_w_ / head_.anchors[2 * anchor]), scale, kSquared);
    set(index(b, n, 3, j, i), std::log(t.h * net_h_ / head_.anchors[2 * anchor + 1]), scale, kSquared);
    return iou(corners(pred), corners(truth));
  }

  // AlexeyAB's IoU losses: the IoU kind's gradient at the box, then through exp for w and h (x
  // and y get it as is, without the logistic's derivative or 1 / grid size: box.c's scaling, which
  // iou_normalizer is tuned for). No 2 - w * h scale here.
  float assign_iou_box(const CentreBox& truth, const CentreBox& pred, int b, int n, int j, int i) {
    const float norm = head_.iou_normalizer;
    const CentreBox g = iou_gradient(pred, truth, head_.iou_loss);
    const float delta[4] = {g.x * norm, g.y * norm, g.w * std::exp(out(b, n, 2, j, i)) * norm,
                            g.h * std::exp(out(b, n, 3, j, i)) * norm};
    for (int e = 0; e < 4; ++e) {
      const float d = std::isfinite(delta[e]) ? delta[e] : 0.f;  // fix_nan_inf
      set(index(b, n, e, j, i), std::clamp(d, -head_.max_delta, head_.max_delta), 0.f, kDelta);
    }
    targets_.iou_loss += norm * (1 - iou_kind(pred, truth, head_.iou_loss));
    return iou(corners(pred), corners(truth));
  }

  // delta_yolo_class: if a class target is already set here, only the truth's class changes.
  void assign_class(int class_id, int b, int n, int j, int i) {
    if (targets_.weight[index(b, n, 5, j, i)] != 0) {
      set(index(b, n, 5 + class_id, j, i), 1.f, head_.cls_normalizer);
      return;
    }
    for (int c = 0; c < head_.classes; ++c) set(index(b, n, 5 + c, j, i), c == class_id ? 1.f : 0.f, head_.cls_normalizer);
  }

  Targets assign(const std::vector<std::vector<TruthBox>>& truths, YoloLossStats* stats) {
    for (int b = 0; b < batch_; ++b) {
      const auto& boxes = truths[b];
      assign_objectness(b, boxes);
      for (const TruthBox& t : boxes) assign_truth(b, t, stats);
    }
    return std::move(targets_);
  }

 private:
  // First loop of forward_yolo_layer: every prediction against every truth.
  void assign_objectness(int b, const std::vector<TruthBox>& boxes) {
    for (int j = 0; j < h_; ++j) {
      for (int i = 0; i < w_; ++i) {
        for (int n = 0; n < static_cast<int>(head_.mask.size()); ++n) {
          const Box pred = predicted(b, n, j, i);
          float best_iou = 0;
          int best_t = 0;
          for (size_t t = 0; t < boxes.size(); ++t) {
            const float v = iou(pred, corners(boxes[t].x, boxes[t].y, boxes[t].w, boxes[t].h));
            if (v > best_iou) best_iou = v, best_t = static_cast<int>(t);
          }
          const size_t obj = index(b, n, 4, j, i);
          set(obj, 0.f, best_iou > head_.ignore_thresh ? 0.f : head_.obj_normalizer);
          if (best_iou > head_.truth_thresh) {
            set(obj, 1.f, head_.obj_normalizer);
            assign_class(boxes[best_t].class_id, b, n, j, i);
            assign_box(boxes[best_t], b, n, head_.mask[n], j, i);
          }
        }
      }
    }
  }

  // Second loop: the truth's cell and best-shaped anchor, if that anchor belongs to this head;
  // with AlexeyAB's iou_thresh, also every other anchor of the head whose shape matches the truth's
  // with IoU above it.
  void assign_truth(int b, const TruthBox& t, YoloLossStats* stats) {
    // Darknet truncates (truth.x * l.w); a centre on the far edge would index past the grid.
    const int i = std::min(static_cast<int>(t.x * w_), w_ - 1), j = std::min(static_cast<int>(t.y * h_), h_ - 1);
    float best_iou = 0;
    int best_n = 0;
    for (int n = 0; n < head_.num; ++n) {
      const float v = shape_iou(t, n);
      if (v > best_iou) best_iou = v, best_n = n;
    }
    for (int slot = 0; slot < static_cast<int>(head_.mask.size()); ++slot) {
      const int anchor = head_.mask[slot];
      if (anchor == best_n || (head_.iou_thresh < 1.f && shape_iou(t, anchor) > head_.iou_thresh)) {
        assign_positive(b, t, slot, anchor, j, i, stats);
      }
    }
  }

  float shape_iou(const TruthBox& t, int anchor) const {
    return iou(corners(0, 0, head_.anchors[2 * anchor] / net_w_, head_.anchors[2 * anchor + 1] / net_h_),
               corners(0, 0, t.w, t.h));
  }

  void assign_positive(int b, const TruthBox& t, int n, int anchor, int j, int i, YoloLossStats* stats) {
    const float v = assign_box(t, b, n, anchor, j, i);
    set(index(b, n, 4, j, i), 1.f, head_.obj_normalizer);
    assign_class(t.class_id, b, n, j, i);
    if (stats) stats->avg_iou += v, ++stats->count;
  }

  const darknet::LayerDef& head_;
  const float* out_;
  int batch_, h_, w_, net_w_, net_h_, entries_;
  size_t size_;
  Targets targets_;
};

}  // namespace

torch::Tensor yolo_loss(const darknet::LayerDef& head, const torch::Tensor& input,
                        const std::vector<std::vector<TruthBox>>& truths, int net_w, int net_h, YoloLossStats* stats) {
  const int batch = static_cast<int>(input.size(0)), h = static_cast<int>(input.size(2)), w = static_cast<int>(input.size(3));
  const int anchors = static_cast<int>(head.mask.size()), entries = 5 + head.classes;
  TORCH_CHECK(input.size(1) == anchors * entries, "yolo_loss: the head input has ", input.size(1), " channels, expected ",
              anchors * entries);
  TORCH_CHECK(static_cast<int>(truths.size()) == batch, "yolo_loss: one truth list per image");
  const torch::Tensor output = darknet::head_activation(head, input.detach().to(torch::kCPU, torch::kFloat)).contiguous();
  YoloAssigner assigner(head, output.data_ptr<float>(), batch, h, w, net_w, net_h);
  Targets t = assigner.assign(truths, stats);

  const auto options = torch::TensorOptions().dtype(torch::kFloat);
  const auto shape = input.sizes();
  // Cloned: autograd keeps the targets for the backward pass, after `t` is gone.
  const auto target = torch::from_blob(t.target.data(), shape, options).clone().to(input.device());
  const auto weight = torch::from_blob(t.weight.data(), shape, options).clone().to(input.device());
  const auto kind = torch::from_blob(t.kind.data(), shape, torch::kUInt8).clone().to(input.device());
  const auto x = input.to(torch::kFloat).contiguous();  // the targets' layout (the trainer runs channels-last)
  const auto bce = torch::binary_cross_entropy_with_logits(x, target, {}, {}, at::Reduction::None);
  const auto squared = 0.5 * (x - target).pow(2);
  const auto is_delta = kind == kDelta;
  // A fixed gradient -delta and a value of 0: the IoU loss's value is added as a constant below.
  const auto delta_term = torch::where(is_delta, -target * (x - x.detach()), torch::zeros_like(x));
  const auto per_element = weight * torch::where(kind == kSquared, squared, bce) + delta_term;
  if (stats) {
    const auto view = per_element.detach().view({batch, anchors, entries, h, w});
    const auto obj_target = target.view({batch, anchors, entries, h, w}).select(2, 4);
    const auto obj = view.select(2, 4);
    stats->coord += view.narrow(2, 0, 4).sum().item<double>() + t.iou_loss;
    stats->objectness += (obj * (obj_target > 0.5)).sum().item<double>();
    stats->no_object += (obj * (obj_target <= 0.5)).sum().item<double>();
    stats->classes += view.narrow(2, 5, head.classes).sum().item<double>();
  }
  return per_element.sum() + t.iou_loss;
}

}  // namespace facekit::train
