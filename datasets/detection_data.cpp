#include "datasets/detection_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>

#include "datasets/duplicates.h"
#include "datasets/formats/darknet_labels.h"
#include "datasets/text.h"
#include "datasets/formats/voc.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

// A box clipped to the image, counted in `audit`; false when it is dropped (label_audit.h).
bool clipped(float x1, float y1, float x2, float y2, int class_id, LabelledBox* box, LabelAudit* audit) {
  if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2)) {
    ++audit->non_finite_boxes;
    return false;
  }
  const float cx1 = std::clamp(x1, 0.f, 1.f), cx2 = std::clamp(x2, 0.f, 1.f);
  const float cy1 = std::clamp(y1, 0.f, 1.f), cy2 = std::clamp(y2, 0.f, 1.f);
  if (!(cx2 > cx1 && cy2 > cy1)) {
    ++audit->dropped_boxes;
    return false;
  }
  if (cx1 != x1 || cx2 != x2 || cy1 != y1 || cy2 != y2) ++audit->clipped_boxes;
  *box = {(cx1 + cx2) / 2, (cy1 + cy2) / 2, cx2 - cx1, cy2 - cy1, class_id};
  return true;
}

DetectionSample darknet_sample(const std::string& image, LabelAudit* audit) {
  DetectionSample sample{image, {}};
  const std::string label_path = darknet_label_path(image);
  const auto labels = read_darknet_labels(label_path);
  if (labels.empty()) ++(fs::exists(label_path) ? audit->empty_label_files : audit->missing_label_files);
  for (const auto& l : labels) {
    LabelledBox box;
    if (clipped(l.cx - l.w / 2, l.cy - l.h / 2, l.cx + l.w / 2, l.cy + l.h / 2, l.class_id, &box, audit)) sample.boxes.push_back(box);
  }
  return sample;
}

DetectionSample voc_sample(const std::string& xml, const ClassIndexMap& class_map, LabelAudit* audit) {
  const VocAnnotation a = read_voc_annotation(xml);
  const fs::path images = fs::path(xml).parent_path().parent_path() / "images";
  DetectionSample sample{(fs::exists(images / a.filename) ? images / a.filename : fs::path(xml).parent_path() / a.filename).string(), {}};
  int w = a.width, h = a.height;
  if (w <= 0 || h <= 0) {  // <size> missing: ask the image
    const cv::Mat image = cv::imread(sample.image, cv::IMREAD_COLOR);
    if (image.empty()) throw std::runtime_error(xml + ": no <size> and the image " + sample.image + " cannot be read");
    w = image.cols, h = image.rows;
  }
  if (a.objects.empty()) ++audit->empty_label_files;
  for (const auto& o : a.objects) {
    int class_id = 0;
    if (!class_map.empty()) {
      const auto it = class_map.find(o.name);
      if (it == class_map.end()) throw std::runtime_error(xml + ":" + std::to_string(o.line) + ": class '" + o.name + "' is not in the class map");
      if (it->second < 0) continue;
      class_id = it->second;
    }
    LabelledBox box;
    if (clipped(o.box.x1 / w, o.box.y1 / h, o.box.x2 / w, o.box.y2 / h, class_id, &box, audit)) sample.boxes.push_back(box);
  }
  return sample;
}

}  // namespace

DataFile read_data_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open the .data file");
  DataFile data;
  data.path = path;
  const fs::path folder = fs::path(path).parent_path();
  const auto resolve = [&](const std::string& value) {  // relative to the .data file when not found as given
    return fs::exists(value) || fs::path(value).is_absolute() ? value : (folder / value).string();
  };
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    line = trimmed(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::runtime_error(path + ":" + std::to_string(number) + ": expected key = value");
    const std::string key = trimmed(line.substr(0, eq)), value = trimmed(line.substr(eq + 1));
    if (key == "classes") {
      try {
        data.classes = std::stoi(value);
      } catch (const std::logic_error&) {
        throw std::runtime_error(path + ":" + std::to_string(number) + ": classes must be a number, found '" + value + "'");
      }
    } else if (key == "train") {
      data.train = resolve(value);
    } else if (key == "valid") {
      data.valid = resolve(value);
    } else if (key == "names") {
      data.names = resolve(value);
    } else if (key == "backup") {
      data.backup = value;
    } else if (key == "class_map") {
      data.class_map = resolve(value);
    }  // eval, results, map...: Darknet's other keys, not used here
  }
  if (data.train.empty()) throw std::runtime_error(path + ": no 'train =' list");
  if (data.classes <= 0) throw std::runtime_error(path + ": classes must be positive");
  return data;
}

ClassIndexMap read_class_index_map(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open the class map");
  ClassIndexMap map;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    line = trimmed(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const auto space = line.find_last_of(" \t");
    if (space == std::string::npos) throw std::runtime_error(path + ":" + std::to_string(number) + ": expected 'NAME INDEX' or 'NAME -'");
    const std::string name = trimmed(line.substr(0, space)), value = line.substr(space + 1);
    if (value == "-") {
      map[name] = -1;
      continue;
    }
    try {
      map[name] = std::stoi(value);
    } catch (const std::logic_error&) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": class index '" + value + "' is not a number");
    }
  }
  return map;
}

std::vector<DetectionSample> read_detection_list(const std::string& list_path, const ClassIndexMap& class_map, LabelAudit* audit) {
  LabelAudit local;
  if (audit == nullptr) audit = &local;
  std::vector<DetectionSample> samples;
  for (const auto& entry : read_image_list(list_path)) {
    const int64_t dropped_before = audit->dropped_boxes + audit->non_finite_boxes;
    samples.push_back(fs::path(entry).extension() == ".xml" ? voc_sample(entry, class_map, audit) : darknet_sample(entry, audit));
    if (audit->dropped_boxes + audit->non_finite_boxes > dropped_before) ++audit->images_with_dropped_boxes;
    ++audit->images;
  }
  audit->duplicate_images += drop_repeated_images(&samples, [](const DetectionSample&) { return std::string(); });
  return samples;
}

}  // namespace facekit
