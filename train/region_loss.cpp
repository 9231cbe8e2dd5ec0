#include "train/region_loss.h"

#include <cmath>

#include "datasets/box.h"
#include "models/darknet/darknet_net.h"

namespace facekit::train {
namespace {

constexpr long long kPriorUntilSeen = 12800;  // forward_region_layer: *(net.seen) < 12800
constexpr float kPriorScale = 0.01f;

Box corners(float x, float y, float w, float h) { return {x - w / 2, y - h / 2, x + w / 2, y + h / 2}; }

enum Kind : uint8_t { kLogisticSquared = 0, kLinearSquared = 1, kLogisticCrossEntropy = 2 };

class RegionAssigner {
 public:
  RegionAssigner(const darknet::LayerDef& head, const float* output, int batch, int h, int w)
      : head_(head), out_(output), batch_(batch), h_(h), w_(w), entries_(head.coords + 1 + head.classes) {
    const size_t size = static_cast<size_t>(batch) * head.num * entries_ * h * w;
    target.assign(size, 0.f);
    weight.assign(size, 0.f);
    kind.assign(size, kLogisticSquared);
    const size_t cells = static_cast<size_t>(batch) * head.num * h * w;
    softmax_class.assign(cells, -1);
  }

  size_t index(int b, int n, int e, int j, int i) const {
    return ((static_cast<size_t>(b) * head_.num + n) * entries_ + e) * h_ * w_ + static_cast<size_t>(j) * w_ + i;
  }
  size_t cell(int b, int n, int j, int i) const { return ((static_cast<size_t>(b) * head_.num + n) * h_ + j) * w_ + i; }
  float out(int b, int n, int e, int j, int i) const { return out_[index(b, n, e, j, i)]; }

  Box predicted(int b, int n, int j, int i) const {  // get_region_box: anchors in grid cells
    return corners((i + out(b, n, 0, j, i)) / w_, (j + out(b, n, 1, j, i)) / h_,
                   std::exp(out(b, n, 2, j, i)) * head_.anchors[2 * n] / w_,
                   std::exp(out(b, n, 3, j, i)) * head_.anchors[2 * n + 1] / h_);
  }

  void set(size_t k, float t, float wgt, Kind kd) {
    target[k] = t;
    weight[k] = wgt;
    kind[k] = kd;
  }

  // delta_region_box; returns the IoU of the prediction with the box.
  float assign_box(float x, float y, float bw, float bh, int b, int n, int j, int i, float scale) {
    const float v = iou(predicted(b, n, j, i), corners(x, y, bw, bh));
    set(index(b, n, 0, j, i), x * w_ - i, scale, kLogisticSquared);
    set(index(b, n, 1, j, i), y * h_ - j, scale, kLogisticSquared);
    set(index(b, n, 2, j, i), std::log(bw * w_ / head_.anchors[2 * n]), scale, kLinearSquared);
    set(index(b, n, 3, j, i), std::log(bh * h_ / head_.anchors[2 * n + 1]), scale, kLinearSquared);
    return v;
  }

  // delta_region_class: softmax classes always reset the whole distribution; logistic ones only
  // add the class when this cell already has class targets.
  void assign_class(int class_id, int b, int n, int j, int i) {
    const int first = head_.coords + 1;
    if (head_.softmax) {
      softmax_class[cell(b, n, j, i)] = class_id;
      return;
    }
    if (weight[index(b, n, first, j, i)] != 0) {
      set(index(b, n, first + class_id, j, i), 1.f, head_.class_scale, kLogisticCrossEntropy);
      return;
    }
    for (int c = 0; c < head_.classes; ++c) {
      set(index(b, n, first + c, j, i), c == class_id ? 1.f : 0.f, head_.class_scale, kLogisticCrossEntropy);
    }
  }

  void assign(const std::vector<std::vector<TruthBox>>& truths, long long seen, YoloLossStats* stats) {
    for (int b = 0; b < batch_; ++b) {
      assign_predictions(b, truths[b], seen);
      for (const TruthBox& t : truths[b]) assign_truth(b, t, stats);
    }
  }

  std::vector<float> target, weight;
  std::vector<uint8_t> kind;
  std::vector<int64_t> softmax_class;  // per anchor and cell, -1: no class target

 private:
  void assign_predictions(int b, const std::vector<TruthBox>& boxes, long long seen) {
    for (int j = 0; j < h_; ++j) {
      for (int i = 0; i < w_; ++i) {
        for (int n = 0; n < head_.num; ++n) {
          const Box pred = predicted(b, n, j, i);
          float best_iou = 0;
          for (const auto& t : boxes) best_iou = std::max(best_iou, iou(pred, corners(t.x, t.y, t.w, t.h)));
          const size_t obj = index(b, n, head_.coords, j, i);
          set(obj, head_.background ? 1.f : 0.f, best_iou > head_.thresh ? 0.f : head_.noobject_scale, kLogisticSquared);
          if (seen < kPriorUntilSeen) {
            assign_box((i + .5f) / w_, (j + .5f) / h_, head_.anchors[2 * n] / w_, head_.anchors[2 * n + 1] / h_, b, n, j, i,
                       kPriorScale);
          }
        }
      }
    }
  }

