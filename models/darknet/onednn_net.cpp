#include "models/darknet/onednn_net.h"

#include <optional>

#include "models/darknet/inference.h"

namespace facekit::darknet {
namespace {

bool is_head(LayerType type) { return type == LayerType::kYolo || type == LayerType::kRegion; }

// The Darknet activation as one the plan fuses, if it has it.
std::optional<PlanActivation> plan_activation(Activation activation) {
  switch (activation) {
    case Activation::kLinear: return PlanActivation::kNone;
    case Activation::kLeaky: return PlanActivation::kLeaky;
    case Activation::kRelu: return PlanActivation::kRelu;
    case Activation::kLogistic: return PlanActivation::kLogistic;
    default: return std::nullopt;
  }
}

// Why layer `l` cannot be a primitive here, or "".
std::string unsupported_because(const NetDef& def, const LayerDef& l) {
  const std::string activation = plan_activation(l.activation) ? "" : std::string("activation ") + activation_name(l.activation);
  switch (l.type) {
    case LayerType::kConvolutional: return activation;
    case LayerType::kRoute: return l.groups == 1 ? "" : "channel groups";
    case LayerType::kShortcut: {
      const bool plain_sum = l.inputs.size() == 1 && l.alpha == 1.f && l.beta == 1.f;
      const Shape& from = def.layers[static_cast<size_t>(l.inputs[0])].out;
      const bool same_shape = from.c == l.in.c && from.h == l.in.h && from.w == l.in.w;
      return plain_sum && same_shape ? activation : "not a plain sum of two maps of one shape";
    }
    case LayerType::kUpsample: return l.reverse || l.scale != 1.f ? "reversed or scaled" : "";
    case LayerType::kMaxpool:
    case LayerType::kDropout:
    case LayerType::kYolo:
    case LayerType::kRegion: return "";
    default: return "no primitive for this layer type";
  }
}

}  // namespace

std::string onednn_unsupported(const NetDef& def) {
  for (const auto& l : def.layers) {
    std::string why = unsupported_because(def, l);
    const bool after_head = l.index > 0 && is_head(def.layers[static_cast<size_t>(l.index - 1)].type) &&
                            l.type != LayerType::kRoute && !is_head(l.type);
    if (after_head) why = "reads a head's output";
    for (const int from : l.inputs) {
      if (is_head(def.layers[static_cast<size_t>(from)].type)) why = "reads a head's output";
    }
    if (!why.empty()) return "layer " + std::to_string(l.index) + " (" + layer_type_name(l.type) + "): " + why;
  }
  return "";
}

OnednnNet::OnednnNet(const NetDef& def, const std::vector<FoldedConv>& convs, int64_t batch)
    : plan_({batch, def.channels, def.height, def.width}), layers_(def.layers.size()) {
  using Map = OnednnPlan::Map;
  std::vector<Map> maps(def.layers.size());  // per layer; dropout and one-map routes share their input's
  for (const auto& l : def.layers) {
    const size_t i = static_cast<size_t>(l.index);
    const Map x = i == 0 ? plan_.input() : maps[i - 1];
    const auto from = [&](size_t k) { return maps[static_cast<size_t>(l.inputs[k])]; };
    switch (l.type) {
      case LayerType::kConvolutional:  // convolutional_layer.c, BatchNorm folded into the bias
        maps[i] = plan_.conv(x, convs[i].weight, convs[i].bias, {l.stride_y, l.stride_x}, {l.padding, l.padding}, l.dilation,
                             l.groups, *plan_activation(l.activation));
        break;
      case LayerType::kMaxpool:  // forward_maxpool_layer: `padding` in total, padding / 2 before
        maps[i] = plan_.max_pool(x, {l.size, l.size}, {l.stride_y, l.stride_x}, {l.padding / 2, l.padding / 2},
                                 {l.padding, l.padding});
        break;
      case LayerType::kRoute: {  // route_layer.c: the maps one after the other along the channels
        std::vector<Map> parts;
        for (size_t k = 0; k < l.inputs.size(); ++k) parts.push_back(from(k));
        maps[i] = parts.size() == 1 ? parts[0] : plan_.concat(parts);
        break;
      }
      case LayerType::kShortcut: maps[i] = plan_.add(x, from(0), *plan_activation(l.activation)); break;
      case LayerType::kUpsample: maps[i] = plan_.upsample_nearest(x, l.stride); break;  // upsample_cpu
      case LayerType::kDropout: maps[i] = x; break;  // identity at inference
      default:  // a head: LibTorch applies it to its input
        plan_.output(x);
        exported_.push_back(i - 1);
    }
  }
  const size_t output = static_cast<size_t>(def.output_layer());
  if (!is_head(def.layers[output].type)) {
    plan_.output(maps[output]);
    exported_.push_back(output);
  }
}

std::vector<torch::Tensor> OnednnNet::forward(const torch::Tensor& input) {
  auto maps = plan_.run(input);
  std::vector<torch::Tensor> outputs(layers_);
  for (size_t k = 0; k < exported_.size(); ++k) outputs[exported_[k]] = std::move(maps[k]);
  return outputs;
}

}  // namespace facekit::darknet
