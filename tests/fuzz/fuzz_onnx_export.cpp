// libFuzzer target for the ONNX writer's input path: any bytes as a cfg, and a net that builds is
// exported to ONNX with options picked from the input (opset, batch, fp16, BN folding, decode, NMS).
// Allowed outcomes: a file whose outputs have the shapes the LibTorch net computes, or a
// runtime_error naming what cannot be exported. A crash, a c10::Error (a shape the cfg checks
// missed) or a graph that fails the ONNX checker is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>

#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include "convert/darknet_onnx.h"
#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"

namespace {

using namespace facekit::darknet;

// Nets larger than this are valid but only slow the fuzzer down.
constexpr long long kMaxWeightFloats = 200000;
constexpr int kMaxInputPixels = 64 * 64;
constexpr size_t kMaxLayers = 48;

OnnxExportOptions options_from(size_t bits) {
  OnnxExportOptions o;
  o.opset = 11 + static_cast<int>(bits % 7);
  o.dynamic_batch = bits & 8;
  o.batch = (bits & 16) ? 2 : 1;
  o.fp16 = bits & 32;
  o.fold_bn = !(bits & 64);
  o.decode = bits & 128;
  o.nms = bits & 256;
  return o;
}

// Raw exports name their outputs after the layers: check each against LibTorch's output shape.
void check_raw_output_shapes(DarknetNetImpl& net, const OnnxExportOptions& o, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&file)) std::abort();
  torch::NoGradGuard no_grad;
  net.eval();
  const NetDef& def = net.def();
  const auto outputs = net.forward_all(torch::zeros({o.batch, def.channels, def.height, def.width}));
  for (const auto& output : model.graph().output()) {
    const std::string& name = output.name();
    const auto underscore = name.find('_');
    const int layer = name == "output" ? def.output_layer() : std::atoi(name.c_str() + underscore + 1);
    // yolo_<i> / region_<i> is the tensor that feeds layer i, whose output keeps its input's shape.
    const auto expected = outputs.at(static_cast<size_t>(layer)).sizes();
    const auto& dims = output.type().tensor_type().shape().dim();
    if (dims.size() != static_cast<int>(expected.size())) std::abort();
    for (int d = 1; d < dims.size(); ++d) {
      if (dims[d].has_dim_value() && dims[d].dim_value() != expected[d]) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool one_thread = [] {
    at::set_num_threads(1);
    return true;
  }();
  (void)one_thread;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string path = "/tmp/facekit_fuzz_" + std::to_string(::getpid()) + ".onnx";
  try {
    const CfgFile cfg = parse_cfg_text(text, "fuzz.cfg");
    std::string reason;
    const NetDef def = build_netdef(cfg, detect_dialect(cfg, 0, &reason));
    if (def.num_weight_floats() > kMaxWeightFloats || def.width * def.height > kMaxInputPixels || def.layers.size() > kMaxLayers) {
      return 0;
    }
    DarknetNetImpl net(def);
    const OnnxExportOptions options = options_from(std::hash<std::string>()(text));
    export_darknet_onnx(net, options, path);
    if (!options.decode && !options.nms) check_raw_output_shapes(net, options, path);
  } catch (const std::runtime_error& e) {
    // By its prefix: the fuzzer soon learns to put the phrase itself into a cfg error message.
    if (std::string(e.what()).rfind(path + ": the exported graph fails the ONNX checker", 0) == 0) {
      std::fprintf(stderr, "%s\n", e.what());
      std::abort();
    }
  }
  std::remove(path.c_str());
  return 0;
}
