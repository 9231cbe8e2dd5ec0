// Checkpoints are written only for sound weights: finite, and giving finite outputs on the latest
// batch. An update computed from a finite loss can still blow the weights up (too high a learning
// rate); only the next step's loss would show it, after the checkpoint had replaced the last good
// one. The check runs the batch in eval mode, which changes no BatchNorm statistics and draws no
// random numbers, so a run that checks is the same run as one that does not.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace facekit::train {

inline bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }

// Every parameter and floating-point buffer.
inline bool all_finite(const torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (const auto& t : module.parameters()) {
    if (!all_finite(t)) return false;
  }
  for (const auto& t : module.buffers()) {
    if (t.is_floating_point() && !all_finite(t)) return false;
  }
  return true;
}

// Calls `forward` with `module` in eval mode and no autograd, then puts every submodule back in the
// mode it was in (a frozen backbone stays in eval mode).
template <typename Forward>
auto in_eval_mode(torch::nn::Module& module, Forward forward) {
  std::vector<std::pair<std::shared_ptr<torch::nn::Module>, bool>> modes;
  for (const auto& m : module.modules(/*include_self=*/false)) modes.emplace_back(m, m->is_training());
  const bool training = module.is_training();
  torch::NoGradGuard no_grad;
  module.eval();
  auto result = forward();
  module.train(training);
  for (auto& [m, was_training] : modes) m->train(was_training);  // pre-order: parents before children
  return result;
}

}  // namespace facekit::train
