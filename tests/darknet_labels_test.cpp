// Darknet detection lists and label files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "datasets/formats/darknet_labels.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

TEST(DarknetLabels, LabelPathFollowsDarknet) {
  EXPECT_EQ(darknet_label_path("data/images/a.jpg"), "data/labels/a.txt");
  EXPECT_EQ(darknet_label_path("/voc/VOC2007/JPEGImages/0001.jpeg"), "/voc/VOC2007/labels/0001.txt");
  EXPECT_EQ(darknet_label_path("flat/b.png"), "flat/b.txt");
}

TEST(DarknetLabels, LinesParseAndErrorsSayWhere) {
  const fs::path dir = fs::temp_directory_path() / ("facekit_labels_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "good.txt") << "0 0.5 0.5 0.25 0.5\r\n\n1 0.1 0.2 0.3 0.4\n";
  const auto labels = read_darknet_labels((dir / "good.txt").string());
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[1].class_id, 1);
  EXPECT_FLOAT_EQ(labels[0].h, 0.5f);
  EXPECT_TRUE(read_darknet_labels((dir / "missing.txt").string()).empty());  // no file: no boxes
  std::ofstream(dir / "odd.txt") << "0 nan 0.5 inf 0.5\n";  // numbers to Darknet's fscanf: the trainer drops them
  const auto odd = read_darknet_labels((dir / "odd.txt").string());
  ASSERT_EQ(odd.size(), 1u);
  EXPECT_TRUE(std::isnan(odd[0].cx));
  EXPECT_TRUE(std::isinf(odd[0].w));
  for (const char* line : {"-1 0.5 0.5 0.1 0.1", "1.0 0.5 0.5 0.1 0.1", "0 0.5 0.5 0.1 0.1x"}) {
    std::ofstream(dir / "malformed.txt") << line << "\n";
    EXPECT_THROW(read_darknet_labels((dir / "malformed.txt").string()), std::runtime_error) << line;
  }
  std::ofstream(dir / "bad.txt") << "0 0.5 0.5 0.25 0.5\n0 0.5 nope\n";
  try {
    read_darknet_labels((dir / "bad.txt").string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.txt:2"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "list.txt") << "images/x.jpg\n\n/abs/y.jpg\n";
  const auto images = read_image_list((dir / "list.txt").string());
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0], (dir / "images/x.jpg").string());
  EXPECT_EQ(images[1], "/abs/y.jpg");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace facekit
