// What the parity tests share: the Debian cfgs facekit supports, the sizes they run at, and
// libdarknet runs (the reference) with weights libdarknet randomised and wrote itself.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <regex>
#include <string>
#include <vector>

#include "models/darknet/netdef.h"
#include "models/darknet/reference/libdarknet_ref.h"
#include "tests/test_util.h"

namespace facekit::darknet {

constexpr double kParityTolerance = 1e-4;  // max |diff| <= 1e-4 x max |reference|
constexpr unsigned kSeed = 20261128;
const char* const kDarknetCfgDir = "/usr/share/darknet/cfg";

struct ParityCase {
  std::string cfg;  // file in /usr/share/darknet/cfg
  int width, height;  // smaller than the cfg's own to keep CI quick; the layers are the same
};

inline std::ostream& operator<<(std::ostream& out, const ParityCase& c) {
  return out << c.cfg << "@" << c.width << "x" << c.height;
}

// The cfg with batch=1, subdivisions=1 and the test's input size, for both implementations.
inline std::string rewrite_net_section(const std::string& text, int width, int height) {
  std::string out = std::regex_replace(text, std::regex("^(batch|subdivisions|width|height)\\s*=.*$"), "#$&");
  out = std::regex_replace(out, std::regex("\\[net\\]|\\[network\\]"),
                           "$&\nbatch=1\nsubdivisions=1\nwidth=" + std::to_string(width) +
                               "\nheight=" + std::to_string(height),
                           std::regex_constants::format_first_only);
  return out;
}

struct ReferenceRun {
  std::vector<torch::Tensor> outputs;  // every layer's output from libdarknet
};

inline ReferenceRun run_libdarknet(const std::string& cfg, const std::string& weights,
                                   const torch::Tensor& input, bool randomize_and_save) {
  fk_darknet* net = fk_darknet_load(cfg.c_str(), randomize_and_save ? nullptr : weights.c_str());
  EXPECT_NE(net, nullptr);
  if (randomize_and_save) {
    fk_darknet_randomize(net, kSeed);
    EXPECT_EQ(fk_darknet_save_weights(net, weights.c_str()), 0);
  }
  const auto contiguous = input.contiguous();
  fk_darknet_forward(net, contiguous.data_ptr<float>());
  ReferenceRun run;
  for (int i = 0; i < fk_darknet_num_layers(net); ++i) {
    int c = 0, h = 0, w = 0;
    const float* data = fk_darknet_layer_output(net, i, &c, &h, &w);
    run.outputs.push_back(torch::from_blob(const_cast<float*>(data), {1, c, h, w}).clone());
  }
  fk_darknet_free(net);
  return run;
}

// Detection and classification cfgs shipped with Debian's darknet that facekit supports.
// Refused (see README): yolov1*, t1.test ([detection], [local]), yolo9000 and darknet9000
// (tree softmax), go ([reorg] extra), vgg-16 and strided ([crop]), rnn, gru (recurrent).
inline const std::vector<ParityCase> kDebianParityCases = {
    {"yolov3-tiny.cfg", 416, 416},
    {"yolov2-tiny.cfg", 288, 160},
    {"yolov2-tiny-voc.cfg", 224, 224},
    {"yolov2.cfg", 160, 160},
    {"yolov2-voc.cfg", 160, 224},
    {"yolov3.cfg", 160, 160},
    {"yolov3-spp.cfg", 160, 160},
    {"yolov3-voc.cfg", 160, 128},
    {"yolov3-openimages.cfg", 128, 128},
    {"darknet19.cfg", 128, 128},
    {"darknet19_448.cfg", 96, 96},
    {"darknet53.cfg", 128, 128},
    {"darknet53_448.cfg", 96, 96},
    {"darknet.cfg", 128, 128},
    {"resnet18.cfg", 96, 96},
    {"resnet34.cfg", 96, 96},
    {"resnet50.cfg", 96, 96},
    {"resnet101.cfg", 64, 64},
    {"resnet152.cfg", 64, 64},
    {"resnext50.cfg", 64, 64},
    {"densenet201.cfg", 64, 64},
    {"tiny.cfg", 128, 128},
    {"extraction.cfg", 128, 128},
    {"extraction.conv.cfg", 128, 128},
    {"alexnet.cfg", 227, 227},
    {"cifar.cfg", 32, 32},
    {"vgg-conv.cfg", 64, 64},
    {"jnet-conv.cfg", 64, 64},
    {"writing.cfg", 64, 64},
};

inline std::string parity_case_name(const ::testing::TestParamInfo<ParityCase>& info) {
  std::string name = info.param.cfg.substr(0, info.param.cfg.size() - 4);
  for (auto& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

// One case prepared: the cfg at the case's size and libdarknet's random weights in `dir`, a
// seeded random input, and libdarknet's outputs on it.
struct CaseRun {
  std::string cfg, weights;
  torch::Tensor input;
  ReferenceRun reference;
};

inline CaseRun run_case(const ParityCase& c, const test::TempDir& dir) {
  CaseRun run;
  run.cfg = dir / c.cfg;
  run.weights = dir / "random.weights";
  test::write_file(run.cfg, rewrite_net_section(test::read_file(std::string(kDarknetCfgDir) + "/" + c.cfg), c.width, c.height));
  // facekit parses first (throwing fails the test): libdarknet exits on cfgs it cannot handle.
  build_netdef(parse_cfg_file(run.cfg), Dialect::kPjreddie);
  torch::manual_seed(kSeed);
  run.input = torch::rand({1, 3, c.height, c.width});
  run.reference = run_libdarknet(run.cfg, run.weights, run.input, /*randomize_and_save=*/true);
  return run;
}

}  // namespace facekit::darknet
