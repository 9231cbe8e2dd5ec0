// A prepared Darknet net as one OnednnPlan (models/onednn_plan.h) for one input shape: each
// layer a oneDNN primitive (convolutions with BatchNorm folded and the activation fused), the
// yolo/region heads left to LibTorch (InferenceNet runs them on the exported maps).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/darknet/netdef.h"
#include "models/onednn_plan.h"

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

  // `input`: (batch, C, H, W) float32, NCHW-contiguous. Returns one tensor per layer, defined
  // (NCHW-contiguous, newly allocated) for each head's input and for the output layer when it is
  // not a head; the rest undefined. One forward at a time: every forward writes the same maps.
  std::vector<torch::Tensor> forward(const torch::Tensor& input);

 private:
  OnednnPlan plan_;
  size_t layers_;
  std::vector<size_t> exported_;  // the layers whose maps plan_.run returns, in its order
};

}  // namespace facekit::darknet
