// The loss of the age-in-years head: logits over 0..100 years (models/classifier), one target year
// per face, -1 where the age is unknown (those faces are left out; none known gives 0, not NaN).
//   sigma 0:   cross-entropy with the year as the class (DEX; Rothe et al. 2015, "DEX: Deep
//              EXpectation of apparent age from a single image").
//   sigma > 0: cross-entropy against a Gaussian around the year, N(year, sigma^2) over the whole
//              years 0..100, normalised: 33 is nearly right for a face of 34 (DLDL; Gao et al. 2017,
//              "Deep Label Distribution Learning with Label Ambiguity").
//   l1_weight: adds that times |E[age] - year|, the absolute error of the expectation facekit reports
//              (DLDL-v2; Gao et al. 2018, "Age Estimation Using Expectation of Label Distribution
//              Learning"): the MAE itself, trained for.
#pragma once

#include <torch/torch.h>

namespace facekit::train {

torch::Tensor age_years_loss(const torch::Tensor& logits, const torch::Tensor& years, double sigma, double l1_weight);

}  // namespace facekit::train
