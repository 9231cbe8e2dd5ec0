#include "models/darknet/inference.h"

#include <ATen/Context.h>

namespace facekit::darknet {
namespace {

// LibTorch's own threshold (use_mkldnn in aten/src/ATen/native/Convolution.cpp): below it, on one
// image, its im2col + BLAS path wins.
constexpr int64_t kSmallMap = 20480;

// Which layers' outputs are read later than by the next layer: route, shortcut, sam and
// scale_channels inputs, the heads (decode reads them) and the network's output.
std::vector<bool> outputs_to_keep(const NetDef& def) {
  std::vector<bool> keep(def.layers.size(), false);
  for (const auto& layer : def.layers) {
    for (const int from : layer.inputs) keep[static_cast<size_t>(from)] = true;
    const bool head = layer.type == LayerType::kYolo || layer.type == LayerType::kRegion;
    if (head) keep[static_cast<size_t>(layer.index)] = true;
  }
  keep[static_cast<size_t>(def.output_layer())] = true;
  return keep;
}

// Layers whose forward is written for any memory format; the others (views in the heads,
// reverse upsample...) get a plain NCHW-contiguous input.
bool keeps_channels_last(LayerType type) {
  return type == LayerType::kMaxpool || type == LayerType::kRoute || type == LayerType::kShortcut ||
         type == LayerType::kDropout;
}

}  // namespace

FoldedConv fold_batchnorm(DarknetNetImpl& net, int layer) {
  torch::NoGradGuard no_grad;
  auto params = net.layer(static_cast<size_t>(layer)).named_parameters();
  auto buffers = net.layer(static_cast<size_t>(layer)).named_buffers();
  const auto weight = params["weight"];
  if (!net.def().layers[static_cast<size_t>(layer)].batch_normalize) return {weight.clone(), params["bias"].clone()};
  const auto as_double = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  const auto divisor = batchnorm_divisor(as_double(buffers["bn.running_var"]), net.def().dialect);
  const auto scale = as_double(params["bn.weight"]) / divisor;
  const auto bias = as_double(params["bn.bias"]) - as_double(buffers["bn.running_mean"]) * scale;
  return {(as_double(weight) * scale.view({-1, 1, 1, 1})).to(weight.dtype()), bias.to(weight.dtype())};
}

torch::Tensor inference_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::IntArrayRef stride, torch::IntArrayRef padding, torch::IntArrayRef dilation,
                               int64_t groups) {
  const bool small = x.size(0) == 1 && x.numel() <= kSmallMap;
  if (!small && x.is_cpu() && x.scalar_type() == torch::kFloat32 && at::hasMKLDNN()) {
    return at::mkldnn_convolution(x.contiguous(at::MemoryFormat::ChannelsLast), weight, bias, padding, stride, dilation,
                                  groups);
  }
  return torch::conv2d(x.contiguous(), weight.contiguous(), bias, stride, padding, dilation, groups);
}

InferenceNet::InferenceNet(DarknetNet net, InferenceEngine engine)
    : net_(std::move(net)),
      keep_(outputs_to_keep(net_->def())),
      no_plan_because_(engine == InferenceEngine::kOneDnnPlan ? onednn_unsupported(net_->def()) : "asked for") {
  net_->eval();
  for (const auto& layer : def().layers) {
    if (layer.type != LayerType::kConvolutional) {
      convs_.emplace_back();
      continue;
    }
    auto folded = fold_batchnorm(*net_, layer.index);
    folded.weight = folded.weight.contiguous(at::MemoryFormat::ChannelsLast);  // else copied per call
    convs_.push_back(std::move(folded));
  }
}

torch::Tensor InferenceNet::run_layer(size_t index, const torch::Tensor& x, const std::vector<torch::Tensor>& outputs) {
  const auto& conv = convs_[index];
  const auto& d = def().layers[index];
  if (!conv.weight.defined()) {
    return net_->layer(index).forward(keeps_channels_last(d.type) ? x : x.contiguous(), outputs);
  }
  auto y = inference_conv2d(x, conv.weight, conv.bias, {d.stride_y, d.stride_x}, {d.padding, d.padding},
                            {d.dilation, d.dilation}, d.groups);
  return apply_activation_in_place(std::move(y), d.activation);
}

std::string InferenceNet::engine_description() const {
  return no_plan_because_.empty() ? "oneDNN plan" : "LibTorch calls (" + no_plan_because_ + ")";
}

// The plan's maps, then the heads in LibTorch on their inputs (yolo_activation and the like).
std::vector<torch::Tensor> InferenceNet::forward_onednn(const torch::Tensor& input) {
  auto& plan = plans_[input.size(0)];
  if (!plan) plan = std::make_unique<OnednnNet>(def(), convs_, input.size(0));
  auto outputs = plan->forward(input.contiguous());
  for (const auto& layer : def().layers) {
    if (layer.type != LayerType::kYolo && layer.type != LayerType::kRegion) continue;
    const size_t i = static_cast<size_t>(layer.index);
    outputs[i] = net_->layer(i).forward(outputs[i - 1], outputs);
  }
  return outputs;
}

std::vector<torch::Tensor> InferenceNet::forward_all(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == def().channels && input.size(2) == def().height &&
                  input.size(3) == def().width,
              def().cfg_path, ": expected input (N, ", def().channels, ", ", def().height, ", ", def().width,
              "), got ", input.sizes());
  c10::InferenceMode inference;  // no autograd, no version counters: less work per op than NoGradGuard
  if (no_plan_because_.empty() && input.is_cpu() && input.scalar_type() == torch::kFloat32) return forward_onednn(input);
  std::vector<torch::Tensor> outputs(keep_.size());
  torch::Tensor x = input;
  for (size_t i = 0; i < keep_.size(); ++i) {
    x = run_layer(i, x, outputs);
    if (keep_[i]) outputs[i] = x;
  }
  return outputs;
}

torch::Tensor InferenceNet::forward(const torch::Tensor& input) {
  return forward_all(input)[static_cast<size_t>(def().output_layer())];
}

}  // namespace facekit::darknet
