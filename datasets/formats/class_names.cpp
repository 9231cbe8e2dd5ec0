#include "datasets/formats/class_names.h"

#include <fstream>
#include <stdexcept>

namespace facekit {

std::vector<std::string> read_class_names(const std::string& path) {
  std::vector<std::string> names;
  if (path.empty()) return names;
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open names file");
  for (std::string line; std::getline(file, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names.push_back(line);
  }
  return names;
}

}  // namespace facekit
