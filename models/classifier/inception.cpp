#include "models/classifier/inception.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "models/darknet/inference.h"

namespace facekit {
namespace {

namespace F = torch::nn::functional;

constexpr double kBatchNormEps = 0.001;   // torchvision's BasicConv2d (TensorFlow's value)
constexpr int64_t kMinChannels = 8;        // width_mult never shrinks a convolution below this
constexpr double kInitStddev = 0.1;        // torchvision init_weights: default `stddev`
constexpr double kAuxConv1Stddev = 0.01;   // InceptionAux.conv1.stddev
constexpr double kAuxFcStddev = 0.001;     // InceptionAux.fc.stddev
constexpr double kTruncBound = 2.0;        // trunc_normal_(a=-2, b=2): absolute bounds
constexpr int64_t kAuxConv0Channels = 128, kAuxConv1Channels = 768, kAuxPoolKernel = 5, kAuxPoolStride = 3;

// Factorised kernels (paper section 3.2) and the paddings that keep the grid size.
const torch::ExpandingArray<2> k1x7({1, 7}), k7x1({7, 1}), p1x7({0, 3}), p7x1({3, 0});
const torch::ExpandingArray<2> k1x3({1, 3}), k3x1({3, 1}), p1x3({0, 1}), p3x1({1, 0});

// (side - kernel) / stride + 1 without padding, as Conv2d and MaxPool2d compute it.
int64_t valid_size(int64_t side, int64_t kernel, int64_t stride) { return (side - kernel) / stride + 1; }

// Same-size 3x3/1 average pool of the pool branches (count_include_pad, as F.avg_pool2d's default).
torch::Tensor pool_3x3_same(const torch::Tensor& x) {
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(1).padding(1));
}

torch::Tensor max_pool_3x3_s2(const torch::Tensor& x) { return F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2)); }

// The same two pools as plan steps.
OnednnPlan::Map pool_3x3_same(OnednnPlan& into, OnednnPlan::Map x) { return into.avg_pool(x, {3, 3}, {1, 1}, {1, 1}); }
OnednnPlan::Map max_pool_3x3_s2(OnednnPlan& into, OnednnPlan::Map x) {
  return into.max_pool(x, {3, 3}, {2, 2}, {0, 0}, {0, 0});
}

void init_linear(torch::nn::Linear& fc, double stddev) { trunc_normal_(fc->weight, stddev); }

void check_aux_grid(const torch::Tensor& mixed_6e) {
  if (mixed_6e.size(2) < kInceptionAuxMinGrid || mixed_6e.size(3) < kInceptionAuxMinGrid) {
    throw std::invalid_argument("Inception-v3 auxiliary head: needs Mixed_6e of at least " +
                                std::to_string(kInceptionAuxMinGrid) + " x " + std::to_string(kInceptionAuxMinGrid) +
                                " (an input of " + std::to_string(kInceptionInputSize) + " px or more), got " +
                                std::to_string(mixed_6e.size(3)) + " x " + std::to_string(mixed_6e.size(2)));
  }
}

}  // namespace

int64_t scaled_channels(int64_t channels, double width_mult) {
  return std::max<int64_t>(kMinChannels, std::llround(static_cast<double>(channels) * width_mult));
}

int64_t inception_mixed_6e_size(int64_t input_size) {
  int64_t s = valid_size(input_size, 3, 2);  // Conv2d_1a_3x3
  s = valid_size(s, 3, 1);                   // Conv2d_2a_3x3 (2b keeps the size)
  s = valid_size(s, 3, 2);                   // maxpool1 (3b keeps the size)
  s = valid_size(s, 3, 1);                   // Conv2d_4a_3x3
  s = valid_size(s, 3, 2);                   // maxpool2 (Mixed_5* keep the size)
  return valid_size(s, 3, 2);                // Mixed_6a (Mixed_6b..e keep the size)
}

bool aux_head_fits(int64_t input_size) { return inception_mixed_6e_size(input_size) >= kInceptionAuxMinGrid; }

