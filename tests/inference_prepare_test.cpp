// Inference preparation (issue #7): the prepared detector (models/darknet/inference.h) and the
// prepared classifier (prepare_for_inference in models/classifier/age_gender_net.h) compute what
// the trainable networks compute, within the parity tolerance, and decode to the same boxes.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "convert/darknet_torch.h"
#include "datasets/preprocess.h"
#include "models/classifier/age_gender_net.h"
#include "models/darknet/decode.h"
#include "models/darknet/inference.h"
#include "models/darknet/reference/libdarknet_ref.h"
#include "tests/tensor_util.h"

namespace facekit {
namespace {

using test::relative_max_diff;

constexpr double kTolerance = 1e-4;  // max |diff| <= 1e-4 x max |unprepared|
constexpr unsigned kSeed = 20261128;

const test::fs::path kSourceDir = test::fs::path(__FILE__).parent_path().parent_path();

// Every output the prepared net defines (heads, the output, maybe route sources) against the
// trainable net's, for a batch of 1 and one of 2 (a second oneDNN plan), in both engines; returns
// how many the default engine gave per forward. `expected_engine`: what the default engine should be.
int expect_same_outputs(darknet::DarknetNet net, const std::string& expected_engine) {
  const auto& def = net->def();
  int compared = 0;
  for (const auto engine : {darknet::InferenceEngine::kOneDnnPlan, darknet::InferenceEngine::kLibTorchCalls}) {
    darknet::InferenceNet prepared(net, engine);
    const bool plan = engine == darknet::InferenceEngine::kOneDnnPlan;
    SCOPED_TRACE(prepared.engine_description());
    const std::string want = plan ? expected_engine : "LibTorch calls (asked for)";
    EXPECT_EQ(prepared.engine_description().rfind(want, 0), 0u) << "expected it to start with " << want;
    for (const int64_t batch : {1, 2, 1}) {
      torch::NoGradGuard no_grad;
      const auto input = torch::rand({batch, def.channels, def.height, def.width});
      const auto expected = net->forward_all(input);
      const auto actual = prepared.forward_all(input);
      EXPECT_EQ(actual.size(), expected.size());
      if (plan) compared = 0;
      for (size_t i = 0; i < actual.size(); ++i) {
        if (!actual[i].defined()) continue;
        EXPECT_LE(relative_max_diff(actual[i], expected[i]), kTolerance) << "layer " << i << ", batch " << batch;
        compared += plan;
      }
      EXPECT_TRUE(actual[static_cast<size_t>(def.output_layer())].defined());
    }
  }
  return compared;
}

// Random BatchNorm statistics with small variances, where the dialects' epsilons (1e-6 outside
// the square root for pjreddie, 1e-5 inside for AlexeyAB) differ by percents.
void randomize_batchnorm(darknet::DarknetNet& net) {
  torch::manual_seed(kSeed);
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    if (p.key().find(".bn.") != std::string::npos) p.value().uniform_(-1, 1);
  }
  for (auto& b : net->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(1e-4, 1);
  }
}

TEST(InferencePrepare, SmallCfgsInBothDialectsMatch) {
  for (const char* cfg : {"pjreddie_layers.cfg", "alexeyab_layers.cfg"}) {
    SCOPED_TRACE(cfg);
    auto loaded = darknet::load_darknet((kSourceDir / "tests/data" / cfg).string(), "", "auto", 0, 0, false);
    randomize_batchnorm(loaded.net);
    // Their reorg, avgpool, softmax... have no oneDNN primitive here.
    EXPECT_GT(expect_same_outputs(loaded.net, "LibTorch calls (layer "), 0);
  }
}

// Every layer kind and option of the oneDNN plan, against the trainable net.
TEST(InferencePrepare, OneDnnPlanCoversItsLayers) {
  auto loaded = darknet::load_darknet((kSourceDir / "tests/data/onednn_layers.cfg").string(), "", "auto", 0, 0, false);
  randomize_batchnorm(loaded.net);
  EXPECT_EQ(expect_same_outputs(loaded.net, "oneDNN plan"), 1);
}

TEST(InferencePrepare, FoldingUsesTheDialectsEpsilon) {
  for (const char* cfg : {"pjreddie_layers.cfg", "alexeyab_layers.cfg"}) {
    SCOPED_TRACE(cfg);
    auto loaded = darknet::load_darknet((kSourceDir / "tests/data" / cfg).string(), "", "auto", 0, 0, false);
    const auto& layer = loaded.net->def().layers[0];
    ASSERT_TRUE(layer.batch_normalize);
    auto buffers = loaded.net->layer(0).named_buffers();
    torch::NoGradGuard no_grad;
    buffers["bn.running_var"].fill_(0);  // what is left of the divisor is the epsilon
    const auto folded = darknet::fold_batchnorm(*loaded.net, 0);
    const double eps_term = loaded.net->def().dialect == darknet::Dialect::kPjreddie ? 1e-6 : std::sqrt(1e-5);
    const auto expected = loaded.net->layer(0).named_parameters()["weight"] / eps_term;
    EXPECT_LE(relative_max_diff(folded.weight, expected), 1e-6);
  }
}

// yolov3-tiny with weights libdarknet randomised (sane BN statistics), as the benchmark uses it.
TEST(InferencePrepare, YoloV3TinyMatches) {
  const std::string cfg = "/usr/share/darknet/cfg/yolov3-tiny.cfg";
  FACEKIT_REQUIRE_PATH(cfg);
  test::TempDir dir;
  const std::string weights = dir / "yolov3-tiny.weights";
  fk_darknet* reference = fk_darknet_load(cfg.c_str(), nullptr);
  fk_darknet_randomize(reference, kSeed);
  ASSERT_EQ(fk_darknet_save_weights(reference, weights.c_str()), 0);
  fk_darknet_free(reference);
  auto loaded = darknet::load_darknet(cfg, weights, "auto", 224, 224);
  EXPECT_GE(expect_same_outputs(loaded.net, "oneDNN plan"), 2);
}

TEST(InferencePrepare, YoloFastestMatches) {
  const auto dir = test::shared_dir() / "models" / "yolo-fastest-1.1";
  FACEKIT_REQUIRE_PATH(dir / "yolo-fastest-1.1.weights");
  auto loaded =
      darknet::load_darknet((dir / "yolo-fastest-1.1.cfg").string(), (dir / "yolo-fastest-1.1.weights").string());
  EXPECT_GE(expect_same_outputs(loaded.net, "oneDNN plan"), 2);
}

// The shipped face detectors on a WIDER image: the same faces, scores and boxes.
TEST(InferencePrepare, ShippedDetectorsDecodeTheSameBoxes) {
  const auto image = test::shared_dir() / "data/wider-val-dev/images/4_Dancing_Dancing_4_228.jpg";
  FACEKIT_REQUIRE_PATH(image);
  for (const std::string name : {"yolo-fastest-1.1-face", "yolo-fastest-1.1-xl-face"}) {
    SCOPED_TRACE(name);
    const auto model = kSourceDir / "models/pretrained" / name;
    auto loaded = darknet::load_darknet(model.string() + ".cfg", model.string() + ".weights");
    const auto& def = loaded.net->def();
    LetterboxGeometry geometry;
    PlanarImage planar = fit_to_input(to_planar_rgb(cv::imread(image.string())), def.width, def.height, def.letterbox,
                                      &geometry);
    const auto input = torch::from_blob(planar.data.data(), {1, 3, def.height, def.width});
    darknet::InferenceNet prepared(loaded.net);
    torch::NoGradGuard no_grad;
    const auto expected = darknet::decode_detections(def, loaded.net->forward_all(input), geometry, 0.25f, 0.45f);
    const auto actual = darknet::decode_detections(def, prepared.forward_all(input), geometry, 0.25f, 0.45f);
    ASSERT_GT(expected.size(), 0u);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i) {
      EXPECT_EQ(actual[i].class_id, expected[i].class_id);
      EXPECT_NEAR(actual[i].score, expected[i].score, 1e-4);
      EXPECT_GT(darknet::box_iou(actual[i], expected[i]), 0.9999);
    }
  }
}

