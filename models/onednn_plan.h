// A network's inference forward as one fixed list of oneDNN primitives, built once for one input
// shape (issue #7, "Fast"). Calling LibTorch per layer costs about 100 us of dispatch and layout
// reorders per convolution, more than small convolutions compute
// (experiments/onednn-fused-conv/). Here every primitive, weight layout and map is made once:
// convolutions with their activation fused as a post-op and their weights reordered once into
// the layout the primitive picks; maps kept channels-last (NHWC), so that concatenation,
// addition, pooling and upsampling read them without reorders; a run allocates only the tensors
// it returns. The Darknet nets (models/darknet/onednn_net.h) and Inception-v3
// (models/classifier/inception.h) are built on it.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace facekit {

// Activations a convolution or a sum fuses. kLeaky is Darknet's: x > 0 ? x : 0.1 x.
enum class PlanActivation { kNone, kRelu, kLeaky, kLogistic };

class OnednnPlan {
 public:
  using Map = size_t;                    // a map of the plan (an index)
  using Pair = std::array<int64_t, 2>;   // {along the height, along the width}

  // `input_dims`: (N, C, H, W) of the float32 tensors `run` gets.
  explicit OnednnPlan(const std::vector<int64_t>& input_dims);
  ~OnednnPlan();
  OnednnPlan(const OnednnPlan&) = delete;
  OnednnPlan& operator=(const OnednnPlan&) = delete;

  Map input() const { return 0; }
  std::vector<int64_t> dims(Map x) const;  // (N, C, H, W)

  // act(conv(x, weight) + bias): weight (out, in / groups, kh, kw), `padding` on both sides, output
  // side (in + 2 padding - dilation (k - 1) - 1) / stride + 1 (floor), as torch and Darknet.
  Map conv(Map x, const torch::Tensor& weight, const torch::Tensor& bias, Pair stride, Pair padding, int64_t dilation,
           int64_t groups, PlanActivation act);
  // Maximum over `kernel` windows: `before` padding cells before, output side
  // (in + total - kernel) / stride + 1 (Darknet's maxpool; torch's is total = 2 before). Padding
  // never wins.
  Map max_pool(Map x, Pair kernel, Pair stride, Pair before, Pair total);
  // Mean over `kernel` windows with `padding` on both sides, padding counted as zeros (torch's
  // avg_pool2d default, count_include_pad).
  Map avg_pool(Map x, Pair kernel, Pair stride, Pair padding);
  Map global_avg_pool(Map x);  // N x C x 1 x 1
  Map concat(const std::vector<Map>& parts);  // along the channels
  Map add(Map a, Map b, PlanActivation act);  // maps of one shape
  Map upsample_nearest(Map x, int64_t factor);
  // `run` returns `x` as an NCHW tensor, in the order of these calls.
  void output(Map x);

  // `input`: float32 CPU of input_dims (copied to NCHW-contiguous if it is not). One run at a time:
  // every run writes the same maps.
  std::vector<torch::Tensor> run(const torch::Tensor& input);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace facekit
