// `facekit darknet info|forward`: look inside a Darknet model and run it on one input with
// facekit (LibTorch), libdarknet or OpenCV dnn, dumping the tensors that matter as .npy.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include <opencv2/dnn.hpp>

#include "convert/darknet_torch.h"
#include "datasets/npy.h"
#include "datasets/preprocess.h"
#include "models/darknet/decode.h"
#include "models/darknet/reference/libdarknet_ref.h"
#include "datasets/formats/class_names.h"
#include "tools/facekit/cli.h"

namespace facekit::cli {
namespace {

using darknet::LayerType;
namespace fs = std::filesystem;

constexpr float kDefaultConfThresh = 0.25f;  // darknet detector test -thresh
constexpr float kDefaultNmsThresh = 0.45f;   // darknet's test_detector nms

void print_warnings(const darknet::NetDef& def) {
  for (const auto& warning : def.warnings) std::cerr << "warning: " << warning << "\n";
}

int run_info(const std::vector<std::string>& args) {
  po::options_description options("facekit darknet info");
  options.add_options()
      ("cfg", po::value<std::string>()->required(), "Darknet .cfg")
      ("weights", po::value<std::string>()->default_value(""), "Darknet .weights (checked against the cfg)")
      ("dialect", po::value<std::string>()->default_value("auto"), "auto, pjreddie or alexeyab");
  po::variables_map vm;
  if (!parse_options(args, options, "usage: facekit darknet info --cfg C [--weights W]", &vm)) return kExitOk;
  const auto model = darknet::load_darknet(vm["cfg"].as<std::string>(), vm["weights"].as<std::string>(),
                                           vm["dialect"].as<std::string>());
  const auto& def = model.net->def();
  print_warnings(def);
  std::cout << def.summary();
  std::cout << "dialect: " << darknet::dialect_name(def.dialect) << " (" << model.dialect_reason << ")\n"
            << "input: " << def.width << "x" << def.height << "x" << def.channels << ", "
            << (def.letterbox ? "letterbox" : "stretch") << "\n"
            << "weights: " << def.num_weight_floats() << " floats\n";
  return kExitOk;
}

// The network input as a (1, C, H, W) tensor, from an image (preprocessed like Darknet) or an
// already preprocessed .npy.
torch::Tensor read_input(const po::variables_map& vm, const darknet::NetDef& def,
                         LetterboxGeometry* geometry) {
  if (vm.count("input-npy")) {
    const std::string path = vm["input-npy"].as<std::string>();
    NpyArray array = read_npy(path);
    const std::vector<int64_t> expected = {1, def.channels, def.height, def.width};
    if (array.shape != expected && array.shape != std::vector<int64_t>(expected.begin() + 1, expected.end())) {
      throw std::runtime_error(path + ": expected shape (1, " + std::to_string(def.channels) + ", " +
                               std::to_string(def.height) + ", " + std::to_string(def.width) + ")");
    }
    *geometry = {def.width, def.height, def.width, def.height, def.width, def.height, 0, 0};
    return torch::from_blob(array.data.data(), expected).clone();
  }
  const std::string path = vm["image"].as<std::string>();
  const PlanarImage image = to_planar_rgb(read_image(path));
  PlanarImage input = fit_to_input(image, def.width, def.height, def.letterbox, geometry);
  return torch::from_blob(input.data.data(), {1, input.c, input.h, input.w}).clone();
}

// Every layer's output from libdarknet (the reference). Only cfgs facekit parsed are given to it.
std::vector<torch::Tensor> run_libdarknet(const po::variables_map& vm, const torch::Tensor& input) {
  const std::string cfg = vm["cfg"].as<std::string>();
  const std::string weights = vm["weights"].as<std::string>();
  fk_darknet* net = fk_darknet_load(cfg.c_str(), weights.empty() ? nullptr : weights.c_str());
  if (!net) throw std::runtime_error(cfg + ": libdarknet could not load it");
  const auto contiguous = input.contiguous();
  fk_darknet_forward(net, contiguous.data_ptr<float>());
  std::vector<torch::Tensor> outputs;
  for (int i = 0; i < fk_darknet_num_layers(net); ++i) {
    int c = 0, h = 0, w = 0;
    const float* data = fk_darknet_layer_output(net, i, &c, &h, &w);
    outputs.push_back(torch::from_blob(const_cast<float*>(data), {1, c, h, w}).clone());
  }
  fk_darknet_free(net);
  return outputs;
}

// OpenCV dnn names a Darknet layer's last op `<op>_<index>`; the output of layer i is the last
// OpenCV layer with that suffix. OpenCV replaces yolo/region layers by its own decoding, so
// only their inputs and the final output of classifiers come back (other entries stay empty).
std::vector<torch::Tensor> run_opencv(const po::variables_map& vm, const darknet::NetDef& def,
                                      const torch::Tensor& input) {
  const std::string cfg = vm["cfg"].as<std::string>();
  cv::dnn::Net net = cv::dnn::readNetFromDarknet(cfg, vm["weights"].as<std::string>());
  const auto contiguous = input.contiguous();
  const int shape[] = {1, def.channels, def.height, def.width};
  net.setInput(cv::Mat(4, shape, CV_32F, contiguous.data_ptr<float>()));
  const auto names = net.getLayerNames();
  std::vector<std::string> wanted;
  std::vector<int> wanted_layers;
  for (const auto& layer : def.layers) {
    const bool head = layer.type == LayerType::kYolo || layer.type == LayerType::kRegion;
    const bool last = layer.index == def.output_layer();
    if (!head && !last) continue;
    const int source = head ? layer.index - 1 : layer.index;
    const std::string suffix = "_" + std::to_string(source);
    std::string found;
    for (const auto& name : names) {
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        found = name;
      }
    }
    if (found.empty()) continue;
    wanted.push_back(found);
    wanted_layers.push_back(source);
  }
  std::vector<cv::Mat> blobs;
  net.forward(blobs, wanted);
  std::vector<torch::Tensor> outputs(def.layers.size());
  for (size_t i = 0; i < blobs.size(); ++i) {
    const auto& l = def.layers[static_cast<size_t>(wanted_layers[i])];
    outputs[static_cast<size_t>(wanted_layers[i])] =
        torch::from_blob(blobs[i].ptr<float>(), {1, l.out.c, l.out.h, l.out.w}).clone();
  }
  return outputs;
}

void dump(const fs::path& dir, const std::string& name, const torch::Tensor& tensor) {
  if (!tensor.defined()) return;
  const auto cpu = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  write_npy((dir / (name + ".npy")).string(), cpu.data_ptr<float>(), cpu.sizes().vec());
}

// input.npy, yolo_<i>.npy (the tensor feeding yolo layer i), yolo_<i>_out.npy, region_<i>...,
// output.npy (the last layer's output). Returns how many files were written.
int dump_outputs(const fs::path& dir, const darknet::NetDef& def, const torch::Tensor& input,
                 const std::vector<torch::Tensor>& outputs) {
  fs::create_directories(dir);
  int written = 0;
  const auto write = [&](const std::string& name, const torch::Tensor& t) {
    if (!t.defined()) return;
    dump(dir, name, t);
    ++written;
  };
  write("input", input);
  for (const auto& layer : def.layers) {
    if (layer.type != LayerType::kYolo && layer.type != LayerType::kRegion) continue;
    const std::string name = std::string(layer.type == LayerType::kYolo ? "yolo_" : "region_") +
                             std::to_string(layer.index);
    write(name, outputs[static_cast<size_t>(layer.index - 1)]);
    write(name + "_out", outputs[static_cast<size_t>(layer.index)]);
  }
  write("output", outputs[static_cast<size_t>(def.output_layer())]);
  return written;
}

bool has_heads(const darknet::NetDef& def) {
  for (const auto& layer : def.layers) {
    if (layer.type == LayerType::kYolo || layer.type == LayerType::kRegion) return true;
  }
  return false;
}

void print_detections(const std::vector<darknet::Detection>& detections, const std::vector<std::string>& names) {
  std::cout << detections.size() << " detections\n";
  for (const auto& d : detections) {
    const std::string label = d.class_id < static_cast<int>(names.size()) ? names[static_cast<size_t>(d.class_id)]
                                                                          : "class " + std::to_string(d.class_id);
    std::cout << std::fixed << std::setprecision(1) << "  " << label << " " << std::setprecision(3) << d.score
              << std::setprecision(1) << "  [" << d.x1 << ", " << d.y1 << ", " << d.x2 << ", " << d.y2 << "]\n";
  }
}

int run_forward(const std::vector<std::string>& args) {
  po::options_description options("facekit darknet forward");
  options.add_options()
      ("cfg", po::value<std::string>()->required(), "Darknet .cfg")
      ("weights", po::value<std::string>()->default_value(""), "Darknet .weights (none: random init)")
      ("image", po::value<std::string>(), "an image, letterboxed or stretched as the cfg says")
      ("input-npy", po::value<std::string>(), "an already preprocessed (1, C, H, W) float32 .npy")
      ("backend", po::value<std::string>()->default_value("torch"), "torch, darknet (libdarknet) or opencv")
      ("dialect", po::value<std::string>()->default_value("auto"), "auto, pjreddie or alexeyab")
      ("dump", po::value<std::string>(), "folder for input.npy, yolo_<i>.npy, yolo_<i>_out.npy, output.npy")
      ("names", po::value<std::string>()->default_value(""), "class names, one per line")
      ("conf-thresh", po::value<float>()->default_value(kDefaultConfThresh), "minimum objectness x class prob")
      ("nms-thresh", po::value<float>()->default_value(kDefaultNmsThresh), "NMS IoU threshold");
  add_runtime_options(&options);
  const std::string usage =
      "usage: facekit darknet forward --cfg C [--weights W] (--image I | --input-npy X)\n"
      "                               [--backend torch|darknet|opencv] [--dump DIR]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  if (vm.count("image") == vm.count("input-npy")) throw UsageError("give exactly one of --image and --input-npy\n\n" + usage);
  const std::string backend = vm["backend"].as<std::string>();
  if (backend != "torch" && backend != "darknet" && backend != "opencv") {
    throw UsageError("--backend must be torch, darknet or opencv, got '" + backend + "'");
  }
  const torch::Device device = apply_runtime_options(vm);

  // facekit parses the cfg for every backend: it checks the files before libdarknet sees them
  // and knows which layers are heads. Only the torch backend needs the weights' values.
  auto model = darknet::load_darknet(vm["cfg"].as<std::string>(), vm["weights"].as<std::string>(),
                                     vm["dialect"].as<std::string>(), 0, 0, /*load_values=*/backend == "torch");
  const darknet::NetDef& def = model.net->def();
  print_warnings(def);
  std::cerr << "dialect: " << darknet::dialect_name(def.dialect) << " (" << model.dialect_reason << ")\n";
  LetterboxGeometry geometry;
  const torch::Tensor input = read_input(vm, def, &geometry);

  std::vector<torch::Tensor> outputs;
  if (backend == "torch") {
    torch::NoGradGuard no_grad;
    model.net->to(device);
    outputs = model.net->forward_all(input.to(device));
  } else if (backend == "darknet") {
    outputs = run_libdarknet(vm, input);
  } else {
    outputs = run_opencv(vm, def, input);
  }

  if (vm.count("dump")) {
    const int files = dump_outputs(vm["dump"].as<std::string>(), def, input, outputs);
    std::cerr << "wrote " << files << " .npy files to " << vm["dump"].as<std::string>() << "\n";
  }
  if (has_heads(def) && backend != "opencv") {
    print_detections(darknet::decode_detections(def, outputs, geometry, vm["conf-thresh"].as<float>(),
                                                vm["nms-thresh"].as<float>()),
                     read_class_names(vm["names"].as<std::string>()));
  } else if (!has_heads(def)) {
    const auto probs = outputs[static_cast<size_t>(def.output_layer())].flatten().to(torch::kCPU);
    const auto top = probs.topk(std::min<int64_t>(5, probs.numel()));
    const auto names = read_class_names(vm["names"].as<std::string>());
    std::cout << "top classes:\n";
    for (int64_t k = 0; k < std::get<1>(top).numel(); ++k) {
      const int64_t id = std::get<1>(top)[k].item<int64_t>();
      std::cout << "  " << (id < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(id)] : std::to_string(id))
                << " " << std::get<0>(top)[k].item<float>() << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> darknet_commands() {
  return {
      {"info", "print the layer table, dialect and weight count", run_info},
      {"forward", "run one input; dump tensors as .npy; print detections", run_forward},
  };
}

}  // namespace facekit::cli
