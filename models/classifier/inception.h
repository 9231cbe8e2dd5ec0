// Inception-v3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", 2016)
// as torchvision 0.14 builds it (torchvision/models/inception.py), with its module and parameter
// names (`Conv2d_1a_3x3.conv.weight`, `Mixed_6e.branch7x7_2.bn.running_var`, `AuxLogits.fc.bias`,
// `fc.weight`), so torchvision state dicts load one to one.
//
// One addition: `width_mult` scales every convolution's output channels to
// max(8, round(c * width_mult)); 1.0 is exactly torchvision's network.
//
// Input sizes: any side from 75 px (the smallest that leaves Mixed_7c at least 1 x 1, torchvision's
// `min_size`). The auxiliary head (a 5 x 5 average pool with stride 3, then a 5 x 5 convolution, on
// Mixed_6e) needs Mixed_6e to be at least 17 x 17, which only inputs of 299 px and more give;
// a training-mode forward on a smaller input with aux_logits throws instead of failing deep inside.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "models/onednn_plan.h"

namespace facekit {

// Side of the input that torchvision and the paper use; also the smallest the aux head accepts.
constexpr int64_t kInceptionInputSize = 299;
constexpr int64_t kInceptionMinInputSize = 75;
constexpr int64_t kInceptionFeatureChannels = 2048;  // Mixed_7c at width 1.0
constexpr int64_t kInceptionAuxMinGrid = 17;          // Mixed_6e side the aux head needs

// c * width_mult rounded, at least 8 channels.
int64_t scaled_channels(int64_t channels, double width_mult);

// Side of Mixed_6e's output for an input side (torchvision: 299 -> 17).
int64_t inception_mixed_6e_size(int64_t input_size);

// torchvision's init_weights: truncated normal (std 0.1; 0.01 for AuxLogits.conv1, 0.001 for
// AuxLogits.fc: the `stddev` attributes) on [-2, 2] for convolutions and linear layers, BN
// weight 1 and bias 0. Applied by the constructors; exposed for heads built elsewhere.
void trunc_normal_(torch::Tensor weight, double stddev);

struct InceptionV3Options {
  int64_t num_classes = 1000;
  bool aux_logits = true;
  bool transform_input = false;  // ImageNet-normalised input -> the [-1, 1] of Google's weights
  double dropout = 0.5;
  double width_mult = 1.0;
  bool include_top = true;  // false: no AuxLogits, dropout or fc (a backbone for other heads)
};

// conv (no bias) + BatchNorm (eps 0.001) + ReLU.
class BasicConv2dImpl : public torch::nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, torch::ExpandingArray<2> kernel, torch::ExpandingArray<2> stride = 1,
                  torch::ExpandingArray<2> padding = 0);
  torch::Tensor forward(const torch::Tensor& x);
  // Redraws the convolution's weight (torchvision gives some layers their own `stddev`).
  void reset_weight(double stddev) { trunc_normal_(conv->weight, stddev); }
  // For inference copies only (prepare_for_inference in age_gender_net.h): folds the BatchNorm
  // into a copy of the convolution, which forward uses from then on; parameters stay as they are.
  void fold_batchnorm();
  // The folded convolution and its ReLU as a step of `into` reading `x` (after fold_batchnorm).
  OnednnPlan::Map plan(OnednnPlan& into, OnednnPlan::Map x) const;

 private:
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::Tensor folded_weight_, folded_bias_;  // defined once folded
};
TORCH_MODULE(BasicConv2d);

// 35 x 35 grid: 1x1, 5x5, double 3x3 and pool branches (torchvision's InceptionA, paper fig. 5).
class InceptionAImpl : public torch::nn::Module {
 public:
  InceptionAImpl(int64_t in, int64_t pool_features, double w);
  torch::Tensor forward(const torch::Tensor& x);
  OnednnPlan::Map plan(OnednnPlan& into, OnednnPlan::Map x) const;  // forward as plan steps
  int64_t out_channels() const { return out_channels_; }