// A small AgeGenderNet: width 0.25, 96 px crops, no auxiliary head.
AgeGenderConfig small_classifier() {
  AgeGenderConfig config;
  config.width_mult = 0.25;
  config.crop.size = 96;
  config.aux_head = false;
  return config;
}

// Random BN statistics (so folding changes every weight), batch 1 and a batch of faces.
TEST(InferencePrepare, ClassifierMatches) {
  const AgeGenderConfig config = small_classifier();
  auto net = make_age_gender_net(config).net;
  torch::manual_seed(kSeed);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : net->named_buffers()) {
      if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.1, 1);
    }
  }
  torch::NoGradGuard no_grad;
  const auto probe = torch::randn({1, 3, 96, 96});
  const auto before = net->forward(probe).gender_logits;
  auto prepared = prepare_for_inference(net, config);
  EXPECT_TRUE(torch::equal(net->forward(probe).gender_logits, before));  // the original is untouched
  // Without autograd the prepared copy runs oneDNN plans (45 faces as 32 + 8 + 4 + 1); with it, LibTorch calls.
  for (const bool autograd : {false, true}) {
    torch::AutoGradMode mode(autograd);
    for (const int64_t batch : {1, 8, 45, 1}) {
      const auto input = torch::randn({batch, 3, 96, 96});
      const auto expected = net->forward(input), actual = prepared->forward(input);
      EXPECT_LE(relative_max_diff(actual.gender_logits, expected.gender_logits), kTolerance) << "batch " << batch << ", " << autograd;
      EXPECT_LE(relative_max_diff(actual.age_logits, expected.age_logits), kTolerance) << "batch " << batch << ", " << autograd;
    }
  }
}

// Every face count a crowded photo brings reuses the plans of batch 1, 2, 4, 8, 16 and 32: memory
// stays bounded (one plan per count held 15 GB after facekit-infer ran over wider-val-dev).
TEST(InferencePrepare, ClassifierPlansAreBoundedWhateverTheFaceCount) {
  const AgeGenderConfig config = small_classifier();
  auto net = make_age_gender_net(config).net;
  auto prepared = prepare_for_inference(net, config);
  c10::InferenceMode inference;
  for (int64_t faces = 1; faces <= 40; ++faces) prepared->forward(torch::randn({faces, 3, 96, 96}));
  EXPECT_EQ(prepared->onednn_plan_count(), 6u);
}

TEST(InferencePrepare, ShippedClassifierMatches) {
  const auto path = kSourceDir / "models/pretrained/age_gender.pt";
  FACEKIT_REQUIRE_PATH(path);
  auto loaded = load_age_gender_checkpoint(path.string());
  auto prepared = prepare_for_inference(loaded.net, loaded.config);
  torch::NoGradGuard no_grad;
  const auto input = torch::randn({4, 3, loaded.config.crop.size, loaded.config.crop.size});
  const auto expected = loaded.net->forward(input), actual = prepared->forward(input);
  EXPECT_LE(relative_max_diff(actual.gender_logits, expected.gender_logits), kTolerance);
  EXPECT_LE(relative_max_diff(actual.age_logits, expected.age_logits), kTolerance);
}

}  // namespace
}  // namespace facekit
