// Detection training data: lists mixing Darknet labels and VOC XML (the real face-mask and
// All-Age-Faces sets), the .data file, and Darknet-style augmentation that moves boxes with the
// pixels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/detection_loader.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(FACEKIT_SHARED_DIR) / "data";

fs::path temp_dir() {
  const fs::path dir = fs::temp_directory_path() /
                       ("facekit_det_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
                        std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

#define REQUIRE_DATA(path)                                                                 \
  do {                                                                                     \
    if (!fs::exists(path)) {                                                               \
      const char* ci = std::getenv("CI");                                                  \
      if (ci && std::string(ci) == "true") FAIL() << "missing test data: " << (path);      \
      GTEST_SKIP() << "missing test data: " << (path);                                     \
    }                                                                                      \
  } while (0)

TEST(DetectionData, MixedListOfFaceMaskXmlAndAllAgeFacesImages) {
  REQUIRE_DATA(kData / "facemask/annotations");
  REQUIRE_DATA(kData / "aaf-train/images.txt");
  const fs::path dir = temp_dir();
  std::ofstream list(dir / "train.txt");
  int xml_files = 0;
  std::vector<fs::path> xmls;
  for (const auto& e : fs::directory_iterator(kData / "facemask/annotations")) xmls.push_back(e.path());
  std::sort(xmls.begin(), xmls.end());
  for (const auto& x : xmls) list << x.string() << "\n", ++xml_files;
  list << (kData / "aaf-train/images/00000A02.jpg").string() << "\n";
  list.close();
  std::ofstream(dir / "faces.map") << "# all three mask classes are faces\ncon_mascarilla 0\nsin_mascarilla 0\nmascarilla_mal_puesta 0\n";
  std::ofstream(dir / "face.data") << "classes = 1\ntrain = train.txt\nvalid = train.txt\nclass_map = faces.map\nbackup = backup/\n";
  const DataFile data = read_data_file((dir / "face.data").string());
  EXPECT_EQ(data.classes, 1);
  EXPECT_EQ(data.train, (dir / "train.txt").string());
  const auto samples = read_detection_list(data.train, read_class_index_map(data.class_map));
  ASSERT_EQ(samples.size(), 854u);
  EXPECT_EQ(xml_files, 853);
  size_t boxes = 0;
  for (size_t i = 0; i + 1 < samples.size(); ++i) {
    boxes += samples[i].boxes.size();
    ASSERT_TRUE(fs::exists(samples[i].image)) << samples[i].image;
  }
  EXPECT_EQ(boxes, 4072u);  // data/README: every face-mask box survives clipping
  ASSERT_EQ(samples.back().boxes.size(), 1u);  // the All-Age-Faces image: its darknet label
  EXPECT_NEAR(samples.back().boxes[0].w, 164.2f / 300, 0.05f);
  std::ofstream(dir / "bad.map") << "con_mascarilla 0\n";
  try {
    read_detection_list(data.train, read_class_index_map((dir / "bad.map").string()));
    ADD_FAILURE() << "an unmapped class must be an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not in the class map"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// A white box on black: wherever the augmentation puts it, the moved label still frames it.
TEST(DetectionAugment, BoxesMoveWithThePixels) {
  cv::Mat image(300, 400, CV_8UC3, cv::Scalar::all(0));
  cv::rectangle(image, cv::Rect(100, 60, 80, 120), cv::Scalar::all(255), cv::FILLED);
  const std::vector<LabelledBox> boxes = {{140 / 400.f, 120 / 300.f, 80 / 400.f, 120 / 300.f, 0}};
  DetectionAugmentOptions options;
  options.jitter = 0.3f;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937 rng(seed);
    std::vector<LabelledBox> moved;
    const auto input = augmented_detection_input(image, boxes, 160, 128, options, &rng, &moved);
    ASSERT_EQ(input.size(), 3u * 160 * 128);
    ASSERT_EQ(moved.size(), 1u);
    const auto& b = moved[0];
    // Inside the box (2 px in from each side) the pixels are white; 3 px outside they are not.
    const int x1 = static_cast<int>((b.x - b.w / 2) * 160), x2 = static_cast<int>((b.x + b.w / 2) * 160);
    const int y1 = static_cast<int>((b.y - b.h / 2) * 128), y2 = static_cast<int>((b.y + b.h / 2) * 128);
    const auto red = [&](int x, int y) { return input[static_cast<size_t>(y) * 160 + x]; };
    EXPECT_GT(red((x1 + x2) / 2, y1 + 2), 0.9f) << "seed " << seed;
    EXPECT_GT(red(x1 + 2, (y1 + y2) / 2), 0.9f) << "seed " << seed;
    EXPECT_GT(red(x2 - 2, y2 - 2), 0.9f) << "seed " << seed;
    if (x1 > 3) {
      EXPECT_LT(red(x1 - 3, (y1 + y2) / 2), 0.6f) << "seed " << seed;
    }
    if (y2 < 125) {
      EXPECT_LT(red((x1 + x2) / 2, y2 + 3), 0.6f) << "seed " << seed;
    }
  }
}

TEST(DetectionLoader, SameSeedSameBatchesWhateverTheThreads) {
  const fs::path dir = temp_dir();
  std::vector<DetectionSample> samples;
  cv::RNG rng(3);
  for (int i = 0; i < 6; ++i) {
    cv::Mat image(90 + 10 * i, 120, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 255);
    const std::string path = (dir / (std::to_string(i) + ".png")).string();
    cv::imwrite(path, image);
    samples.push_back({path, {{0.5f, 0.5f, 0.2f, 0.3f, i % 2}}});
  }
  DetectionLoaderOptions o;
  o.batch_size = 3;
  o.width = o.height = 64;
  o.seed = 9;
  o.augment_options.hue = 0.1f;
  o.augment_options.saturation = o.augment_options.exposure = 1.5f;
  auto run = [&](int threads) {
    o.threads = threads;
    DetectionLoader loader(samples, o);
    loader.start_epoch(2);
    std::vector<DetectionBatch> batches;
    DetectionBatch b;
    while (loader.next(&b)) batches.push_back(b);
    return batches;
  };
  const auto one = run(1), three = run(3);
  ASSERT_EQ(one.size(), 2u);
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].pixels, three[i].pixels);
    ASSERT_EQ(one[i].boxes.size(), three[i].boxes.size());
    for (size_t k = 0; k < one[i].boxes.size(); ++k) EXPECT_EQ(one[i].boxes[k].size(), three[i].boxes[k].size());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace facekit
