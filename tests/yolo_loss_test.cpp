// The YOLOv3 and YOLOv2 losses against libdarknet: for a random yolov3-tiny / yolov2-tiny, a
// random input and fixed boxes, the gradient of facekit's loss at each head's input equals what
// Darknet backpropagates from the `delta` its forward_yolo_layer / forward_region_layer writes in
// training mode (pjreddie's keys).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"
#include "models/darknet/reference/libdarknet_ref.h"
#include "test_util.h"
#include "train/region_loss.h"
#include "train/yolo_loss.h"

namespace facekit::train {
namespace {

using test::TempDir;

constexpr unsigned kSeed = 11;
constexpr int kSize = 160;  // small input: 5x5 and 10x10 grids

struct HeadDelta {
  int layer;
  torch::Tensor input, delta;  // [1, C, H, W]
};

// A cfg at kSize with random weights, run in libdarknet's training forward; each head's input and delta.
std::vector<HeadDelta> darknet_deltas(const std::string& cfg, const torch::Tensor& image, const std::vector<TruthBox>& boxes,
                                      darknet::NetDef* def) {
  *def = darknet::build_netdef(darknet::parse_cfg_file(cfg), darknet::Dialect::kPjreddie);
  fk_darknet* net = fk_darknet_load(cfg.c_str(), nullptr);
  fk_darknet_randomize(net, kSeed);
  std::vector<float> truth;
  for (const auto& b : boxes) truth.insert(truth.end(), {b.x, b.y, b.w, b.h, static_cast<float>(b.class_id)});
  EXPECT_EQ(fk_darknet_train_forward(net, image.contiguous().data_ptr<float>(), truth.data(), static_cast<int>(boxes.size())), 0);
  std::vector<HeadDelta> heads;
  for (int i = 0; i < fk_darknet_num_layers(net); ++i) {
    const auto type = def->layers[i].type;
    if (type != darknet::LayerType::kYolo && type != darknet::LayerType::kRegion) continue;
    int c, h, w, size;
    const float* in = fk_darknet_layer_output(net, i - 1, &c, &h, &w);  // a [yolo] reads the layer before it
    const float* delta = fk_darknet_layer_delta(net, i, &size);
    EXPECT_EQ(size, c * h * w);
    heads.push_back({i, torch::from_blob(const_cast<float*>(in), {1, c, h, w}).clone(),
                     torch::from_blob(const_cast<float*>(delta), {1, c, h, w}).clone()});
  }
  fk_darknet_free(net);
  return heads;
}

std::string tiny_cfg(const TempDir& dir, const std::string& ignore, const std::string& truth_thresh,
                     const std::string& name = "yolov3-tiny") {
  std::ifstream in("/usr/share/darknet/cfg/" + name + ".cfg");
  std::stringstream text;
  text << in.rdbuf();
  std::string cfg = text.str();
  cfg = std::regex_replace(cfg, std::regex("width=416"), "width=" + std::to_string(kSize));
  cfg = std::regex_replace(cfg, std::regex("height=416"), "height=" + std::to_string(kSize));
  cfg = std::regex_replace(cfg, std::regex("ignore_thresh = .7"), "ignore_thresh = " + ignore);
  cfg = std::regex_replace(cfg, std::regex("truth_thresh = 1"), "truth_thresh = " + truth_thresh);
  const std::string path = dir / "tiny.cfg";
  std::ofstream(path) << cfg;
  return path;
}

void expect_gradient_is_minus_delta(const std::string& cfg, const std::vector<TruthBox>& boxes, int expected_truths) {
  torch::manual_seed(kSeed);
  const auto image = torch::rand({3, kSize, kSize});
  darknet::NetDef def;
  const auto heads = darknet_deltas(cfg, image, boxes, &def);
  ASSERT_EQ(heads.size(), 2u);
  int assigned = 0;
  for (const auto& head : heads) {
    auto input = head.input.clone().requires_grad_(true);
    YoloLossStats stats;
    yolo_loss(def.layers[head.layer], input, {boxes}, kSize, kSize, &stats).backward();
    const double diff = test::relative_max_diff(-input.grad(), head.delta);
    EXPECT_LE(diff, 1e-4) << "layer " << head.layer;
    EXPECT_GT(head.delta.abs().max().item<float>(), 0.f);  // the case exercises the head
    std::printf("yolo layer %d: max |grad + delta| / max |delta| = %.2e, %d truths\n", head.layer, diff, stats.count);
    assigned += stats.count;
  }
  EXPECT_EQ(assigned, expected_truths);  // each truth's best anchor lies in exactly one head
}

// Boxes of several shapes, two in one cell (the later overwrites), one on a cell edge.
const std::vector<TruthBox> kBoxes = {{0.31f, 0.42f, 0.12f, 0.20f, 0}, {0.33f, 0.44f, 0.50f, 0.60f, 3},
                                      {0.70f, 0.25f, 0.05f, 0.06f, 79}, {0.5f, 0.5f, 0.9f, 0.8f, 1},
                                      {0.12f, 0.88f, 0.2f, 0.1f, 5}};

TEST(YoloLoss, GradientEqualsLibdarknetDelta) {
  TempDir dir;
  expect_gradient_is_minus_delta(tiny_cfg(dir, ".7", "1"), kBoxes, 5);
}

// Low thresholds: predictions that overlap a truth are ignored or trained as positives in the
// first loop of forward_yolo_layer too.
TEST(YoloLoss, IgnoreAndTruthThresholdsMatchLibdarknet) {
  TempDir dir;
  expect_gradient_is_minus_delta(tiny_cfg(dir, ".05", ".1"), kBoxes, 5);
}

// backward_region_layer_gpu passes x, y and objectness through the logistic's derivative before
// they reach the input; w, h and the (softmax) classes go through unchanged.
torch::Tensor region_input_gradient(const darknet::LayerDef& head, const torch::Tensor& input, const torch::Tensor& delta) {
  const int entries = head.coords + 1 + head.classes;
  const auto x = input.view({1, head.num, entries, input.size(2), input.size(3)});
  auto gradient = -delta.view_as(x).clone();
  for (int e : {0, 1, head.coords}) {
    const auto s = torch::sigmoid(x.select(2, e));
    gradient.select(2, e).mul_(s * (1 - s));
  }
  return gradient.view_as(input);
}

void expect_region_gradient(const std::string& cfg) {
  torch::manual_seed(kSeed);
  const auto image = torch::rand({3, kSize, kSize});
  darknet::NetDef def;
  const auto heads = darknet_deltas(cfg, image, kBoxes, &def);
  ASSERT_EQ(heads.size(), 1u);
  const auto& head = heads[0];
  auto input = head.input.clone().requires_grad_(true);
  YoloLossStats stats;
  region_loss(def.layers[head.layer], input, {kBoxes}, /*images_seen=*/0, &stats).backward();
  const auto expected = region_input_gradient(def.layers[head.layer], head.input, head.delta);
  const double diff = test::relative_max_diff(input.grad(), expected);
  EXPECT_LE(diff, 1e-4);
  EXPECT_EQ(stats.count, static_cast<int>(kBoxes.size()));
  std::printf("region layer %d: max |grad - reference| / max |reference| = %.2e\n", head.layer, diff);
}

// yolov2-tiny: softmax classes, bias_match, object_scale 5, thresh .6, the anchor prior (seen 0).
TEST(RegionLoss, GradientMatchesLibdarknet) {
  TempDir dir;
  expect_region_gradient(tiny_cfg(dir, "", "", "yolov2-tiny"));
}

// rescore=1, logistic classes, no bias_match, other scales.
TEST(RegionLoss, RescoreAndLogisticClassesMatchLibdarknet) {
  TempDir dir;
  std::string cfg = test::read_file(tiny_cfg(dir, "", "", "yolov2-tiny"));
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"rescore=0", "rescore=1"}, {"softmax=1", "softmax=0"}, {"bias_match=1", "bias_match=0"},
           {"object_scale=5", "object_scale=3"}, {"class_scale=1", "class_scale=2"}, {"coord_scale=1", "coord_scale=1.5"},
           {"thresh = .6", "thresh = .2"}}) {
    ASSERT_NE(cfg.find(from), std::string::npos) << from;
    cfg.replace(cfg.find(from), from.size(), to);
  }
  const std::string path = dir / "variant.cfg";
  std::ofstream(path) << cfg;
  expect_region_gradient(path);
}

}  // namespace
}  // namespace facekit::train