 private:
  BasicConv2d branch1x1{nullptr}, branch5x5_1{nullptr}, branch5x5_2{nullptr};
  BasicConv2d branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr}, branch_pool{nullptr};
  int64_t out_channels_ = 0;
};
TORCH_MODULE(InceptionA);

// 35 -> 17 grid reduction (InceptionB, paper fig. 10).
class InceptionBImpl : public torch::nn::Module {
 public:
  InceptionBImpl(int64_t in, double w);
  torch::Tensor forward(const torch::Tensor& x);
  OnednnPlan::Map plan(OnednnPlan& into, OnednnPlan::Map x) const;  // forward as plan steps
  int64_t out_channels() const { return out_channels_; }

 private:
  BasicConv2d branch3x3{nullptr}, branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr};
  int64_t out_channels_ = 0;
};
TORCH_MODULE(InceptionB);

// 17 x 17 grid with factorised 7x7 convolutions (InceptionC, paper fig. 6).
class InceptionCImpl : public torch::nn::Module {
 public:
  InceptionCImpl(int64_t in, int64_t channels_7x7, double w);
  torch::Tensor forward(const torch::Tensor& x);
  OnednnPlan::Map plan(OnednnPlan& into, OnednnPlan::Map x) const;  // forward as plan steps
  int64_t out_channels() const { return out_channels_; }

 private:
  BasicConv2d branch1x1{nullptr}, branch7x7_1{nullptr}, branch7x7_2{nullptr}, branch7x7_3{nullptr};
  BasicConv2d branch7x7dbl_1{nullptr}, branch7x7dbl_2{nullptr}, branch7x7dbl_3{nullptr}, branch7x7dbl_4{nullptr},
      branch7x7dbl_5{nullptr}, branch_pool{nullptr};
  int64_t out_channels_ = 0;
};
TORCH_MODULE(InceptionC);

// 17 -> 8 grid reduction (InceptionD).
class InceptionDImpl : public torch::nn::Module {
 public:
  InceptionDImpl(int64_t in, double w);
  torch::Tensor forward(const torch::Tensor& x);
  OnednnPlan::Map plan(OnednnPlan& into, OnednnPlan::Map x) const;  // forward as plan steps
  int64_t out_channels() const { return out_channels_; }

 private:
  BasicConv2d branch3x3_1{nullptr}, branch3x3_2{nullptr};
  BasicConv2d branch7x7x3_1{nullptr}, branch7x7x3_2{nullptr}, branch7x7x3_3{nullptr}, branch7x7x3_4{nullptr};
  int64_t out_channels_ = 0;
};
TORCH_MODULE(InceptionD);

// 8 x 8 grid with expanded 1x3 / 3x1 filter banks (InceptionE, paper fig. 7).
class InceptionEImpl : public torch::nn::Module {
 public:
  InceptionEImpl(int64_t in, double w);
  torch::Tensor forward(const torch::Tensor& x);
  OnednnPlan::Map plan(OnednnPlan& into, OnednnPlan::Map x) const;  // forward as plan steps
  int64_t out_channels() const { return out_channels_; }

 private:
  BasicConv2d branch1x1{nullptr}, branch3x3_1{nullptr}, branch3x3_2a{nullptr}, branch3x3_2b{nullptr};
  BasicConv2d branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3a{nullptr}, branch3x3dbl_3b{nullptr},
      branch_pool{nullptr};
  int64_t out_channels_ = 0;
};
TORCH_MODULE(InceptionE);

// The auxiliary classifier's trunk on Mixed_6e: 5x5/3 average pool, conv0 1x1, conv1 5x5, global
// average pool -> N x 768*w. Shared by InceptionAux and AgeGenderNet's auxiliary head.
class AuxTrunkImpl : public torch::nn::Module {
 public:
  AuxTrunkImpl(int64_t in, double w);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_channels() const { return out_channels_; }

