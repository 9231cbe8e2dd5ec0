// Every input a fuzzer ever crashed on (tests/fuzz/corpus/*/regression-*) goes through the same
// reader here: it must give a clear runtime_error (or a result), nothing worse.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "datasets/formats/coco.h"
#include "datasets/formats/wider.h"
#include "datasets/npy.h"
#include "models/darknet/weights.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

void expect_clean_failure_or_success(const std::string& folder, const std::function<void(const std::string&)>& read) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(FACEKIT_FUZZ_CORPUS) / folder)) {
    if (entry.path().filename().string().rfind("regression-", 0) != 0) continue;
    try {
      read(entry.path().string());
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(entry.path().string()), std::string::npos) << e.what();
    }
    ++checked;
  }
  EXPECT_GT(checked, 0) << folder;
}

TEST(FuzzRegressions, WeightsHeaderWithAHugeVersion) {
  expect_clean_failure_or_success("weights", [](const std::string& path) {
    const auto w = darknet::read_weights(path);
    (void)w.header.seen_is_64bit();
  });
}

TEST(FuzzRegressions, CocoWithANumberThatOverflows) {
  expect_clean_failure_or_success("coco", [](const std::string& path) { (void)read_coco(path); });
}

TEST(FuzzRegressions, NpyWithBadOrEmptyShapes) {
  expect_clean_failure_or_success("npy", [](const std::string& path) { (void)read_npy(path); });
}

}  // namespace
}  // namespace facekit
