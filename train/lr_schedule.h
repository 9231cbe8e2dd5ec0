// Learning-rate schedules, as a function of the optimisation step (a weight update).
//
//   warm-up   step < warmup: base * (step / warmup)^warmup_power. Darknet's burn_in with its
//             `power` key (default 4, src/network.c get_current_rate); 1 is the linear warm-up
//             of Goyal et al. 2017.
//   constant  base
//   steps     base times every `scales[i]` whose `steps[i]` <= step (Darknet's STEPS; the
//             classifier's step schedule is steps {a, b}, scales {0.1, 0.1})
//   cosine    min + (base - min) (1 + cos(pi t)) / 2, t running 0..1 from the end of warm-up to
//             `total` (Loshchilov and Hutter 2017, without restarts)
//   sgdr      cosine from base to min over a cycle of `cycle` steps, then again over cycles each
//             `cycle_mult` times longer (Loshchilov and Hutter 2017, SGDR: warm restarts; AlexeyAB's
//             SGDR policy, src/network.c get_current_rate, with sgdr_cycle, sgdr_mult and
//             learning_rate_min; its step count includes the burn-in)
//   poly      base (1 - step / total)^power (Darknet's POLY)
//   exp       base gamma^step (Darknet's EXP)
#pragma once

#include <string>
#include <vector>

namespace facekit::train {

struct LrSchedule {
  enum class Policy { kConstant, kSteps, kCosine, kSgdr, kPoly, kExp };
  Policy policy = Policy::kCosine;
  double base = 0.01;
  int warmup = 0;
  double warmup_power = 1;
  int total = 1;                // steps in the whole run (cosine, poly)
  double min = 0;               // cosine's and sgdr's floor
  int cycle = 1;                // sgdr: steps in the first cycle
  int cycle_mult = 2;           // sgdr: each cycle this many times longer than the one before
  std::vector<int> steps;       // steps policy
  std::vector<double> scales;   // steps policy, one per step
  double power = 4;             // poly
  double gamma = 1;             // exp

  double at(int step) const;
};

// "constant", "steps", "cosine", "sgdr", "poly", "exp"; throws on anything else.
LrSchedule::Policy parse_lr_policy(const std::string& name);

}  // namespace facekit::train
