// Age intervals, the face-dataset loaders (on hand-written files and the real UTKFace and
// All-Age-Faces sets) and the shared face crop.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgproc.hpp>

#include "datasets/formats/face_labels.h"
#include "datasets/preprocess.h"
#include "tests/test_util.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

const fs::path kShared = FACEKIT_SHARED_DIR;

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(AgeIntervals, NearestIntervalTiesGoToTheLower) {
  const auto adience = adience_intervals();
  EXPECT_EQ(nearest_age_interval(adience, 0), 0);
  EXPECT_EQ(nearest_age_interval(adience, 2.5f), 0);  // .5 from (0, 2), 1.5 from (4, 6)
  EXPECT_EQ(nearest_age_interval(adience, 3), 0);     // 1 from both: the lower
  EXPECT_EQ(nearest_age_interval(adience, 13), 2);    // 1 from (8, 12), 2 from (15, 20)
  EXPECT_EQ(nearest_age_interval(adience, 14), 3);
  EXPECT_EQ(nearest_age_interval(adience, 22), 3);    // 2 from (15, 20), 3 from (25, 32)
  EXPECT_EQ(nearest_age_interval(adience, 35), 4);    // 3 from both
  EXPECT_EQ(nearest_age_interval(adience, 36), 5);
  EXPECT_EQ(nearest_age_interval(adience, 116), 7);
  EXPECT_EQ(adience[4].label(), "(25, 32)");
}

TEST(AgeIntervals, ParseBothFormsAndRefuseNonsense) {
  const auto parsed = parse_age_intervals("(0, 2) (4, 6) (8, 12) (15, 20) (25, 32) (38, 43) (48, 53) (60, 100)");
  ASSERT_EQ(parsed.size(), 8u);
  EXPECT_EQ(format_age_intervals(parsed), format_age_intervals(adience_intervals()));
  const auto dashed = parse_age_intervals("0-9,10-19, 20-120");
  ASSERT_EQ(dashed.size(), 3u);
  EXPECT_EQ(dashed[2].high, 120);
  EXPECT_NE(error_of([] { parse_age_intervals("(0, 5) (3, 8)"); }).find("overlaps"), std::string::npos);
  EXPECT_NE(error_of([] { parse_age_intervals("(9, 5)"); }).find("lower end"), std::string::npos);
  EXPECT_NE(error_of([] { parse_age_intervals("0-2, teens"); }).find("teens"), std::string::npos);
  EXPECT_NE(error_of([] { parse_age_intervals(""); }).find("none"), std::string::npos);
}

TEST(FaceLabels, UtkfaceSplitsSkipMalformedNamesAndCountThem) {
  const fs::path root = kShared / "data/utkface";
  FACEKIT_REQUIRE_PATH(root / "splits/train.txt");
  size_t total = 0, skipped = 0;
  for (const char* split : {"train", "val", "test"}) {
    const auto set = read_utkface((root / "images").string(), (root / "splits" / (std::string(split) + ".txt")).string(),
                                  adience_intervals());
    total += set.samples.size() + set.skipped.size();
    skipped += set.skipped.size();
    for (const auto& s : set.samples) {
      ASSERT_TRUE(s.gender == kMale || s.gender == kFemale) << s.image;
      ASSERT_GE(s.age, 1) << s.image;
      ASSERT_EQ(s.age_interval, nearest_age_interval(adience_intervals(), s.age));
      ASSERT_FALSE(s.face.has_value());
    }
  }
  EXPECT_EQ(total, 23707u);  // data/README: 19,022 + 2,365 + 2,320
  EXPECT_EQ(skipped, 5u);    // names with a missing field, a space or a missing dot
}

TEST(FaceLabels, UtkfaceNameFields) {
  const test::TempDir temp;
  const fs::path& dir = temp.path();
  for (const char* name : {"26_1_3_20170104235421282.jpg", "1_0_0_20161219140623097.jpg.chip.jpg", "61_1_2017.jpg",
                           "notes.txt"}) {
    std::ofstream(dir / name) << "x";
  }
  const auto set = read_utkface(dir.string(), "", adience_intervals());
  ASSERT_EQ(set.samples.size(), 2u);
  ASSERT_EQ(set.skipped.size(), 1u);  // .txt files are not listed at all
  EXPECT_EQ(set.samples[0].age, 1);
  EXPECT_EQ(set.samples[0].gender, kMale);
  EXPECT_EQ(set.samples[1].age, 26);
  EXPECT_EQ(set.samples[1].gender, kFemale);
  EXPECT_EQ(set.samples[1].age_interval, 4);
  fs::remove_all(dir);
}