void check_aux_input_size(int64_t input_size) {
  if (!aux_head_fits(input_size)) {
    throw std::invalid_argument("Inception-v3 auxiliary head: needs an input of at least " +
                                std::to_string(kInceptionInputSize) + " px (Mixed_6e " +
                                std::to_string(kInceptionAuxMinGrid) + " x " + std::to_string(kInceptionAuxMinGrid) +
                                "), got " + std::to_string(input_size) + " px (Mixed_6e " +
                                std::to_string(inception_mixed_6e_size(input_size)) +
                                "); use a larger input or no auxiliary head");
  }
}

void trunc_normal_(torch::Tensor weight, double stddev) {
  torch::NoGradGuard no_grad;
  weight.normal_(0, stddev);
  // Redraw what falls outside [-2, 2] (with std <= 0.1 that is 20 sigmas: practically never).
  for (auto outside = weight.abs() > kTruncBound; outside.any().item<bool>(); outside = weight.abs() > kTruncBound) {
    weight.copy_(torch::where(outside, torch::empty_like(weight).normal_(0, stddev), weight));
  }
}

// ---- BasicConv2d ----

BasicConv2dImpl::BasicConv2dImpl(int64_t in, int64_t out, torch::ExpandingArray<2> kernel,
                                 torch::ExpandingArray<2> stride, torch::ExpandingArray<2> padding) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(kBatchNormEps)));
  trunc_normal_(conv->weight, kInitStddev);  // BN starts as weight 1, bias 0: LibTorch's default already
}

torch::Tensor BasicConv2dImpl::forward(const torch::Tensor& x) {
  if (!folded_weight_.defined()) return torch::relu(bn(conv(x)));
  const auto& o = conv->options;
  const auto padding = c10::get<torch::ExpandingArray<2>>(o.padding());
  auto y = darknet::inference_conv2d(x, folded_weight_, folded_bias_, *o.stride(), *padding, *o.dilation(), o.groups());
  return torch::relu_(y);
}

OnednnPlan::Map BasicConv2dImpl::plan(OnednnPlan& into, OnednnPlan::Map x) const {
  TORCH_CHECK(folded_weight_.defined(), "BasicConv2d::plan: fold_batchnorm first");
  const auto& o = conv->options;
  const auto& stride = *o.stride();
  const auto& padding = *c10::get<torch::ExpandingArray<2>>(o.padding());
  return into.conv(x, folded_weight_, folded_bias_, {stride[0], stride[1]}, {padding[0], padding[1]}, 1, 1,
                   PlanActivation::kRelu);
}

// torch.nn.utils.fusion.fuse_conv_bn_weights, in double precision: W g / sqrt(var + eps) and
// beta - mean g / sqrt(var + eps).
void BasicConv2dImpl::fold_batchnorm() {
  torch::NoGradGuard no_grad;
  const auto d = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  const auto scale = d(bn->weight) / (d(bn->running_var) + bn->options.eps()).sqrt();
  folded_weight_ = (d(conv->weight) * scale.view({-1, 1, 1, 1})).to(conv->weight.dtype());
  folded_weight_ = folded_weight_.contiguous(at::MemoryFormat::ChannelsLast);  // as the maps: else copied per call
  folded_bias_ = (d(bn->bias) - d(bn->running_mean) * scale).to(conv->weight.dtype());
}

// ---- InceptionA: 35 x 35 ----

InceptionAImpl::InceptionAImpl(int64_t in, int64_t pool_features, double w) {
  const int64_t c64 = scaled_channels(64, w), c48 = scaled_channels(48, w), c96 = scaled_channels(96, w);
  const int64_t pool = scaled_channels(pool_features, w);
  branch1x1 = register_module("branch1x1", BasicConv2d(in, c64, 1));
  branch5x5_1 = register_module("branch5x5_1", BasicConv2d(in, c48, 1));
  branch5x5_2 = register_module("branch5x5_2", BasicConv2d(c48, c64, 5, 1, 2));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(in, c64, 1));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(c64, c96, 3, 1, 1));
  branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv2d(c96, c96, 3, 1, 1));
  branch_pool = register_module("branch_pool", BasicConv2d(in, pool, 1));
  out_channels_ = c64 + c64 + c96 + pool;  // 64 + 64 + 96 + pool_features
}

