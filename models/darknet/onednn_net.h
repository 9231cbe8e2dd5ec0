// A prepared Darknet net as one fixed sequence of oneDNN primitives, built for one input shape
// (issue #7, "Fast"). Calling LibTorch per layer costs about 100 us of dispatch and layout
// reorders per convolution, more than Yolo-Fastest's small convolutions compute
// (experiments/onednn-fused-conv/). Here every primitive, weight layout and activation buffer is
// made once: convolutions with their activation fused as a post-op, weights reordered once into
// the layout the primitive picks, maps kept channels-last (NHWC) so that concatenation, addition,
// pooling and upsampling read them without reorders, and a forward allocates only what it returns.
// The yolo/region heads stay in LibTorch (InferenceNet runs them on the exported maps).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "models/darknet/netdef.h"

namespace facekit::darknet {

struct FoldedConv;

// Why `def` cannot run as oneDNN primitives (the first layer that cannot, e.g. "layer 12: reorg"),
// or "" when it can. Supported: convolutions with linear, leaky, relu or logistic activations,
// maxpool, route (whole maps), shortcut (same shapes, alpha = beta = 1), upsample (not reversed,
// scale 1), dropout, and yolo/region heads read by no other layer.
std::string onednn_unsupported(const NetDef& def);

class OnednnNet {
 public:
  // `convs[i]`: layer i's convolution with its BatchNorm folded (undefined for other layers);
  // `batch`: the images of every forward. `def` must be supported (onednn_unsupported).
  OnednnNet(const NetDef& def, const std::vector<FoldedConv>& convs, int64_t batch);
  ~OnednnNet();
  OnednnNet(const OnednnNet&) = delete;
  OnednnNet& operator=(const OnednnNet&) = delete;

  // `input`: (batch, C, H, W) float32, NCHW-contiguous. Returns one tensor per layer, defined
  // (NCHW-contiguous, newly allocated) for each head's input and for the output layer when it is
  // not a head; the rest undefined. One forward at a time: every forward writes the same maps.
  std::vector<torch::Tensor> forward(const torch::Tensor& input);

  int64_t batch() const { return batch_; }

 private:
  struct Plan;
  int64_t batch_;
  std::unique_ptr<Plan> plan_;
};

}  // namespace facekit::darknet