TEST(FaceLabels, AllAgeFacesCsvHasEveryFaceWithABox) {
  const fs::path csv = kShared / "data/aaf-train/faces.csv";
  FACEKIT_REQUIRE_PATH(csv);
  const auto set = read_face_csv(csv.string(), "", adience_intervals());
  ASSERT_EQ(set.samples.size(), 5000u);
  EXPECT_TRUE(set.skipped.empty());
  const auto& first = set.samples[0];  // 00000A02.jpg,2,F,46.2,117.4,164.2,198.1
  EXPECT_EQ(fs::path(first.image).filename(), "00000A02.jpg");
  EXPECT_TRUE(fs::exists(first.image)) << "images/ beside the csv is found: " << first.image;
  EXPECT_EQ(first.gender, kFemale);
  EXPECT_EQ(first.age, 2);
  ASSERT_TRUE(first.face.has_value());
  EXPECT_FLOAT_EQ(first.face->x2, 46.2f + 164.2f);
  for (const auto& s : set.samples) {
    ASSERT_TRUE(s.face.has_value());
    ASSERT_GE(s.age, 2);
    ASSERT_LE(s.age, 80);
  }
}

TEST(FaceLabels, CsvErrorsNameFileAndLine) {
  const test::TempDir temp;
  const fs::path& dir = temp.path();
  std::ofstream(dir / "ok.csv") << "image,age,gender\na.jpg,30,Male\r\nb.jpg,,f\nc.jpg,7,u\n";
  const auto set = read_face_csv((dir / "ok.csv").string(), "", adience_intervals());
  ASSERT_EQ(set.samples.size(), 3u);
  EXPECT_EQ(set.samples[1].age, kUnknown);
  EXPECT_EQ(set.samples[1].age_interval, kUnknown);
  EXPECT_EQ(set.samples[2].gender, kUnknown);
  const std::string bad = (dir / "bad.csv").string();
  std::ofstream(bad) << "a.jpg,30,M\nb.jpg,thirty,M\n";
  EXPECT_NE(error_of([&] { read_face_csv(bad, "", adience_intervals()); }).find(bad + ":2: cannot read 'thirty' (not a number)"), std::string::npos);
  std::ofstream(bad) << "a.jpg,30,X\n";
  EXPECT_NE(error_of([&] { read_face_csv(bad, "", adience_intervals()); }).find(bad + ":1: cannot read gender 'X'"), std::string::npos);
  std::ofstream(bad) << "a.jpg,30,M,1,2,3\n";
  EXPECT_NE(error_of([&] { read_face_csv(bad, "", adience_intervals()); }).find("found 6 fields"), std::string::npos);
  std::ofstream(bad) << "a.jpg,30,M,1,2,0,5\n";
  EXPECT_NE(error_of([&] { read_face_csv(bad, "", adience_intervals()); }).find("no area"), std::string::npos);
  std::ofstream(bad) << "a.jpg,1e99,M\n";
  EXPECT_NE(error_of([&] { read_face_csv(bad, "", adience_intervals()); }).find(bad + ":1:"), std::string::npos);
  fs::remove_all(dir);
}

