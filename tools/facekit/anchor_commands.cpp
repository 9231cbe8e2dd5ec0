// `facekit anchors`: YOLO anchors for a training set, like AlexeyAB's `darknet detector
// calc_anchors DATA -num_of_clusters K -width W -height H` (the algorithm is in train/anchors.h).
#include <iomanip>
#include <iostream>
#include <sstream>

#include "datasets/atomic_file.h"
#include "datasets/detection_data.h"
#include "tools/facekit/cli.h"
#include "train/anchors.h"

namespace facekit::cli {
namespace {

constexpr double kPercent = 100.0;

const char* const kUsage =
    "usage: facekit anchors --data face.data --num K --size WxH [--seed S] [--iters N] [--out FILE]\n"
    "k-means (distance 1 - IoU, k-means++ start) on the widths and heights of the boxes of the\n"
    ".data file's train list, scaled to the WxH network input; prints the anchors in cfg syntax,\n"
    "sorted by area, and the mean IoU of each box with its best anchor";

// "416x320" -> {416, 320}; both positive.
std::pair<int, int> parse_network_size(const std::string& text) {
  const auto x = text.find('x');
  try {
    if (x == std::string::npos) throw std::invalid_argument(text);
    size_t used_w = 0, used_h = 0;
    const int w = std::stoi(text.substr(0, x), &used_w), h = std::stoi(text.substr(x + 1), &used_h);
    if (used_w != x || used_h != text.size() - x - 1 || w <= 0 || h <= 0) throw std::invalid_argument(text);
    return {w, h};
  } catch (const std::exception&) {
    throw UsageError("--size must look like 416x416, got '" + text + "'\n\n" + kUsage);
  }
}

std::string percent(double fraction) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << kPercent * fraction << " %";
  return text.str();
}

int run_anchors(const std::vector<std::string>& args) {
  po::options_description options("facekit anchors");
  options.add_options()
      ("data", po::value<std::string>()->required(), "Darknet .data file (train = list, optional class_map = file)")
      ("num", po::value<int>()->required(), "number of anchors (the cfg's num)")
      ("size", po::value<std::string>()->required(), "network input WxH, e.g. 416x416")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of the k-means++ start (same seed, same anchors)")
      ("iters", po::value<int>()->default_value(train::AnchorOptions{}.max_iterations), "k-means iteration limit")
      ("out", po::value<std::string>()->default_value(""), "also write the anchors line to this file");
  po::variables_map vm;
  if (!parse_options(args, options, kUsage, &vm)) return kExitOk;
  const auto [width, height] = parse_network_size(vm["size"].as<std::string>());
  train::AnchorOptions o;
  o.count = vm["num"].as<int>();
  o.seed = vm["seed"].as<uint64_t>();
  o.max_iterations = vm["iters"].as<int>();
  if (o.count <= 0) throw UsageError(std::string("--num must be positive\n\n") + kUsage);
  if (o.max_iterations <= 0) throw UsageError(std::string("--iters must be positive\n\n") + kUsage);

  const DataFile data = read_data_file(vm["data"].as<std::string>());
  const ClassIndexMap class_map = data.class_map.empty() ? ClassIndexMap{} : read_class_index_map(data.class_map);
  LabelAudit labels;
  const auto samples = read_detection_list(data.train, class_map, &labels);
  const auto boxes = train::box_sizes(samples, width, height);
  std::cout << "read " << boxes.size() << " boxes from " << samples.size() << " images of " << data.train << "\n";
  if (const std::string fixed = labels.summary(); !fixed.empty()) std::cout << fixed << "\n";
  if (boxes.empty()) throw std::runtime_error(data.train + ": no boxes to cluster");

  const train::AnchorResult result = train::kmeans_anchors(boxes, o);
  const double rounded_iou = train::mean_best_iou(boxes, train::rounded_anchors(result.anchors));
  std::cout << "k-means: " << o.count << " anchors at " << width << "x" << height << ", seed " << o.seed << ", "
            << (result.converged ? "converged after " : "stopped at the limit of ") << result.iterations
            << " iterations\n"
            << "avg IoU = " << percent(result.mean_iou) << " (rounded anchors: " << percent(rounded_iou) << ")\n";
  const std::string line = train::anchors_cfg_line(result.anchors);
  std::cout << line << "\n";
  const std::string out = vm["out"].as<std::string>();
  if (!out.empty()) {
    write_file_atomically(out, [&](std::ostream& file) {
      file << "# facekit anchors: " << o.count << " anchors at " << width << "x" << height << ", seed " << o.seed
           << ", " << boxes.size() << " boxes of " << data.train << ", avg IoU " << percent(rounded_iou) << "\n"
           << line << "\n";
    });
    std::cout << "wrote " << out << "\n";
  }
  return kExitOk;
}

}  // namespace

Command anchors_command() {
  return {"anchors", "k-means YOLO anchors for a training set (like darknet calc_anchors)", run_anchors};
}

}  // namespace facekit::cli
