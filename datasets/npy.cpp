#include "datasets/npy.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "datasets/atomic_file.h"

namespace facekit {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kHeaderAlignment = 64;  // NEP 1: data starts 64-byte aligned

}  // namespace

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::ostringstream dict;
  dict << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  int64_t count = 1;
  for (const int64_t dim : shape) {
    dict << dim << ", ";
    count *= dim;
  }
  dict << "), }";
  std::string header = dict.str();
  const size_t prefix = kMagicSize + 2 + 2;
  header.append(kHeaderAlignment - (prefix + header.size() + 1) % kHeaderAlignment, ' ');
  header += '\n';
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(kMagic, kMagicSize);
    out.put(1);
    out.put(0);
    const uint16_t length = static_cast<uint16_t>(header.size());
    out.write(reinterpret_cast<const char*>(&length), 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(float)));
  });
}

NpyArray read_npy(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open .npy file");
  const std::vector<char> bytes(std::istreambuf_iterator<char>(file), {});
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    throw std::runtime_error(path + ": not a .npy file (bad magic at byte 0)");
  }
  const int major = bytes[6];
  size_t header_length = 0, offset = 0;
  if (major == 1) {
    uint16_t length = 0;
    std::memcpy(&length, bytes.data() + 8, 2);
    header_length = length;
    offset = 10;
  } else {
    uint32_t length = 0;
    if (bytes.size() < 12) throw std::runtime_error(path + ": truncated .npy header");
    std::memcpy(&length, bytes.data() + 8, 4);
    header_length = length;
    offset = 12;
  }
  if (offset + header_length > bytes.size()) throw std::runtime_error(path + ": truncated .npy header");
  const std::string header(bytes.data() + offset, header_length);
  if (header.find("'descr': '<f4'") == std::string::npos) {
    throw std::runtime_error(path + ": only little-endian float32 ('<f4') arrays are supported");
  }
  if (header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(path + ": Fortran-order arrays are not supported");
  }
  std::smatch match;
  if (!std::regex_search(header, match, std::regex("'shape': \\(([^)]*)\\)"))) {
    throw std::runtime_error(path + ": no shape in the .npy header");
  }
  NpyArray array;
  std::stringstream dims(match[1].str());
  std::string dim;
  int64_t count = 1;
  const size_t available = (bytes.size() - offset - header_length) / sizeof(float);
  while (std::getline(dims, dim, ',')) {
    const auto first = dim.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    char* end = nullptr;
    const long long value = std::strtoll(dim.c_str() + first, &end, 10);
    if (end == dim.c_str() + first || (*end != '\0' && *end != ' ') || value < 0 ||
        (value > 0 && count > static_cast<int64_t>(available) / value + 1)) {
      throw std::runtime_error(path + ": bad dimension '" + dim + "' in the .npy shape");
    }
    array.shape.push_back(value);
    count *= value;
  }
  const size_t data_offset = offset + header_length;
  if (bytes.size() - data_offset != static_cast<size_t>(count) * sizeof(float)) {
    throw std::runtime_error(path + ": shape says " + std::to_string(count) + " floats, data has " +
                             std::to_string((bytes.size() - data_offset) / sizeof(float)));
  }
  array.data.resize(static_cast<size_t>(count));
  if (count > 0) std::memcpy(array.data.data(), bytes.data() + data_offset, bytes.size() - data_offset);
  return array;
}

}  // namespace facekit
