#include "train/net_training_config.h"

#include <stdexcept>

namespace facekit::train {
namespace {

// AlexeyAB's parse_net_options keys that change training and that facekit does not implement.
constexpr const char* kNotImplementedKeys[] = {"mixup", "cutmix", "adam", "label_smooth_eps", "track"};

}  // namespace

NetTrainingConfig read_net_training_config(const darknet::CfgFile& cfg) {
  if (cfg.sections.empty()) throw std::runtime_error(cfg.path + ": no [net] section");
  const darknet::CfgSection& net = cfg.sections.front();
  NetTrainingConfig c;
  c.batch = net.get_int("batch", 1);
  c.subdivisions = net.get_int("subdivisions", 1);
  c.learning_rate = net.get_float("learning_rate", 0.001f);
  c.momentum = net.get_float("momentum", 0.9f);
  c.decay = net.get_float("decay", 0.0001f);
  c.burn_in = net.get_int("burn_in", 0);
  c.power = net.get_float("power", 4);
  c.max_batches = net.get_int("max_batches", 0);
  c.policy = net.get_string("policy", "constant");
  c.steps = net.get_ints("steps");
  c.scales = net.get_floats("scales");
  c.gamma = net.get_float("gamma", 1);
  c.learning_rate_min = net.get_float("learning_rate_min", 0.00001f);
  c.sgdr_cycle = net.get_int("sgdr_cycle", 0);
  c.sgdr_mult = net.get_int("sgdr_mult", 2);
  c.saturation = net.get_float("saturation", 1);
  c.exposure = net.get_float("exposure", 1);
  c.hue = net.get_float("hue", 0);
  c.mosaic = net.get_int("mosaic", 0) != 0;
  c.flip = net.get_int("flip", 1) != 0;
  c.blur = net.get_int("blur", 0);
  if (c.blur < 0) throw std::runtime_error(net.where("blur") + " must be 0 or more (got " + std::to_string(c.blur) + ")");
  for (const char* key : kNotImplementedKeys) {
    const std::string value = net.get_string(key, "0");
    if (value != "0") c.not_implemented.push_back(net.where(key) + "=" + value);
  }
  if (c.batch <= 0 || c.subdivisions <= 0 || c.batch % c.subdivisions != 0) {
    throw std::runtime_error(cfg.path + ": batch=" + std::to_string(c.batch) + " must be a positive multiple of subdivisions=" +
                             std::to_string(c.subdivisions));
  }
  if (c.steps.size() != c.scales.size()) throw std::runtime_error(cfg.path + ": steps and scales must have the same length");
  try {
    parse_lr_policy(c.policy);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(cfg.path + ": [net] " + e.what());
  }
  return c;
}

LrSchedule NetTrainingConfig::schedule() const {
  LrSchedule s;
  s.policy = parse_lr_policy(policy);
  s.base = learning_rate;
  s.warmup = burn_in;
  s.warmup_power = power;
  s.total = max_batches;
  s.steps = steps;
  s.scales.assign(scales.begin(), scales.end());
  s.power = power;
  s.gamma = gamma;
  if (s.policy == LrSchedule::Policy::kSgdr) {
    s.min = learning_rate_min;
    s.cycle = sgdr_cycle > 0 ? sgdr_cycle : max_batches;
    s.cycle_mult = sgdr_mult;
  }
  return s;
}

}  // namespace facekit::train
