#include "models/classifier/age_gender_net.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "datasets/atomic_file.h"
#include "models/checkpoint_archive.h"

namespace facekit {
namespace {

using nlohmann::json;

constexpr const char* kFormatValue = "facekit-age-gender-checkpoint-1";
constexpr const char* kConfigKey = "facekit.config";  // AgeGenderConfig as JSON text
// "float16" when the floating-point tensors are stored at half precision; absent: float32.
constexpr const char* kStorageKey = "facekit.storage";
constexpr const char* kFloat16Storage = "float16";
constexpr int64_t kGenderClasses = 2;
// New heads start small (logits near 0: uniform predictions, no early saturation); torchvision's
// fc uses 0.1, which on 2048 pooled ReLU features gives logits of several units.
constexpr double kHeadInitStddev = 0.01;

torch::nn::Linear make_head(int64_t in, int64_t out) {
  torch::nn::Linear head(in, out);
  trunc_normal_(head->weight, kHeadInitStddev);
  torch::NoGradGuard no_grad;
  head->bias.zero_();
  return head;
}

json config_to_json(const AgeGenderConfig& c) {
  const auto triple = [](const float* v) { return json::array({v[0], v[1], v[2]}); };
  return {{"architecture", c.architecture},
          {"width_mult", c.width_mult},
          {"input_size", c.crop.size},
          {"crop_margin", c.crop.margin},
          {"crop_fill_bgr", json::array({c.crop.fill[0], c.crop.fill[1], c.crop.fill[2]})},
          {"mean_rgb", triple(c.normalisation.mean)},
          {"std_rgb", triple(c.normalisation.std)},
          {"age_intervals", format_age_intervals(c.intervals)},
          {"gender_labels", c.gender_labels},
          {"age_regression", c.age_regression},
          {"age_calibration", {{"offset", c.age_calibration.offset}, {"scale", c.age_calibration.scale}}},
          {"aux_head", c.aux_head},
          {"dropout", c.dropout}};
}

// Every key is required (a checkpoint that lacks one was not written by this version), except
// age_calibration, added later: identity when absent.
AgeGenderConfig config_from_json(const json& j) {
  AgeGenderConfig c;
  c.architecture = j.at("architecture").get<std::string>();
  c.width_mult = j.at("width_mult").get<double>();
  c.crop.size = j.at("input_size").get<int>();
  c.crop.margin = j.at("crop_margin").get<float>();
  const auto fill = j.at("crop_fill_bgr").get<std::vector<double>>();
  c.crop.fill = cv::Scalar(fill.at(0), fill.at(1), fill.at(2));
  const auto mean = j.at("mean_rgb").get<std::vector<float>>(), std = j.at("std_rgb").get<std::vector<float>>();
  for (int k = 0; k < 3; ++k) c.normalisation.mean[k] = mean.at(k), c.normalisation.std[k] = std.at(k);
  c.intervals = parse_age_intervals(j.at("age_intervals").get<std::string>());
  c.gender_labels = j.at("gender_labels").get<std::vector<std::string>>();
  c.age_regression = j.at("age_regression").get<bool>();
  if (j.contains("age_calibration")) {
    c.age_calibration.offset = j.at("age_calibration").at("offset").get<float>();
    c.age_calibration.scale = j.at("age_calibration").at("scale").get<float>();
  }
  c.aux_head = j.at("aux_head").get<bool>();
  c.dropout = j.at("dropout").get<double>();
  return c;
}

}  // namespace

std::string age_gender_config_json(const AgeGenderConfig& config) { return config_to_json(config).dump(); }

AgeGenderConfig age_gender_config_from_json(const std::string& text) { return config_from_json(json::parse(text)); }

std::string describe_age_gender_config(const AgeGenderConfig& c) {
  std::ostringstream out;
  out << "architecture: " << c.architecture << " (width " << c.width_mult << ")\n"
      << "input: " << c.crop.size << " x " << c.crop.size << " RGB, crop margin " << c.crop.margin << "\n"
      << "normalisation: mean " << c.normalisation.mean[0] << " " << c.normalisation.mean[1] << " "
      << c.normalisation.mean[2] << ", std " << c.normalisation.std[0] << " " << c.normalisation.std[1] << " "
      << c.normalisation.std[2] << "\n"
      << "age intervals: " << format_age_intervals(c.intervals) << "\n"
      << "gender labels: " << c.gender_labels.at(0) << ", " << c.gender_labels.at(1) << "\n"
      << "heads: gender, age interval" << (c.age_regression ? ", age in years (0..100)" : "")
      << (c.aux_head ? ", auxiliary (training)" : "") << "; dropout " << c.dropout << "\n";
  if (c.age_regression && !c.age_calibration.is_identity()) {
    out << "age calibration: " << c.age_calibration.offset << " + " << c.age_calibration.scale << " x the expected age\n";
  }
  return out.str();
}

void check_age_gender_config(const AgeGenderConfig& c) {
  if (c.architecture != kInceptionV3Architecture) {
    throw std::invalid_argument("architecture '" + c.architecture + "' (expected " + kInceptionV3Architecture + ")");
  }
  if (!(c.width_mult > 0)) throw std::invalid_argument("width_mult must be positive, got " + std::to_string(c.width_mult));
  if (c.crop.size < kInceptionMinInputSize) {
    throw std::invalid_argument("input size " + std::to_string(c.crop.size) + " px: Inception-v3 needs at least " +
                                std::to_string(kInceptionMinInputSize));
  }
  if (c.aux_head) check_aux_input_size(c.crop.size);
  if (c.intervals.size() < 2) throw std::invalid_argument("at least 2 age intervals are needed");
  if (c.gender_labels.size() != kGenderClasses) {
    throw std::invalid_argument("gender labels: expected " + std::to_string(kGenderClasses) + ", got " +
                                std::to_string(c.gender_labels.size()));
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) throw std::invalid_argument("dropout must be in [0, 1)");
  if (!std::isfinite(c.age_calibration.offset) || !(c.age_calibration.scale > 0 && std::isfinite(c.age_calibration.scale))) {
    throw std::invalid_argument("age calibration: the offset must be finite and the scale positive and finite");
  }
}

// ---- the network ----

AgeGenderAuxImpl::AgeGenderAuxImpl(int64_t in, int64_t age_classes, double w) : AuxTrunkImpl(in, w) {
  gender = register_module("gender", make_head(out_channels(), kGenderClasses));
  age = register_module("age", make_head(out_channels(), age_classes));
}

std::pair<torch::Tensor, torch::Tensor> AgeGenderAuxImpl::forward(const torch::Tensor& mixed_6e) {
  const auto x = AuxTrunkImpl::forward(mixed_6e);  // N x 768*w
  return {gender(x), age(x)};                      // N x 2, N x K
}

AgeGenderNetImpl::AgeGenderNetImpl(const AgeGenderConfig& config) {
  check_age_gender_config(config);
  InceptionV3Options options;
  options.width_mult = config.width_mult;
  options.include_top = false;
  backbone = register_module("backbone", InceptionV3(options));
  const int64_t features = backbone->feature_channels(), age_classes = static_cast<int64_t>(config.intervals.size());
  if (config.aux_head) {
    aux = register_module("aux", AgeGenderAux(backbone->mixed_6e_channels(), age_classes, config.width_mult));
  }
  dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
  gender = register_module("gender", make_head(features, kGenderClasses));
  age = register_module("age", make_head(features, age_classes));
  if (config.age_regression) age_years = register_module("age_years", make_head(features, kAgeYearsClasses));
}

AgeGenderOutput AgeGenderNetImpl::forward(const torch::Tensor& x) {
  const InceptionFeatures f = backbone->forward_features(x);  // pooled: N x 2048*w
  const auto pooled = dropout(f.pooled);
  AgeGenderOutput out;
  out.gender_logits = gender(pooled);                        // N x 2
  out.age_logits = age(pooled);                              // N x K
  if (!age_years.is_empty()) out.age_years_logits = age_years(pooled);  // N x 101
  if (is_training() && !aux.is_empty()) std::tie(out.aux_gender_logits, out.aux_age_logits) = aux(f.mixed_6e);
  return out;
}

LoadedAgeGenderNet make_age_gender_net(const AgeGenderConfig& config) {
  LoadedAgeGenderNet loaded{AgeGenderNet(config), config};
  loaded.net->eval();
  return loaded;
}

namespace {

// A new network for `config` holding a copy of net's parameters and buffers.
AgeGenderNet copy_of(AgeGenderNet& net, const AgeGenderConfig& config) {
  AgeGenderNet copy = make_age_gender_net(config).net;
  torch::NoGradGuard no_grad;
  auto params = copy->named_parameters(), buffers = copy->named_buffers();
  for (const auto& p : net->named_parameters()) params[p.key()].copy_(p.value());
  for (const auto& b : net->named_buffers()) buffers[b.key()].copy_(b.value());
  return copy;
}

}  // namespace

AgeGenderNet prepare_for_inference(AgeGenderNet& net, const AgeGenderConfig& config) {
  AgeGenderNet copy = copy_of(net, config);
  torch::NoGradGuard no_grad;
  for (const auto& module : copy->modules()) {
    if (auto* conv = module->as<BasicConv2dImpl>()) conv->fold_batchnorm();
  }
  for (const auto& module : copy->modules()) {
    if (auto* inception = module->as<InceptionV3Impl>()) inception->use_onednn_plans();
  }
  return copy;
}

// ---- checkpoints ----

namespace {

// Every floating-point parameter and buffer of `net` (not BatchNorm's counters) in `dtype`.
void set_float_dtype(torch::nn::Module& net, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  for (auto tensors : {net.parameters(), net.buffers()}) {
    for (auto& t : tensors) {
      if (t.is_floating_point()) t.set_data(t.to(dtype));
    }
  }
}

}  // namespace

void save_age_gender_checkpoint(const std::string& path, AgeGenderNet& net, const AgeGenderConfig& config,
                                CheckpointStorage storage) {
  torch::serialize::OutputArchive archive;
  if (storage == CheckpointStorage::kFloat16) {
    AgeGenderNet copy = copy_of(net, config);
    set_float_dtype(*copy, torch::kHalf);
    copy->save(archive);
    archive.write(kStorageKey, c10::IValue(std::string(kFloat16Storage)));
  } else {
    net->save(archive);
  }
  write_checkpoint_format(archive, kFormatValue);
  archive.write(kConfigKey, c10::IValue(config_to_json(config).dump()));
  write_file_atomically(path, [&](std::ostream& out) { archive.save_to(out); });
}

LoadedAgeGenderNet load_age_gender_checkpoint(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_checkpoint(archive, path, kFormatValue, "AgeGenderNet");
  c10::IValue value;
  AgeGenderConfig config;
  try {
    if (!archive.try_read(kConfigKey, value) || !value.isString()) throw std::invalid_argument("no config");
    config = config_from_json(json::parse(value.toStringRef()));
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": bad '" + kConfigKey + "': " + e.what());
  }
  const bool float16 = archive.try_read(kStorageKey, value) && value.isString() && value.toStringRef() == kFloat16Storage;
  LoadedAgeGenderNet loaded;
  try {
    loaded = make_age_gender_net(config);
    if (float16) set_float_dtype(*loaded.net, torch::kHalf);  // Module::load keeps each tensor's dtype
    loaded.net->load(archive);
    if (float16) set_float_dtype(*loaded.net, torch::kFloat);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": tensors do not fit the stored config (" + e.what_without_backtrace() + ")");
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": stored config cannot be built: " + e.what());
  }
  loaded.net->eval();
  loaded.storage = float16 ? CheckpointStorage::kFloat16 : CheckpointStorage::kFloat32;
  return loaded;
}

}  // namespace facekit
