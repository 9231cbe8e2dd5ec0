// libFuzzer target: any bytes as a Darknet label file parse or throw runtime_error.
#include <cstdio>
#include <stdexcept>

#include "datasets/formats/darknet_labels.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_input_file(data, size, ".txt");
  try {
    (void)facekit::read_darknet_labels(path);
  } catch (const std::runtime_error&) {
  }
  std::remove(path.c_str());
  return 0;
}