torch::Tensor InceptionAImpl::forward(const torch::Tensor& x) {
  auto b1 = branch1x1(x);                                            // N x 64 x 35 x 35
  auto b5 = branch5x5_2(branch5x5_1(x));                             // N x 64 x 35 x 35
  auto b3 = branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x)));       // N x 96 x 35 x 35
  auto bp = branch_pool(pool_3x3_same(x));                           // N x pool_features x 35 x 35
  return torch::cat({b1, b5, b3, bp}, /*dim=*/1);
}

OnednnPlan::Map InceptionAImpl::plan(OnednnPlan& into, OnednnPlan::Map x) const {
  const auto b1 = branch1x1->plan(into, x);
  const auto b5 = branch5x5_2->plan(into, branch5x5_1->plan(into, x));
  const auto b3 = branch3x3dbl_3->plan(into, branch3x3dbl_2->plan(into, branch3x3dbl_1->plan(into, x)));
  const auto bp = branch_pool->plan(into, pool_3x3_same(into, x));
  return into.concat({b1, b5, b3, bp});
}

// ---- InceptionB: 35 -> 17 ----

InceptionBImpl::InceptionBImpl(int64_t in, double w) {
  const int64_t c384 = scaled_channels(384, w), c64 = scaled_channels(64, w), c96 = scaled_channels(96, w);
  branch3x3 = register_module("branch3x3", BasicConv2d(in, c384, 3, 2));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(in, c64, 1));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(c64, c96, 3, 1, 1));
  branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv2d(c96, c96, 3, 2));
  out_channels_ = c384 + c96 + in;  // the max-pool branch passes its input's channels through
}

torch::Tensor InceptionBImpl::forward(const torch::Tensor& x) {
  auto b3 = branch3x3(x);                                            // N x 384 x 17 x 17
  auto b3dbl = branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x)));    // N x 96 x 17 x 17
  auto bp = max_pool_3x3_s2(x);                                      // N x 288 x 17 x 17
  return torch::cat({b3, b3dbl, bp}, /*dim=*/1);
}

OnednnPlan::Map InceptionBImpl::plan(OnednnPlan& into, OnednnPlan::Map x) const {
  const auto b3 = branch3x3->plan(into, x);
  const auto b3dbl = branch3x3dbl_3->plan(into, branch3x3dbl_2->plan(into, branch3x3dbl_1->plan(into, x)));
  return into.concat({b3, b3dbl, max_pool_3x3_s2(into, x)});
}

// ---- InceptionC: 17 x 17, 7x7 factorised into 1x7 and 7x1 ----

InceptionCImpl::InceptionCImpl(int64_t in, int64_t channels_7x7, double w) {
  const int64_t c192 = scaled_channels(192, w), c7 = scaled_channels(channels_7x7, w);
  branch1x1 = register_module("branch1x1", BasicConv2d(in, c192, 1));
  branch7x7_1 = register_module("branch7x7_1", BasicConv2d(in, c7, 1));
  branch7x7_2 = register_module("branch7x7_2", BasicConv2d(c7, c7, k1x7, 1, p1x7));
  branch7x7_3 = register_module("branch7x7_3", BasicConv2d(c7, c192, k7x1, 1, p7x1));
  branch7x7dbl_1 = register_module("branch7x7dbl_1", BasicConv2d(in, c7, 1));
  branch7x7dbl_2 = register_module("branch7x7dbl_2", BasicConv2d(c7, c7, k7x1, 1, p7x1));
  branch7x7dbl_3 = register_module("branch7x7dbl_3", BasicConv2d(c7, c7, k1x7, 1, p1x7));
  branch7x7dbl_4 = register_module("branch7x7dbl_4", BasicConv2d(c7, c7, k7x1, 1, p7x1));
  branch7x7dbl_5 = register_module("branch7x7dbl_5", BasicConv2d(c7, c192, k1x7, 1, p1x7));
  branch_pool = register_module("branch_pool", BasicConv2d(in, c192, 1));
  out_channels_ = 4 * c192;
}

