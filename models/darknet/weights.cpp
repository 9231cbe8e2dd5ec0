#include "models/darknet/weights.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "datasets/atomic_file.h"

namespace facekit::darknet {
namespace {

WeightsHeader parse_header(const std::vector<char>& bytes, const std::string& path) {
  WeightsHeader header;
  if (bytes.size() < 12) {
    throw std::runtime_error(path + ": " + std::to_string(bytes.size()) +
                             " bytes is too short for a Darknet weights header (at least 16)");
  }
  std::memcpy(&header.major, bytes.data(), 4);
  std::memcpy(&header.minor, bytes.data() + 4, 4);
  std::memcpy(&header.revision, bytes.data() + 8, 4);
  if (bytes.size() < header.size_bytes()) {
    throw std::runtime_error(path + ": header of version " + std::to_string(header.major) + "." +
                             std::to_string(header.minor) + " needs " +
                             std::to_string(header.size_bytes()) + " bytes, file has " +
                             std::to_string(bytes.size()));
  }
  if (header.seen_is_64bit()) {
    std::memcpy(&header.seen, bytes.data() + 12, 8);
  } else {
    uint32_t seen32 = 0;
    std::memcpy(&seen32, bytes.data() + 12, 4);
    header.seen = seen32;
  }
  return header;
}

}  // namespace

WeightsHeader read_weights_header(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open weights file");
  std::vector<char> bytes(20);
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(file.gcount()));
  return parse_header(bytes, path);
}

DarknetWeights read_weights(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) throw std::runtime_error(path + ": cannot open weights file");
  const auto file_size = static_cast<size_t>(file.tellg());
  file.seekg(0);
  std::vector<char> head(std::min<size_t>(file_size, 20));
  file.read(head.data(), static_cast<std::streamsize>(head.size()));
  DarknetWeights weights;
  weights.header = parse_header(head, path);
  const size_t offset = weights.header.size_bytes();
  const size_t data_bytes = file_size - offset;
  if (data_bytes % sizeof(float) != 0) {
    throw std::runtime_error(path + ": " + std::to_string(data_bytes) + " data bytes after the " +
                             std::to_string(offset) + "-byte header is not a whole number of floats");
  }
  // Straight into the float array: a yolov3.weights is 248 MB.
  weights.values.resize(data_bytes / sizeof(float));
  file.seekg(static_cast<std::streamoff>(offset));
  if (!file.read(reinterpret_cast<char*>(weights.values.data()), static_cast<std::streamsize>(data_bytes))) {
    throw std::runtime_error(path + ": read failed at byte " + std::to_string(offset));
  }
  return weights;
}

namespace {

void check_weight_count(long long found, const NetDef& net, const std::string& path) {
  const long long expected = net.num_weight_floats();
  if (expected == found) return;
  std::string detail;
  if (found < expected) {
    long long consumed = 0;
    for (const auto& layer : net.layers) {
      consumed += layer.num_weight_floats();
      if (consumed > found) {
        detail = "; it ends inside layer " + std::to_string(layer.index) + " (" + layer.where + ")";
        break;
      }
    }
  }
  throw std::runtime_error(path + ": " + net.cfg_path + " needs " + std::to_string(expected) +
                           " floats, the file has " + std::to_string(found) + " (" +
                           (found < expected ? "short by " : "too long by ") +
                           std::to_string(std::llabs(expected - found)) + ")" + detail);
}

}  // namespace

void check_weights_fit(const DarknetWeights& weights, const NetDef& net, const std::string& path) {
  check_weight_count(static_cast<long long>(weights.values.size()), net, path);
}

void check_weights_file_fits(const std::string& path, const NetDef& net) {
  const WeightsHeader header = read_weights_header(path);
  const auto data_bytes = static_cast<long long>(std::filesystem::file_size(path) - header.size_bytes());
  check_weight_count(data_bytes / static_cast<long long>(sizeof(float)), net, path);
}

void write_weights(const DarknetWeights& weights, const std::string& path) {
  write_file_atomically(path, [&](std::ostream& out) {
    const WeightsHeader& h = weights.header;
    out.write(reinterpret_cast<const char*>(&h.major), 4);
    out.write(reinterpret_cast<const char*>(&h.minor), 4);
    out.write(reinterpret_cast<const char*>(&h.revision), 4);
    if (h.seen_is_64bit()) {
      out.write(reinterpret_cast<const char*>(&h.seen), 8);
    } else {
      const uint32_t seen32 = static_cast<uint32_t>(h.seen);
      out.write(reinterpret_cast<const char*>(&seen32), 4);
    }
    out.write(reinterpret_cast<const char*>(weights.values.data()),
              static_cast<std::streamsize>(weights.values.size() * sizeof(float)));
  });
}

}  // namespace facekit::darknet
