// `facekit convert darknet2torch|torch2darknet`: a Darknet model to a facekit LibTorch
// checkpoint and back; the round trip gives the original .weights byte for byte.
// `facekit convert torchvision2facekit`: torchvision's inception_v3 weights -> AgeGenderNet.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "convert/classifier_onnx.h"
#include "convert/darknet_onnx.h"
#include "convert/darknet_torch.h"
#include "convert/torchvision_import.h"
#include "datasets/atomic_file.h"
#include "models/darknet/weights.h"
#include "datasets/formats/class_names.h"
#include "tools/facekit/cli.h"

namespace facekit::cli {
namespace {

int run_darknet2torch(const std::vector<std::string>& args) {
  po::options_description options("facekit convert darknet2torch");
  options.add_options()
      ("cfg", po::value<std::string>()->required(), "Darknet .cfg")
      ("weights", po::value<std::string>()->required(), "Darknet .weights")
      ("dialect", po::value<std::string>()->default_value("auto"), "auto, pjreddie or alexeyab")
      ("output,o", po::value<std::string>()->required(), "facekit checkpoint (.pt) to write");
  po::variables_map vm;
  if (!parse_options(args, options, "usage: facekit convert darknet2torch --cfg C --weights W -o M.pt", &vm)) {
    return kExitOk;
  }
  const auto model = darknet::load_darknet(vm["cfg"].as<std::string>(), vm["weights"].as<std::string>(),
                                           vm["dialect"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  darknet::save_darknet_checkpoint(model, output);
  std::cout << "wrote " << output << ": " << model.net->def().layers.size() << " layers, "
            << model.net->def().num_weight_floats() << " weights, dialect "
            << darknet::dialect_name(model.net->def().dialect) << "\n"
            << "back to Darknet: facekit convert torch2darknet --checkpoint " << output << " -o OUT.weights\n";
  return kExitOk;
}

int run_torch2darknet(const std::vector<std::string>& args) {
  po::options_description options("facekit convert torch2darknet");
  options.add_options()
      ("checkpoint", po::value<std::string>()->required(), "facekit Darknet checkpoint (.pt)")
      ("output,o", po::value<std::string>()->required(), ".weights to write")
      ("cfg-output", po::value<std::string>()->default_value(""), "also write the cfg it was built from");
  po::variables_map vm;
  if (!parse_options(args, options, "usage: facekit convert torch2darknet --checkpoint M.pt -o OUT.weights", &vm)) {
    return kExitOk;
  }
  const auto model = darknet::load_darknet_checkpoint(vm["checkpoint"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  darknet::write_weights(model.net->save_weights(model.header), output);
  if (!vm["cfg-output"].as<std::string>().empty()) {
    write_file_atomically(vm["cfg-output"].as<std::string>(), [&](std::ostream& out) { out << model.cfg_text; });
  }
  std::cout << "wrote " << output << " (Darknet weights " << model.header.major << "." << model.header.minor << "."
            << model.header.revision << ")\n";
  return kExitOk;
}

// "416x320" -> {416, 320}
std::pair<int, int> parse_size(const std::string& text) {
  const auto x = text.find('x');
  try {
    if (x == std::string::npos) throw std::invalid_argument(text);
    return {std::stoi(text.substr(0, x)), std::stoi(text.substr(x + 1))};
  } catch (const std::exception&) {
    throw UsageError("--input-size must look like 416x416, got '" + text + "'");
  }
}

int run_darknet2onnx(const std::vector<std::string>& args) {
  po::options_description options("facekit convert darknet2onnx");
  options.add_options()
      ("cfg", po::value<std::string>()->required(), "Darknet .cfg")
      ("weights", po::value<std::string>()->required(), "Darknet .weights")
      ("output,o", po::value<std::string>()->required(), ".onnx to write")
      ("opset", po::value<int>()->default_value(13), "ONNX opset, 11 to 17")
      ("batch", po::value<int>()->default_value(1), "fixed batch size")
      ("dynamic-batch", po::bool_switch(), "batch dimension left free ('batch')")
      ("input-size", po::value<std::string>()->default_value(""), "WxH (default: the cfg's)")
      ("fp16", po::bool_switch(), "float16 weights and compute (inputs/outputs stay float32)")
      ("fp16-io", po::bool_switch(), "with --fp16: float16 inputs and outputs too")
      ("no-fold-bn", po::bool_switch(), "keep BatchNormalization nodes instead of folding them")
      ("decode", po::bool_switch(), "output boxes (N, K, 4) and scores (N, K, C)")
      ("nms", po::bool_switch(), "NonMaxSuppression in the graph; output detections (M, 7)")
      ("conf-thresh", po::value<float>()->default_value(0.25f), "NMS score threshold")
      ("iou-thresh", po::value<float>()->default_value(0.45f), "NMS IoU threshold")
      ("max-detections", po::value<int>()->default_value(100), "NMS: at most this many per class and image")
      ("names", po::value<std::string>()->default_value(""), "class names, one per line (stored as metadata)")
      ("dialect", po::value<std::string>()->default_value("auto"), "auto, pjreddie or alexeyab");
  const std::string usage = "usage: facekit convert darknet2onnx --cfg C --weights W -o M.onnx [options]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  int width = 0, height = 0;
  if (!vm["input-size"].as<std::string>().empty()) std::tie(width, height) = parse_size(vm["input-size"].as<std::string>());
  const auto start = std::chrono::steady_clock::now();
  auto model = darknet::load_darknet(vm["cfg"].as<std::string>(), vm["weights"].as<std::string>(),
                                     vm["dialect"].as<std::string>(), width, height);
  darknet::OnnxExportOptions export_options;
  export_options.opset = vm["opset"].as<int>();
  export_options.batch = vm["batch"].as<int>();
  export_options.dynamic_batch = vm["dynamic-batch"].as<bool>();
  export_options.fp16_io = vm["fp16-io"].as<bool>();
  export_options.fp16 = vm["fp16"].as<bool>() || export_options.fp16_io;
  export_options.fold_bn = !vm["no-fold-bn"].as<bool>();
  export_options.nms = vm["nms"].as<bool>();
  export_options.decode = vm["decode"].as<bool>() || export_options.nms;
  export_options.conf_thresh = vm["conf-thresh"].as<float>();
  export_options.iou_thresh = vm["iou-thresh"].as<float>();
  export_options.max_detections = vm["max-detections"].as<int>();
  export_options.class_names = read_class_names(vm["names"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  darknet::export_darknet_onnx(*model.net, export_options, output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& def = model.net->def();
  std::cout << "wrote " << output << " in " << seconds << " s: opset " << export_options.opset << ", input (" 
            << (export_options.dynamic_batch ? "batch" : std::to_string(export_options.batch)) << ", 3, " << def.height
            << ", " << def.width << ") RGB in [0, 1], " << (def.letterbox ? "letterboxed" : "stretched") << ", "
            << (export_options.nms ? "detections (M, 7)" : export_options.decode ? "boxes + scores" : "raw head inputs")
            << (export_options.fp16 ? ", float16" : "") << "\n";
  return kExitOk;
}

int run_torchvision2facekit(const std::vector<std::string>& args) {
  po::options_description options("facekit convert torchvision2facekit");
  options.add_options()
      ("input", po::value<std::string>()->required(), "torchvision inception_v3 state dict (torch.save, zip or legacy)")
      ("output,o", po::value<std::string>()->required(), "AgeGenderNet checkpoint (.pt) to write")
      ("width-mult", po::value<double>()->default_value(1.0), "channel width (tensors load only at 1.0)")
      ("input-size", po::value<int>()->default_value(static_cast<int>(kInceptionInputSize)), "crop side in pixels (>= 75)")
      ("crop-margin", po::value<float>()->default_value(kDefaultCropMargin), "square crop side / face box side")
      ("age-intervals", po::value<std::string>()->default_value(""), "e.g. '(0, 2) (4, 6) ...' (default: Adience's 8)")
      ("age-regression", po::bool_switch(), "add the 0..100 years head");
  const std::string usage =
      "usage: facekit convert torchvision2facekit --input inception_v3.pth --output face.pt [--width-mult W]\n"
      "                                           [--input-size S] [--age-regression] [options]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  AgeGenderConfig config;
  config.width_mult = vm["width-mult"].as<double>();
  config.crop.size = vm["input-size"].as<int>();
  config.crop.margin = vm["crop-margin"].as<float>();
  if (!vm["age-intervals"].as<std::string>().empty()) config.intervals = parse_age_intervals(vm["age-intervals"].as<std::string>());
  config.age_regression = vm["age-regression"].as<bool>();
  config.aux_head = aux_head_fits(config.crop.size);  // echoed below: below 299 px there is none
  try {
    check_age_gender_config(config);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  std::cout << describe_age_gender_config(config);
  LoadReport report;
  auto loaded = import_torchvision_inception(vm["input"].as<std::string>(), config, &report);
  std::cout << format_load_report(report);
  const std::string output = vm["output"].as<std::string>();
  save_age_gender_checkpoint(output, loaded.net, loaded.config);
  std::cout << "wrote " << output << "; fine-tune it: facekit train classifier --init " << output << " ...\n";
  return kExitOk;
}

int run_classifier2onnx(const std::vector<std::string>& args) {
  po::options_description options("facekit convert classifier2onnx");
  options.add_options()
      ("checkpoint", po::value<std::string>()->required(), "AgeGenderNet checkpoint (.pt)")
      ("output,o", po::value<std::string>()->required(), "ONNX file to write")
      ("opset", po::value<int>()->default_value(13), "ONNX opset, 11 to 17")
      ("batch", po::value<int>()->default_value(0), "fixed batch size (default: a dynamic batch dimension)");
  const std::string usage = "usage: facekit convert classifier2onnx --checkpoint face.pt -o face.onnx [--opset N] [--batch N]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  ClassifierOnnxOptions onnx_options;
  onnx_options.opset = vm["opset"].as<int>();
  onnx_options.dynamic_batch = vm["batch"].as<int>() == 0;
  if (!onnx_options.dynamic_batch) onnx_options.batch = vm["batch"].as<int>();
  auto loaded = load_age_gender_checkpoint(vm["checkpoint"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  export_age_gender_onnx(loaded.net, loaded.config, onnx_options, output);
  std::cout << "wrote " << output << ": input (N, 3, " << loaded.config.crop.size << ", " << loaded.config.crop.size
            << ") normalised face crops; outputs gender, age" << (loaded.config.age_regression ? ", age_years" : "") << "\n";
  return kExitOk;
}

int run_classifier2fp16(const std::vector<std::string>& args) {
  po::options_description options("facekit convert classifier2fp16");
  options.add_options()
      ("checkpoint", po::value<std::string>()->required(), "AgeGenderNet checkpoint (.pt)")
      ("output,o", po::value<std::string>()->required(), "AgeGenderNet checkpoint to write, weights in float16");
  const std::string usage = "usage: facekit convert classifier2fp16 --checkpoint face.pt -o face-fp16.pt";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  auto loaded = load_age_gender_checkpoint(vm["checkpoint"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  save_age_gender_checkpoint(output, loaded.net, loaded.config, CheckpointStorage::kFloat16);
  std::cout << "wrote " << output << " (" << std::filesystem::file_size(output)
            << " bytes): float16 weights, read back as float32 by every facekit command\n";
  return kExitOk;
}

}  // namespace

std::vector<Command> convert_commands() {
  return {
      {"darknet2torch", "Darknet cfg + weights -> facekit LibTorch checkpoint", run_darknet2torch},
      {"torch2darknet", "facekit checkpoint -> Darknet .weights", run_torch2darknet},
      {"darknet2onnx", "Darknet cfg + weights -> ONNX (raw heads, decoded boxes or NMS)", run_darknet2onnx},
      {"torchvision2facekit", "torchvision inception_v3 state dict -> AgeGenderNet checkpoint", run_torchvision2facekit},
      {"classifier2onnx", "AgeGenderNet checkpoint -> ONNX (gender and age probabilities)", run_classifier2onnx},
      {"classifier2fp16", "AgeGenderNet checkpoint -> the same in float16 (half the file)", run_classifier2fp16},
  };
}

}  // namespace facekit::cli
