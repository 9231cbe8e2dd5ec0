// Darknet -> ONNX, run in ONNX Runtime (npm onnxruntime-node) and OpenCV dnn, compared with
// libdarknet (raw heads) and with facekit's own decode and NMS.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include <opencv2/dnn.hpp>

#include "convert/classifier_onnx.h"
#include "convert/darknet_onnx.h"
#include "convert/darknet_torch.h"
#include "datasets/npy.h"
#include "datasets/preprocess.h"
#include "models/darknet/decode.h"
#include "tests/darknet_cases.h"
#include "tests/tensor_util.h"

namespace facekit::darknet {
namespace {

using test::relative_max_diff;
using test::TempDir;
using Outputs = std::map<std::string, torch::Tensor>;

// OpenCV 4.6's ONNX importer cannot run these valid models (checked by ONNX Runtime instead).
const std::set<std::string> kOpenCvCannotRun = {};

// Runs tests/ort_run.js: ONNX Runtime in node, outputs back as .npy.
Outputs run_onnxruntime(const std::string& model, const torch::Tensor& input, const TempDir& dir,
                        bool fp16_input = false) {
  const std::string input_path = dir / "ort_input.npy";
  const auto contiguous = input.contiguous();
  write_npy(input_path, contiguous.data_ptr<float>(), contiguous.sizes().vec());
  const std::string out_dir = dir / "ort_out";
  std::filesystem::remove_all(out_dir);
  const std::string command = "NODE_PATH=" + std::string(FACEKIT_ORT_NODE_MODULES) + " node " + FACEKIT_ORT_SCRIPT +
                              " " + model + " " + input_path + " " + out_dir + (fp16_input ? " fp16" : "") + " 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << command;
  Outputs outputs;
  if (!std::filesystem::exists(out_dir)) return outputs;
  for (const auto& entry : std::filesystem::directory_iterator(out_dir)) {
    NpyArray array = read_npy(entry.path().string());
    outputs[entry.path().stem().string()] = torch::from_blob(array.data.data(), array.shape).clone();
  }
  return outputs;
}

Outputs run_opencv(const std::string& model, const torch::Tensor& input, const std::vector<std::string>& names) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(model);
  auto contiguous = input.contiguous();
  const std::vector<int> shape(contiguous.sizes().begin(), contiguous.sizes().end());
  net.setInput(cv::Mat(static_cast<int>(shape.size()), shape.data(), CV_32F, contiguous.data_ptr<float>()));
  std::vector<cv::Mat> blobs;
  net.forward(blobs, names);
  Outputs outputs;
  for (size_t i = 0; i < names.size(); ++i) {
    std::vector<int64_t> dims(blobs[i].size.p, blobs[i].size.p + blobs[i].dims);
    outputs[names[i]] = torch::from_blob(blobs[i].ptr<float>(), dims).clone();
  }
  return outputs;
}

// The raw outputs facekit exports for a net, with the reference layer each one equals.
std::vector<std::pair<std::string, int>> raw_outputs(const NetDef& def) {
  std::vector<std::pair<std::string, int>> outputs;
  for (const auto& l : def.layers) {
    if (l.type == LayerType::kYolo) outputs.emplace_back("yolo_" + std::to_string(l.index), l.index - 1);
    if (l.type == LayerType::kRegion) outputs.emplace_back("region_" + std::to_string(l.index), l.index - 1);
  }
  if (outputs.empty()) outputs.emplace_back("output", def.output_layer());
  return outputs;
}

void expect_raw_parity(const std::string& runtime, const NetDef& def, const Outputs& outputs,
                       const std::vector<torch::Tensor>& reference, double tolerance = kParityTolerance) {
  for (const auto& [name, layer] : raw_outputs(def)) {
    ASSERT_TRUE(outputs.count(name)) << runtime << " gave no output " << name;
    const auto& expected = reference[static_cast<size_t>(layer)];
    const auto& got = outputs.at(name);
    ASSERT_EQ(got.numel(), expected.numel()) << runtime << " " << name;
    const double diff = relative_max_diff(got.reshape(expected.sizes()), expected);
    std::cout << "  " << runtime << " " << name << ": relative max diff " << diff << "\n";
    EXPECT_LE(diff, tolerance) << runtime << " " << name;
  }
}

std::string export_model(DarknetNetImpl& net, const TempDir& dir, const std::string& name, OnnxExportOptions options = {}) {
  const std::string path = dir / name;
  export_darknet_onnx(net, options, path);
  return path;
}

class DarknetCfgOnnx : public ::testing::TestWithParam<ParityCase> {};

TEST_P(DarknetCfgOnnx, RawHeadsMatchLibdarknetInOnnxRuntimeAndOpenCv) {
  const ParityCase& c = GetParam();
  FACEKIT_REQUIRE_PATH(std::string(kDarknetCfgDir) + "/" + c.cfg);
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
  TempDir dir;
  const CaseRun run = run_case(c, dir);
  const auto& input = run.input;
  const auto& reference = run.reference;
  auto model = load_darknet(run.cfg, run.weights, "pjreddie");
  const std::string onnx = export_model(*model.net, dir, "model.onnx");
  expect_raw_parity("onnxruntime", model.net->def(), run_onnxruntime(onnx, input, dir), reference.outputs);
  std::vector<std::string> names;
  for (const auto& output : raw_outputs(model.net->def())) names.push_back(output.first);
  try {
    expect_raw_parity("opencv", model.net->def(), run_opencv(onnx, input, names), reference.outputs);
  } catch (const cv::Exception& e) {
    if (!kOpenCvCannotRun.count(c.cfg)) ADD_FAILURE() << "OpenCV dnn cannot run " << c.cfg << ": " << e.what();
    std::cout << "  OpenCV dnn 4.6 cannot run this model (known): checked in ONNX Runtime only\n";
  }
}

INSTANTIATE_TEST_SUITE_P(DebianCfgs, DarknetCfgOnnx, ::testing::ValuesIn(kDebianParityCases), parity_case_name);

// Yolo-Fastest with its real weights on a real photo; libdarknet is the reference, so the
// pjreddie dialect.
TEST(OnnxRealModels, YoloFastestMatchesLibdarknet) {
  for (const std::string name : {"yolo-fastest-1.1", "yolo-fastest-1.1-xl"}) {
    const auto folder = test::shared_dir() / "models" / name;
    const std::string cfg = (folder / (name + ".cfg")).string(), weights = (folder / (name + ".weights")).string();
    const std::string photo = (test::shared_dir() / "data" / "seed-demo" / "friends.jpg").string();
    FACEKIT_REQUIRE_PATH(weights);
    FACEKIT_REQUIRE_PATH(photo);
    FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
    TempDir dir;
    auto model = load_darknet(cfg, weights, "pjreddie");
    const NetDef& def = model.net->def();
    PlanarImage image = letterbox(to_planar_rgb(read_image(photo)), def.width, def.height);
    const auto input = torch::from_blob(image.data.data(), {1, 3, def.height, def.width}).clone();
    const ReferenceRun reference = run_libdarknet(cfg, weights, input, /*randomize_and_save=*/false);
    const std::string onnx = export_model(*model.net, dir, "model.onnx");
    expect_raw_parity("onnxruntime", def, run_onnxruntime(onnx, input, dir), reference.outputs);
    expect_raw_parity("opencv", def, run_opencv(onnx, input, {"yolo_121", "yolo_130"}), reference.outputs);
  }
}

// A detector, its input (a real photo when the shared data is there) and facekit's outputs.
struct DetectorRun {
  LoadedDarknet model;
  torch::Tensor input;
  std::vector<torch::Tensor> outputs;
};

DetectorRun yolo_fastest_run(int64_t batch = 1) {
  const auto folder = test::shared_dir() / "models" / "yolo-fastest-1.1";
  DetectorRun run{load_darknet((folder / "yolo-fastest-1.1.cfg").string(), (folder / "yolo-fastest-1.1.weights").string()), {}, {}};
  const NetDef& def = run.model.net->def();
  std::vector<torch::Tensor> images;
  for (const char* photo : {"friends.jpg", "selfi.jpg", "big_bang_theory2.jpg"}) {
    const auto path = (test::shared_dir() / "data" / "seed-demo" / photo).string();
    PlanarImage image = fit_to_input(to_planar_rgb(read_image(path)), def.width, def.height, def.letterbox);
    images.push_back(torch::from_blob(image.data.data(), {1, 3, def.height, def.width}).clone());
    if (static_cast<int64_t>(images.size()) == batch) break;
  }
  run.input = torch::cat(images);
  torch::NoGradGuard no_grad;
  run.outputs = run.model.net->forward_all(run.input);
  return run;
}

#define REQUIRE_YOLO_FASTEST()                                                                               \
  FACEKIT_REQUIRE_PATH(test::shared_dir() / "models" / "yolo-fastest-1.1" / "yolo-fastest-1.1.weights");  \
  FACEKIT_REQUIRE_PATH(test::shared_dir() / "data" / "seed-demo" / "friends.jpg");                          \
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES)

