// The YOLOv3 and YOLOv2 losses against libdarknet: for a random yolov3-tiny / yolov2-tiny, a
// random input and fixed boxes, the gradient of facekit's loss at each head's input equals what
// Darknet backpropagates from the `delta` its forward_yolo_layer / forward_region_layer writes in
// training mode (pjreddie's keys). AlexeyAB's keys: the normalisers scale libdarknet's deltas;
// the IoU kinds' values and gradients against torchvision.ops and autograd (tests/box_iou_ref.py).
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <fstream>
#include <regex>

#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"
#include "datasets/npy.h"
#include "models/darknet/darknet_net.h"
#include "models/darknet/reference/libdarknet_ref.h"
#include "tests/tensor_util.h"
#include "train/box_iou_loss.h"
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

// ---- AlexeyAB's keys ----

// The head's input, its libdarknet delta (pjreddie's loss) and facekit's gradient with `change`
// applied to the head's LayerDef, as [1, anchors, entries, h, w] views.
struct HeadGradients {
  darknet::LayerDef head;
  torch::Tensor input, delta, gradient;
  YoloLossStats stats;
};

std::vector<HeadGradients> alexeyab_gradients(const std::vector<TruthBox>& boxes,
                                              const std::function<void(darknet::LayerDef*)>& change) {
  TempDir dir;
  torch::manual_seed(kSeed);
  const auto image = torch::rand({3, kSize, kSize});
  darknet::NetDef def;
  std::vector<HeadGradients> result;
  for (const auto& h : darknet_deltas(tiny_cfg(dir, ".7", "1"), image, boxes, &def)) {
    HeadGradients r;
    r.head = def.layers[h.layer];
    change(&r.head);
    auto input = h.input.clone().requires_grad_(true);
    yolo_loss(r.head, input, {boxes}, kSize, kSize, &r.stats).backward();
    const std::vector<int64_t> shape = {1, static_cast<int64_t>(r.head.mask.size()), 5 + r.head.classes, h.input.size(2),
                                        h.input.size(3)};
    r.input = h.input.view(shape);
    r.delta = h.delta.view(shape);
    r.gradient = input.grad().view(shape);
    result.push_back(std::move(r));
  }
  return result;
}

// iou_normalizer, obj_normalizer and cls_normalizer scale exactly the box, objectness and class
// deltas of Darknet's loss.
TEST(YoloLoss, NormalizersScaleLibdarknetDeltas) {
  constexpr float kIou = 0.4f, kObj = 2.5f, kCls = 3.f;
  for (const auto& r : alexeyab_gradients(kBoxes, [](darknet::LayerDef* l) {
         l->iou_normalizer = kIou, l->obj_normalizer = kObj, l->cls_normalizer = kCls;
       })) {
    auto expected = r.delta.clone();
    expected.narrow(2, 0, 4).mul_(kIou);
    expected.narrow(2, 4, 1).mul_(kObj);
    expected.narrow(2, 5, r.head.classes).mul_(kCls);
    EXPECT_LE(test::relative_max_diff(-r.gradient, expected), 1e-4) << "layer " << r.head.index;
  }
}

// iou_thresh 0: every anchor of every head trains each truth (5 truths x 6 anchors), with the
// objectness target 1 at the truth's cell.
TEST(YoloLoss, IouThreshTrainsEveryMatchingAnchor) {
  int assigned = 0;
  for (const auto& r : alexeyab_gradients(kBoxes, [](darknet::LayerDef* l) { l->iou_thresh = 0.f; })) {
    assigned += r.stats.count;
    const TruthBox& t = kBoxes[2];  // alone in its cell
    const int i = static_cast<int>(t.x * r.input.size(4)), j = static_cast<int>(t.y * r.input.size(3));
    for (int n = 0; n < r.input.size(1); ++n) {
      const float objectness = torch::sigmoid(r.input[0][n][4][j][i]).item<float>();
      EXPECT_NEAR(-r.gradient[0][n][4][j][i].item<float>(), 1 - objectness, 1e-5) << "layer " << r.head.index << " anchor " << n;
    }
  }
  EXPECT_EQ(assigned, static_cast<int>(kBoxes.size()) * 6);
}

