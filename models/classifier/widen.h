// Net2WiderNet (Chen, Goodfellow and Shlens, "Net2Net: Accelerating Learning via Knowledge
// Transfer", ICLR 2016, section 2.1) for AgeGenderNet: a trained network at one --width-mult grows
// into a wider one that computes the same function, so training goes on with more capacity instead
// of starting again from random weights.
//
// Every convolution of the wider net keeps its old output channels and fills the new ones with
// copies of randomly chosen old ones (weights and BatchNorm parameters and statistics copied); the
// layers that read those channels split each old input weight over its copies. A copy's share is
// 1/copies plus noise that sums to zero over the copies: the function stays exact (to float
// rounding) while the copies get different gradients and can learn different features.
#pragma once

#include <cstdint>

#include "models/classifier/age_gender_net.h"

namespace facekit {

// Relative size of the symmetry-breaking noise on a split weight (its standard deviation over the
// layer's own weight standard deviation).
constexpr double kWidenNoise = 0.01;

// `narrow` at `width_mult` (at least its own; throws std::invalid_argument otherwise), the rest of
// its config kept. The result is in eval mode and gives narrow's outputs to float rounding.
LoadedAgeGenderNet widen_age_gender_net(const LoadedAgeGenderNet& narrow, double width_mult, uint64_t seed);

}  // namespace facekit
