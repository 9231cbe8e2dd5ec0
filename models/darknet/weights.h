// Darknet .weights files: a header, then every layer's float32 values in cfg order
// (src/parser.c load_weights_upto / save_weights). Values are kept as one flat array so that
// reading and writing back is byte-identical; DarknetNet slices it per layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/darknet/netdef.h"

namespace facekit::darknet {

struct WeightsHeader {
  int32_t major = 0, minor = 2, revision = 0;
  uint64_t seen = 0;  // images seen in training

  // Darknet reads `seen` as 64 bits from version 0.2 on, 32 bits before (and for the
  // transposed-flag versions), see load_weights_upto.
  bool seen_is_64bit() const {
    return (static_cast<int64_t>(major) * 10 + minor) >= 2 && major < 1000 && minor < 1000;  // no overflow
  }
  // major or minor > 1000 marks connected weights stored transposed (inputs x outputs).
  bool transposed() const { return major > 1000 || minor > 1000; }
  size_t size_bytes() const { return 12 + (seen_is_64bit() ? 8 : 4); }
};

struct DarknetWeights {
  WeightsHeader header;
  std::vector<float> values;
};

// Reads a whole file. Throws with the path and byte offset when it is too short for a header
// or its data is not a whole number of floats.
DarknetWeights read_weights(const std::string& path);
// Reads only the header (to choose a dialect before parsing the cfg).
WeightsHeader read_weights_header(const std::string& path);

// Checks that the file holds exactly what `net` needs; the message says how many floats were
// expected and found, and which layer runs out first.
void check_weights_fit(const DarknetWeights& weights, const NetDef& net, const std::string& path);
// The same check from the file's size alone, without reading the values.
void check_weights_file_fits(const std::string& path, const NetDef& net);

// Writes atomically (temporary file in the same folder, then rename).
void write_weights(const DarknetWeights& weights, const std::string& path);

}  // namespace facekit::darknet
