// libFuzzer target: any bytes as a .npy file read or throw runtime_error.
#include "datasets/npy.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".npy", [](const std::string& path) { (void)facekit::read_npy(path); });
}