TEST(OnnxDecode, BoxesAndScoresMatchFacekitDecode) {
  REQUIRE_YOLO_FASTEST();
  TempDir dir;
  auto run = yolo_fastest_run();
  OnnxExportOptions options;
  options.decode = true;
  const auto ort = run_onnxruntime(export_model(*run.model.net, dir, "decode.onnx", options), run.input, dir);
  const auto expected = decode_candidates(run.model.net->def(), run.outputs);
  ASSERT_TRUE(ort.count("boxes") && ort.count("scores"));
  EXPECT_EQ(ort.at("boxes").sizes(), (std::vector<int64_t>{1, expected.boxes.size(0), 4}));
  const double box_diff = (ort.at("boxes")[0] - expected.boxes).abs().max().item<double>();
  const double score_diff = (ort.at("scores")[0] - expected.scores).abs().max().item<double>();
  std::cout << "  decode: max box diff " << box_diff << " px, max score diff " << score_diff << "\n";
  EXPECT_LE(box_diff, 1e-2);
  EXPECT_LE(score_diff, 1e-4);
}

std::vector<Detection> as_detections(const torch::Tensor& rows) {
  std::vector<Detection> detections;
  for (int64_t r = 0; r < rows.size(0); ++r) {
    const auto row = rows[r];
    detections.push_back({row[1].item<float>(), row[2].item<float>(), row[3].item<float>(), row[4].item<float>(),
                          row[5].item<float>(), static_cast<int>(row[6].item<float>())});
  }
  std::sort(detections.begin(), detections.end(), [](const Detection& a, const Detection& b) {
    return std::tie(a.class_id, a.score) > std::tie(b.class_id, b.score);
  });
  return detections;
}