  void assign_truth(int b, const TruthBox& t, YoloLossStats* stats) {
    const int i = std::min(static_cast<int>(t.x * w_), w_ - 1), j = std::min(static_cast<int>(t.y * h_), h_ - 1);
    float best_iou = 0;
    int best_n = 0;
    for (int n = 0; n < head_.num; ++n) {
      Box pred = predicted(b, n, j, i);
      const float pw = head_.bias_match ? head_.anchors[2 * n] / w_ : pred.width();
      const float ph = head_.bias_match ? head_.anchors[2 * n + 1] / h_ : pred.height();
      const float v = iou(corners(0, 0, pw, ph), corners(0, 0, t.w, t.h));
      if (v > best_iou) best_iou = v, best_n = n;
    }
    const float v = assign_box(t.x, t.y, t.w, t.h, b, best_n, j, i, head_.coord_scale * (2 - t.w * t.h));
    const float objectness = head_.background ? 0.f : head_.rescore ? v : 1.f;
    set(index(b, best_n, head_.coords, j, i), objectness, head_.object_scale, kLogisticSquared);
    assign_class(t.class_id, b, best_n, j, i);
    if (stats) stats->avg_iou += v, ++stats->count;
  }

  const darknet::LayerDef& head_;
  const float* out_;
  int batch_, h_, w_, entries_;
};

torch::Tensor tensor_of(std::vector<float>& values, c10::IntArrayRef shape) {
  return torch::from_blob(values.data(), shape, torch::kFloat).clone();
}

}  // namespace

torch::Tensor region_loss(const darknet::LayerDef& head, const torch::Tensor& input,
                          const std::vector<std::vector<TruthBox>>& truths, long long images_seen, YoloLossStats* stats) {
  TORCH_CHECK(!head.background && head.coords == 4, "region_loss: coords=4 without background only");
  const int batch = static_cast<int>(input.size(0)), h = static_cast<int>(input.size(2)), w = static_cast<int>(input.size(3));
  const int entries = head.coords + 1 + head.classes;
  TORCH_CHECK(input.size(1) == head.num * entries, "region_loss: the head input has ", input.size(1), " channels, expected ",
              head.num * entries);
  TORCH_CHECK(static_cast<int>(truths.size()) == batch, "region_loss: one truth list per image");
  const auto output = darknet::head_activation(head, input.detach().to(torch::kCPU, torch::kFloat)).contiguous();
  RegionAssigner a(head, output.data_ptr<float>(), batch, h, w);
  a.assign(truths, images_seen, stats);

  const auto shape = input.sizes();
  const auto device = input.device();
  const auto target = tensor_of(a.target, shape).to(device), weight = tensor_of(a.weight, shape).to(device);
  const auto kind = torch::from_blob(a.kind.data(), shape, torch::kUInt8).to(device, torch::kLong);
  const auto x = input.to(torch::kFloat).contiguous();  // the targets' layout (the trainer runs channels-last)
  const auto logistic_squared = 0.5 * (torch::sigmoid(x) - target).pow(2);
  const auto linear_squared = 0.5 * (x - target).pow(2);
  const auto bce = torch::binary_cross_entropy_with_logits(x, target, {}, {}, at::Reduction::None);
  auto per_element = weight * torch::where(kind == kLogisticSquared, logistic_squared,
                                           torch::where(kind == kLinearSquared, linear_squared, bce));
  auto loss = per_element.sum();
  if (head.softmax) {
    const auto classes = x.view({batch, head.num, entries, h, w}).narrow(2, head.coords + 1, head.classes);
    const auto cls = torch::from_blob(a.softmax_class.data(), {batch, head.num, h, w}, torch::kLong).clone().to(device);
    const auto log_p = torch::log_softmax(classes, 2);
    const auto known = cls >= 0;
    const auto picked = log_p.gather(2, cls.clamp_min(0).unsqueeze(2)).squeeze(2);
    const auto class_loss = -head.class_scale * (picked * known).sum();
    if (stats) stats->classes += class_loss.item<double>();
    loss = loss + class_loss;
  }
  if (stats) {
    const auto view = per_element.detach().view({batch, head.num, entries, h, w});
    const auto objectness = view.select(2, head.coords);
    const auto positive = target.view({batch, head.num, entries, h, w}).select(2, head.coords) > 0;  // rescore: the IoU
    stats->coord += view.narrow(2, 0, head.coords).sum().item<double>();
    stats->objectness += (objectness * positive).sum().item<double>();
    stats->no_object += (objectness * positive.logical_not()).sum().item<double>();
    if (!head.softmax) stats->classes += view.narrow(2, head.coords + 1, head.classes).sum().item<double>();
  }
  return loss;
}

}  // namespace facekit::train
