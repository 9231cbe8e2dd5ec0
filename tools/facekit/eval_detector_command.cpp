// `facekit eval detector`: a detector (or someone else's detections) scored on a labelled set,
// by face size, with a table, a JSON report and precision-recall plots.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include <opencv2/imgproc.hpp>

#include "datasets/atomic_file.h"
#include "datasets/formats/coco.h"
#include "datasets/formats/darknet_labels.h"
#include "datasets/formats/voc.h"
#include "datasets/formats/wider.h"
#include "datasets/preprocess.h"
#include "eval/detection_metrics.h"
#include "eval/draw_errors.h"
#include "eval/plots.h"
#include "tools/facekit/cli.h"
#include "tools/facekit/detectors.h"

namespace facekit::cli {
namespace {

namespace fs = std::filesystem;

constexpr float kOperatingThresh = 0.25f;     // precision/recall reported at this score
constexpr float kDrawIouThresh = 0.5f;        // --worst/--draw match as AP@0.5 does
constexpr int kDefaultWorst = 20;

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
    images.push_back({wider_image_path(images_dir, wider.path), [truth](const cv::Size&) { return truth; }});
  }
  return images;
}

// Boxes are clipped to the image, as detections are (decode's correct_yolo_boxes).
eval::GroundTruth clipped(const Box& box, const cv::Size& size, bool ignore) {
  const auto clip = [](float v, int limit) { return std::clamp(v, 0.f, float(limit)); };
  return {{clip(box.x1, size.width), clip(box.y1, size.height), clip(box.x2, size.width), clip(box.y2, size.height)},
          ignore};
}

// Darknet labels of `class_id` become face boxes, clipped to the image.
std::vector<LabelledImage> load_darknet(const std::string& list_path, int class_id) {
  std::vector<LabelledImage> images;
  for (const auto& path : read_image_list(list_path)) {
    const auto labels = read_darknet_labels(darknet_label_path(path));
    images.push_back({path, [labels, class_id](const cv::Size& size) {
                        std::vector<eval::GroundTruth> truth;
                        const float w = float(size.width), h = float(size.height);
                        for (const auto& l : labels) {
                          if (l.class_id != class_id) continue;
                          const Box box{(l.cx - l.w / 2) * w, (l.cy - l.h / 2) * h, (l.cx + l.w / 2) * w, (l.cy + l.h / 2) * h};
                          truth.push_back(clipped(box, size, /*ignore=*/false));
                        }
                        return truth;
                      }});
  }
  return images;
}

// Pascal VOC: objects whose class maps to face (every class without a map); `difficult` ones
// become ignore regions, as the VOC devkit ignores them (VOCevaldet.m).
std::vector<LabelledImage> load_voc(const std::string& path, const std::string& images_dir, const std::string& class_map) {
  const VocClassMap map = class_map.empty() ? VocClassMap() : read_voc_class_map(class_map);
  std::vector<LabelledImage> images;
  for (const auto& xml : voc_annotation_files(path)) {
    const VocAnnotation annotation = read_voc_annotation(xml);
    std::vector<std::pair<Box, bool>> faces;
    for (const auto& o : annotation.objects) {
      const auto it = map.find(o.name);
      if (!class_map.empty() && it == map.end()) {
        throw std::runtime_error(xml + ":" + std::to_string(o.line) + ": class '" + o.name + "' is not in the class map " +
                                 class_map);
      }
      if (class_map.empty() || it->second) faces.emplace_back(o.box, o.difficult);
    }
    images.push_back({wider_image_path(images_dir, annotation.filename), [faces](const cv::Size& size) {
                        std::vector<eval::GroundTruth> truth;
                        for (const auto& [box, difficult] : faces) truth.push_back(clipped(box, size, difficult));
                        return truth;
                      }});
  }
  return images;
}

