#include "datasets/formats/darknet_labels.h"

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
    DarknetLabel label;
    if (!(fields >> label.class_id >> label.cx >> label.cy >> label.w >> label.h) || label.class_id < 0) {
      throw std::runtime_error(label_path + ":" + std::to_string(number) +
                               ": expected 'class cx cy w h' (class >= 0, box normalised), found '" + line + "'");
    }
    labels.push_back(label);
  }
  return labels;
}

}  // namespace facekit
