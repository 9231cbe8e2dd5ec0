#include "tools/facekit/detectors.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "convert/darknet_onnx.h"
#include "convert/darknet_torch.h"
#include "datasets/preprocess.h"
#include "models/darknet/cfg.h"
#include "models/darknet/decode.h"
#include "models/darknet/inference.h"
#include "tools/facekit/cli.h"

namespace facekit::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kDarknetStride = 32;  // a detector's input side must divide by its total downsampling
constexpr double kHaarScaleFactor = 1.1;  // OpenCV's defaults for detectMultiScale
constexpr int kHaarMinNeighbors = 3;

// The detections of the face class, as the metrics take them.
std::vector<eval::ScoredBox> boxes_of_class(const std::vector<darknet::Detection>& detections, int class_id) {
  std::vector<eval::ScoredBox> boxes;
  for (const auto& d : detections) {
    if (d.class_id == class_id) boxes.push_back({{d.x1, d.y1, d.x2, d.y2}, d.score});
  }
  return boxes;
}

// A Darknet model built for one input size, run in LibTorch: on the CPU the graph is prepared once
// (models/darknet/inference.h: BN folded, oneDNN on channels-last maps); on a GPU the plain network
// runs. `def` decodes its outputs.
struct SizedDarknet {
  darknet::NetDef def;
  std::function<std::vector<torch::Tensor>(const torch::Tensor&)> forward_all;
};

SizedDarknet sized_darknet(const std::string& model_path, const std::string& cfg_override, cv::Size input_size,
                           torch::Device device) {
  darknet::LoadedDarknet model = load_darknet_model(model_path, cfg_override, input_size);
  model.net->to(device);
  model.net->eval();
  SizedDarknet sized{model.net->def(), {}};
  if (device.is_cpu()) {
    auto prepared = std::make_shared<darknet::InferenceNet>(model.net);
    sized.forward_all = [prepared](const torch::Tensor& x) { return prepared->forward_all(x); };
  } else {
    sized.forward_all = [net = model.net](const torch::Tensor& x) mutable { return net->forward_all(x); };
  }
  return sized;
}

// The photo mirrored left to right.
PlanarImage mirror_image(const PlanarImage& rgb) {
  PlanarImage mirrored = rgb;
  const auto width = static_cast<size_t>(rgb.w);
  for (size_t row = 0; row < static_cast<size_t>(rgb.c) * rgb.h; ++row) {  // every row of every plane
    const auto from = rgb.data.begin() + static_cast<std::ptrdiff_t>(row * width);
    std::reverse_copy(from, from + static_cast<std::ptrdiff_t>(width), mirrored.data.begin() + static_cast<std::ptrdiff_t>(row * width));
  }
  return mirrored;
}

DetectAtSize darknet_at_size(SizedDarknet net, torch::Device device, DetectionThresholds thresholds) {
  return [net = std::move(net), device, thresholds](const PlanarImage& rgb) {
    c10::InferenceMode inference;
    LetterboxGeometry geometry;
    PlanarImage input = fit_to_input(rgb, net.def.width, net.def.height, net.def.letterbox, &geometry);
    const auto tensor = torch::from_blob(input.data.data(), {1, 3, net.def.height, net.def.width}).to(device);
    const auto candidates = darknet::decode_candidates(net.def, net.forward_all(tensor));
    return darknet::select_detections(candidates, thresholds.conf, thresholds.nms, &geometry);
  };
}

// "WxH" with positive sides, or with `square_allowed` also "S" for SxS; an empty size otherwise.
cv::Size parse_size(const std::string& text, bool square_allowed) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  const int fields = std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &extra);
  if (fields == 1 && square_allowed) h = w;
  const bool shaped = (fields == 1 && square_allowed) || (fields == 3 && x == 'x');
  return shaped && w > 0 && h > 0 ? cv::Size(w, h) : cv::Size();
}

// "WxH" of the ONNX metadata.
cv::Size parse_input_size(const std::string& text, const std::string& path) {
  const cv::Size size = parse_size(text, /*square_allowed=*/false);
  if (size.empty()) throw std::runtime_error(path + ": metadata input_size: expected WxH, found '" + text + "'");
  return size;
}

// The head outputs of a raw export, run through the yolo/region activations: the per-layer
// outputs decode_candidates reads (other layers stay undefined).
std::vector<torch::Tensor> raw_heads_to_outputs(const darknet::NetDef& def, cv::dnn::Net* net,
                                                const std::vector<std::string>& names) {
  std::vector<cv::Mat> blobs;
  net->forward(blobs, names);
  std::vector<torch::Tensor> outputs(def.layers.size());
  size_t k = 0;
  for (const auto& layer : def.layers) {
    if (layer.type != darknet::LayerType::kYolo && layer.type != darknet::LayerType::kRegion) continue;
    const cv::Mat& blob = blobs[k++];
    const std::vector<int64_t> dims(blob.size.p, blob.size.p + blob.dims);
    outputs[static_cast<size_t>(layer.index)] =
        darknet::head_activation(layer, torch::from_blob(const_cast<float*>(blob.ptr<float>()), dims).clone());
  }
  return outputs;
}

