#include "models/darknet/darknet_net.h"

#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>

namespace facekit::darknet {
namespace {

namespace F = torch::nn::functional;
using torch::indexing::Slice;
using torch::indexing::TensorIndex;

// Darknet's BatchNorm epsilons (see batchnorm_divisor).
constexpr double kPjreddieBnEps = 1e-6;
constexpr double kAlexeyABBnEps = 1e-5;
constexpr double kTrainBnMomentum = 0.01;  // Darknet: rolling = .99 * rolling + .01 * batch

// ---- values in and out of a .weights array ----

size_t read_into(const torch::Tensor& tensor, const float* values) {
  torch::NoGradGuard no_grad;
  const auto count = static_cast<size_t>(tensor.numel());
  auto source = torch::from_blob(const_cast<float*>(values), tensor.sizes(), torch::kFloat32);
  tensor.copy_(source);
  return count;
}

void append_from(const torch::Tensor& tensor, std::vector<float>* values) {
  const auto cpu = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const float* data = cpu.data_ptr<float>();
  values->insert(values->end(), data, data + cpu.numel());
}

// Darknet's normalize + scale_bias + add_bias, in inference with the rolling statistics.
class DarknetBatchNorm : public torch::nn::Module {
 public:
  DarknetBatchNorm(int channels, Dialect dialect) : dialect_(dialect) {
    weight = register_parameter("weight", torch::ones({channels}));  // Darknet's `scales`
    bias = register_parameter("bias", torch::zeros({channels}));     // Darknet's `biases`
    running_mean = register_buffer("running_mean", torch::zeros({channels}));
    running_var = register_buffer("running_var", torch::ones({channels}));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (is_training()) {
      return torch::batch_norm(x, weight, bias, running_mean, running_var, /*training=*/true,
                               kTrainBnMomentum, kAlexeyABBnEps, /*cudnn_enabled=*/true);
    }
    const auto denominator = batchnorm_divisor(running_var, dialect_);
    std::vector<int64_t> shape(x.dim(), 1);
    shape[1] = -1;
    // Subtract the mean first, as normalize_cpu does: folding it into the shift loses digits
    // when |mean| is large against the spread (deep nets drift to ~1e-4 from libdarknet).
    return torch::addcmul(bias.view(shape), x - running_mean.view(shape), (weight / denominator).view(shape));
  }

  // File order: scales, rolling mean, rolling variance (biases belong to the owning layer).
  size_t load_statistics(const float* values) {
    size_t n = read_into(weight, values);
    n += read_into(running_mean, values + n);
    n += read_into(running_var, values + n);
    return n;
  }
  void save_statistics(std::vector<float>* values) const {
    append_from(weight, values);
    append_from(running_mean, values);
    append_from(running_var, values);
  }

  torch::Tensor weight, bias, running_mean, running_var;

