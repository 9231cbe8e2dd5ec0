// libFuzzer target: any bytes as a UTKFace split file (one file name a line, the labels in the
// names) load, skip malformed names with a reason, or throw runtime_error.
#include "datasets/formats/face_labels.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".txt", [](const std::string& path) {
    (void)facekit::read_utkface("/tmp", path, facekit::adience_intervals());
  });
}