torch::Tensor InceptionCImpl::forward(const torch::Tensor& x) {
  auto b1 = branch1x1(x);                                                               // N x 192 x 17 x 17
  auto b7 = branch7x7_3(branch7x7_2(branch7x7_1(x)));                                   // N x 192 x 17 x 17
  auto b7dbl = branch7x7dbl_1(x);                                                       // N x c7 x 17 x 17
  b7dbl = branch7x7dbl_5(branch7x7dbl_4(branch7x7dbl_3(branch7x7dbl_2(b7dbl))));        // N x 192 x 17 x 17
  auto bp = branch_pool(pool_3x3_same(x));                                              // N x 192 x 17 x 17
  return torch::cat({b1, b7, b7dbl, bp}, /*dim=*/1);
}

OnednnPlan::Map InceptionCImpl::plan(OnednnPlan& into, OnednnPlan::Map x) const {
  const auto b1 = branch1x1->plan(into, x);
  const auto b7 = branch7x7_3->plan(into, branch7x7_2->plan(into, branch7x7_1->plan(into, x)));
  auto b7dbl = branch7x7dbl_1->plan(into, x);
  b7dbl = branch7x7dbl_5->plan(into, branch7x7dbl_4->plan(into, branch7x7dbl_3->plan(into, branch7x7dbl_2->plan(into, b7dbl))));
  const auto bp = branch_pool->plan(into, pool_3x3_same(into, x));
  return into.concat({b1, b7, b7dbl, bp});
}

// ---- InceptionD: 17 -> 8 ----

InceptionDImpl::InceptionDImpl(int64_t in, double w) {
  const int64_t c192 = scaled_channels(192, w), c320 = scaled_channels(320, w);
  branch3x3_1 = register_module("branch3x3_1", BasicConv2d(in, c192, 1));
  branch3x3_2 = register_module("branch3x3_2", BasicConv2d(c192, c320, 3, 2));
  branch7x7x3_1 = register_module("branch7x7x3_1", BasicConv2d(in, c192, 1));
  branch7x7x3_2 = register_module("branch7x7x3_2", BasicConv2d(c192, c192, k1x7, 1, p1x7));
  branch7x7x3_3 = register_module("branch7x7x3_3", BasicConv2d(c192, c192, k7x1, 1, p7x1));
  branch7x7x3_4 = register_module("branch7x7x3_4", BasicConv2d(c192, c192, 3, 2));
  out_channels_ = c320 + c192 + in;  // the max-pool branch passes its input's channels through
}

torch::Tensor InceptionDImpl::forward(const torch::Tensor& x) {
  auto b3 = branch3x3_2(branch3x3_1(x));                                                // N x 320 x 8 x 8
  auto b7 = branch7x7x3_4(branch7x7x3_3(branch7x7x3_2(branch7x7x3_1(x))));              // N x 192 x 8 x 8
  auto bp = max_pool_3x3_s2(x);                                                         // N x 768 x 8 x 8
  return torch::cat({b3, b7, bp}, /*dim=*/1);
}

OnednnPlan::Map InceptionDImpl::plan(OnednnPlan& into, OnednnPlan::Map x) const {
  const auto b3 = branch3x3_2->plan(into, branch3x3_1->plan(into, x));
  auto b7 = branch7x7x3_2->plan(into, branch7x7x3_1->plan(into, x));
  b7 = branch7x7x3_4->plan(into, branch7x7x3_3->plan(into, b7));
  return into.concat({b3, b7, max_pool_3x3_s2(into, x)});
}

// ---- InceptionE: 8 x 8, expanded filter banks ----

