#include "train/age_years_loss.h"

namespace facekit::train {
namespace F = torch::nn::functional;

torch::Tensor age_years_loss(const torch::Tensor& logits, const torch::Tensor& years, double sigma, double l1_weight) {
  const auto known = years >= 0;
  if (known.sum().item<int64_t>() == 0) return torch::zeros({}, logits.options());
  const auto log_p = F::log_softmax(logits.index({known}), /*dim=*/1);  // K x 101
  const auto year = years.index({known});
  const auto grid = torch::arange(logits.size(1), log_p.options());  // 0..100
  torch::Tensor loss;
  if (sigma > 0) {
    const auto distance = grid.unsqueeze(0) - year.to(log_p.dtype()).unsqueeze(1);     // K x 101
    const auto target = F::softmax(-distance.pow(2) / (2 * sigma * sigma), /*dim=*/1);  // the normalised Gaussian
    loss = -(target * log_p).sum(1).mean();
  } else {
    loss = F::nll_loss(log_p, year);
  }
  if (l1_weight > 0) {
    const auto expectation = (log_p.exp() * grid).sum(1);
    loss = loss + l1_weight * (expectation - year.to(log_p.dtype())).abs().mean();
  }
  return loss;
}

}  // namespace facekit::train
