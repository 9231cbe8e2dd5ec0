// Tensor comparisons for the tests that run networks.
#pragma once

#include <torch/torch.h>

#include "tests/test_util.h"

namespace facekit::test {

// max |a - b| / max |b|: the parity measure of the foundation issue (<= 1e-4 passes).
inline double relative_max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const auto reference = b.to(torch::kFloat64);
  const double scale = reference.abs().max().item<double>();
  const double diff = (a.to(torch::kFloat64) - reference).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

}  // namespace facekit::test