TEST(OnnxDecode, NmsInTheGraphEqualsFacekitNms) {
  REQUIRE_YOLO_FASTEST();
  TempDir dir;
  auto run = yolo_fastest_run();
  OnnxExportOptions options;
  options.nms = true;
  options.conf_thresh = 0.2f;
  options.iou_thresh = 0.45f;
  const auto ort = run_onnxruntime(export_model(*run.model.net, dir, "nms.onnx", options), run.input, dir);
  ASSERT_TRUE(ort.count("detections"));
  auto expected = select_detections(decode_candidates(run.model.net->def(), run.outputs), 0.2f, 0.45f);
  std::sort(expected.begin(), expected.end(), [](const Detection& a, const Detection& b) {
    return std::tie(a.class_id, a.score) > std::tie(b.class_id, b.score);
  });
  const auto got = as_detections(ort.at("detections"));
  ASSERT_EQ(got.size(), expected.size());
  ASSERT_GT(got.size(), 0u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].class_id, expected[i].class_id);
    EXPECT_NEAR(got[i].score, expected[i].score, 1e-4);
    EXPECT_NEAR(got[i].x1, expected[i].x1, 1e-2);
    EXPECT_NEAR(got[i].y2, expected[i].y2, 1e-2);
  }
  EXPECT_EQ(ort.at("detections").select(1, 0).abs().sum().item<float>(), 0.f);  // batch index 0
}