TEST(FaceLabels, AdienceFoldIntervalsExactAgesAndUnknowns) {
  const test::TempDir temp;
  const fs::path& dir = temp.path();
  fs::create_directories(dir / "aligned");
  std::ofstream(dir / "fold_0_data.txt")
      << "user_id\toriginal_image\tface_id\tage\tgender\tx\ty\tdx\tdy\ttilt_ang\tfiducial_yaw_angle\tfiducial_score\n"
      << "u1\t10.jpg\t5\t(25, 32)\tm\t1\t2\t3\t4\t0\t0\t50\n"
      << "u1\t11.jpg\t6\t(8, 23)\tf\t1\t2\t3\t4\t0\t0\t50\n"
      << "u2\t12.jpg\t7\t35\tu\t1\t2\t3\t4\t0\t0\t50\n"
      << "u2\t13.jpg\t8\tNone\tf\t1\t2\t3\t4\t0\t0\t50\n"
      << "u2\t14.jpg\t9\tNone\tu\t1\t2\t3\t4\t0\t0\t50\n";
  const auto set = read_adience_fold((dir / "fold_0_data.txt").string(), "", adience_intervals());
  ASSERT_EQ(set.samples.size(), 4u);
  ASSERT_EQ(set.skipped.size(), 1u);  // neither age nor gender
  EXPECT_EQ(set.samples[0].image, (dir / "aligned/u1/landmark_aligned_face.5.10.jpg").string());
  EXPECT_EQ(set.samples[0].age_interval, 4);
  EXPECT_EQ(set.samples[0].age, kUnknown);
  EXPECT_EQ(set.samples[1].age_interval, 3);  // (8, 23): midpoint 15.5 -> (15, 20)
  EXPECT_EQ(set.samples[2].age, 35);
  EXPECT_EQ(set.samples[2].age_interval, 4);
  EXPECT_EQ(set.samples[2].gender, kUnknown);
  EXPECT_EQ(set.samples[3].age_interval, kUnknown);
  std::ofstream(dir / "bad.txt") << "u1\t10.jpg\t5\t(25, 32)\n";
  EXPECT_NE(error_of([&] { read_adience_fold((dir / "bad.txt").string(), "", adience_intervals()); })
                .find("bad.txt:1: expected tab-separated"),
            std::string::npos);
  fs::remove_all(dir);
}

// A test picture whose pixel (x, y) encodes its position, so a crop shows where it came from.
cv::Mat position_image(int w, int h) {
  cv::Mat image(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(x % 256, y % 256, (x + y) % 256);
  }
  return image;
}

TEST(FaceCrop, InsideTheImageIsTheSquareResized) {
  const cv::Mat image = position_image(300, 200);
  FaceCropOptions options;
  options.margin = 1.0f;
  options.size = 50;
  // A 40x60 face: the square is 60x60 around its centre (70, 80) -> x 40..100, y 50..110.
  const cv::Mat crop = face_crop(image, {50, 50, 90, 110}, options);
  cv::Mat expected;
  cv::resize(image(cv::Rect(40, 50, 60, 60)), expected, {50, 50}, 0, 0, cv::INTER_AREA);
  ASSERT_EQ(crop.size(), cv::Size(50, 50));
  EXPECT_EQ(cv::norm(crop, expected, cv::NORM_INF), 0);
}

TEST(FaceCrop, AtTheBorderItIsPaddedNotSqueezed) {
  const cv::Mat image = position_image(100, 100);
  FaceCropOptions options;
  options.margin = 2.0f;
  options.size = 40;  // the 40x40 square -> 40 px: no resampling, exact pixels
  const cv::Mat crop = face_crop(image, {0, 0, 20, 20}, options);  // square x -10..30, y -10..30
  const cv::Vec3b fill(104, 116, 124);
  EXPECT_EQ(crop.at<cv::Vec3b>(0, 0), fill);
  EXPECT_EQ(crop.at<cv::Vec3b>(9, 39), fill);
  EXPECT_EQ(crop.at<cv::Vec3b>(39, 9), fill);
  EXPECT_EQ(crop.at<cv::Vec3b>(10, 10), image.at<cv::Vec3b>(0, 0));   // the image starts 10 px in
  EXPECT_EQ(crop.at<cv::Vec3b>(39, 39), image.at<cv::Vec3b>(29, 29));
  // A box wholly outside gives only padding, never an exception.
  const cv::Mat outside = face_crop(image, {500, 500, 520, 520}, options);
  EXPECT_EQ(cv::countNonZero(outside.reshape(1) != 0), 40 * 40 * 3);
}

TEST(FaceCrop, NormalisationIsPlanarRgb) {
  cv::Mat pixel(1, 2, CV_8UC3);
  pixel.at<cv::Vec3b>(0, 0) = {0, 128, 255};  // B G R
  pixel.at<cv::Vec3b>(0, 1) = {255, 255, 255};
  std::vector<float> out = {42.f};  // appended after what is there
  append_normalised_chw(pixel, Normalisation{}, &out);
  ASSERT_EQ(out.size(), 7u);
  EXPECT_FLOAT_EQ(out[1], (1.f - 0.485f) / 0.229f);    // R of pixel 0
  EXPECT_FLOAT_EQ(out[3], (128 / 255.f - 0.456f) / 0.224f);  // G of pixel 0
  EXPECT_FLOAT_EQ(out[5], (0.f - 0.406f) / 0.225f);    // B of pixel 0
  EXPECT_THROW(face_crop(pixel, {0, 0, 0, 5}, FaceCropOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace facekit
