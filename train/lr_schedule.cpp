#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace facekit::train {

double LrSchedule::at(int step) const {
  if (step < warmup) return base * std::pow(static_cast<double>(step) / warmup, warmup_power);
  switch (policy) {
    case Policy::kConstant:
      return base;
    case Policy::kSteps: {
      double rate = base;
      for (size_t i = 0; i < steps.size() && i < scales.size() && steps[i] <= step; ++i) rate *= scales[i];
      return rate;
    }
    case Policy::kCosine: {
      const double span = std::max(1, total - warmup);
      const double t = std::clamp((step - warmup) / span, 0.0, 1.0);
      return min + (base - min) * (1 + std::cos(M_PI * t)) / 2;
    }
    case Policy::kSgdr: {
      long long start = 0, length = std::max(1, cycle);
      while (start + length < step) start += length, length *= std::max(1, cycle_mult);
      return min + (base - min) * (1 + std::cos(M_PI * static_cast<double>(step - start) / length)) / 2;
    }
    case Policy::kPoly:
      return base * std::pow(std::max(0.0, 1 - static_cast<double>(step) / std::max(1, total)), power);
    case Policy::kExp:
      return base * std::pow(gamma, step);
  }
  return base;
}

LrSchedule::Policy parse_lr_policy(const std::string& name) {
  if (name == "constant") return LrSchedule::Policy::kConstant;
  if (name == "steps") return LrSchedule::Policy::kSteps;
  if (name == "cosine") return LrSchedule::Policy::kCosine;
  if (name == "sgdr") return LrSchedule::Policy::kSgdr;
  if (name == "poly") return LrSchedule::Policy::kPoly;
  if (name == "exp") return LrSchedule::Policy::kExp;
  throw std::invalid_argument("learning-rate policy '" + name + "' (expected constant, steps, cosine, sgdr, poly or exp)");
}

}  // namespace facekit::train