TEST(OnnxOptions, DynamicBatchGivesTheSamePerImageResults) {
  REQUIRE_YOLO_FASTEST();
  TempDir dir;
  auto run = yolo_fastest_run(/*batch=*/3);
  ASSERT_EQ(run.input.size(0), 3);
  OnnxExportOptions options;
  options.dynamic_batch = true;
  const std::string onnx = export_model(*run.model.net, dir, "dynamic.onnx", options);
  const auto batched = run_onnxruntime(onnx, run.input, dir);
  for (int64_t i = 0; i < 3; ++i) {
    const auto single = run_onnxruntime(onnx, run.input.narrow(0, i, 1), dir);
    for (const char* name : {"yolo_121", "yolo_130"}) {
      EXPECT_LE(relative_max_diff(batched.at(name).narrow(0, i, 1), single.at(name)), 1e-5) << name << " image " << i;
    }
  }
  EXPECT_LE(relative_max_diff(batched.at("yolo_130"), run.outputs[129]), kParityTolerance);
}

TEST(OnnxOptions, Fp16StaysWithinOnePercent) {
  REQUIRE_YOLO_FASTEST();
  TempDir dir;
  auto run = yolo_fastest_run();
  OnnxExportOptions options;
  options.fp16 = true;
  const auto ort = run_onnxruntime(export_model(*run.model.net, dir, "fp16.onnx", options), run.input, dir);
  for (const auto& [name, layer] : raw_outputs(run.model.net->def())) {
    const double diff = relative_max_diff(ort.at(name), run.outputs[static_cast<size_t>(layer)]);
    std::cout << "  fp16 " << name << ": relative max diff " << diff << "\n";
    EXPECT_LE(diff, 1e-2) << name;
  }
}

TEST(OnnxOptions, Fp16InputsAndOutputsWhenAsked) {
  REQUIRE_YOLO_FASTEST();
  TempDir dir;
  auto run = yolo_fastest_run();
  OnnxExportOptions options;
  options.fp16 = options.fp16_io = true;
  const auto ort = run_onnxruntime(export_model(*run.model.net, dir, "fp16io.onnx", options), run.input, dir, /*fp16_input=*/true);
  for (const auto& [name, layer] : raw_outputs(run.model.net->def())) {
    const double diff = relative_max_diff(ort.at(name), run.outputs[static_cast<size_t>(layer)]);
    std::cout << "  fp16 io " << name << ": relative max diff " << diff << "\n";
    EXPECT_LE(diff, 1e-2) << name;
  }
}

// Opsets 11 and 17, unfolded BatchNorm, region + reorg (yolov2) and AlexeyAB layers.
TEST(OnnxOptions, OpsetsAndUnfoldedBatchNormMatchLibTorch) {
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
  FACEKIT_REQUIRE_PATH("/usr/share/darknet/cfg/yolov2.cfg");
  TempDir dir;
  test::write_file(dir.path() / "yolov2.cfg",
                   rewrite_net_section(test::read_file("/usr/share/darknet/cfg/yolov2.cfg"), 160, 160));
  for (const auto& [cfg, dialect] : std::vector<std::pair<std::string, std::string>>{
           {dir / "yolov2.cfg", "pjreddie"}, {std::string(FACEKIT_TEST_DATA_DIR) + "/alexeyab_layers.cfg", "alexeyab"}}) {
    auto model = load_darknet(cfg, "", dialect);
    const NetDef& def = model.net->def();
    torch::manual_seed(kSeed);
    for (auto& p : model.net->named_buffers()) {
      if (p.key().find("running_var") != std::string::npos) p.value().uniform_(0.5, 1.5);
    }
    const auto input = torch::rand({1, 3, def.height, def.width});
    torch::NoGradGuard no_grad;
    const auto expected = model.net->forward_all(input);
    for (const int opset : {11, 17}) {
      for (const bool fold : {true, false}) {
        OnnxExportOptions options;
        options.opset = opset;
        options.fold_bn = fold;
        const auto ort = run_onnxruntime(export_model(*model.net, dir, "m.onnx", options), input, dir);
        SCOPED_TRACE(cfg + " opset " + std::to_string(opset) + (fold ? " folded" : " unfolded"));
        expect_raw_parity("onnxruntime", def, ort, expected);
      }
    }
  }
}

