// libFuzzer target: any bytes as a Pascal VOC XML annotation parse or throw runtime_error.
#include "datasets/formats/voc.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".xml", [](const std::string& path) { (void)facekit::read_voc_annotation(path); });
}
