// DarknetNet: a trainable torch::nn::Module built from a NetDef, computing what Darknet's
// forward_network computes. Parameters are named after their Darknet layer:
// `convolutional_12.weight`, `convolutional_12.bn.running_var`, `connected_30.bias`...
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "models/darknet/netdef.h"
#include "models/darknet/weights.h"

namespace facekit::darknet {

// One Darknet layer. `outputs` holds every earlier layer's output (for route, shortcut, sam...).
class DarknetLayer : public torch::nn::Module {
 public:
  explicit DarknetLayer(LayerDef def) : def_(std::move(def)) {}
  virtual torch::Tensor forward(const torch::Tensor& x, const std::vector<torch::Tensor>& outputs) = 0;
  // Copies this layer's values from a .weights array starting at `values`, in Darknet's order;
  // returns how many floats it read. Layers without weights read nothing.
  virtual size_t load_weights(const float* /*values*/, bool /*transposed*/) { return 0; }
  virtual void save_weights(std::vector<float>* /*values*/, bool /*transposed*/) const {}
  const LayerDef& def() const { return def_; }

 protected:
  LayerDef def_;
};

class DarknetNetImpl : public torch::nn::Module {
 public:
  // Parameters start as Darknet initialises them (random convolution weights, BN identity);
  // pass random_init = false when weights will be loaded anyway (saves seconds on big nets).
  explicit DarknetNetImpl(NetDef def, bool random_init = true);

  // The output of every layer, index = Darknet layer index. The input is (N, C, H, W) at the cfg's
  // size, or at sides that are multiples of NetDef::input_multiple() (multi-scale training).
  std::vector<torch::Tensor> forward_all(const torch::Tensor& input);
  // The network output: that of NetDef::output_layer().
  torch::Tensor forward(const torch::Tensor& input);

  // `weights` must fit (check_weights_fit); parameters keep their device.
  void load_weights(const DarknetWeights& weights);
  DarknetWeights save_weights(const WeightsHeader& header) const;

  const NetDef& def() const { return def_; }
  // Layer i's module (InferenceNet runs the layers it does not rewrite through it).
  DarknetLayer& layer(size_t index) { return *layers_.at(index); }

 private:
  NetDef def_;
  int input_multiple_;  // def_.input_multiple(), once: forward_all checks every input against it
  std::vector<std::shared_ptr<DarknetLayer>> layers_;
};
TORCH_MODULE(DarknetNet);

torch::Tensor apply_activation(const torch::Tensor& x, Activation activation);
// The same on a tensor nothing else reads (a fresh convolution or BatchNorm output): leaky and relu
// overwrite it, which saves a map per layer, in training too (their backward needs only the result).
torch::Tensor apply_activation_in_place(torch::Tensor y, Activation activation);

// What Darknet's BatchNorm divides by: sqrt(var) + .000001 (pjreddie's normalize_cpu) or
// sqrt(var + .00001) (AlexeyAB's), src/blas.c in each.
torch::Tensor batchnorm_divisor(const torch::Tensor& running_var, Dialect dialect);

// What a yolo or region layer does to the tensor that feeds it (logistic, scale_x_y, softmax):
// turns raw head outputs computed elsewhere (an ONNX export run by OpenCV) into what
// decode_detections expects.
torch::Tensor head_activation(const LayerDef& def, const torch::Tensor& x);

}  // namespace facekit::darknet
