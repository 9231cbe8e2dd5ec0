// An exponential moving average of a network's weights (Polyak averaging), which the classifier
// trainer validates and saves in place of the network itself when --ema is given: the average of
// the last few thousand steps' weights generalises better than any one of them (Polyak and Juditsky
// 1992; used so by timm's and ultralytics' ModelEMA).
//
// After optimiser step n (1-based) every averaged tensor becomes d * average + (1 - d) * current,
// with d = min(decay, (1 + n) / (10 + n)): TensorFlow's tf.train.ExponentialMovingAverage with
// num_updates, so that the first steps of a run, far from where it ends, weigh little. Floating-point
// buffers (BatchNorm's running statistics) are averaged the same way, integer ones copied.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace facekit::train {

// The decay after optimiser step `updates` (1-based).
double average_decay(double decay, int64_t updates);

// `average` and `model` are two instances of one architecture (the same parameters and buffers in
// the same order); throws std::invalid_argument when they are not.
void copy_weights(torch::nn::Module& average, const torch::nn::Module& model);
void update_average(torch::nn::Module& average, const torch::nn::Module& model, double decay, int64_t updates);

}  // namespace facekit::train
