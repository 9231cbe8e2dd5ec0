// `facekit eval detector`: a detector (or someone else's detections) scored on a labelled set,
// by face size, with a table, a JSON report and precision-recall plots.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "convert/darknet_torch.h"
#include "datasets/atomic_file.h"
#include "datasets/formats/darknet_labels.h"
#include "datasets/formats/wider.h"
#include "datasets/preprocess.h"
#include "eval/detection_metrics.h"
#include "eval/plots.h"
#include "models/darknet/decode.h"
#include "tools/facekit/cli.h"

namespace facekit::cli {
namespace {

namespace fs = std::filesystem;
using Detector = std::function<std::vector<eval::ScoredBox>(const cv::Mat& bgr)>;

constexpr float kEvalConfThresh = 0.005f;     // keep low scores: AP needs the whole curve
constexpr float kEvalNmsThresh = 0.45f;
constexpr float kOperatingThresh = 0.25f;     // precision/recall reported at this score
constexpr double kHaarScaleFactor = 1.1;      // OpenCV's defaults for detectMultiScale
constexpr int kHaarMinNeighbors = 3;

// A Darknet model (cfg + weights, or a facekit checkpoint) run in LibTorch; boxes of `class_id`.
Detector darknet_detector(const std::string& model_path, const std::string& cfg_override, int class_id,
                          torch::Device device) {
  darknet::LoadedDarknet model;
  if (fs::path(model_path).extension() == ".pt") {
    model = darknet::load_darknet_checkpoint(model_path);
  } else {
    const std::string cfg = cfg_override.empty() ? fs::path(model_path).replace_extension(".cfg").string() : cfg_override;
    model = darknet::load_darknet(cfg, model_path);
  }
  model.net->to(device);
  auto net = model.net;
  return [net, class_id, device](const cv::Mat& bgr) mutable {
    torch::NoGradGuard no_grad;
    const auto& def = net->def();
    LetterboxGeometry geometry;
    PlanarImage input = fit_to_input(to_planar_rgb(bgr), def.width, def.height, def.letterbox, &geometry);
    const auto tensor = torch::from_blob(input.data.data(), {1, 3, def.height, def.width}).to(device);
    std::vector<eval::ScoredBox> boxes;
    for (const auto& d : darknet::decode_detections(def, net->forward_all(tensor), geometry, kEvalConfThresh, kEvalNmsThresh)) {
      if (d.class_id == class_id) boxes.push_back({{d.x1, d.y1, d.x2, d.y2}, d.score});
    }
    return boxes;
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

// `image x y w h score` per line (someone else's detections).
std::map<std::string, std::vector<eval::ScoredBox>> read_detections_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open detections file");
  std::map<std::string, std::vector<eval::ScoredBox>> detections;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string image;
    float x, y, w, h, score;
    if (!(fields >> image >> x >> y >> w >> h >> score)) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": expected 'image x y w h score', found '" + line + "'");
    }
    detections[image].push_back({{x, y, x + w, y + h}, score});
  }
  return detections;
}

// WIDER lists `event/name.jpg`; a flattened copy keeps only `name.jpg`: accept both layouts.
std::string image_path(const std::string& images_dir, const std::string& listed) {
  const fs::path nested = fs::path(images_dir) / listed;
  if (fs::exists(nested)) return nested.string();
  return (fs::path(images_dir) / fs::path(listed).filename()).string();
}

// A labelled image: its ground truth in pixels once the image size is known.
struct LabelledImage {
  std::string path;
  std::function<std::vector<eval::GroundTruth>(const cv::Size&)> truth;
};

std::vector<LabelledImage> load_wider(const std::string& gt_path, const std::string& images_dir) {
  std::vector<LabelledImage> images;
  for (const auto& wider : read_wider_ground_truth(gt_path)) {
    std::vector<eval::GroundTruth> truth;
    for (const auto& f : wider.faces) truth.push_back({{f.x, f.y, f.x + f.w, f.y + f.h}, f.invalid});
    images.push_back({image_path(images_dir, wider.path), [truth](const cv::Size&) { return truth; }});
  }
  return images;
}

// Darknet labels of `class_id` become face boxes, clipped to the image.
std::vector<LabelledImage> load_darknet(const std::string& list_path, int class_id) {
  std::vector<LabelledImage> images;
  for (const auto& path : read_image_list(list_path)) {
    const auto labels = read_darknet_labels(darknet_label_path(path));
    images.push_back({path, [labels, class_id](const cv::Size& size) {
                        std::vector<eval::GroundTruth> truth;
                        const auto clip = [](float v, int limit) { return std::clamp(v, 0.f, float(limit)); };
                        for (const auto& l : labels) {
                          if (l.class_id != class_id) continue;
                          truth.push_back({{clip((l.cx - l.w / 2) * size.width, size.width),
                                            clip((l.cy - l.h / 2) * size.height, size.height),
                                            clip((l.cx + l.w / 2) * size.width, size.width),
                                            clip((l.cy + l.h / 2) * size.height, size.height)}});
                        }
                        return truth;
                      }});
  }
  return images;
}

