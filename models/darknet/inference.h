// DarknetNet prepared for inference (issue #7, "Fast"): BatchNorm folded into the convolutions,
// eval mode, InferenceMode (no autograd), convolutions run by oneDNN on channels-last (NHWC) maps
// (inference_conv2d), activations in place, and only the layer outputs a later layer or the caller
// reads kept alive. The trainable DarknetNet is left as it is (apart from eval mode): prepare again
// after changing its weights.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/darknet/darknet_net.h"
#include "models/darknet/onednn_net.h"

namespace facekit::darknet {

// A convolution with its BatchNorm folded in: y = conv(x, weight) + bias.
struct FoldedConv {
  torch::Tensor weight, bias;
};

// Darknet's fuse_conv_batchnorm (AlexeyAB's src/network.c), in double precision:
// weight * scale / d and bias - mean * scale / d, d being the dialect's BN divisor.
// `layer` must be a convolutional layer of `net`.
FoldedConv fold_batchnorm(DarknetNetImpl& net, int layer);

// A convolution the way inference runs it on the CPU: oneDNN (MKL-DNN) directly, on a channels-last
// input (copied to that layout if it is not), giving a channels-last output; pass a channels-last
// weight, else it is copied per call. LibTorch's own dispatch runs oneDNN on NCHW maps, reordering
// every input and output, or im2col + BLAS: Yolo-Fastest's forward took about twice as long.
// Single images under 20480 input values still go through LibTorch's dispatch (NCHW): there its
// small kernels beat oneDNN's per-call cost (Inception's late layers: 7-10 ms against 11-16 ms).
torch::Tensor inference_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::IntArrayRef stride, torch::IntArrayRef padding, torch::IntArrayRef dilation,
                               int64_t groups);

// How a prepared net runs its layers: as one oneDNN plan per batch size (onednn_net.h) where every
// layer has a primitive, else (or when asked) layer by layer through LibTorch.
enum class InferenceEngine { kOneDnnPlan, kLibTorchCalls };

class InferenceNet {
 public:
  // Puts `net` in eval mode and folds every convolution's BatchNorm; `net` stays trainable.
  explicit InferenceNet(DarknetNet net, InferenceEngine engine = InferenceEngine::kOneDnnPlan);

  // Like DarknetNetImpl::forward_all, but only the outputs of the yolo/region heads and of the
  // output layer are sure to be defined (enough for decode_detections), NCHW-contiguous. Others
  // may be (a head's input; route/shortcut sources in LibTorch calls, maybe channels-last).
  // Not for several threads at once (the oneDNN plans' maps are shared).
  std::vector<torch::Tensor> forward_all(const torch::Tensor& input);
  torch::Tensor forward(const torch::Tensor& input);

  const NetDef& def() const { return net_->def(); }
  // What runs the layers for a CPU float32 input, e.g. "oneDNN plan" or
  // "LibTorch calls (layer 12 (reorg): no primitive for this layer type)".
  std::string engine_description() const;

 private:
  torch::Tensor run_layer(size_t index, const torch::Tensor& x, const std::vector<torch::Tensor>& outputs);
  std::vector<torch::Tensor> forward_onednn(const torch::Tensor& input);

  DarknetNet net_;
  std::vector<FoldedConv> convs_;  // per layer; empty for layers that are not convolutional
  std::vector<bool> keep_;         // whether layer i's output must outlive the next layer
  std::string no_plan_because_;    // empty when the oneDNN plan is used
  std::map<int64_t, std::unique_ptr<OnednnNet>> plans_;  // per batch size, made on first use
};

}  // namespace facekit::darknet