// relu6, hard_mish and gelu, which no other reference runs from a cfg, over every piece of each
// (tests/data/alexeyab_activations.cfg, an input wide enough to reach them all).
TEST(OnnxActivations, AlexeyABsOwnMatchLibTorchOverAllTheirPieces) {
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
  TempDir dir;
  auto model = load_darknet(std::string(FACEKIT_TEST_DATA_DIR) + "/alexeyab_activations.cfg", "", "alexeyab");
  const NetDef& def = model.net->def();
  torch::manual_seed(kSeed);
  const auto input = (torch::rand({1, 3, def.height, def.width}) - 0.5) * 40;
  torch::NoGradGuard no_grad;
  const auto expected = model.net->forward_all(input);
  const auto count = [](const torch::Tensor& where) { return where.sum().item<int64_t>(); };
  const auto& relu6 = expected[1];
  const auto& hard_mish = expected[3];
  std::cout << "  relu6 at 0 / 6: " << count(relu6 == 0) << " / " << count(relu6 == 6) << "; hard_mish below -2 / on (-2, 0): "
            << count(hard_mish == 0) << " / " << count(hard_mish < 0) << " of " << relu6.numel() << "\n";
  EXPECT_GT(count(relu6 == 0), 0);
  EXPECT_GT(count(relu6 == 6), 0);
  EXPECT_GT(count(hard_mish == 0), 0);  // exactly 0: inputs at or below -2
  EXPECT_GT(count(hard_mish < 0), 0);
  const auto ort = run_onnxruntime(export_model(*model.net, dir, "activations.onnx", {}), input, dir);
  expect_raw_parity("onnxruntime", def, ort, expected);
}

// AlexeyAB's yolo options in the decoded graph: scale_x_y and new_coords.
TEST(OnnxDecode, ScaleXYAndNewCoordsMatchFacekitDecode) {
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
  TempDir dir;
  test::write_file(dir.path() / "heads.cfg",
                   "[net]\nwidth=64\nheight=64\nchannels=3\n"
                   "[convolutional]\nfilters=8\nsize=3\nstride=4\npad=1\nactivation=leaky\n"
                   "[convolutional]\nfilters=21\nsize=1\nactivation=linear\n"
                   "[yolo]\nmask=0,1,2\nanchors=10,14,23,27,37,58,81,82\nnum=4\nclasses=2\nscale_x_y=1.1\n"
                   "[route]\nlayers=-3\n"
                   "[convolutional]\nfilters=7\nsize=1\nactivation=logistic\n"
                   "[yolo]\nmask=3\nanchors=10,14,23,27,37,58,81,82\nnum=4\nclasses=2\nnew_coords=1\nscale_x_y=2.0\n");
  auto model = load_darknet(dir / "heads.cfg", "", "alexeyab");
  torch::manual_seed(kSeed);
  const auto input = torch::rand({1, 3, 64, 64});
  torch::NoGradGuard no_grad;
  const auto expected = decode_candidates(model.net->def(), model.net->forward_all(input));
  OnnxExportOptions options;
  options.decode = true;
  const auto ort = run_onnxruntime(export_model(*model.net, dir, "heads.onnx", options), input, dir);
  EXPECT_LE((ort.at("boxes")[0] - expected.boxes).abs().max().item<double>(), 1e-2);
  EXPECT_LE((ort.at("scores")[0] - expected.scores).abs().max().item<double>(), 1e-4);
}