void print_report(const eval::DetectionReport& report, double ms_per_image) {
  std::cout << "\nsize bucket   faces   AP@0.5\n";
  for (const auto& b : report.buckets) {
    std::cout << std::left << std::setw(12) << b.name << std::right << std::setw(7) << b.num_truth << "   "
              << std::fixed << std::setprecision(4) << b.ap50 << "\n";
  }
  std::cout << "COCO AP@[.5:.95] (all) " << report.coco_ap << "\n"
            << "at score >= " << std::setprecision(2) << report.threshold << ": precision " << std::setprecision(4)
            << report.at_threshold.precision << ", recall " << report.at_threshold.recall << "\n"
            << std::setprecision(1) << ms_per_image << " ms per image\n";
}

int run_eval_detector(const std::vector<std::string>& args) {
  po::options_description options("facekit eval detector");
  options.add_options()
      ("dataset", po::value<std::string>()->required(), "wider:GT.txt or darknet:LIST.txt (voc, coco: not yet)")
      ("images", po::value<std::string>()->default_value(""), "images folder (default: 'images' beside the dataset file)")
      ("model", po::value<std::string>()->default_value(""), "X.weights (cfg beside it or --cfg), X.pt, or haar:CASCADE.xml")
      ("cfg", po::value<std::string>()->default_value(""), "the cfg of a .weights model")
      ("class-id", po::value<int>()->default_value(0), "the class that is a face (models and darknet labels)")
      ("detections", po::value<std::string>()->default_value(""), "score 'image x y w h score' lines instead (image: file name)")
      ("json", po::value<std::string>()->default_value(""), "write the JSON report here")
      ("plots", po::value<std::string>()->default_value(""), "folder for pr_curves.png");
  add_runtime_options(&options);
  const std::string usage =
      "usage: facekit eval detector --dataset wider:GT.txt|darknet:LIST [--images DIR] (--model M | --detections FILE)\n"
      "                             [--json OUT] [--plots DIR]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  const torch::Device device = apply_runtime_options(vm);
  const std::string dataset = vm["dataset"].as<std::string>();
  const auto colon = dataset.find(':');
  if (colon == std::string::npos) throw UsageError("--dataset must be FORMAT:PATH, got '" + dataset + "'");
  const std::string format = dataset.substr(0, colon), gt_path = dataset.substr(colon + 1);
  if (format != "wider" && format != "darknet") {
    throw UsageError("--dataset format '" + format + "' is not supported yet (wider and darknet are)");
  }
  const std::string model = vm["model"].as<std::string>(), detections_file = vm["detections"].as<std::string>();
  if (model.empty() == detections_file.empty()) {
    throw UsageError("give exactly one of --model and --detections (no default detector is shipped yet)");
  }
  std::string images_dir = vm["images"].as<std::string>();
  if (images_dir.empty()) images_dir = (fs::path(gt_path).parent_path() / "images").string();

  const std::vector<LabelledImage> labelled = format == "wider" ? load_wider(gt_path, images_dir)
                                                                 : load_darknet(gt_path, vm["class-id"].as<int>());
  std::map<std::string, std::vector<eval::ScoredBox>> given;
  if (!detections_file.empty()) given = read_detections_file(detections_file);
  const Detector detect = !detections_file.empty()        ? Detector()
                          : model.rfind("haar:", 0) == 0 ? haar_detector(model.substr(5))
                                                         : darknet_detector(model, vm["cfg"].as<std::string>(),
                                                                            vm["class-id"].as<int>(), device);
  std::vector<eval::ImageDetections> images;
  double total_ms = 0;
  for (const auto& item : labelled) {
    const cv::Mat bgr = read_image(item.path);
    eval::ImageDetections image{item.path, item.truth(bgr.size()), {}};
    if (detect) {
      const auto start = std::chrono::steady_clock::now();
      image.detections = detect(bgr);
      total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    } else {
      image.detections = given[fs::path(item.path).filename().string()];
    }
    images.push_back(std::move(image));
  }
  const double ms_per_image = images.empty() ? 0 : total_ms / images.size();
  const auto report = eval::evaluate_detections(images, kOperatingThresh);
  print_report(report, ms_per_image);
  if (!vm["json"].as<std::string>().empty()) {
    write_file_atomically(vm["json"].as<std::string>(), [&](std::ostream& out) { out << eval::report_json(report, ms_per_image); });
    std::cout << "wrote " << vm["json"].as<std::string>() << "\n";
  }
  if (!vm["plots"].as<std::string>().empty()) {
    fs::create_directories(vm["plots"].as<std::string>());
    const std::string png = (fs::path(vm["plots"].as<std::string>()) / "pr_curves.png").string();
    eval::plot_pr_curves(report.buckets, "precision-recall by face size: " + fs::path(gt_path).filename().string(), png);
    std::cout << "wrote " << png << "\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> eval_commands() {
  return {{"detector", "AP by face size on a labelled set (WIDER ground truth)", run_eval_detector}};
}

}  // namespace facekit::cli
