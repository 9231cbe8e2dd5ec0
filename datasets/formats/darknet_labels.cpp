#include "datasets/formats/darknet_labels.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace facekit {
namespace {

namespace fs = std::filesystem;

void replace_all(std::string* text, const std::string& from, const std::string& to) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// Like Darknet's fscanf("%d %f %f %f %f"): "nan" and "inf" are numbers here, which the trainer then
// drops and counts (label_audit.h); anything that is not a number is malformed.
bool parse_float(const std::string& text, float* value) {
  char* end = nullptr;
  *value = std::strtof(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

bool parse_class(const std::string& text, int* value) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  *value = std::stoi(text);
  return true;
}

}  // namespace

std::vector<std::string> read_image_list(const std::string& list_path) {
  std::ifstream file(list_path);
  if (!file) throw std::runtime_error(list_path + ": cannot open image list");
  const fs::path folder = fs::path(list_path).parent_path();
  std::vector<std::string> images;
  for (std::string line; std::getline(file, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    images.push_back(fs::path(line).is_relative() && !fs::exists(line) ? (folder / line).string() : line);
  }
  return images;
}

std::string darknet_label_path(const std::string& image_path) {
  std::string path = image_path;
  replace_all(&path, "/images/", "/labels/");
  replace_all(&path, "/JPEGImages/", "/labels/");
  return fs::path(path).replace_extension(".txt").string();
}

std::vector<DarknetLabel> read_darknet_labels(const std::string& label_path) {
  std::vector<DarknetLabel> labels;
  std::ifstream file(label_path);
  if (!file) return labels;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string class_text, values[4];
    DarknetLabel label;
    float* coordinates[4] = {&label.cx, &label.cy, &label.w, &label.h};
    bool ok = static_cast<bool>(fields >> class_text >> values[0] >> values[1] >> values[2] >> values[3]) &&
              parse_class(class_text, &label.class_id);
    for (int i = 0; ok && i < 4; ++i) ok = parse_float(values[i], coordinates[i]);
    if (!ok) {
      throw std::runtime_error(label_path + ":" + std::to_string(number) +
                               ": expected 'class cx cy w h' (class >= 0, box normalised), found '" + line + "'");
    }
    labels.push_back(label);
  }
  return labels;
}

}  // namespace facekit
