#include "datasets/formats/wider.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace facekit {
namespace {

constexpr int kFaceFields = 10;

std::string trimmed(std::string line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

std::vector<WiderImage> read_wider_ground_truth(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open WIDER ground truth");
  std::vector<WiderImage> images;
  std::string line;
  int number = 0;
  const auto where = [&] { return path + ":" + std::to_string(number) + ": "; };
  const auto next = [&](const char* what) {
    if (!std::getline(file, line)) throw std::runtime_error(where() + "file ends where " + what + " was expected");
    ++number;
    line = trimmed(line);
  };
  while (std::getline(file, line)) {
    ++number;
    line = trimmed(line);
    if (line.empty()) continue;
    WiderImage image{line, {}};
    next("a face count");
    int count = -1;
    try {
      size_t used = 0;
      count = std::stoi(line, &used);
      if (used != line.size() || count < 0) throw std::invalid_argument(line);
    } catch (const std::exception&) {
      throw std::runtime_error(where() + "expected the face count of " + image.path + ", found '" + line + "'");
    }
    for (int i = 0; i < std::max(count, 1); ++i) {
      next("a face line");
      if (count == 0) break;  // the placeholder line of an image without faces
      std::istringstream fields(line);
      WiderFace f;
      int invalid = 0;
      if (!(fields >> f.x >> f.y >> f.w >> f.h >> f.blur >> f.expression >> f.illumination >> invalid >> f.occlusion >> f.pose)) {
        throw std::runtime_error(where() + "expected " + std::to_string(kFaceFields) +
                                 " numbers (x y w h blur expression illumination invalid occlusion pose), found '" +
                                 line + "'");
      }
      f.invalid = invalid != 0;
      image.faces.push_back(f);
    }
    images.push_back(std::move(image));
  }
  return images;
}

std::string wider_image_path(const std::string& images_dir, const std::string& listed) {
  namespace fs = std::filesystem;
  const fs::path nested = fs::path(images_dir) / listed;
  if (fs::exists(nested)) return nested.string();
  return (fs::path(images_dir) / fs::path(listed).filename()).string();
}

}  // namespace facekit