// iou_loss=ciou: the box deltas of the responsible prediction are iou_normalizer times the CIoU
// gradient (through exp for w and h); objectness and classes stay Darknet's; no other box delta.
TEST(YoloLoss, CiouBoxDeltasAtTheResponsiblePrediction) {
  const TruthBox t{0.70f, 0.25f, 0.05f, 0.06f, 7};
  constexpr float kIou = 0.07f;
  int assigned = 0;
  for (const auto& r : alexeyab_gradients({t}, [](darknet::LayerDef* l) {
         l->iou_loss = darknet::IouLoss::kCiou, l->iou_normalizer = kIou;
       })) {
    EXPECT_LE(test::relative_max_diff(-r.gradient.narrow(2, 4, 1 + r.head.classes), r.delta.narrow(2, 4, 1 + r.head.classes)), 1e-4);
    auto expected = torch::zeros_like(r.gradient.narrow(2, 0, 4));
    assigned += r.stats.count;
    if (r.stats.count == 1) {
      const int64_t gw = r.input.size(4), gh = r.input.size(3);
      const int i = static_cast<int>(t.x * gw), j = static_cast<int>(t.y * gh);
      const auto a = r.head.mask;
      int n = -1;
      for (int k = 0; k < static_cast<int>(a.size()); ++k) {
        if (r.delta[0][k][4][j][i].item<float>() > 0) n = k;  // the positive: objectness delta 1 - p
      }
      ASSERT_GE(n, 0);
      const auto in = r.input[0][n].select(1, j).select(1, i);  // [entries]
      const float raw_w = in[2].item<float>(), raw_h = in[3].item<float>();
      const CentreBox pred{(i + torch::sigmoid(in[0]).item<float>()) / gw, (j + torch::sigmoid(in[1]).item<float>()) / gh,
                           std::exp(raw_w) * r.head.anchors[2 * a[n]] / kSize, std::exp(raw_h) * r.head.anchors[2 * a[n] + 1] / kSize};
      const CentreBox g = iou_gradient(pred, {t.x, t.y, t.w, t.h}, darknet::IouLoss::kCiou);
      const float values[4] = {g.x, g.y, g.w * std::exp(raw_w), g.h * std::exp(raw_h)};
      for (int e = 0; e < 4; ++e) expected[0][n][e][j][i] = kIou * values[e];
    }
    EXPECT_LE(test::relative_max_diff(-r.gradient.narrow(2, 0, 4), expected), 1e-5) << "layer " << r.head.index;
  }
  EXPECT_EQ(assigned, 1);
}

// IoU, GIoU, DIoU and CIoU and their gradients against torchvision.ops and autograd, on 400 pairs
// of boxes (overlapping, nested, disjoint). Darknet's documented scaling (train/box_iou_loss.h):
// the area terms' w and h gradients are doubled, CIoU's aspect term lacks dv/dw's 1 / (w^2 + h^2).
TEST(BoxIouLoss, ValuesAndGradientsMatchTorchvision) {
  TempDir dir;
  const std::string command = "/usr/bin/python3 " + std::string(FACEKIT_BOX_IOU_SCRIPT) + " " + dir.path().string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command << " failed: python3-torchvision missing?";
  const NpyArray boxes = read_npy(dir / "boxes.npy"), reference = read_npy(dir / "reference.npy");
  ASSERT_EQ(boxes.shape.size(), 2u);
  const int64_t count = boxes.shape[0];
  using darknet::IouLoss;
  const IouLoss kinds[4] = {IouLoss::kIou, IouLoss::kGiou, IouLoss::kDiou, IouLoss::kCiou};
  std::vector<float> values, expected_values, gradients, expected_gradients;
  int disjoint = 0;
  for (int64_t k = 0; k < count; ++k) {
    const float* b = &boxes.data[k * 8];
    const float* ref = &reference.data[k * 20];
    const CentreBox pred{b[0], b[1], b[2], b[3]}, truth{b[4], b[5], b[6], b[7]};
    disjoint += ref[0] == 0;
    const float* g_iou = ref + 4;
    const float* g_giou = ref + 8;
    const float* g_distance = ref + 12;
    const float* g_aspect = ref + 16;
    const float size2 = pred.w * pred.w + pred.h * pred.h;
    for (int kind = 0; kind < 4; ++kind) {
      values.push_back(iou_kind(pred, truth, kinds[kind]));
      expected_values.push_back(ref[kind]);
      const CentreBox g = iou_gradient(pred, truth, kinds[kind]);
      const float* area = kinds[kind] == IouLoss::kGiou ? g_giou : g_iou;
      float e[4] = {area[0], area[1], 2 * area[2], 2 * area[3]};
      if (kind >= 2) {
        for (int c = 0; c < 4; ++c) e[c] += g_distance[c];
      }
      if (kind == 3) e[2] += size2 * g_aspect[2], e[3] += size2 * g_aspect[3];
      gradients.insert(gradients.end(), {g.x, g.y, g.w, g.h});
      expected_gradients.insert(expected_gradients.end(), e, e + 4);
    }
  }
  EXPECT_GE(disjoint, count / 10);  // the disjoint case is covered
  const auto as_tensor = [](std::vector<float>& v) { return torch::from_blob(v.data(), {static_cast<int64_t>(v.size()) / 4, 4}); };
  const auto v = as_tensor(values), ev = as_tensor(expected_values), g = as_tensor(gradients), eg = as_tensor(expected_gradients);
  const double value_diff = (v - ev).abs().max().item<double>();
  EXPECT_LE(value_diff, 1e-5);
  for (int kind = 0; kind < 4; ++kind) {  // per kind: gradients of each kind over all boxes
    const auto rows = torch::arange(kind, g.size(0), 4);
    const double diff = test::relative_max_diff(g.index_select(0, rows), eg.index_select(0, rows));
    EXPECT_LE(diff, 1e-4) << darknet::iou_loss_name(kinds[kind]);
    std::printf("%s: gradient max |diff| / max |torchvision| = %.2e\n", darknet::iou_loss_name(kinds[kind]), diff);
  }
  std::printf("values: max |diff| = %.2e over %ld pairs (%d disjoint)\n", value_diff, static_cast<long>(count), disjoint);
}

}  // namespace
}  // namespace facekit::train