 private:
  Dialect dialect_;
};

// ---- one class per layer type ----

class ConvolutionalLayer : public DarknetLayer {
 public:
  ConvolutionalLayer(const LayerDef& def, Dialect dialect) : DarknetLayer(def) {
    weight = register_parameter(
        "weight", torch::empty({def.filters, def.in.c / def.groups, def.size, def.size}));
    if (def.batch_normalize) {
      bn = register_module("bn", std::make_shared<DarknetBatchNorm>(def.filters, dialect));
    } else {
      bias = register_parameter("bias", torch::zeros({def.filters}));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    auto y = torch::conv2d(x, weight, bias, {def_.stride_y, def_.stride_x}, {def_.padding, def_.padding},
                           {def_.dilation, def_.dilation}, def_.groups);
    if (bn) y = bn->forward(y);
    return apply_activation_in_place(std::move(y), def_.activation);
  }

  // load_convolutional_weights: biases, [scales, mean, variance], weights.
  size_t load_weights(const float* values, bool) override {
    size_t n = read_into(bn ? bn->bias : bias, values);
    if (bn) n += bn->load_statistics(values + n);
    return n + read_into(weight, values + n);
  }
  void save_weights(std::vector<float>* values, bool) const override {
    append_from(bn ? bn->bias : bias, values);
    if (bn) bn->save_statistics(values);
    append_from(weight, values);
  }

  torch::Tensor weight, bias;
  std::shared_ptr<DarknetBatchNorm> bn;
};

class ConnectedLayer : public DarknetLayer {
 public:
  ConnectedLayer(const LayerDef& def, Dialect dialect) : DarknetLayer(def) {
    const auto inputs = def.in.size();
    weight = register_parameter("weight", torch::empty({def.filters, inputs}));
    if (def.batch_normalize) {
      bn = register_module("bn", std::make_shared<DarknetBatchNorm>(def.filters, dialect));
    } else {
      bias = register_parameter("bias", torch::zeros({def.filters}));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    auto y = torch::linear(x.flatten(1), weight, bias);
    if (bn) y = bn->forward(y);
    return apply_activation(y, def_.activation).view({-1, def_.filters, 1, 1});
  }

  // load_connected_weights: biases, weights (outputs x inputs, or transposed), [BN statistics].
  size_t load_weights(const float* values, bool transposed) override {
    size_t n = read_into(bn ? bn->bias : bias, values);
    if (transposed) {
      torch::NoGradGuard no_grad;
      auto stored = torch::from_blob(const_cast<float*>(values + n), {weight.size(1), weight.size(0)});
      weight.copy_(stored.t());
      n += static_cast<size_t>(weight.numel());
    } else {
      n += read_into(weight, values + n);
    }
    if (bn) n += bn->load_statistics(values + n);
    return n;
  }
  void save_weights(std::vector<float>* values, bool transposed) const override {
    append_from(bn ? bn->bias : bias, values);
    append_from(transposed ? weight.t() : weight, values);
    if (bn) bn->save_statistics(values);
  }

  torch::Tensor weight, bias;
  std::shared_ptr<DarknetBatchNorm> bn;
};

class BatchnormLayer : public DarknetLayer {
 public:
  BatchnormLayer(const LayerDef& def, Dialect dialect) : DarknetLayer(def) {
    bn = register_module("bn", std::make_shared<DarknetBatchNorm>(def.in.c, dialect));
  }
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    return bn->forward(x);
  }
  size_t load_weights(const float* values, bool) override { return bn->load_statistics(values); }
  void save_weights(std::vector<float>* values, bool) const override { bn->save_statistics(values); }

  std::shared_ptr<DarknetBatchNorm> bn;
};

// Pads with -inf, `padding` in total and padding/2 before (forward_maxpool_layer's offsets).
class MaxpoolLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    // Windows over w + padding give (w + padding - size) / stride + 1 outputs, Darknet's formula.
    // When no window reaches the padding (size 2 stride 2 on an even side: the default padding of 1
    // is never read), the padded copy of the map and its backward are skipped.
    if (padding_is_read(x.size(2), def_.stride_y) || padding_is_read(x.size(3), def_.stride_x)) {
      const int64_t before = def_.padding / 2;
      const int64_t after = def_.padding - before;
      const auto padded =
          torch::constant_pad_nd(x, {before, after, before, after}, -std::numeric_limits<float>::infinity());
      return torch::max_pool2d(padded, {def_.size, def_.size}, {def_.stride_y, def_.stride_x});
    }
    return torch::max_pool2d(x, {def_.size, def_.size}, {def_.stride_y, def_.stride_x});
  }

 private:
  bool padding_is_read(int64_t side, int64_t stride) const {
    if (def_.padding == 0) return false;
    if (def_.padding / 2 > 0) return true;  // some padding before the first pixel
    const int64_t outputs = (side + def_.padding - def_.size) / stride + 1;
    return (outputs - 1) * stride + def_.size > side;  // the last window ends past the map
  }
};

class AvgpoolLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    return x.mean({2, 3}, /*keepdim=*/true);
  }
};

class RouteLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor&, const std::vector<torch::Tensor>& outputs) override {
    std::vector<torch::Tensor> parts;
    for (const int from : def_.inputs) {
      const auto& source = outputs[static_cast<size_t>(from)];
      const int64_t part = source.size(1) / def_.groups;
      parts.push_back(def_.groups == 1 ? source : source.narrow(1, part * def_.group_id, part));
    }
    return parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
  }
};