// Region (YOLOv2) decode: grid-cell anchors and a softmax over classes; and a fixed batch of 2.
TEST(OnnxDecode, RegionHeadsAndFixedBatchMatchFacekitDecode) {
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
  FACEKIT_REQUIRE_PATH("/usr/share/darknet/cfg/yolov2-tiny-voc.cfg");
  TempDir dir;
  test::write_file(dir.path() / "v2.cfg",
                   rewrite_net_section(test::read_file("/usr/share/darknet/cfg/yolov2-tiny-voc.cfg"), 160, 128));
  auto model = load_darknet(dir / "v2.cfg", "", "pjreddie");
  torch::manual_seed(kSeed);
  const auto input = torch::rand({2, 3, 128, 160});
  torch::NoGradGuard no_grad;
  const auto outputs = model.net->forward_all(input);
  OnnxExportOptions options;
  options.decode = true;
  options.batch = 2;
  const auto ort = run_onnxruntime(export_model(*model.net, dir, "v2.onnx", options), input, dir);
  ASSERT_EQ(ort.at("boxes").size(0), 2);
  for (int64_t item = 0; item < 2; ++item) {
    const auto expected = decode_candidates(model.net->def(), outputs, item);
    EXPECT_LE((ort.at("boxes")[item] - expected.boxes).abs().max().item<double>(), 1e-2) << item;
    EXPECT_LE((ort.at("scores")[item] - expected.scores).abs().max().item<double>(), 1e-4) << item;
  }
}

// ---- bad input through the CLI: a clear error, exit 1, no .onnx left behind ----

int run_cli(const std::string& args, std::string* output) {
  const std::string command = std::string(FACEKIT_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof(buffer), pipe)) *output += buffer;
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(OnnxErrors, BadInputLeavesNoPartialFile) {
  const std::string tiny = "/usr/share/darknet/cfg/yolov3-tiny.cfg";
  const auto fastest = test::shared_dir() / "models" / "yolo-fastest-1.1";
  FACEKIT_REQUIRE_PATH(fastest / "yolo-fastest-1.1.weights");
  TempDir dir;
  std::string output;
  // Weights that do not fit the cfg.
  EXPECT_EQ(run_cli("convert darknet2onnx --cfg " + tiny + " --weights " + (fastest / "yolo-fastest-1.1.weights").string() +
                        " -o " + (dir / "a.onnx"), &output), 1);
  EXPECT_NE(output.find("needs 8858734 floats"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(dir / "a.onnx"));
  // A layer the exporter refuses: a shortcut from a smaller map.
  test::write_file(dir.path() / "odd.cfg", "[net]\nwidth=16\nheight=16\nchannels=3\n"
                                           "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\n"
                                           "[upsample]\nstride=2\n[shortcut]\nfrom=-2\n");
  auto model = load_darknet(dir / "odd.cfg", "");
  write_weights(model.net->save_weights({}), dir / "odd.weights");
  output.clear();
  EXPECT_EQ(run_cli("convert darknet2onnx --cfg " + (dir / "odd.cfg") + " --weights " + (dir / "odd.weights") + " -o " +
                        (dir / "b.onnx"), &output), 1);
  EXPECT_NE(output.find("odd.cfg:12"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(dir / "b.onnx"));
  // An unwritable destination.
  output.clear();
  EXPECT_EQ(run_cli("convert darknet2onnx --cfg " + (fastest / "yolo-fastest-1.1.cfg").string() + " --weights " +
                        (fastest / "yolo-fastest-1.1.weights").string() + " -o /nonexistent-folder/c.onnx", &output), 1);
  EXPECT_NE(output.find("/nonexistent-folder/c.onnx"), std::string::npos) << output;
  // And a good run names what it wrote.
  output.clear();
  EXPECT_EQ(run_cli("convert darknet2onnx --cfg " + (fastest / "yolo-fastest-1.1.cfg").string() + " --weights " +
                        (fastest / "yolo-fastest-1.1.weights").string() + " -o " + (dir / "d.onnx") + " --nms", &output), 0)
      << output;
  EXPECT_NE(output.find("detections (M, 7)"), std::string::npos) << output;
  std::vector<std::string> leftovers;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().string().find(".tmp.") != std::string::npos) leftovers.push_back(entry.path().string());
  }
  EXPECT_TRUE(leftovers.empty());
}