// COCO: annotations of the face category; crowd regions are ignore regions. (cocoeval.py also
// ignores detections on crowds, with IoU over the detection's own area; facekit keeps one IoU
// rule for every format, see eval/detection_metrics.h.)
std::vector<LabelledImage> load_coco(const std::string& path, const std::string& images_dir, const std::string& category) {
  const CocoDataset dataset = read_coco(path);
  const int64_t face = coco_face_category(dataset, category, path);
  std::map<int64_t, std::vector<eval::GroundTruth>> truth;
  for (const auto& a : dataset.annotations) {
    if (a.category_id == face) truth[a.image_id].push_back({a.box, a.iscrowd});
  }
  std::vector<LabelledImage> images;
  for (const auto& image : dataset.images) {
    images.push_back({wider_image_path(images_dir, image.file_name),
                      [faces = truth[image.id]](const cv::Size&) { return faces; }});
  }
  return images;
}

// `images` beside the dataset file or annotations folder.
std::string default_images_dir(const std::string& dataset_path) {
  fs::path path(dataset_path);
  if (path.filename().empty()) path = path.parent_path();  // "annotations/"
  return (path.parent_path() / "images").string();
}

void print_report(const eval::DetectionReport& report, double ms_per_image) {
  std::cout << "\nsize bucket   faces   AP@0.5   AP@0.3  AP@0.75\n";
  for (const auto& b : report.buckets) {
    std::cout << std::left << std::setw(12) << b.name << std::right << std::setw(7) << b.num_truth << "   "
              << std::fixed << std::setprecision(4) << b.ap50 << "   " << b.ap30 << "   " << b.ap75 << "\n";
  }
  std::cout << "COCO AP@[.5:.95] (all) " << report.coco_ap << "\n"
            << "at score >= " << std::setprecision(2) << report.threshold << ": precision " << std::setprecision(4)
            << report.at_threshold.precision << ", recall " << report.at_threshold.recall << "\n"
            << std::setprecision(1) << ms_per_image << " ms per image\n";
}

std::vector<LabelledImage> load_dataset(const std::string& dataset, const std::string& images_option,
                                        const po::variables_map& vm) {
  const auto colon = dataset.find(':');
  if (colon == std::string::npos) throw UsageError("--dataset must be FORMAT:PATH, got '" + dataset + "'");
  const std::string format = dataset.substr(0, colon), path = dataset.substr(colon + 1);
  const std::string images_dir = images_option.empty() ? default_images_dir(path) : images_option;
  if (format == "wider") return load_wider(path, images_dir);
  if (format == "darknet") return load_darknet(path, vm["class-id"].as<int>());
  if (format == "voc") return load_voc(path, images_dir, vm["class-map"].as<std::string>());
  if (format == "coco") return load_coco(path, images_dir, vm["category"].as<std::string>());
  throw UsageError("--dataset format '" + format + "' is not supported (wider, darknet, voc, coco are)");
}


void write_outputs(const eval::DetectionReport& report, double ms_per_image, const std::string& title,
                   const po::variables_map& vm) {
  if (!vm["json"].as<std::string>().empty()) {
    write_file_atomically(vm["json"].as<std::string>(), [&](std::ostream& out) { out << eval::report_json(report, ms_per_image); });
    std::cout << "wrote " << vm["json"].as<std::string>() << "\n";
  }
  if (!vm["plots"].as<std::string>().empty()) {
    const fs::path dir = vm["plots"].as<std::string>();
    fs::create_directories(dir);
    eval::plot_pr_curves(report.buckets, "precision-recall by face size: " + title, (dir / "pr_curves.png").string());
    for (const auto& bucket : report.buckets) {  // one plot per size bucket too: pr_all.png, pr_min16.png...
      eval::plot_pr_curves({bucket}, "precision-recall, faces " + bucket.name + ": " + title,
                           (dir / ("pr_" + bucket.name + ".png")).string());
    }
    std::cout << "wrote " << (dir / "pr_curves.png").string() << " and pr_<bucket>.png\n";
  }
}