// shortcut_cpu (src/blas.c): out = alpha * previous + beta * from on the channels both have;
// when the maps differ in size, the larger one is read (or written) every `stride` pixels.
class ShortcutLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>& outputs) override {
    const auto& from = outputs[static_cast<size_t>(def_.inputs[0])];
    if (from.sizes() == x.sizes()) {
      return apply_activation(def_.alpha * x + def_.beta * from, def_.activation);
    }
    const int64_t stride = std::max<int64_t>(1, from.size(3) / x.size(3));  // from is larger
    const int64_t sample = std::max<int64_t>(1, x.size(3) / from.size(3));  // from is smaller
    const int64_t c = std::min(x.size(1), from.size(1));
    const int64_t h = std::min(x.size(2), from.size(2)), w = std::min(x.size(3), from.size(3));
    const auto at = [](int64_t n, int64_t step) { return Slice(0, n * step, step); };
    const std::vector<TensorIndex> out_region = {Slice(), Slice(0, c), at(h, sample), at(w, sample)};
    const std::vector<TensorIndex> add_region = {Slice(), Slice(0, c), at(h, stride), at(w, stride)};
    auto sum = x.clone();
    sum.index_put_(out_region, def_.alpha * x.index(out_region) + def_.beta * from.index(add_region));
    return apply_activation(sum, def_.activation);
  }
};

// Nearest-neighbour upsampling times `scale`; a negative stride sums stride x stride blocks
// (upsample_cpu called backwards in forward_upsample_layer).
class UpsampleLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    torch::Tensor y;
    const int64_t s = def_.stride;
    if (def_.reverse) {
      y = x.reshape({x.size(0), x.size(1), x.size(2) / s, s, x.size(3) / s, s}).sum({3, 5});
    } else {
      y = x.unsqueeze(3).unsqueeze(5).expand({x.size(0), x.size(1), x.size(2), s, x.size(3), s});
      y = y.reshape({x.size(0), x.size(1), x.size(2) * s, x.size(3) * s});
    }
    return def_.scale == 1.f ? y : y * def_.scale;
  }
};

// Darknet's reorg moves elements in its own order (reorg_cpu in src/blas.c; forward_reorg_layer
// calls it with the input's w, h, c and forward=0, or forward=1 when reversing). Written out,
// forward=0 reads the input as X of shape (c / s^2, h*s, w*s) and sets
// out[(dy*s + dx)*c/s^2 + c2][j][i] = X[c2][j*s + dy][i*s + dx]: a reshape, a transpose and a
// reshape. forward=1 is its inverse.
torch::Tensor darknet_reorg(const torch::Tensor& x, int64_t s, bool reverse) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (!reverse) {
    return x.reshape({n, c / (s * s), h, s, w, s}).permute({0, 3, 5, 1, 2, 4}).reshape({n, c * s * s, h / s, w / s});
  }
  return x.reshape({n, s, s, c / (s * s), h, w}).permute({0, 3, 4, 1, 5, 2}).reshape({n, c / (s * s), h * s, w * s});
}

class ReorgLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    return darknet_reorg(x, def_.stride, def_.reverse);
  }
};

// forward_yolo_layer: per anchor, logistic on x, y, objectness and classes; AlexeyAB's
// scale_x_y stretches x, y around 0.5; with new_coords the previous layer already applied
// the logistic, so nothing is activated here.
torch::Tensor yolo_activation(const LayerDef& def, const torch::Tensor& x) {
  const int64_t anchors = static_cast<int64_t>(def.mask.size());
  const auto p = x.reshape({x.size(0), anchors, 5 + def.classes, x.size(2), x.size(3)});  // x may be channels-last
  auto xy = p.narrow(2, 0, 2);
  auto wh = p.narrow(2, 2, 2);
  auto rest = p.narrow(2, 4, 1 + def.classes);
  if (!def.new_coords) {
    xy = torch::sigmoid(xy);
    rest = torch::sigmoid(rest);
  }
  if (def.scale_x_y != 1.f) xy = xy * def.scale_x_y - 0.5 * (def.scale_x_y - 1.0);
  return torch::cat({xy, wh, rest}, 2).view_as(x);
}

class YoloLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    return yolo_activation(def_, x);
  }
};

// forward_region_layer: logistic on x, y and (without background) objectness, softmax over
// the classes (plus background) per anchor and cell.
torch::Tensor region_activation(const LayerDef& def, const torch::Tensor& x) {
  const int64_t per_anchor = def.coords + 1 + def.classes;
  const auto p = x.reshape({x.size(0), def.num, per_anchor, x.size(2), x.size(3)});  // x may be channels-last
  const int64_t class_start = def.coords + (def.background ? 0 : 1);
  std::vector<torch::Tensor> parts = {torch::sigmoid(p.narrow(2, 0, 2)), p.narrow(2, 2, def.coords - 2)};
  if (!def.background) parts.push_back(torch::sigmoid(p.narrow(2, def.coords, 1)));
  auto classes = p.narrow(2, class_start, per_anchor - class_start);
  parts.push_back(def.softmax ? torch::softmax(classes, 2) : classes);
  return torch::cat(parts, 2).view_as(x);
}

class RegionLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    return region_activation(def_, x);
  }
};

class DropoutLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    return is_training() ? torch::dropout(x, def_.probability, /*train=*/true) : x;
  }
};

// softmax_cpu over `groups` equal slices of the flattened input, divided by the temperature.
class SoftmaxLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override {
    auto grouped = x.reshape({x.size(0), def_.groups, -1});
    if (def_.temperature != 1.f) grouped = grouped / def_.temperature;
    return torch::softmax(grouped, 2).view_as(x);
  }
};

class SamLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>& outputs) override {
    return apply_activation(x * outputs[static_cast<size_t>(def_.inputs[0])], def_.activation);
  }
};

class ScaleChannelsLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>& outputs) override {
    return apply_activation(outputs[static_cast<size_t>(def_.inputs[0])] * x, def_.activation);
  }
};

class IdentityLayer : public DarknetLayer {
 public:
  using DarknetLayer::DarknetLayer;
  torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>&) override { return x; }
};

using LayerFactory = std::function<std::shared_ptr<DarknetLayer>(const LayerDef&, Dialect)>;

template <typename Layer>
LayerFactory plain() {
  return [](const LayerDef& def, Dialect) { return std::make_shared<Layer>(def); };
}
template <typename Layer>
LayerFactory with_dialect() {
  return [](const LayerDef& def, Dialect dialect) { return std::make_shared<Layer>(def, dialect); };
}

const std::map<LayerType, LayerFactory>& layer_factories() {
  static const std::map<LayerType, LayerFactory> factories = {
      {LayerType::kConvolutional, with_dialect<ConvolutionalLayer>()},
      {LayerType::kConnected, with_dialect<ConnectedLayer>()},
      {LayerType::kBatchnorm, with_dialect<BatchnormLayer>()},
      {LayerType::kMaxpool, plain<MaxpoolLayer>()},
      {LayerType::kAvgpool, plain<AvgpoolLayer>()},
      {LayerType::kRoute, plain<RouteLayer>()},
      {LayerType::kShortcut, plain<ShortcutLayer>()},
      {LayerType::kUpsample, plain<UpsampleLayer>()},
      {LayerType::kReorg, plain<ReorgLayer>()},
      {LayerType::kYolo, plain<YoloLayer>()},
      {LayerType::kRegion, plain<RegionLayer>()},
      {LayerType::kDropout, plain<DropoutLayer>()},
      {LayerType::kSoftmax, plain<SoftmaxLayer>()},
      {LayerType::kSam, plain<SamLayer>()},
      {LayerType::kScaleChannels, plain<ScaleChannelsLayer>()},
      {LayerType::kCost, plain<IdentityLayer>()},
  };
  return factories;
}

}  // namespace

torch::Tensor head_activation(const LayerDef& def, const torch::Tensor& x) {
  if (def.type == LayerType::kYolo) return yolo_activation(def, x);
  if (def.type == LayerType::kRegion) return region_activation(def, x);
  throw std::runtime_error("head_activation: layer " + std::to_string(def.index) + " is not a yolo or region layer");
}

torch::Tensor batchnorm_divisor(const torch::Tensor& running_var, Dialect dialect) {
  return dialect == Dialect::kPjreddie ? running_var.sqrt() + kPjreddieBnEps : (running_var + kAlexeyABBnEps).sqrt();
}