// AgeGenderNet (a narrow Inception-v3 with realistic BN statistics, the age-regression head, an age
// calibration line) in ONNX Runtime and OpenCV dnn against LibTorch: the probabilities and the
// calibrated expected age, and the interval nearest it.
TEST(ClassifierOnnx, MatchesLibTorchInOnnxRuntimeAndOpenCv) {
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
  TempDir dir;
  torch::manual_seed(3);
  AgeGenderConfig config;
  config.width_mult = 0.5;
  config.crop.size = 128;
  config.age_regression = true;
  config.age_calibration = {1.5f, 0.9f};
  config.aux_head = false;
  auto loaded = make_age_gender_net(config);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : loaded.net->named_buffers()) {
      if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5);
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
    }
  }
  const std::string onnx = dir / "age_gender.onnx";
  export_age_gender_onnx(loaded.net, config, {}, onnx);
  const auto input = torch::randn({2, 3, 128, 128});
  loaded.net->eval();
  torch::NoGradGuard no_grad;
  const AgeGenderOutput out = loaded.net->forward(input);
  const auto gender = torch::softmax(out.gender_logits, 1), age = torch::softmax(out.age_logits, 1);
  const auto expectation = (torch::softmax(out.age_years_logits, 1) * torch::arange(101, torch::kFloat)).sum(1);
  const auto years = 1.5 + 0.9 * expectation;  // the calibration line
  const auto ort = run_onnxruntime(onnx, input, dir);
  ASSERT_TRUE(ort.count("gender") && ort.count("age") && ort.count("age_years"));
  EXPECT_LE(relative_max_diff(ort.at("gender"), gender), 1e-4);
  EXPECT_LE(relative_max_diff(ort.at("age"), age), 1e-4);
  EXPECT_LE(relative_max_diff(ort.at("age_years"), years), 1e-4);
  EXPECT_GT((gender.select(1, 0) - 0.5).abs().max().item<float>(), 1e-3);  // not a constant output
  const auto cv = run_opencv(onnx, input, {"gender", "age", "age_years", "age_interval"});
  EXPECT_LE(relative_max_diff(cv.at("gender"), gender), 1e-4);
  EXPECT_LE(relative_max_diff(cv.at("age"), age), 1e-4);
  EXPECT_LE(relative_max_diff(cv.at("age_years"), years), 1e-4);
  for (int64_t i = 0; i < input.size(0); ++i) {
    const int interval = nearest_age_interval(config.intervals, years[i].item<float>());
    EXPECT_EQ(ort.at("age_interval")[i].item<float>(), interval);
    EXPECT_EQ(cv.at("age_interval")[i].item<float>(), interval);
  }
  const auto metadata = read_onnx_metadata(onnx);
  ASSERT_TRUE(metadata.count("age_gender_config"));
  EXPECT_EQ(age_gender_config_from_json(metadata.at("age_gender_config")).crop.size, 128);
  EXPECT_EQ(metadata.at("age_intervals"), format_age_intervals(config.intervals));
}

