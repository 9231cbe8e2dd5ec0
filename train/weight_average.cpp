#include "train/weight_average.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace facekit::train {
namespace {

using TensorPairs = std::vector<std::pair<torch::Tensor, torch::Tensor>>;

// Parameters then buffers, each with its counterpart in `model`, checked for the same name and shape.
TensorPairs paired_tensors(torch::nn::Module& average, const torch::nn::Module& model) {
  const auto pair_up = [](const auto& to, const auto& from, TensorPairs* pairs) {
    if (to.size() != from.size()) {
      throw std::invalid_argument("weight average: the two networks have different tensors");
    }
    for (size_t i = 0; i < to.size(); ++i) {
      if (to[i].key() != from[i].key() || !to[i].value().sizes().equals(from[i].value().sizes())) {
        throw std::invalid_argument("weight average: '" + to[i].key() +
                                    "' has no counterpart of its shape in the network");
      }
      pairs->emplace_back(to[i].value(), from[i].value());
    }
  };
  TensorPairs pairs;
  pair_up(average.named_parameters(), model.named_parameters(), &pairs);
  pair_up(average.named_buffers(), model.named_buffers(), &pairs);
  return pairs;
}

}  // namespace

double average_decay(double decay, int64_t updates) {
  return std::min(decay, (1.0 + static_cast<double>(updates)) / (10.0 + static_cast<double>(updates)));
}

void copy_weights(torch::nn::Module& average, const torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& [to, from] : paired_tensors(average, model)) to.copy_(from);
}

void update_average(torch::nn::Module& average, const torch::nn::Module& model, double decay, int64_t updates) {
  torch::NoGradGuard no_grad;
  const double d = average_decay(decay, updates);
  for (auto& [to, from] : paired_tensors(average, model)) {
    if (to.is_floating_point()) {
      to.mul_(d).add_(from, 1 - d);
    } else {
      to.copy_(from);
    }
  }
}

}  // namespace facekit::train
