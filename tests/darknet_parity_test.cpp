// DarknetNet against libdarknet (pjreddie's Darknet, the reference nobody here wrote): the
// same cfg, the same weights (written by libdarknet itself), the same input, every head.
#include <gtest/gtest.h>

#include <iostream>
#include <iterator>
#include <regex>
#include <sstream>
#include <utility>

#include <opencv2/dnn.hpp>

#include "convert/darknet_torch.h"
#include "datasets/preprocess.h"
#include "models/darknet/decode.h"
#include "models/darknet/reference/libdarknet_ref.h"
#include "tests/darknet_cases.h"
#include "tests/tensor_util.h"

namespace facekit::darknet {
namespace {

using test::relative_max_diff;
using test::TempDir;
namespace fs = std::filesystem;

// Compares every yolo/region head (its input and its output) and the final output; on failure
// names the first layer that diverges, which is where to look.
void expect_parity(const NetDef& def, const std::vector<torch::Tensor>& ours, const ReferenceRun& reference) {
  ASSERT_EQ(ours.size(), reference.outputs.size());
  int compared = 0;
  const auto check = [&](int layer, const std::string& what) {
    const auto& a = ours[static_cast<size_t>(layer)];
    const auto& b = reference.outputs[static_cast<size_t>(layer)];
    ASSERT_EQ(a.numel(), b.numel()) << what;
    const double diff = relative_max_diff(a.reshape(b.sizes()), b);
    ++compared;
    std::cout << "  parity " << what << ": relative max diff " << diff << "\n";
    if (diff <= kParityTolerance) return;
    int first_bad = -1;
    for (size_t i = 0; i < ours.size() && first_bad < 0; ++i) {
      if (def.layers[i].type == LayerType::kCost) continue;  // written only in training
      if (ours[i].numel() == reference.outputs[i].numel() &&
          relative_max_diff(ours[i].reshape(reference.outputs[i].sizes()), reference.outputs[i]) > kParityTolerance) {
        first_bad = static_cast<int>(i);
      }
    }
    ADD_FAILURE() << what << ": relative max diff " << diff << " > " << kParityTolerance
                  << "; first diverging layer " << first_bad << " ("
                  << (first_bad >= 0 ? layer_type_name(def.layers[static_cast<size_t>(first_bad)].type) : "?") << ")";
  };
  for (const auto& layer : def.layers) {
    if (layer.type != LayerType::kYolo && layer.type != LayerType::kRegion) continue;
    check(layer.index - 1, "input of " + std::string(layer_type_name(layer.type)) + " layer " + std::to_string(layer.index));
    check(layer.index, "output of " + std::string(layer_type_name(layer.type)) + " layer " + std::to_string(layer.index));
  }
  check(def.output_layer(), "network output");
  EXPECT_GT(compared, 0);
}

class DarknetCfgParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(DarknetCfgParity, ForwardMatchesLibdarknet) {
  const ParityCase& c = GetParam();
  FACEKIT_REQUIRE_PATH(std::string(kDarknetCfgDir) + "/" + c.cfg);
  TempDir dir;
  const CaseRun run = run_case(c, dir);
  auto model = load_darknet(run.cfg, run.weights, "pjreddie");
  torch::NoGradGuard no_grad;
  expect_parity(model.net->def(), model.net->forward_all(run.input), run.reference);
}

INSTANTIATE_TEST_SUITE_P(
    DebianCfgs, DarknetCfgParity,
    ::testing::ValuesIn(kDebianParityCases),
    parity_case_name);

// Layers and options no Debian cfg uses, every layer compared (tests/data/pjreddie_layers.cfg).
TEST(DarknetLayerParity, EveryLayerOfTheSyntheticCfgMatchesLibdarknet) {
  const std::string source = std::string(FACEKIT_TEST_DATA_DIR) + "/pjreddie_layers.cfg";
  TempDir dir;
  const std::string weights = dir / "random.weights";
  torch::manual_seed(kSeed);
  const auto input = torch::rand({1, 3, 32, 32});
  const ReferenceRun reference = run_libdarknet(source, weights, input, /*randomize_and_save=*/true);
  auto model = load_darknet(source, weights, "pjreddie");
  torch::NoGradGuard no_grad;
  const auto ours = model.net->forward_all(input);
  ASSERT_EQ(ours.size(), reference.outputs.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    const auto& expected = reference.outputs[i];
    ASSERT_EQ(ours[i].numel(), expected.numel()) << "layer " << i;
    const double diff = relative_max_diff(ours[i].reshape(expected.sizes()), expected);
    std::cout << "  layer " << i << " " << layer_type_name(model.net->def().layers[i].type) << ": relative max diff "
              << diff << "\n";
    EXPECT_LE(diff, kParityTolerance) << "layer " << i;
  }
}

// Headers with major or minor > 1000 store connected weights transposed (load_weights_upto).
// facekit reads and writes them that way, and libdarknet agrees on what they mean.
TEST(DarknetWeightsLayout, TransposedConnectedWeightsMeanTheSame) {
  const std::string cfg = std::string(FACEKIT_TEST_DATA_DIR) + "/pjreddie_layers.cfg";
  TempDir dir;
  auto model = load_darknet(cfg, "", "pjreddie");
  WeightsHeader plain_header, transposed_header;
  transposed_header.major = 1001;
  write_weights(model.net->save_weights(plain_header), dir / "plain.weights");
  write_weights(model.net->save_weights(transposed_header), dir / "transposed.weights");
  EXPECT_NE(test::read_file(dir / "plain.weights"), test::read_file(dir / "transposed.weights"));
  auto plain = load_darknet(cfg, dir / "plain.weights", "pjreddie");
  auto transposed = load_darknet(cfg, dir / "transposed.weights", "pjreddie");
  EXPECT_TRUE(torch::equal(plain.net->named_parameters()["connected_15.weight"],
                           transposed.net->named_parameters()["connected_15.weight"]));
  write_weights(transposed.net->save_weights(transposed.header), dir / "again.weights");
  EXPECT_TRUE(test::read_file(dir / "again.weights") == test::read_file(dir / "transposed.weights"));
  torch::manual_seed(kSeed);
  const auto input = torch::rand({1, 3, 32, 32});
  const auto a = run_libdarknet(cfg, dir / "plain.weights", input, false);
  const auto b = run_libdarknet(cfg, dir / "transposed.weights", input, false);
  EXPECT_TRUE(torch::equal(a.outputs.back(), b.outputs.back()));
}

// DarknetNet trains: batch statistics in train mode, finite gradients for every parameter.
TEST(DarknetTraining, EveryParameterGetsAFiniteGradient) {
  FACEKIT_REQUIRE_PATH("/usr/share/darknet/cfg/yolov3-tiny.cfg");
  TempDir dir;
  test::write_file(dir.path() / "tiny.cfg", rewrite_net_section(test::read_file("/usr/share/darknet/cfg/yolov3-tiny.cfg"), 128, 128));
  auto model = load_darknet(dir / "tiny.cfg", "");
  model.net->train();
  torch::manual_seed(kSeed);
  const auto outputs = model.net->forward_all(torch::rand({2, 3, 128, 128}));
  const auto loss = outputs[15].square().mean() + outputs[22].square().mean();  // both yolo heads
  loss.backward();
  for (const auto& p : model.net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
  // Running statistics moved: training-mode BatchNorm updated them.
  EXPECT_FALSE(torch::equal(model.net->named_buffers()["convolutional_0.bn.running_mean"], torch::zeros({16})));
}

// Train mode, one step's forward and backward: every layer's output and every parameter's gradient,
// with the output of each layer weighted at random into one loss.
struct TrainingPass {
  std::vector<torch::Tensor> outputs, output_gradients, gradients;
};

TrainingPass training_pass(DarknetNet& net, const torch::Tensor& input) {
  net->train();
  net->zero_grad();
  const auto outputs = net->forward_all(input);
  for (const auto& o : outputs) o.retain_grad();
  torch::manual_seed(kSeed);
  auto loss = torch::zeros({});
  for (const auto& o : outputs) loss = loss + (o * torch::randn(o.sizes())).sum();
  loss.backward();
  TrainingPass pass;
  for (const auto& o : outputs) {
    pass.outputs.push_back(o.detach().contiguous());
    pass.output_gradients.push_back(o.grad().contiguous());
  }
  for (const auto& p : net->parameters()) pass.gradients.push_back(p.grad().clone());
  return pass;
}

// How far the gradients of a training pass in float32 may be from the same pass in float64 (the
// exact gradients, as far as float32 inputs allow). NCHW: measured 3e-5 at most. Channels-last:
// 5e-4 on yolov3-tiny's first batch-norm convolution, once 3.4e-3 (an ASan build in CI, 2026-12-07,
// when this test still compared the two layouts with each other). LibTorch 1.13's channels-last
// batch norm backward sums in float32 less accurately (alone, on one 16-channel layer of 2 x 128 x
// 128: 1.4e-5 of float64 against NCHW's 1.5e-6, python3-torch), and the first layers' gradients
// sum 2 x 128 x 128 terms through 24 layers; which terms meet first varies with memory alignment
// and load. A layout error (a tensor read in the wrong order) is of the order of 1.
constexpr double kNchwTolerance = 1e-4;
constexpr double kChannelsLastTolerance = 1e-2;

// One line per layer: how far the gradient at its output is from the reference's. Backward runs
// from the last layer to the first, so the first wrong layer from the end is where an error enters.
std::string output_gradient_report(const TrainingPass& pass, const TrainingPass& reference) {
  std::ostringstream report;
  for (size_t i = 0; i < pass.output_gradients.size(); ++i) {
    report << "\n  layer " << i << " output gradient: "
           << relative_max_diff(pass.output_gradients[i], reference.output_gradients[i]);
  }
  return report.str();
}

// The detector trainer feeds channels-last (NHWC) batches (train/detector_trainer.cpp): every
// layer type of the synthetic cfg, and yolov3-tiny, give the outputs they give on NCHW, and
// gradients as close to the exact ones (the same pass in float64) as float32 allows.
TEST(DarknetTraining, ChannelsLastInputTrainsLikeNchw) {
  FACEKIT_REQUIRE_PATH("/usr/share/darknet/cfg/yolov3-tiny.cfg");
  TempDir dir;
  // Dropout draws its mask in memory order, which differs between the layouts: off here.
  const auto synthetic = std::regex_replace(test::read_file(std::string(FACEKIT_TEST_DATA_DIR) + "/pjreddie_layers.cfg"),
                                            std::regex("probability=.*"), "probability=0");
  test::write_file(dir.path() / "layers.cfg", synthetic);
  test::write_file(dir.path() / "tiny.cfg", rewrite_net_section(test::read_file("/usr/share/darknet/cfg/yolov3-tiny.cfg"), 128, 128));
  for (const auto& [cfg, side] : {std::pair<std::string, int>{dir / "layers.cfg", 32}, {dir / "tiny.cfg", 128}}) {
    auto model = load_darknet(cfg, "", "pjreddie");
    torch::manual_seed(kSeed);
    const auto input = torch::rand({2, 3, side, side});
    const TrainingPass nchw = training_pass(model.net, input);
    const TrainingPass nhwc = training_pass(model.net, input.contiguous(torch::MemoryFormat::ChannelsLast));
    model.net->to(torch::kFloat64);
    const TrainingPass exact = training_pass(model.net, input.to(torch::kFloat64));
    for (size_t i = 0; i < nchw.outputs.size(); ++i) {
      EXPECT_LE(relative_max_diff(nhwc.outputs[i], nchw.outputs[i]), 1e-4) << cfg << ", layer " << i;
    }
    const auto names = model.net->named_parameters().keys();
    for (size_t i = 0; i < exact.gradients.size(); ++i) {
      EXPECT_LE(relative_max_diff(nchw.gradients[i], exact.gradients[i]), kNchwTolerance)
          << cfg << ", " << names[i] << output_gradient_report(nchw, exact);
      EXPECT_LE(relative_max_diff(nhwc.gradients[i], exact.gradients[i]), kChannelsLastTolerance)
          << cfg << ", " << names[i] << output_gradient_report(nhwc, exact);
    }
  }
}

TEST(DarknetCfgRefusal, UnsupportedCfgsAreRefusedWithAReason) {
  for (const char* name : {"yolov1.cfg", "yolo9000.cfg", "vgg-16.cfg", "darknet9000.cfg", "gru.cfg"}) {
    const std::string cfg = std::string(kDarknetCfgDir) + "/" + name;
    FACEKIT_REQUIRE_PATH(cfg);
    try {
      load_darknet(cfg, "", "pjreddie");
      ADD_FAILURE() << name << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("not supported"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

// The real Yolo-Fastest models (AlexeyAB cfgs, real trained weights) on a real photo.
// libdarknet is pjreddie's, so facekit runs them in the pjreddie dialect here.
class RealModelParity : public ::testing::TestWithParam<std::string> {};

TEST_P(RealModelParity, RealWeightsOnARealPhoto) {
  const auto folder = test::shared_dir() / "models" / GetParam();
  const std::string cfg = (folder / (GetParam() + ".cfg")).string();
  const std::string weights = (folder / (GetParam() + ".weights")).string();
  const std::string photo = (test::shared_dir() / "data" / "seed-demo" / "friends.jpg").string();
  FACEKIT_REQUIRE_PATH(weights);
  FACEKIT_REQUIRE_PATH(photo);
  auto model = load_darknet(cfg, weights, "pjreddie");
  const NetDef& def = model.net->def();
  PlanarImage input = letterbox(to_planar_rgb(read_image(photo)), def.width, def.height);
  const auto tensor = torch::from_blob(input.data.data(), {1, 3, def.height, def.width}).clone();
  const ReferenceRun reference = run_libdarknet(cfg, weights, tensor, /*randomize_and_save=*/false);
  torch::NoGradGuard no_grad;
  expect_parity(def, model.net->forward_all(tensor), reference);
}

INSTANTIATE_TEST_SUITE_P(SharedModels, RealModelParity,
                         ::testing::Values("yolo-fastest-1.1", "yolo-fastest-1.1-xl"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (auto& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// Multi-scale training (random=1) runs the net at other multiples of its downsampling, as Darknet
// does after resize_network: the net built at 320 gives, at 352 and at 288x384, what libdarknet gives
// with the cfg's width and height set to that size. Any other size is refused with the sizes it takes.
TEST(DarknetResize, MultiplesOfTheDownsamplingMatchLibdarknetAtThatSize) {
  const auto folder = test::shared_dir() / "models" / "yolo-fastest-1.1";
  const std::string cfg = (folder / "yolo-fastest-1.1.cfg").string();
  const std::string weights = (folder / "yolo-fastest-1.1.weights").string();
  FACEKIT_REQUIRE_PATH(weights);
  auto model = load_darknet(cfg, weights, "pjreddie");
  ASSERT_EQ(model.net->def().input_multiple(), 32);
  TempDir dir;
  torch::NoGradGuard no_grad;
  for (const auto& [height, width] : {std::pair{352, 352}, std::pair{288, 384}}) {
    const std::string resized = dir / ("resized_" + std::to_string(height) + ".cfg");
    std::string text = test::read_file(cfg);
    text = std::regex_replace(text, std::regex("\nwidth=320"), "\nwidth=" + std::to_string(width));
    text = std::regex_replace(text, std::regex("\nheight=320"), "\nheight=" + std::to_string(height));
    test::write_file(resized, text);
    torch::manual_seed(kSeed);
    const auto input = torch::rand({1, 3, height, width});
    const ReferenceRun reference = run_libdarknet(resized, weights, input, /*randomize_and_save=*/false);
    expect_parity(model.net->def(), model.net->forward_all(input), reference);
  }
  try {
    model.net->forward_all(torch::rand({1, 3, 330, 320}));
    FAIL() << "an input of 330x320 ran";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find(cfg + ": expected input (N, 3, 320, 320) or sides that are multiples of 32"),
              std::string::npos) << e.what();
  }
}

// facekit's letterbox against libdarknet's load_image_color + letterbox_image on real photos.
TEST(Preprocess, LetterboxAndResizeMatchLibdarknet) {
  const auto folder = test::shared_dir() / "data" / "seed-demo";
  FACEKIT_REQUIRE_PATH(folder);
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string path = entry.path().string();
    for (const bool boxed : {true, false}) {
      const int w = 416, h = 320;
      std::vector<float> reference(static_cast<size_t>(3 * w * h));
      ASSERT_EQ(fk_darknet_load_resized(path.c_str(), w, h, boxed ? 1 : 0, reference.data()), 0) << path;
      const PlanarImage ours = fit_to_input(to_planar_rgb(read_image(path)), w, h, boxed);
      double worst = 0;
      for (size_t i = 0; i < reference.size(); ++i) worst = std::max(worst, double(std::fabs(ours.data[i] - reference[i])));
      EXPECT_LE(worst, 1e-5) << path << (boxed ? " letterbox" : " resize");
      ++checked;
    }
  }
  EXPECT_GE(checked, 2 * 10);
}

// A photo letterboxed by libdarknet, run by libdarknet and by facekit with the same weights (when
// `weights` does not exist yet, libdarknet randomises them and writes it): libdarknet's detections
// (fk_darknet_detections: get_network_boxes, do_nms_sort) and facekit's decode_detections on the same
// head outputs, as rows (x1, y1, x2, y2, class, score) sorted by class and score.
struct DetectionsRun {
  torch::Tensor libdarknet, facekit;
};

torch::Tensor as_sorted_rows(const torch::Tensor& rows) {
  const c10::optional<bool> stable = true;
  const auto by_score = rows.index_select(0, std::get<1>(torch::sort(rows.select(1, 5), stable, 0, /*descending=*/true)));
  return by_score.index_select(0, std::get<1>(torch::sort(by_score.select(1, 4), stable, 0)));
}

DetectionsRun detect_both(const std::string& cfg, const std::string& weights, const fs::path& photo, float thresh, float nms) {
  constexpr int kMaxRows = 200000;
  const bool randomize = !fs::exists(weights);
  fk_darknet* net = fk_darknet_load(cfg.c_str(), randomize ? nullptr : weights.c_str());
  if (randomize) {
    fk_darknet_randomize(net, kSeed);
    EXPECT_EQ(fk_darknet_save_weights(net, weights.c_str()), 0);
  }
  int c = 0, h = 0, w = 0;
  fk_darknet_input_shape(net, &c, &h, &w);
  auto input = torch::empty({1, 3, h, w});
  EXPECT_EQ(fk_darknet_load_resized(photo.c_str(), w, h, /*letterbox=*/1, input.data_ptr<float>()), 0);
  const cv::Mat image = read_image(photo.string());
  fk_darknet_forward(net, input.data_ptr<float>());
  std::vector<float> rows(6 * kMaxRows);
  const int count = fk_darknet_detections(net, image.cols, image.rows, thresh, nms, rows.data(), kMaxRows);
  fk_darknet_free(net);
  EXPECT_LE(count, kMaxRows);
  LetterboxGeometry geometry;
  letterbox(to_planar_rgb(image), w, h, &geometry);
  // correct_yolo_boxes takes the border as (w - new_w) / 2. where letterbox_image placed the image
  // at the integer half: with an odd border libdarknet's boxes lie half an input pixel off the image
  // it letterboxed. facekit maps back by the true offset; libdarknet's boxes get that half pixel.
  const float shift_x = ((w - geometry.resized_w) / 2.f - geometry.offset_x) * image.cols / geometry.resized_w;
  const float shift_y = ((h - geometry.resized_h) / 2.f - geometry.offset_y) * image.rows / geometry.resized_h;
  auto reference = torch::from_blob(rows.data(), {std::min(count, kMaxRows), 6}).clone();
  for (const int x : {0, 2}) reference.select(1, x).add_(shift_x).clamp_(0, image.cols);  // clipped, as draw_detections does
  for (const int y : {1, 3}) reference.select(1, y).add_(shift_y).clamp_(0, image.rows);

  auto model = load_darknet(cfg, weights, "pjreddie");
  torch::NoGradGuard no_grad;
  const auto ours = decode_detections(model.net->def(), model.net->forward_all(input), geometry, thresh, nms);
  auto facekit = torch::empty({static_cast<int64_t>(ours.size()), 6});
  for (size_t i = 0; i < ours.size(); ++i) {
    const auto& d = ours[i];
    facekit[static_cast<int64_t>(i)] = torch::tensor({d.x1, d.y1, d.x2, d.y2, float(d.class_id), d.score});
  }
  return {as_sorted_rows(reference), as_sorted_rows(facekit)};
}

// How many rows of `ours` have no row of `reference` with the same class, a score within 1e-5 and
// corners within `box_tolerance` pixels. Both are sorted by class and score; scores that tie within
// float rounding may come in either order, so a row is looked for among its neighbours too.
int64_t unmatched_rows(const torch::Tensor& ours, const torch::Tensor& reference, double box_tolerance) {
  constexpr int64_t kNeighbours = 64;
  const auto a = ours.accessor<float, 2>(), b = reference.accessor<float, 2>();
  std::vector<bool> used(static_cast<size_t>(reference.size(0)), false);
  int64_t unmatched = 0;
  for (int64_t i = 0; i < ours.size(0); ++i) {
    bool found = false;
    for (int64_t j = std::max<int64_t>(0, i - kNeighbours); j < std::min(reference.size(0), i + kNeighbours + 1) && !found; ++j) {
      if (used[static_cast<size_t>(j)] || a[i][4] != b[j][4] || std::fabs(a[i][5] - b[j][5]) > 1e-5f) continue;
      bool close = true;
      for (int k = 0; k < 4; ++k) close = close && std::fabs(a[i][k] - b[j][k]) <= box_tolerance;
      if (close) found = true, used[static_cast<size_t>(j)] = true;
    }
    unmatched += !found;
  }
  return unmatched;
}

// facekit's detections equal `darknet detect`'s (libdarknet's get_network_boxes, whose
// correct_yolo_boxes / correct_region_boxes map boxes back through the letterbox, then its
// do_nms_sort) on a real photo: the same boxes (clipped to the photo, as draw_detections clips
// them), classes and scores after the same NMS. Yolo-Fastest with its real COCO weights, and with
// random weights a yolo net and a region net, whose many large boxes leave the photo: there
// clipping before NMS (as facekit once did) would change what NMS keeps.
TEST(DarknetDetections, MatchLibdarknetsBoxesAndNms) {
  constexpr float kNms = 0.45f;
  constexpr double kBoxTolerance = 0.05;  // pixels of the photo: float rounding
  const fs::path photos = test::shared_dir() / "data" / "seed-demo";
  const fs::path fastest = test::shared_dir() / "models" / "yolo-fastest-1.1";
  FACEKIT_REQUIRE_PATH(photos);
  FACEKIT_REQUIRE_PATH(fastest / "yolo-fastest-1.1.weights");
  TempDir dir;
  struct Case {
    std::string cfg, weights;
    float thresh;
    int64_t at_least;  // detections, so that the comparison means something
  };
  std::vector<Case> cases = {
      {(fastest / "yolo-fastest-1.1.cfg").string(), (fastest / "yolo-fastest-1.1.weights").string(), 0.005f, 20}};
  for (const ParityCase& c : {ParityCase{"yolov3-tiny.cfg", 416, 416}, ParityCase{"yolov2-tiny-voc.cfg", 224, 224}}) {
    test::write_file(dir / c.cfg, rewrite_net_section(test::read_file(std::string(kDarknetCfgDir) + "/" + c.cfg), c.width, c.height));
    cases.push_back({dir / c.cfg, dir / (c.cfg + ".weights"), 0.3f, 20});
  }
  // 1600 x 1000 leaves even letterbox borders at every input size here; 940 x 545 odd ones.
  for (const char* photo : {"friends.jpg", "big_bang_theory4.jpg"}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(photo) + " " + c.cfg);
      const auto run = detect_both(c.cfg, c.weights, photos / photo, c.thresh, kNms);
      const int64_t unmatched = unmatched_rows(run.facekit, run.libdarknet, kBoxTolerance);
      std::cout << "  " << photo << ", " << fs::path(c.cfg).filename().string() << ": " << run.libdarknet.size(0)
                << " detections in libdarknet, " << run.facekit.size(0) << " in facekit, " << unmatched
                << " of facekit's without a match\n";
      EXPECT_GE(run.libdarknet.size(0), c.at_least);
      EXPECT_EQ(run.facekit.size(0), run.libdarknet.size(0));
      EXPECT_EQ(unmatched, 0);
    }
  }
}

// Weights for every parameter of `def`, uniform on [-0.5, 0.5] from torch's generator.
DarknetWeights random_weights(const NetDef& def) {
  DarknetWeights weights;
  weights.header = {0, 2, 5, 0};
  weights.values.resize(static_cast<size_t>(def.num_weight_floats()));
  torch::from_blob(weights.values.data(), {def.num_weight_floats()}).uniform_(-0.5, 0.5);
  return weights;
}

// `input` (1 x 3 x H x W, contiguous float) as an OpenCV dnn blob.
void set_opencv_input(cv::dnn::Net& net, const torch::Tensor& input) {
  const int shape[] = {1, 3, static_cast<int>(input.size(2)), static_cast<int>(input.size(3))};
  net.setInput(cv::Mat(4, shape, CV_32F, input.data_ptr<float>()));
}

// libdarknet (pjreddie) lacks AlexeyAB's layers and activations; OpenCV dnn has them. A small
// cfg using each of them, random weights (BN variances near 1, where the dialects' epsilons agree
// to 1e-6), compared with OpenCV's readNetFromDarknet.
TEST(AlexeyABLayers, MatchOpenCvDnn) {
  const std::string cfg = std::string(FACEKIT_TEST_DATA_DIR) + "/alexeyab_layers.cfg";
  TempDir dir;
  const NetDef def = load_darknet(cfg, "", "alexeyab").net->def();
  torch::manual_seed(kSeed);
  DarknetWeights weights = random_weights(def);
  // Layer 0 has BatchNorm: biases, then scales, rolling mean, rolling variance (16 each).
  auto values = torch::from_blob(weights.values.data(), {def.num_weight_floats()});
  values.narrow(0, 16, 16).uniform_(0.5, 1.5);
  values.narrow(0, 48, 16).uniform_(0.5, 1.5);
  write_weights(weights, dir / "random.weights");
  auto model = load_darknet(cfg, dir / "random.weights", "alexeyab");

  const auto input = torch::rand({1, 3, def.height, def.width});
  cv::dnn::Net reference = cv::dnn::readNetFromDarknet(cfg, dir / "random.weights");
  set_opencv_input(reference, input);
  cv::Mat expected = reference.forward();
  torch::NoGradGuard no_grad;
  const double diff = relative_max_diff(model.net->forward(input).flatten(),
                                        torch::from_blob(expected.ptr<float>(), {static_cast<int64_t>(expected.total())}));
  std::cout << "  parity alexeyab_layers.cfg vs OpenCV dnn: relative max diff " << diff << "\n";
  EXPECT_LE(diff, kParityTolerance);
}

// AlexeyAB's yolo options decoded by facekit (decode_candidates) and by OpenCV dnn, which turns each
// [yolo] into its own region layer: scale_x_y, and new_coords with scale_x_y 2 (tests/data/
// yolo_options.cfg). OpenCV writes one row per cell and anchor, anchors fastest: centre x, y and size
// w, h over the input size, objectness, then objectness x class probability, set to 0 below its
// threshold of 0.2. (Its objectness column is left unwritten under new_coords; the class scores carry
// the objectness anyway.)
TEST(YoloHeads, ScaleXYAndNewCoordsDecodeAsOpenCvDnn) {
  constexpr float kOpenCvScoreThreshold = 0.2f;
  const std::string cfg = std::string(FACEKIT_TEST_DATA_DIR) + "/yolo_options.cfg";
  TempDir dir;
  const NetDef def = load_darknet(cfg, "", "alexeyab").net->def();
  torch::manual_seed(kSeed);
  write_weights(random_weights(def), dir / "random.weights");
  auto model = load_darknet(cfg, dir / "random.weights", "alexeyab");
  const auto input = torch::rand({1, 3, def.height, def.width});

  cv::dnn::Net reference = cv::dnn::readNetFromDarknet(cfg, dir / "random.weights");
  set_opencv_input(reference, input);
  std::vector<cv::Mat> heads;
  reference.forward(heads, reference.getUnconnectedOutLayersNames());
  std::vector<torch::Tensor> rows;  // reordered as decode_candidates orders them: anchor, row, column
  const int64_t entries = 5 + 2;
  for (const auto& layer : def.layers) {
    if (layer.type != LayerType::kYolo) continue;
    const auto& head = heads.at(rows.size());
    const int64_t anchors = static_cast<int64_t>(layer.mask.size()), h = layer.out.h, w = layer.out.w;
    ASSERT_EQ(head.rows, anchors * h * w);
    rows.push_back(torch::from_blob(const_cast<float*>(head.ptr<float>()), {h, w, anchors, entries})
                       .permute({2, 0, 1, 3})
                       .reshape({-1, entries}));
  }
  const auto opencv = torch::cat(rows);
  const auto centre = opencv.narrow(1, 0, 2) * torch::tensor({float(def.width), float(def.height)});
  const auto half_size = opencv.narrow(1, 2, 2) * torch::tensor({float(def.width), float(def.height)}) / 2;
  const auto opencv_boxes = torch::cat({centre - half_size, centre + half_size}, 1);
  const auto opencv_scores = opencv.narrow(1, 5, 2);

  torch::NoGradGuard no_grad;
  const Candidates ours = decode_candidates(def, model.net->forward_all(input));
  ASSERT_EQ(ours.boxes.size(0), opencv.size(0));
  const double box_diff = relative_max_diff(ours.boxes, opencv_boxes);
  const auto kept = opencv_scores > 0;
  const double score_diff = (ours.scores - opencv_scores).masked_select(kept).abs().max().item<double>();
  const double below = ours.scores.masked_select(kept.logical_not()).max().item<double>();
  std::cout << "  yolo_options.cfg vs OpenCV dnn: boxes relative max diff " << box_diff << ", "
            << kept.sum().item<int64_t>() << " scores max diff " << score_diff << "\n";
  EXPECT_LE(box_diff, 1e-5);
  EXPECT_LE(score_diff, 1e-5);
  EXPECT_LE(below, kOpenCvScoreThreshold + 1e-6);
  EXPECT_GE(kept.sum().item<int64_t>(), 40);  // enough scores above OpenCV's threshold to compare
}

// AlexeyAB's activations that neither libdarknet nor OpenCV dnn has. relu6 and gelu (Darknet's tanh
// approximation, AlexeyAB src/activations.h gelu_activate) against PyTorch's F.relu6 and
// F.gelu(approximate='tanh') run by /usr/bin/python3; hard_mish (hard_mish_yashas: x above 0,
// x^2 / 2 + x on (-2, 0], 0 below) against values worked out by hand.
TEST(AlexeyABActivations, Relu6AndGeluMatchPyTorchHardMishItsDefinition) {
  const auto x = torch::arange(-80, 81, torch::kFloat32) / 10;  // -8 to 8 in steps of 0.1
  const auto python = test::run_command(
      "/usr/bin/python3 -c \"import torch, torch.nn.functional as F; x = torch.arange(-80, 81, dtype=torch.float32) / 10; "
      "[print(' '.join('%.9g' % v for v in y.tolist())) for y in (F.relu6(x), F.gelu(x, approximate='tanh'))]\"");
  ASSERT_EQ(python.exit_code, 0) << python.output;
  std::istringstream lines(python.output);
  for (const Activation activation : {Activation::kRelu6, Activation::kGelu}) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << python.output;
    std::istringstream numbers(line);
    std::vector<float> values{std::istream_iterator<float>(numbers), std::istream_iterator<float>()};
    ASSERT_EQ(values.size(), static_cast<size_t>(x.numel()));
    const double diff = (apply_activation(x, activation) - torch::tensor(values)).abs().max().item<double>();
    std::cout << "  " << activation_name(activation) << " vs PyTorch: max diff " << diff << "\n";
    EXPECT_LE(diff, 2e-6) << activation_name(activation);
  }
  const auto at = torch::tensor({-3.f, -2.f, -1.5f, -1.f, -0.5f, 0.f, 0.5f, 3.f});
  const auto hard_mish = torch::tensor({0.f, 0.f, -0.375f, -0.5f, -0.375f, 0.f, 0.5f, 3.f});
  EXPECT_TRUE(torch::equal(apply_activation(at, Activation::kHardMish), hard_mish));
}

// darknet -> facekit checkpoint -> darknet gives the same bytes.
TEST(Convert, CheckpointRoundTripIsByteIdentical) {
  const auto folder = test::shared_dir() / "models" / "yolo-fastest-1.1";
  const std::string weights = (folder / "yolo-fastest-1.1.weights").string();
  FACEKIT_REQUIRE_PATH(weights);
  TempDir dir;
  const auto model = load_darknet((folder / "yolo-fastest-1.1.cfg").string(), weights);
  save_darknet_checkpoint(model, dir / "model.pt");
  const auto restored = load_darknet_checkpoint(dir / "model.pt");
  EXPECT_EQ(restored.net->def().dialect, Dialect::kAlexeyAB);
  write_weights(restored.net->save_weights(restored.header), dir / "back.weights");
  EXPECT_TRUE(test::read_file(dir / "back.weights") == test::read_file(weights));
  // The parameters carry their Darknet layer in their names.
  const auto params = restored.net->named_parameters();
  EXPECT_TRUE(params.contains("convolutional_0.weight"));
  EXPECT_TRUE(params.contains("convolutional_0.bn.weight"));
}

}  // namespace
}  // namespace facekit::darknet
