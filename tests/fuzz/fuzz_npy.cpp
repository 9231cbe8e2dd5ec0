// libFuzzer target: any bytes as a .npy file read or throw runtime_error.
#include <cstdio>
#include <stdexcept>

#include "datasets/npy.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_input_file(data, size, ".npy");
  try {
    (void)facekit::read_npy(path);
  } catch (const std::runtime_error&) {
  }
  std::remove(path.c_str());
  return 0;
}
