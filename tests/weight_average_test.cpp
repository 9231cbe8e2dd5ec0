// train/weight_average.h: the moving average follows TensorFlow's ExponentialMovingAverage with
// num_updates (decay min(d, (1 + n) / (10 + n))), over parameters and BatchNorm's statistics.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "train/weight_average.h"

namespace facekit::train {
namespace {

struct TinyImpl : torch::nn::Module {
  TinyImpl()
      : linear(register_module("linear", torch::nn::Linear(2, 1))),
        bn(register_module("bn", torch::nn::BatchNorm1d(1))) {}
  torch::nn::Linear linear;
  torch::nn::BatchNorm1d bn;
};
TORCH_MODULE(Tiny);

void fill(Tiny& net, float value) {
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.fill_(value);
  net->bn->running_mean.fill_(value);
  net->bn->running_var.fill_(value);
  net->bn->num_batches_tracked.fill_(static_cast<int64_t>(value));
}

TEST(WeightAverage, DecayRampsUpToItsValue) {
  EXPECT_NEAR(average_decay(0.999, 1), 2.0 / 11, 1e-12);
  EXPECT_NEAR(average_decay(0.999, 90), 91.0 / 100, 1e-12);
  EXPECT_EQ(average_decay(0.999, 100000), 0.999);
}

// The average of weights 1, 2, 3 after steps 1, 2, 3 from a start at 0, worked out by hand:
// 9/11 * 1 = 0.818182; 1/4 * 0.818182 + 3/4 * 2 = 1.704545; 4/13 * 1.704545 + 9/13 * 3 = 2.601399.
TEST(WeightAverage, AveragesParametersAndStatisticsAndCopiesCounts) {
  Tiny average, net;
  fill(net, 0);
  copy_weights(*average, *net);
  for (int step = 1; step <= 3; ++step) {
    fill(net, static_cast<float>(step));
    update_average(*average, *net, 0.999, step);
  }
  for (const auto& p : average->parameters()) EXPECT_NEAR(p.view(-1)[0].item<float>(), 2.601399f, 1e-5);
  EXPECT_NEAR(average->bn->running_mean.item<float>(), 2.601399f, 1e-5);
  EXPECT_NEAR(average->bn->running_var.item<float>(), 2.601399f, 1e-5);
  EXPECT_EQ(average->bn->num_batches_tracked.item<int64_t>(), 3);
  // A decay of 0.5 caps the ramp from step 9 on ((1 + 9) / 19 > 0.5).
  update_average(*average, *net, 0.5, 9);
  EXPECT_NEAR(average->linear->bias.item<float>(), 0.5f * 2.601399f + 0.5f * 3, 1e-5);
}

TEST(WeightAverage, RefusesAnotherArchitecture) {
  Tiny net;
  torch::nn::Linear other(2, 1);
  EXPECT_THROW(copy_weights(*other, *net), std::invalid_argument);
  torch::nn::Sequential wider(torch::nn::Linear(2, 3));
  EXPECT_THROW(update_average(*wider, *other, 0.9, 1), std::invalid_argument);
}

}  // namespace
}  // namespace facekit::train