// Formulas of Darknet's src/activations.h (pjreddie) and AlexeyAB's additions (mish with
// softplus threshold 20, hard_mish, the tanh approximation of gelu).
torch::Tensor apply_activation(const torch::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::kLinear: return x;
    case Activation::kLeaky: return torch::leaky_relu(x, 0.1);
    case Activation::kRelu: return torch::relu(x);
    case Activation::kRelu6: return torch::clamp(x, 0, 6);
    case Activation::kLogistic: return torch::sigmoid(x);
    case Activation::kTanh: return torch::tanh(x);
    case Activation::kElu: return torch::where(x >= 0, x, torch::exp(x) - 1);
    case Activation::kSelu:
      return torch::where(x >= 0, 1.0507f * x, 1.0507f * 1.6732f * (torch::exp(x) - 1));
    case Activation::kMish: return x * torch::tanh(F::softplus(x, F::SoftplusFuncOptions().threshold(20)));
    case Activation::kSwish: return x * torch::sigmoid(x);
    case Activation::kHardMish:
      return torch::where(x > 0, x, torch::where(x > -2, x * x / 2 + x, torch::zeros_like(x)));
    case Activation::kGelu:
      return 0.5f * x * (1 + torch::tanh(0.797885f * x + 0.035677f * x * x * x));
    case Activation::kRamp: return x * (x > 0) + 0.1f * x;
    case Activation::kRelie: return torch::where(x > 0, x, 0.01f * x);
    case Activation::kLoggy: return 2.f / (1.f + torch::exp(-x)) - 1.f;
    case Activation::kPlse:
      return torch::where(x < -4, 0.01f * (x + 4), torch::where(x > 4, 0.01f * (x - 4) + 1, 0.125f * x + 0.5f));
    case Activation::kHardtan: return torch::clamp(x, -1, 1);
    case Activation::kLhtan:
      return torch::where(x < 0, 0.001f * x, torch::where(x > 1, 0.001f * (x - 1) + 1, x));
  }
  throw std::logic_error("unhandled activation");
}

torch::Tensor apply_activation_in_place(torch::Tensor y, Activation activation) {
  switch (activation) {
    case Activation::kLeaky: return torch::leaky_relu_(y, 0.1);
    case Activation::kRelu: return torch::relu_(y);
    default: return apply_activation(y, activation);
  }
}

DarknetNetImpl::DarknetNetImpl(NetDef def, bool random_init)
    : def_(std::move(def)), input_multiple_(def_.input_multiple()) {
  torch::NoGradGuard no_grad;
  for (const auto& layer : def_.layers) {
    auto module = layer_factories().at(layer.type)(layer, def_.dialect);
    layers_.push_back(register_module(std::string(layer_type_name(layer.type)) + "_" +
                                          std::to_string(layer.index),
                                      module));
  }
  if (!random_init) return;
  for (auto& p : named_parameters()) {
    // Weights (not biases, not BN) get Kaiming-uniform, LibTorch's default for Conv2d/Linear.
    if (p.key().size() > 7 && p.key().compare(p.key().size() - 7, 7, ".weight") == 0 &&
        p.key().find(".bn.") == std::string::npos) {
      torch::nn::init::kaiming_uniform_(p.value(), std::sqrt(5.0));
    }
  }
}

std::vector<torch::Tensor> DarknetNetImpl::forward_all(const torch::Tensor& input) {
  const int multiple = input_multiple_;
  const bool cfg_size = input.dim() == 4 && input.size(2) == def_.height && input.size(3) == def_.width;
  const bool resized = input.dim() == 4 && multiple > 0 && input.size(2) > 0 && input.size(3) > 0 &&
                       input.size(2) % multiple == 0 && input.size(3) % multiple == 0;
  TORCH_CHECK(input.dim() == 4 && input.size(1) == def_.channels && (cfg_size || resized),
              def_.cfg_path, ": expected input (N, ", def_.channels, ", ", def_.height, ", ", def_.width, ")",
              multiple > 0 ? " or sides that are multiples of " + std::to_string(multiple) : std::string(),
              ", got ", input.sizes());
  std::vector<torch::Tensor> outputs;
  outputs.reserve(layers_.size());
  torch::Tensor x = input;
  for (auto& layer : layers_) {
    x = layer->forward(x, outputs);
    outputs.push_back(x);
  }
  return outputs;
}

torch::Tensor DarknetNetImpl::forward(const torch::Tensor& input) {
  return forward_all(input)[static_cast<size_t>(def_.output_layer())];
}

void DarknetNetImpl::load_weights(const DarknetWeights& weights) {
  const bool transposed = weights.header.transposed();
  size_t offset = 0;
  for (auto& layer : layers_) offset += layer->load_weights(weights.values.data() + offset, transposed);
  if (offset != weights.values.size()) {
    throw std::runtime_error(def_.cfg_path + ": weights do not fit (" + std::to_string(offset) +
                             " floats used of " + std::to_string(weights.values.size()) + ")");
  }
}

DarknetWeights DarknetNetImpl::save_weights(const WeightsHeader& header) const {
  DarknetWeights weights;
  weights.header = header;
  weights.values.reserve(static_cast<size_t>(def_.num_weight_floats()));
  for (const auto& layer : layers_) layer->save_weights(&weights.values, header.transposed());
  return weights;
}

}  // namespace facekit::darknet
