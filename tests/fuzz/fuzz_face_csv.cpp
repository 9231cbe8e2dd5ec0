// libFuzzer target: any bytes as a face CSV (All-Age-Faces' faces.csv, the generic loader) load or
// throw runtime_error.
#include "datasets/formats/face_labels.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".csv", [](const std::string& path) {
    (void)facekit::read_face_csv(path, "/tmp", facekit::adience_intervals());
  });
}
