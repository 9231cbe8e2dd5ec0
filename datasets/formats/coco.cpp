#include "datasets/formats/coco.h"

#include <cmath>
#include <limits>
#include <fstream>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace facekit {
namespace {

using nlohmann::json;

constexpr size_t kBboxValues = 4;  // x, y, width, height

// Turns nlohmann's type errors into messages naming the file and the JSON path.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& at, const std::string& what) const {
    throw std::runtime_error(path_ + ": " + (at.empty() ? "top level" : at) + ": " + what);
  }
  const json& field(const json& object, const std::string& at, const char* key) const {
    if (!object.is_object()) fail(at, "expected an object");
    const auto it = object.find(key);
    if (it == object.end()) fail(at, std::string("missing \"") + key + "\"");
    return *it;
  }
  const json& array(const json& object, const std::string& at, const char* key) const {
    const json& value = field(object, at, key);
    if (!value.is_array()) fail(join(at, key), "expected an array");
    return value;
  }
  int64_t integer(const json& object, const std::string& at, const char* key) const {
    const json& value = field(object, at, key);
    if (!value.is_number_integer()) fail(join(at, key), "expected an integer, found " + value.dump());
    return value.get<int64_t>();
  }
  std::string text(const json& object, const std::string& at, const char* key) const {
    const json& value = field(object, at, key);
    if (!value.is_string()) fail(join(at, key), "expected a string, found " + value.dump());
    return value.get<std::string>();
  }
  static std::string join(const std::string& at, const char* key) { return at.empty() ? key : at + "." + key; }
  static std::string item(const char* key, size_t i) { return std::string(key) + "[" + std::to_string(i) + "]"; }

 private:
  std::string path_;
};

json parse_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open COCO annotations");
  try {
    return json::parse(file);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number that overflows
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
}

// Optional width/height (0 when absent), must be whole and >= 0 when present.
int image_size(const Reader& r, const json& image, const std::string& at, const char* key) {
  if (!image.contains(key)) return 0;
  const int64_t value = r.integer(image, at, key);
  if (value < 0 || value > std::numeric_limits<int>::max()) r.fail(Reader::join(at, key), "expected a size >= 0");
  return static_cast<int>(value);
}

Box read_bbox(const Reader& r, const json& annotation, const std::string& at) {
  const std::string bbox_at = Reader::join(at, "bbox");
  const json& bbox = r.field(annotation, at, "bbox");
  if (!bbox.is_array() || bbox.size() != kBboxValues) r.fail(bbox_at, "expected [x, y, width, height]");
  float v[kBboxValues];
  for (size_t k = 0; k < kBboxValues; ++k) {
    if (!bbox[k].is_number() || !std::isfinite(bbox[k].get<double>())) r.fail(bbox_at, "expected 4 numbers, found " + bbox.dump());
    v[k] = bbox[k].get<float>();
  }
  if (v[2] < 0 || v[3] < 0) r.fail(bbox_at, "negative width or height in " + bbox.dump());
  return {v[0], v[1], v[0] + v[2], v[1] + v[3]};
}

}  // namespace

CocoDataset read_coco(const std::string& path) {
  const json root = parse_file(path);
  const Reader r(path);
  CocoDataset dataset;
  const json& categories = r.array(root, "", "categories");
  for (size_t i = 0; i < categories.size(); ++i) {
    const std::string at = Reader::item("categories", i);
    dataset.categories[r.integer(categories[i], at, "id")] = r.text(categories[i], at, "name");
  }
  std::set<int64_t> image_ids;
  const json& images = r.array(root, "", "images");
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string at = Reader::item("images", i);
    CocoImage image{r.integer(images[i], at, "id"), r.text(images[i], at, "file_name"), 0, 0};
    image.width = image_size(r, images[i], at, "width");
    image.height = image_size(r, images[i], at, "height");
    if (!image_ids.insert(image.id).second) r.fail(Reader::join(at, "id"), "duplicate image id " + std::to_string(image.id));
    dataset.images.push_back(std::move(image));
  }
  const json& annotations = r.array(root, "", "annotations");
  for (size_t i = 0; i < annotations.size(); ++i) {
    const std::string at = Reader::item("annotations", i);
    CocoAnnotation a;
    a.image_id = r.integer(annotations[i], at, "image_id");
    if (!image_ids.count(a.image_id)) r.fail(Reader::join(at, "image_id"), "no image has id " + std::to_string(a.image_id));
    a.category_id = r.integer(annotations[i], at, "category_id");
    if (!dataset.categories.count(a.category_id)) {
      r.fail(Reader::join(at, "category_id"), "no category has id " + std::to_string(a.category_id));
    }
    a.box = read_bbox(r, annotations[i], at);
    if (annotations[i].contains("iscrowd")) a.iscrowd = r.integer(annotations[i], at, "iscrowd") != 0;
    dataset.annotations.push_back(a);
  }
  return dataset;
}

int64_t coco_face_category(const CocoDataset& dataset, const std::string& which, const std::string& path) {
  for (const auto& [id, name] : dataset.categories) {
    if (name == which || std::to_string(id) == which || (which.empty() && name == "face")) return id;
  }
  if (which.empty() && dataset.categories.size() == 1) return dataset.categories.begin()->first;
  std::string known;
  for (const auto& [id, name] : dataset.categories) known += (known.empty() ? "" : ", ") + std::to_string(id) + " '" + name + "'";
  throw std::runtime_error(path + ": no category " + (which.empty() ? "named 'face'" : "'" + which + "'") +
                           " (categories: " + (known.empty() ? "none" : known) + "); choose one with --category");
}

}  // namespace facekit
