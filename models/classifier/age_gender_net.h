// AgeGenderNet: an Inception-v3 backbone (torchvision's, without its classifier) and small heads:
// gender (2 classes), age interval (K classes, Adience's 8 by default), optionally the age in
// years as a distribution over 0..100 whose expectation is the estimate (DEX, Rothe et al. 2015),
// and an auxiliary head on Mixed_6e (as Inception-v3's AuxLogits) giving gender and age logits
// in training mode.
//
// Parameter names: `backbone.<torchvision name>` (`backbone.Mixed_6e.branch1x1.conv.weight`),
// `aux.conv0...`/`aux.conv1...` (torchvision's `AuxLogits.conv0/conv1`), `aux.gender`, `aux.age`,
// `gender`, `age`, `age_years`.
//
// A checkpoint holds the parameters and an AgeGenderConfig: everything inference needs (the
// architecture, the crop, the normalisation, the interval list and the label names).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "datasets/age_intervals.h"
#include "datasets/preprocess.h"
#include "models/classifier/age_calibration.h"
#include "models/classifier/inception.h"

namespace facekit {

constexpr const char* kInceptionV3Architecture = "inception_v3";
constexpr int64_t kAgeYearsClasses = 101;  // the regression head's ages 0..100
constexpr float kDefaultCropMargin = 1.4f;

struct AgeGenderConfig {
  std::string architecture = kInceptionV3Architecture;
  double width_mult = 1.0;
  // The face crop; crop.size is the network's input side.
  FaceCropOptions crop{kDefaultCropMargin, static_cast<int>(kInceptionInputSize)};
  Normalisation normalisation;  // ImageNet's mean and std
  std::vector<AgeInterval> intervals = adience_intervals();
  std::vector<std::string> gender_labels = {"Male", "Female"};
  bool age_regression = false;
  AgeCalibration age_calibration;  // applies to the years head's estimate
  // The auxiliary head needs an input of 299 px or more (see inception.h); below that, set false.
  bool aux_head = true;
  double dropout = 0.5;
};

// The config as one JSON object (what checkpoints and ONNX metadata store), and back; every key
// is required when reading (throws nlohmann::json's exceptions naming the key) except
// "age_calibration", identity when absent (checkpoints written before it existed).
std::string age_gender_config_json(const AgeGenderConfig& config);
AgeGenderConfig age_gender_config_from_json(const std::string& text);

// Several lines, "key: value", for the start-up echo of the effective configuration.
std::string describe_age_gender_config(const AgeGenderConfig& config);
// Throws std::invalid_argument naming the first value that cannot be built.
void check_age_gender_config(const AgeGenderConfig& config);

struct AgeGenderOutput {
  torch::Tensor gender_logits;     // N x 2
  torch::Tensor age_logits;        // N x K
  torch::Tensor age_years_logits;  // N x 101; only with age_regression
  torch::Tensor aux_gender_logits, aux_age_logits;  // N x 2, N x K; only in training mode with aux_head
};

// AuxLogits-style head on Mixed_6e: the trunk's conv0 and conv1, then gender and age layers.
class AgeGenderAuxImpl : public AuxTrunkImpl {
 public:
  AgeGenderAuxImpl(int64_t in, int64_t age_classes, double w);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& mixed_6e);  // gender, age logits

 private:
  torch::nn::Linear gender{nullptr}, age{nullptr};
};
TORCH_MODULE(AgeGenderAux);

class AgeGenderNetImpl : public torch::nn::Module {
 public:
  explicit AgeGenderNetImpl(const AgeGenderConfig& config);

  // x: N x 3 x S x S normalised RGB crops.
  AgeGenderOutput forward(const torch::Tensor& x);

  // The Inception-v3 trunk's parameters (to freeze it while the heads warm up).
  std::vector<torch::Tensor> backbone_parameters() const { return backbone->parameters(); }
  // The trunk in eval mode (frozen BN statistics) while the heads stay as they are.
  void backbone_eval() { backbone->eval(); }
  int64_t feature_channels() const { return backbone->feature_channels(); }
  // How many oneDNN plans a prepare_for_inference copy has made so far.
  size_t onednn_plan_count() const { return backbone->onednn_plan_count(); }

 private:
  InceptionV3 backbone{nullptr};
  AgeGenderAux aux{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear gender{nullptr}, age{nullptr}, age_years{nullptr};
};
TORCH_MODULE(AgeGenderNet);

// How a checkpoint stores the floating-point tensors: float32 as they train, or float16 (half the
// file, for shipping a model; weights rounded to about 3 significant digits).
enum class CheckpointStorage { kFloat32, kFloat16 };

struct LoadedAgeGenderNet {
  AgeGenderNet net{nullptr};
  AgeGenderConfig config;
  CheckpointStorage storage = CheckpointStorage::kFloat32;  // how the file held it
};

// A random-initialised network for `config` (checked first), in eval mode.
LoadedAgeGenderNet make_age_gender_net(const AgeGenderConfig& config);

// An inference-only copy of `net` on the CPU (issue #7): eval mode, every BasicConv2d's BatchNorm
// folded into its convolution. Under c10::InferenceMode (or torch::NoGradGuard) its trunk runs as
// one OnednnPlan per input shape (models/onednn_plan.h); with autograd on, as LibTorch calls
// (darknet::inference_conv2d). `net` is not changed and stays trainable. The copy's logits equal
// net's to float rounding.
AgeGenderNet prepare_for_inference(AgeGenderNet& net, const AgeGenderConfig& config);

// One file (a torch::serialize archive): parameters, buffers and the config as JSON. Written to a
// temporary file beside `path` and renamed, so a failure leaves nothing behind.
void save_age_gender_checkpoint(const std::string& path, AgeGenderNet& net, const AgeGenderConfig& config,
                                CheckpointStorage storage = CheckpointStorage::kFloat32);
// Throws std::runtime_error naming the file when it is not a facekit AgeGenderNet checkpoint, is
// truncated, or its tensors do not fit its config. The net comes back in eval mode, on the CPU, in
// float32 whatever the storage.
LoadedAgeGenderNet load_age_gender_checkpoint(const std::string& path);

}  // namespace facekit