 private:
  BasicConv2d conv0{nullptr}, conv1{nullptr};
  int64_t out_channels_ = 0;
};
TORCH_MODULE(AuxTrunk);

// torchvision's InceptionAux: the trunk's conv0 and conv1, then fc; names `AuxLogits.conv0...`,
// `AuxLogits.fc...` as in torchvision.
class InceptionAuxImpl : public AuxTrunkImpl {
 public:
  InceptionAuxImpl(int64_t in, int64_t num_classes, double w);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(InceptionAux);

// Whether the aux head can run on an input of this side (299 px and more), and the same as a check
// that throws naming the size.
bool aux_head_fits(int64_t input_size);
void check_aux_input_size(int64_t input_size);

struct InceptionV3Output {
  torch::Tensor logits;
  torch::Tensor aux_logits;  // defined in training mode with aux_logits only
};

// What the trunk computes before any classifier: the pooled features and Mixed_6e (the aux input).
struct InceptionFeatures {
  torch::Tensor pooled;     // N x 2048*w, after the global average pool and flatten
  torch::Tensor mixed_6e;   // N x 768*w x 17 x 17 at 299 px
};

class InceptionV3Impl : public torch::nn::Module {
 public:
  explicit InceptionV3Impl(const InceptionV3Options& options = {});

  // Logits; in training mode with aux_logits also the auxiliary logits (torchvision's
  // InceptionOutputs). Needs include_top.
  InceptionV3Output forward(const torch::Tensor& x);
  // N x 2048*w pooled features (after avgpool + flatten, before dropout).
  torch::Tensor features(const torch::Tensor& x) { return forward_features(x).pooled; }
  InceptionFeatures forward_features(const torch::Tensor& x);

  // For inference copies whose BasicConv2d are all folded (prepare_for_inference in
  // age_gender_net.h): from then on, forward_features on a float32 CPU input without autograd runs
  // OnednnPlans (made on first use, one per crop size and power-of-two batch size up to
  // kMaxPlanBatch; other batches run in such chunks), and leaves `mixed_6e` undefined.
  void use_onednn_plans() { use_plans_ = true; }
  size_t onednn_plan_count() const { return plans_.size(); }  // each holds the maps of its batch

  const InceptionV3Options& options() const { return options_; }
  int64_t feature_channels() const { return feature_channels_; }
  int64_t mixed_6e_channels() const { return mixed_6e_channels_; }

 private:
  torch::Tensor transform(const torch::Tensor& x) const;
  std::unique_ptr<OnednnPlan> make_plan(const std::vector<int64_t>& input_dims) const;  // up to the pooled features
  torch::Tensor planned_features(const torch::Tensor& x);
  static constexpr int64_t kMaxPlanBatch = 32;

  InceptionV3Options options_;
  int64_t feature_channels_ = 0, mixed_6e_channels_ = 0;
  BasicConv2d Conv2d_1a_3x3{nullptr}, Conv2d_2a_3x3{nullptr}, Conv2d_2b_3x3{nullptr}, Conv2d_3b_1x1{nullptr},
      Conv2d_4a_3x3{nullptr};
  InceptionA Mixed_5b{nullptr}, Mixed_5c{nullptr}, Mixed_5d{nullptr};
  InceptionB Mixed_6a{nullptr};
  InceptionC Mixed_6b{nullptr}, Mixed_6c{nullptr}, Mixed_6d{nullptr}, Mixed_6e{nullptr};
  InceptionAux AuxLogits{nullptr};
  InceptionD Mixed_7a{nullptr};
  InceptionE Mixed_7b{nullptr}, Mixed_7c{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
  bool use_plans_ = false;
  std::map<std::vector<int64_t>, std::unique_ptr<OnednnPlan>> plans_;  // per chunk shape
};
TORCH_MODULE(InceptionV3);

}  // namespace facekit