InceptionEImpl::InceptionEImpl(int64_t in, double w) {
  const int64_t c320 = scaled_channels(320, w), c384 = scaled_channels(384, w), c448 = scaled_channels(448, w);
  const int64_t c192 = scaled_channels(192, w);
  branch1x1 = register_module("branch1x1", BasicConv2d(in, c320, 1));
  branch3x3_1 = register_module("branch3x3_1", BasicConv2d(in, c384, 1));
  branch3x3_2a = register_module("branch3x3_2a", BasicConv2d(c384, c384, k1x3, 1, p1x3));
  branch3x3_2b = register_module("branch3x3_2b", BasicConv2d(c384, c384, k3x1, 1, p3x1));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(in, c448, 1));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(c448, c384, 3, 1, 1));
  branch3x3dbl_3a = register_module("branch3x3dbl_3a", BasicConv2d(c384, c384, k1x3, 1, p1x3));
  branch3x3dbl_3b = register_module("branch3x3dbl_3b", BasicConv2d(c384, c384, k3x1, 1, p3x1));
  branch_pool = register_module("branch_pool", BasicConv2d(in, c192, 1));
  out_channels_ = c320 + 2 * c384 + 2 * c384 + c192;  // 320 + 768 + 768 + 192 = 2048
}

torch::Tensor InceptionEImpl::forward(const torch::Tensor& x) {
  auto b1 = branch1x1(x);                                                               // N x 320 x 8 x 8
  auto b3 = branch3x3_1(x);                                                             // N x 384 x 8 x 8
  b3 = torch::cat({branch3x3_2a(b3), branch3x3_2b(b3)}, /*dim=*/1);                     // N x 768 x 8 x 8
  auto b3dbl = branch3x3dbl_2(branch3x3dbl_1(x));                                       // N x 384 x 8 x 8
  b3dbl = torch::cat({branch3x3dbl_3a(b3dbl), branch3x3dbl_3b(b3dbl)}, /*dim=*/1);      // N x 768 x 8 x 8
  auto bp = branch_pool(pool_3x3_same(x));                                              // N x 192 x 8 x 8
  return torch::cat({b1, b3, b3dbl, bp}, /*dim=*/1);
}

OnednnPlan::Map InceptionEImpl::plan(OnednnPlan& into, OnednnPlan::Map x) const {
  const auto b1 = branch1x1->plan(into, x);
  const auto b3 = branch3x3_1->plan(into, x);
  const auto b3dbl = branch3x3dbl_2->plan(into, branch3x3dbl_1->plan(into, x));
  const auto bp = branch_pool->plan(into, pool_3x3_same(into, x));
  // The nested concatenations of forward, flattened: the same channels in the same order.
  return into.concat({b1, branch3x3_2a->plan(into, b3), branch3x3_2b->plan(into, b3), branch3x3dbl_3a->plan(into, b3dbl),
                      branch3x3dbl_3b->plan(into, b3dbl), bp});
}

// ---- the auxiliary classifier ----

AuxTrunkImpl::AuxTrunkImpl(int64_t in, double w) {
  const int64_t c128 = scaled_channels(kAuxConv0Channels, w);
  out_channels_ = scaled_channels(kAuxConv1Channels, w);
  conv0 = register_module("conv0", BasicConv2d(in, c128, 1));
  conv1 = register_module("conv1", BasicConv2d(c128, out_channels_, kAuxPoolKernel));
  conv1->reset_weight(kAuxConv1Stddev);
}

torch::Tensor AuxTrunkImpl::forward(const torch::Tensor& x) {
  check_aux_grid(x);
  auto y = F::avg_pool2d(x, F::AvgPool2dFuncOptions(kAuxPoolKernel).stride(kAuxPoolStride));  // N x 768 x 5 x 5
  y = conv1(conv0(y));                                                                        // N x 768 x 1 x 1
  return torch::flatten(F::adaptive_avg_pool2d(y, F::AdaptiveAvgPool2dFuncOptions(1)), 1);    // N x 768
}

InceptionAuxImpl::InceptionAuxImpl(int64_t in, int64_t num_classes, double w) : AuxTrunkImpl(in, w) {
  fc = register_module("fc", torch::nn::Linear(out_channels(), num_classes));
  init_linear(fc, kAuxFcStddev);
}

torch::Tensor InceptionAuxImpl::forward(const torch::Tensor& x) { return fc(AuxTrunkImpl::forward(x)); }  // N x classes

// ---- the network ----