// A Darknet model exported by `facekit convert darknet2onnx`, run by OpenCV dnn with the same
// preprocessing as the LibTorch path. Input size and resize mode come from the export's metadata.
// Raw exports (yolo_<i>/region_<i> outputs) are decoded with the cfg (`--cfg`, else the
// metadata's source_cfg) by the same decode as LibTorch's. --decode exports are refused: OpenCV
// dnn 4.6 fails on their graph (a shape assertion in its importer); so are --nms exports, whose
// built-in score threshold would cut the precision-recall curve.
DetectAtSize onnx_at_its_size(const std::string& path, const std::string& cfg_override, DetectionThresholds thresholds) {
  const auto metadata = darknet::read_onnx_metadata(path);
  const auto meta = [&](const std::string& key) {
    const auto it = metadata.find(key);
    if (it == metadata.end() || it->second.empty()) {
      throw std::runtime_error(path + ": no '" + key + "' metadata (not exported by facekit convert darknet2onnx?)");
    }
    return it->second;
  };
  const cv::Size input = parse_input_size(meta("input_size"), path);
  const bool use_letterbox = meta("resize_mode") == "letterbox";
  auto net = std::make_shared<cv::dnn::Net>(cv::dnn::readNetFromONNX(path));
  const auto outputs = net->getUnconnectedOutLayersNames();
  const auto has_output = [&](const char* name) { return std::find(outputs.begin(), outputs.end(), name) != outputs.end(); };
  if (has_output("boxes") || has_output("detections")) {
    throw std::runtime_error(path + ": a --decode or --nms export; eval detector runs raw exports (without --decode/--nms)");
  }
  auto cfg = darknet::parse_cfg_file(cfg_override.empty() ? meta("source_cfg") : cfg_override);
  darknet::set_input_size(&cfg, input.width, input.height);
  const auto def = std::make_shared<darknet::NetDef>(darknet::build_netdef(cfg, darknet::parse_dialect(meta("dialect"))));
  std::vector<std::string> heads;
  for (const auto& l : def->layers) {
    if (l.type == darknet::LayerType::kYolo) heads.push_back("yolo_" + std::to_string(l.index));
    if (l.type == darknet::LayerType::kRegion) heads.push_back("region_" + std::to_string(l.index));
  }
  return [net, def, heads, input, use_letterbox, thresholds](const PlanarImage& rgb) {
    LetterboxGeometry geometry;
    PlanarImage planar = fit_to_input(rgb, input.width, input.height, use_letterbox, &geometry);
    const int shape[] = {1, 3, input.height, input.width};
    net->setInput(cv::Mat(4, shape, CV_32F, planar.data.data()));
    const auto candidates = darknet::decode_candidates(*def, raw_heads_to_outputs(*def, net.get(), heads));
    return darknet::select_detections(candidates, thresholds.conf, thresholds.nms, &geometry);
  };
}

// OpenCV's Haar cascade (the baseline); its reject-level weights serve as scores.
Detector haar_detector(const std::string& xml) {
  auto cascade = std::make_shared<cv::CascadeClassifier>();
  if (!cascade->load(xml)) throw std::runtime_error(xml + ": cannot load the Haar cascade");
  return [cascade](const cv::Mat& bgr) {
    cv::Mat grey;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    std::vector<cv::Rect> faces;
    std::vector<int> levels;
    std::vector<double> weights;
    cascade->detectMultiScale(grey, faces, levels, weights, kHaarScaleFactor, kHaarMinNeighbors, 0, cv::Size(),
                              cv::Size(), /*outputRejectLevels=*/true);
    std::vector<eval::ScoredBox> boxes;
    for (size_t i = 0; i < faces.size(); ++i) {
      const auto& r = faces[i];
      boxes.push_back({{float(r.x), float(r.y), float(r.x + r.width), float(r.y + r.height)}, float(weights[i])});
    }
    return boxes;
  };
}

}  // namespace

Detector merged_over_sizes(std::vector<DetectAtSize> sizes, int class_id, float nms_thresh, bool tta) {
  return [sizes = std::move(sizes), class_id, nms_thresh, tta](const cv::Mat& bgr) {
    const PlanarImage rgb = to_planar_rgb(bgr);
    std::vector<darknet::Detection> all;
    for (const auto& detect : sizes) {
      const auto detections = detect(rgb);
      all.insert(all.end(), detections.begin(), detections.end());
    }
    if (tta) {
      const PlanarImage mirrored = mirror_image(rgb);
      const auto width = static_cast<float>(rgb.w);
      for (const auto& detect : sizes) {
        for (const auto& d : detect(mirrored)) all.push_back({width - d.x2, d.y1, width - d.x1, d.y2, d.score, d.class_id});
      }
    }
    auto merged = darknet::non_max_suppression(std::move(all), nms_thresh);
    return boxes_of_class(darknet::clipped_to_image(std::move(merged), rgb.w, rgb.h), class_id);
  };
}