// The export's `age_interval` is the interval nearest the age in years (eval::predicted_interval) on
// both sides of every boundary: the years head set to give each age (one year's logit far above
// the rest), the intervals Adience's and three touching ones (at least two: AgeGenderConfig). Exact ties (an age at a
// gap's midpoint, e.g. 3 between (0, 2) and (4, 6)) are left out: there the expectation's last bit
// decides.
TEST(ClassifierOnnx, AgeIntervalIsTheOneNearestTheAgeInYears) {
  struct Case {
    std::string intervals;
    std::vector<int> ages;
  };
  const std::vector<Case> cases = {
      {"0-2,4-6,8-12,15-20,25-32,38-43,48-53,60-100", {0, 2, 4, 8, 12, 13, 14, 15, 20, 22, 23, 25, 32, 34, 36, 43, 45, 46, 53, 56, 57, 60, 100}},
      {"0-9,10-19,20-100", {0, 9, 10, 19, 20, 55}}};
  TempDir dir;
  const auto input = torch::zeros({1, 3, 75, 75});
  for (const auto& c : cases) {
    AgeGenderConfig config;
    config.width_mult = 0.25;
    config.crop.size = 75;
    config.age_regression = true;
    config.aux_head = false;
    config.intervals = parse_age_intervals(c.intervals);
    auto loaded = make_age_gender_net(config);
    for (const int age : c.ages) {
      {
        torch::NoGradGuard no_grad;
        for (auto& p : loaded.net->named_parameters()) {
          if (p.key() == "age_years.weight") p.value().zero_();
          if (p.key() == "age_years.bias") p.value().zero_()[age] = 50;
        }
      }
      const std::string onnx = dir / "age_gender.onnx";
      export_age_gender_onnx(loaded.net, config, {}, onnx);
      const auto cv = run_opencv(onnx, input, {"age_years", "age_interval"});
      EXPECT_NEAR(cv.at("age_years")[0].item<float>(), age, 1e-3) << c.intervals;
      EXPECT_EQ(cv.at("age_interval")[0].item<float>(), nearest_age_interval(config.intervals, age)) << c.intervals << " age " << age;
    }
  }
}

// The shipped classifier (models/pretrained, trained: real BN statistics, width 0.25, its own crop size) on
// real face crops: what facekit-infer's onnx backend runs must equal its torch backend.
TEST(ClassifierOnnx, ShippedClassifierMatchesLibTorchOnRealFaces) {
  const std::string checkpoint = std::string(FACEKIT_SOURCE_DIR) + "/models/pretrained/age_gender.pt";
  const std::string photo = (test::shared_dir() / "data" / "seed-demo" / "olivier.jpg").string();
  FACEKIT_REQUIRE_PATH(FACEKIT_ORT_NODE_MODULES);
  FACEKIT_REQUIRE_PATH(photo);
  TempDir dir;
  auto loaded = load_age_gender_checkpoint(checkpoint);
  const std::string onnx = dir / "age_gender.onnx";
  export_age_gender_onnx(loaded.net, loaded.config, {}, onnx);
  const cv::Mat image = read_image(photo);
  std::vector<float> pixels;
  const int side = loaded.config.crop.size;
  for (const Box& face : {Box{150, 60, 330, 280}, Box{0, 0, 200, 200}}) {
    append_normalised_chw(face_crop(image, face, loaded.config.crop), loaded.config.normalisation, &pixels);
  }
  const auto input = torch::from_blob(pixels.data(), {2, 3, side, side}).clone();
  loaded.net->eval();
  torch::NoGradGuard no_grad;
  const AgeGenderOutput out = loaded.net->forward(input);
  const auto gender = torch::softmax(out.gender_logits, 1), age = torch::softmax(out.age_logits, 1);
  const auto ort = run_onnxruntime(onnx, input, dir);
  EXPECT_LE(relative_max_diff(ort.at("gender"), gender), 1e-4);
  EXPECT_LE(relative_max_diff(ort.at("age"), age), 1e-4);
  const auto cv = run_opencv(onnx, input, {"gender", "age", "age_years"});
  EXPECT_LE(relative_max_diff(cv.at("gender"), gender), 1e-4);
  EXPECT_LE(relative_max_diff(cv.at("age"), age), 1e-4);
}

}  // namespace
}  // namespace facekit::darknet
