// The classifier's batch loader: same seed, same batches whatever the thread count; ranks split an
// epoch; unreadable images are left out and named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "datasets/face_loader.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

class FaceLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("facekit_loader_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    cv::RNG rng(7);
    for (int i = 0; i < 10; ++i) {
      cv::Mat image(60 + i, 50, CV_8UC3);
      rng.fill(image, cv::RNG::UNIFORM, 0, 255);
      const std::string path = (dir_ / (std::to_string(i) + ".png")).string();
      cv::imwrite(path, image);
      FaceSample sample;
      sample.image = path;
      sample.gender = i % 2;
      if (i % 3 == 0) sample.face = Box{5, 5, 30, 40};
      samples_.push_back(sample);
    }
    std::ofstream(dir_ / "broken.jpg") << "not a jpeg";
    samples_.push_back({(dir_ / "broken.jpg").string(), 30, 4, kMale, {}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  FaceLoaderOptions options(int threads) const {
    FaceLoaderOptions o;
    o.batch_size = 4;
    o.threads = threads;
    o.augment = true;
    o.seed = 42;
    o.crop.size = 32;
    return o;
  }

  static std::vector<FaceBatch> epoch(FaceLoader* loader, int number) {
    loader->start_epoch(number);
    std::vector<FaceBatch> batches;
    FaceBatch batch;
    while (loader->next(&batch)) batches.push_back(batch);
    return batches;
  }

  fs::path dir_;
  std::vector<FaceSample> samples_;
};

TEST_F(FaceLoaderTest, SameSeedSameBatchesWhateverTheThreads) {
  FaceLoader one(samples_, options(1)), three(samples_, options(3));
  const auto a = epoch(&one, 1), b = epoch(&three, 1);
  ASSERT_EQ(a.size(), 3u);  // 11 samples in batches of 4
  ASSERT_EQ(a.size(), b.size());
  int unreadable = 0, seen = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].pixels, b[i].pixels);
    EXPECT_EQ(a[i].samples, b[i].samples);
    EXPECT_EQ(a[i].pixels.size(), a[i].samples.size() * 3 * 32 * 32);
    unreadable += static_cast<int>(a[i].unreadable.size());
    seen += a[i].size();
  }
  EXPECT_EQ(unreadable, 1);
  EXPECT_EQ(seen, 10);
  // Another epoch is another order and other augmentations.
  const auto c = epoch(&one, 2);
  EXPECT_NE(a[0].pixels, c[0].pixels);
}

TEST_F(FaceLoaderTest, RanksShareAnEpochLikeDistributedSampler) {
  std::multiset<const FaceSample*> covered;
  for (int rank = 0; rank < 2; ++rank) {
    auto o = options(2);
    o.rank = rank;
    o.world_size = 2;
    FaceLoader loader(samples_, o);
    loader.start_epoch(0);
    EXPECT_EQ(loader.samples_per_epoch(), 6);  // 11 padded to 12
    for (const auto& batch : epoch(&loader, 0)) covered.insert(batch.samples.begin(), batch.samples.end());
  }
  std::set<const FaceSample*> distinct(covered.begin(), covered.end());
  EXPECT_EQ(distinct.size(), 10u);  // every readable sample, one of them twice (padding) at most
  EXPECT_LE(covered.size(), 11u);
}

TEST_F(FaceLoaderTest, EvaluationInputIsTheSharedFaceCrop) {
  auto o = options(2);
  o.augment = false;
  o.shuffle = false;
  FaceLoader loader(samples_, o);
  const auto batches = epoch(&loader, 0);
  const cv::Mat bgr = cv::imread(samples_[0].image);
  std::vector<float> expected;
  append_normalised_chw(face_crop(bgr, *samples_[0].face, o.crop), o.normalisation, &expected);
  ASSERT_EQ(batches[0].samples[0], &samples_[0]);
  EXPECT_EQ(std::vector<float>(batches[0].pixels.begin(), batches[0].pixels.begin() + expected.size()), expected);
}

}  // namespace
}  // namespace facekit
