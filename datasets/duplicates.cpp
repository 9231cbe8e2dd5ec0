#include "datasets/duplicates.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace facekit {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> file_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(file), {});
}

}  // namespace

std::vector<bool> repeated_files(const std::vector<std::string>& paths, const std::vector<std::string>& tags) {
  std::vector<bool> repeated(paths.size(), false);
  const auto tag = [&](size_t i) { return tags.empty() ? std::string() : tags[i]; };
  // Pass 1, names: the same normalised absolute path twice.
  std::set<std::pair<std::string, std::string>> names;
  std::map<std::uintmax_t, std::vector<size_t>> by_size;  // first occurrences that exist, by size
  for (size_t i = 0; i < paths.size(); ++i) {
    std::error_code error;
    const std::string name = fs::absolute(paths[i], error).lexically_normal().string();
    if (!names.insert({name, tag(i)}).second) {
      repeated[i] = true;
      continue;
    }
    const std::uintmax_t size = fs::file_size(paths[i], error);
    if (!error) by_size[size].push_back(i);
  }
  // Pass 2, contents: only files that share a size can be copies of each other. Hashes keep one
  // number per file in memory (a folder of equal-size BMPs stays cheap); equal hashes are confirmed
  // byte by byte.
  for (const auto& [size, group] : by_size) {
    if (group.size() < 2) continue;
    std::map<std::pair<size_t, std::string>, std::vector<size_t>> seen;  // (hash, tag) -> distinct files
    for (const size_t i : group) {
      const auto bytes = file_bytes(paths[i]);
      if (!bytes) continue;
      auto& candidates = seen[{std::hash<std::string>()(*bytes), tag(i)}];
      for (const size_t earlier : candidates) {
        if (file_bytes(paths[earlier]) == bytes) repeated[i] = true;
      }
      if (!repeated[i]) candidates.push_back(i);
    }
  }
  return repeated;
}

}  // namespace facekit
