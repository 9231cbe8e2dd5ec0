// NumPy .npy files (format 1.0), float32 C-order only: what `facekit darknet forward --dump`
// writes and `--input-npy` reads, so Python, the tests and other tools can compare tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace facekit {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
// Throws with the path and what is wrong (not .npy, not little-endian float32, Fortran order,
// size mismatch).
NpyArray read_npy(const std::string& path);

}  // namespace facekit