InceptionV3Impl::InceptionV3Impl(const InceptionV3Options& options) : options_(options) {
  const double w = options.width_mult;
  if (!(w > 0)) throw std::invalid_argument("Inception-v3: width_mult must be positive, got " + std::to_string(w));
  const auto c = [w](int64_t channels) { return scaled_channels(channels, w); };
  Conv2d_1a_3x3 = register_module("Conv2d_1a_3x3", BasicConv2d(3, c(32), 3, 2));
  Conv2d_2a_3x3 = register_module("Conv2d_2a_3x3", BasicConv2d(c(32), c(32), 3));
  Conv2d_2b_3x3 = register_module("Conv2d_2b_3x3", BasicConv2d(c(32), c(64), 3, 1, 1));
  Conv2d_3b_1x1 = register_module("Conv2d_3b_1x1", BasicConv2d(c(64), c(80), 1));
  Conv2d_4a_3x3 = register_module("Conv2d_4a_3x3", BasicConv2d(c(80), c(192), 3));
  Mixed_5b = register_module("Mixed_5b", InceptionA(c(192), 32, w));
  Mixed_5c = register_module("Mixed_5c", InceptionA(Mixed_5b->out_channels(), 64, w));
  Mixed_5d = register_module("Mixed_5d", InceptionA(Mixed_5c->out_channels(), 64, w));
  Mixed_6a = register_module("Mixed_6a", InceptionB(Mixed_5d->out_channels(), w));
  Mixed_6b = register_module("Mixed_6b", InceptionC(Mixed_6a->out_channels(), 128, w));
  Mixed_6c = register_module("Mixed_6c", InceptionC(Mixed_6b->out_channels(), 160, w));
  Mixed_6d = register_module("Mixed_6d", InceptionC(Mixed_6c->out_channels(), 160, w));
  Mixed_6e = register_module("Mixed_6e", InceptionC(Mixed_6d->out_channels(), 192, w));
  mixed_6e_channels_ = Mixed_6e->out_channels();
  if (options.include_top && options.aux_logits) {
    AuxLogits = register_module("AuxLogits", InceptionAux(mixed_6e_channels_, options.num_classes, w));
  }
  Mixed_7a = register_module("Mixed_7a", InceptionD(mixed_6e_channels_, w));
  Mixed_7b = register_module("Mixed_7b", InceptionE(Mixed_7a->out_channels(), w));
  Mixed_7c = register_module("Mixed_7c", InceptionE(Mixed_7b->out_channels(), w));
  feature_channels_ = Mixed_7c->out_channels();
  if (options.include_top) {
    dropout = register_module("dropout", torch::nn::Dropout(options.dropout));
    fc = register_module("fc", torch::nn::Linear(feature_channels_, options.num_classes));
    init_linear(fc, kInitStddev);
  }
}

// torchvision's _transform_input: undo ImageNet's normalisation, apply Google's (x - 0.5) / 0.5.
torch::Tensor InceptionV3Impl::transform(const torch::Tensor& x) const {
  if (!options_.transform_input) return x;
  const auto options = x.options();
  const auto mean = torch::tensor({0.485, 0.456, 0.406}, options).view({1, 3, 1, 1});
  const auto std = torch::tensor({0.229, 0.224, 0.225}, options).view({1, 3, 1, 1});
  return x * (std / 0.5) + (mean - 0.5) / 0.5;
}

// The batch in chunks of power-of-two sizes up to kMaxPlanBatch (13 faces run as 8 + 4 + 1), so at
// most six plans per crop size: each plan holds the maps of its batch size, and one plan per face
// count grew without bound on crowded photos (facekit-infer over wider-val-dev with the shipped
// pair of networks: 15.5 GB and 520 ms of classification per photo, mostly making plans).
torch::Tensor InceptionV3Impl::planned_features(const torch::Tensor& x) {
  std::vector<torch::Tensor> pooled;
  for (int64_t start = 0; start < x.size(0);) {
    int64_t n = kMaxPlanBatch;
    while (n > x.size(0) - start) n /= 2;
    auto dims = x.sizes().vec();
    dims[0] = n;
    auto& plan = plans_[dims];
    if (!plan) plan = make_plan(dims);
    pooled.push_back(torch::flatten(plan->run(x.narrow(0, start, n))[0], 1));
    start += n;
  }
  return pooled.size() == 1 ? pooled[0] : torch::cat(pooled);
}

