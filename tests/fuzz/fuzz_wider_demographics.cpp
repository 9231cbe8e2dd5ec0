// libFuzzer target: any bytes as WIDER perceived-demographics CSV parse or throw runtime_error.
#include "datasets/formats/wider_demographics.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".csv", [](const std::string& path) { (void)facekit::read_wider_demographics(path); });
}