int run_eval_detector(const std::vector<std::string>& args) {
  po::options_description options("facekit eval detector");
  options.add_options()
      ("dataset", po::value<std::string>()->required(),
       "wider:GT.txt, darknet:LIST.txt, voc:ANNOTATIONS_DIR|XML_LIST.txt or coco:INSTANCES.json")
      ("images", po::value<std::string>()->default_value(""),
       "images folder for wider, voc, coco (default: 'images' beside the dataset file or folder)")
      ("model", po::value<std::string>()->default_value(""),
       "X.weights (cfg beside it or --cfg), X.pt, X.onnx (facekit convert darknet2onnx, raw), or haar:CASCADE.xml "
       "(default: the shipped face detector)")
      ("cfg", po::value<std::string>()->default_value(""), "the cfg of a .weights model or of a raw .onnx export")
      ("class-id", po::value<int>()->default_value(0), "the model's face class (and the face class of darknet labels)")
      ("class-map", po::value<std::string>()->default_value(""),
       "voc: lines 'NAME face' or 'NAME -' (dropped); default: every class is a face")
      ("category", po::value<std::string>()->default_value(""),
       "coco: the face category, name or id (default: the only one, or 'face')")
      ("detections", po::value<std::string>()->default_value(""), "score 'image x y w h score' lines instead (image: file name)")
      ("json", po::value<std::string>()->default_value(""), "write the JSON report here")
      ("plots", po::value<std::string>()->default_value(""), "folder for pr_curves.png")
      ("draw", po::value<std::string>()->default_value(""),
       "folder for the worst images: missed faces red, false positives blue, true positives green")
      ("worst", po::value<int>(), "how many images --draw draws (default 20; most missed + false positives first)")
      ("tta", po::bool_switch(), "also run the model on each photo mirrored and merge the detections (twice the time)");
  add_input_size_option(&options);
  add_runtime_options(&options);
  const std::string usage =
      "usage: facekit eval detector --dataset wider:GT.txt|darknet:LIST|voc:DIR_OR_LIST|coco:JSON [--images DIR]\n"
      "                             [--model M [--input-size S[,S...]] [--tta] | --detections FILE] [--class-id N] [--class-map FILE]\n"
      "                             [--category C] [--json OUT] [--plots DIR] [--draw DIR [--worst N]]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  const torch::Device device = apply_runtime_options(vm);
  const std::string detections_file = vm["detections"].as<std::string>();
  std::string model = vm["model"].as<std::string>();
  if (!model.empty() && !detections_file.empty()) throw UsageError("give --model or --detections, not both");
  if (model.empty() && detections_file.empty()) model = default_model(kDefaultDetectorFile);
  const std::string draw_dir = vm["draw"].as<std::string>();
  if (vm.count("worst") && (draw_dir.empty() || vm["worst"].as<int>() < 1)) {
    throw UsageError("--worst N needs N >= 1 and a --draw folder");
  }
  const std::vector<cv::Size> sizes = input_sizes(vm);
  const bool tta = vm["tta"].as<bool>();
  if (!detections_file.empty() && (!sizes.empty() || tta)) throw UsageError("--input-size and --tta run a --model, not --detections");
  const std::string dataset = vm["dataset"].as<std::string>();
  const std::vector<LabelledImage> labelled = load_dataset(dataset, vm["images"].as<std::string>(), vm);
  std::map<std::string, std::vector<eval::ScoredBox>> given;
  if (!detections_file.empty()) given = read_detections_file(detections_file);
  const Detector detect = detections_file.empty()
                              ? make_detector(model, vm["cfg"].as<std::string>(), vm["class-id"].as<int>(), device, {}, sizes, tta)
                              : Detector();
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
  write_outputs(report, ms_per_image, fs::path(dataset.substr(dataset.find(':') + 1)).filename().string(), vm);
  if (!draw_dir.empty()) {
    const int worst = vm.count("worst") ? vm["worst"].as<int>() : kDefaultWorst;
    const auto written = eval::draw_worst_images(images, kDrawIouThresh, kOperatingThresh, static_cast<size_t>(worst), draw_dir);
    std::cout << "drew " << written.size() << " images with the most errors in " << draw_dir << "\n";
  }
  return kExitOk;
}

}  // namespace

Command eval_detector_command() {
  return {"detector", "AP by face size on a labelled set (WIDER, Darknet, VOC or COCO ground truth)", run_eval_detector};
}

}  // namespace facekit::cli