std::vector<DetectAtSize> darknet_views(const std::string& model, const std::string& cfg, torch::Device device,
                                        DetectionThresholds thresholds, const std::vector<cv::Size>& input_sizes) {
  std::vector<DetectAtSize> views;
  for (const cv::Size size : sizes_to_run(input_sizes)) {
    views.push_back(darknet_at_size(sized_darknet(model, cfg, size, device), device, thresholds));
  }
  return views;
}

darknet::LoadedDarknet load_darknet_model(const std::string& model, const std::string& cfg, cv::Size input_size) {
  if (fs::path(model).extension() == ".pt") {
    return darknet::load_darknet_checkpoint(model, input_size.width, input_size.height);
  }
  return darknet::load_darknet(cfg.empty() ? fs::path(model).replace_extension(".cfg").string() : cfg, model, "auto",
                               input_size.width, input_size.height);
}

Detector onnx_exports_detector(const std::vector<std::string>& exports, const std::string& cfg, int class_id,
                               DetectionThresholds thresholds, bool tta) {
  std::vector<DetectAtSize> sizes;
  for (const auto& path : exports) sizes.push_back(onnx_at_its_size(path, cfg, thresholds));
  return merged_over_sizes(std::move(sizes), class_id, thresholds.nms, tta);
}

Detector make_detector(const std::string& model, const std::string& cfg, int class_id, torch::Device device,
                       DetectionThresholds thresholds, const std::vector<cv::Size>& input_sizes, bool tta) {
  const bool haar = model.rfind("haar:", 0) == 0, onnx = fs::path(model).extension() == ".onnx";
  if ((haar || onnx) && !input_sizes.empty()) {
    throw UsageError("--input-size runs Darknet models (.weights, .pt), not " + model + ", which has one input size");
  }
  if (haar && tta) throw UsageError("test-time augmentation runs Darknet models and their ONNX exports, not " + model);
  if (haar) return haar_detector(model.substr(5));
  if (onnx) return onnx_exports_detector({model}, cfg, class_id, thresholds, tta);
  return merged_over_sizes(darknet_views(model, cfg, device, thresholds, input_sizes), class_id, thresholds.nms, tta);
}

namespace {

// "416", "416x320" or a comma-separated list of them.
std::vector<cv::Size> parse_input_sizes(const std::string& text) {
  std::vector<cv::Size> sizes;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, ',')) {
    const cv::Size size = parse_size(item, /*square_allowed=*/true);
    if (size.empty() || size.width % kDarknetStride || size.height % kDarknetStride) {
      throw UsageError("--input-size: '" + item +
                       "' is not S or WxH with sides a positive multiple of 32 (e.g. 416 or 320,512)");
    }
    sizes.push_back(size);
  }
  if (sizes.empty() || text.back() == ',') {
    throw UsageError("--input-size: expected sizes like 416 or 320,512, got '" + text + "'");
  }
  return sizes;
}

}  // namespace

void add_input_size_option(po::options_description* options) {
  options->add_options()("input-size", po::value<std::string>()->default_value(""),
                         "Darknet detector input S or WxH (default: the cfg's); several, comma-separated, run "
                         "the image at each and merge the detections (multi-scale testing)");
}

std::vector<cv::Size> sizes_to_run(const std::vector<cv::Size>& requested) {
  return requested.empty() ? std::vector<cv::Size>{cv::Size()} : requested;
}

void add_detector_tta_option(po::options_description* options) {
  options->add_options()("detector-tta", po::bool_switch(),
                         "also run the detector on each photo mirrored and merge the detections (twice its time)");
}

std::vector<cv::Size> input_sizes(const po::variables_map& vm) {
  const std::string text = vm["input-size"].as<std::string>();
  return text.empty() ? std::vector<cv::Size>{} : parse_input_sizes(text);
}

std::string default_model(const std::string& file) {
  std::vector<fs::path> places;
  if (const char* env = std::getenv("FACEKIT_MODELS")) places.emplace_back(env);
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) places.push_back(exe.parent_path() / "../../models/pretrained");
  places.emplace_back("models/pretrained");
  std::string tried;
  for (const auto& place : places) {
    const fs::path candidate = place / file;
    if (fs::exists(candidate)) return fs::weakly_canonical(candidate).string();
    tried += " " + candidate.lexically_normal().string();
  }
  throw UsageError("the default model " + file + " is not shipped where facekit looks (" + tried.substr(1) +
                   "); give one explicitly");
}

std::vector<std::string> default_classifiers() {
  std::vector<std::string> files;
  for (const char* file : kDefaultClassifierFiles) files.push_back(default_model(file));
  return files;
}

}  // namespace facekit::cli
