// WIDER FACE ground truth: the real file parses to its published counts; errors say where.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "datasets/formats/wider.h"
#include "tests/test_util.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

std::string write_temp(const std::string& text) {
  const auto path = (fs::temp_directory_path() / ("facekit_wider_" + std::to_string(::getpid()) + ".txt")).string();
  std::ofstream(path) << text;
  return path;
}

TEST(Wider, ImagesWithoutFacesHaveAPlaceholderLine) {
  const std::string path = write_temp("a/1.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n5 6 7 8 2 1 1 1 2 3\nb/2.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n");
  const auto images = read_wider_ground_truth(path);
  ASSERT_EQ(images.size(), 2u);
  ASSERT_EQ(images[0].faces.size(), 2u);
  EXPECT_TRUE(images[0].faces[1].invalid);
  EXPECT_EQ(images[0].faces[1].pose, 3);
  EXPECT_TRUE(images[1].faces.empty());
  fs::remove(path);
}

TEST(Wider, MalformedLinesNameFileAndLine) {
  const std::string path = write_temp("a/1.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n5 6 seven\n");
  try {
    read_wider_ground_truth(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":4"), std::string::npos) << e.what();
  }
  const std::string truncated = write_temp("a/1.jpg\n3\n1 2 3 4 0 0 0 0 0 0\n");
  EXPECT_THROW(read_wider_ground_truth(truncated), std::runtime_error);
  fs::remove(path);
}

TEST(Wider, SharedSubsetHasItsPublishedCounts) {
  const fs::path gt = fs::path(FACEKIT_SHARED_DIR) / "data" / "wider-val-dev" / "wider_face_val_bbx_gt_416.txt";
  FACEKIT_REQUIRE_PATH(gt);
  const auto images = read_wider_ground_truth(gt.string());
  size_t faces = 0, valid = 0;
  for (const auto& image : images) {
    faces += image.faces.size();
    for (const auto& f : image.faces) valid += !f.invalid;
  }
  EXPECT_EQ(images.size(), 115u);
  EXPECT_EQ(faces, 2536u);
  EXPECT_EQ(valid, 2500u);
}

}  // namespace
}  // namespace facekit
