// libFuzzer target: any bytes as COCO detection json parse, and pick a face category, or throw
// runtime_error.
#include "datasets/formats/coco.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".json", [](const std::string& path) {
    const auto dataset = facekit::read_coco(path);
    (void)facekit::coco_face_category(dataset, "", path);
  });
}