InceptionFeatures InceptionV3Impl::forward_features(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == 3, "Inception-v3: expected N x 3 x H x W, got ", input.sizes());
  TORCH_CHECK(input.size(2) >= kInceptionMinInputSize && input.size(3) >= kInceptionMinInputSize,
              "Inception-v3: input must be at least ", kInceptionMinInputSize, " x ", kInceptionMinInputSize,
              " px, got ", input.size(3), " x ", input.size(2));
  auto x = transform(input);              // N x 3 x 299 x 299
  const bool planned = use_plans_ && x.is_cpu() && x.scalar_type() == torch::kFloat32 && !is_training() &&
                       !torch::GradMode::is_enabled();
  if (planned) return {planned_features(x), {}};  // no Mixed_6e: the aux head only trains
  x = Conv2d_1a_3x3(x);                   // N x 32 x 149 x 149
  x = Conv2d_2a_3x3(x);                   // N x 32 x 147 x 147
  x = Conv2d_2b_3x3(x);                   // N x 64 x 147 x 147
  x = max_pool_3x3_s2(x);                 // N x 64 x 73 x 73
  x = Conv2d_3b_1x1(x);                   // N x 80 x 73 x 73
  x = Conv2d_4a_3x3(x);                   // N x 192 x 71 x 71
  x = max_pool_3x3_s2(x);                 // N x 192 x 35 x 35
  x = Mixed_5b(x);                        // N x 256 x 35 x 35
  x = Mixed_5c(x);                        // N x 288 x 35 x 35
  x = Mixed_5d(x);                        // N x 288 x 35 x 35
  x = Mixed_6a(x);                        // N x 768 x 17 x 17
  x = Mixed_6b(x);                        // N x 768 x 17 x 17
  x = Mixed_6c(x);                        // N x 768 x 17 x 17
  x = Mixed_6d(x);                        // N x 768 x 17 x 17
  InceptionFeatures out;
  out.mixed_6e = Mixed_6e(x);             // N x 768 x 17 x 17
  x = Mixed_7a(out.mixed_6e);             // N x 1280 x 8 x 8
  x = Mixed_7b(x);                        // N x 2048 x 8 x 8
  x = Mixed_7c(x);                        // N x 2048 x 8 x 8
  out.pooled = torch::flatten(F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)), 1);  // N x 2048
  return out;
}

std::unique_ptr<OnednnPlan> InceptionV3Impl::make_plan(const std::vector<int64_t>& input_dims) const {
  auto plan = std::make_unique<OnednnPlan>(input_dims);
  OnednnPlan& p = *plan;
  auto x = Conv2d_1a_3x3->plan(p, p.input());  // the steps of forward_features, to Mixed_7c
  x = Conv2d_2b_3x3->plan(p, Conv2d_2a_3x3->plan(p, x));
  x = max_pool_3x3_s2(p, x);
  x = Conv2d_4a_3x3->plan(p, Conv2d_3b_1x1->plan(p, x));
  x = max_pool_3x3_s2(p, x);
  for (const auto* block : {Mixed_5b.get(), Mixed_5c.get(), Mixed_5d.get()}) x = block->plan(p, x);
  x = Mixed_6a->plan(p, x);
  for (const auto* block : {Mixed_6b.get(), Mixed_6c.get(), Mixed_6d.get(), Mixed_6e.get()}) x = block->plan(p, x);
  x = Mixed_7c->plan(p, Mixed_7b->plan(p, Mixed_7a->plan(p, x)));
  p.output(p.global_avg_pool(x));  // N x 2048 x 1 x 1
  return plan;
}

InceptionV3Output InceptionV3Impl::forward(const torch::Tensor& x) {
  TORCH_CHECK(options_.include_top, "Inception-v3 built without its classifier (include_top = false): use features()");
  const InceptionFeatures f = forward_features(x);
  InceptionV3Output out;
  out.logits = fc(dropout(f.pooled));  // N x num_classes
  if (is_training() && !AuxLogits.is_empty()) {
    out.aux_logits = AuxLogits(f.mixed_6e);  // N x num_classes
  }
  return out;
}

}  // namespace facekit
