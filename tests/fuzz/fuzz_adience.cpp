// libFuzzer target: any bytes as an Adience fold_N_data.txt load or throw runtime_error.
#include "datasets/formats/face_labels.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".txt", [](const std::string& path) {
    (void)facekit::read_adience_fold(path, "/tmp", facekit::adience_intervals());
  });
}
