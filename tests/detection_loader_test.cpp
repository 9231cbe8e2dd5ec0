// Detection training data: lists mixing Darknet labels and VOC XML (the real face-mask and
// All-Age-Faces sets), the .data file, and Darknet-style augmentation that moves boxes with the
// pixels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/batch_workers.h"
#include "datasets/detection_loader.h"
#include "datasets/duplicates.h"
#include "train/bad_data.h"
#include "tests/test_util.h"

namespace facekit {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(FACEKIT_SHARED_DIR) / "data";

TEST(DetectionData, MixedListOfFaceMaskXmlAndAllAgeFacesImages) {
  FACEKIT_REQUIRE_PATH(kData / "facemask/annotations");
  FACEKIT_REQUIRE_PATH(kData / "aaf-train/images.txt");
  const test::TempDir temp;
  const fs::path& dir = temp.path();
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
  LabelAudit audit;
  const auto samples = read_detection_list(data.train, read_class_index_map(data.class_map), &audit);
  EXPECT_EQ(xml_files, 853);
  // The face-mask set holds 5 pairs of byte-identical photos under two names (e.g.
  // maksssksksss146.jpg and maksssksksss219.jpg): the second of each pair is dropped.
  EXPECT_EQ(audit.images, 854);
  EXPECT_EQ(audit.duplicate_images, 5);
  EXPECT_EQ(audit.bad_images(), 5);
  ASSERT_EQ(samples.size(), 849u);
  size_t boxes = 0;
  for (size_t i = 0; i + 1 < samples.size(); ++i) {
    boxes += samples[i].boxes.size();
    ASSERT_TRUE(fs::exists(samples[i].image)) << samples[i].image;
  }
  EXPECT_EQ(boxes, 4021u);  // data/README: every face-mask box survives clipping (4072 with the repeats)
  EXPECT_EQ(audit.dropped_boxes + audit.non_finite_boxes, 0);
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

// Broken labels (datasets/label_audit.h): each kind is clipped, dropped or kept as documented and
// counted; a repeat by path or by content is dropped; too many bad images stop a run at start.
TEST(DetectionData, BrokenLabelsAreClippedDroppedAndCounted) {
  const test::TempDir temp;
  const fs::path& dir = temp.path();
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "labels");
  int shade = 0;
  for (const char* name : {"a.png", "b.png", "c.png", "d.png"}) {
    cv::imwrite((dir / "images" / name).string(), cv::Mat(40, 40, CV_8UC3, cv::Scalar::all(shade += 40)));
  }
  fs::copy_file(dir / "images/a.png", dir / "images/a_copy.png");  // the same bytes under another name
  std::ofstream(dir / "labels/a.txt") << "0 0.9 0.5 0.4 0.2\n"   // x 0.7..1.1: clipped
                                      << "0 0.5 0.5 0 0.2\n"     // zero width: dropped
                                      << "0 nan 0.5 0.1 0.1\n"   // NaN: dropped
                                      << "0 1.5 0.5 0.2 0.2\n";  // wholly outside: dropped
  std::ofstream(dir / "labels/b.txt") << "";                       // empty: an image without faces
  std::ofstream(dir / "labels/d.txt") << "0 0.5 0.5 0.5 0.5\n";  // c.png has no label file
  std::ofstream(dir / "labels/a_copy.txt") << "0 0.5 0.5 0.5 0.5\n";
  std::ofstream(dir / "list.txt") << "images/a.png\nimages/b.png\nimages/c.png\nimages/d.png\nimages/a_copy.png\nimages/./d.png\n";

  LabelAudit audit;
  const auto samples = read_detection_list((dir / "list.txt").string(), {}, &audit);
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(fs::path(samples[3].image).filename(), "d.png");
  ASSERT_EQ(samples[0].boxes.size(), 1u);
  EXPECT_FLOAT_EQ(samples[0].boxes[0].x, 0.85f);
  EXPECT_FLOAT_EQ(samples[0].boxes[0].w, 0.3f);
  EXPECT_TRUE(samples[1].boxes.empty());
  EXPECT_TRUE(samples[2].boxes.empty());
  EXPECT_EQ(audit.images, 6);
  EXPECT_EQ(audit.clipped_boxes, 1);
  EXPECT_EQ(audit.dropped_boxes, 2);
  EXPECT_EQ(audit.non_finite_boxes, 1);
  EXPECT_EQ(audit.images_with_dropped_boxes, 1);
  EXPECT_EQ(audit.empty_label_files, 1);
  EXPECT_EQ(audit.missing_label_files, 1);
  EXPECT_EQ(audit.duplicate_images, 2);
  EXPECT_EQ(audit.bad_images(), 3);
  EXPECT_EQ(audit.summary(),
            "labels of 6 images: 1 boxes clipped to the image, 2 boxes dropped (zero size or outside the image), "
            "1 boxes dropped (NaN or Inf), 1 empty label files (images without faces), 1 images without a label file "
            "(without faces), 2 repeated images dropped");

  EXPECT_NO_THROW(train::BadDataCounter(0.5, audit).check_labels("list.txt"));
  try {
    train::BadDataCounter(0.01, audit).check_labels("list.txt");
    ADD_FAILURE() << "3 bad images of 6 is more than 1 %";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("list.txt: 3 of 6 images have bad labels (more than 1 %)"), std::string::npos) << e.what();
  }
  train::BadDataCounter counter(0.5, audit);
  counter.add(1, 10);
  EXPECT_EQ(counter.end_epoch(), "1 of 10 images unreadable, skipped; " + audit.summary());
  counter.add(2, 20);  // the detector trainer's report at a checkpoint: images only, the labels were said once
  EXPECT_EQ(counter.take_unreadable(), "2 of 20 images unreadable, skipped");
  EXPECT_EQ(counter.take_unreadable(), "");
  EXPECT_EQ(LabelAudit().summary(), "");
  fs::remove_all(dir);
}

// Repeats are found by path and by bytes, and a tag (the face box) keeps two faces of one image apart.
TEST(DetectionData, RepeatedFilesByPathBytesAndTag) {
  const test::TempDir temp;
  const fs::path& dir = temp.path();
  std::ofstream(dir / "x.jpg") << "same bytes";
  std::ofstream(dir / "y.jpg") << "same bytes";
  std::ofstream(dir / "z.jpg") << "other byte";  // the same size, other bytes
  const std::string x = (dir / "x.jpg").string(), y = (dir / "y.jpg").string(), z = (dir / "z.jpg").string();
  const std::string missing = (dir / "missing.jpg").string();
  EXPECT_EQ(repeated_files({x, y, z, missing, x, missing}), (std::vector<bool>{false, true, false, false, true, true}));
  EXPECT_EQ(repeated_files({x, x, y}, {"face 1", "face 2", "face 2"}), (std::vector<bool>{false, false, true}));
  fs::remove_all(dir);
}

// A white box on black: wherever the augmentation puts it (letterboxed or cropped and stretched,
// zoomed out or not), the moved label still frames it.
// The loaders' worker threads (datasets/batch_workers.h): every sample is prepared once; an
// exception in one comes back to the caller naming its sample, after the other threads finish.
TEST(BatchWorkers, AnExceptionComesBackNamingItsSample) {
  for (const size_t threads : {1u, 2u, 5u}) {
    std::vector<int> prepared(7, 0);
    prepare_in_threads(prepared.size(), threads, [&](size_t i) { ++prepared[i]; }, [](size_t) { return std::string(); });
    EXPECT_EQ(prepared, std::vector<int>(7, 1)) << threads << " threads";
    try {
      prepare_in_threads(
          prepared.size(), threads,
          [&](size_t i) {
            if (i == 4) throw cv::Exception(0, "empty ROI", "copyTo", "matrix.cpp", 1);
          },
          [](size_t i) { return "image_" + std::to_string(i) + ".jpg"; });
      ADD_FAILURE() << "the exception was lost";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("image_4.jpg: ", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find("empty ROI"), std::string::npos) << e.what();
    }
  }
}

TEST(DetectionAugment, BoxesMoveWithThePixels) {
  cv::Mat image(300, 400, CV_8UC3, cv::Scalar::all(0));
  cv::rectangle(image, cv::Rect(100, 60, 80, 120), cv::Scalar::all(255), cv::FILLED);
  const std::vector<LabelledBox> boxes = {{140 / 400.f, 120 / 300.f, 80 / 400.f, 120 / 300.f, 0}};
  DetectionAugmentOptions options;
  options.jitter = 0.3f;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    options.letterbox = seed % 2 == 0;
    options.resize = seed % 4 < 2 ? 1.f : 0.5f;
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

// AlexeyAB's resize=R, without jitter: the crop window (stretch) or the placed image (letterbox)
// is scaled by one factor both ways, from 1 to 1/R when R < 1 (zoom out only), from 1/R to R when
// R > 1, uniform in the sum of two side shifts (load_data_detection's resize_r1 and resize_r2).
TEST(DetectionAugment, ResizeZoomsBothWaysByOneFactorWithinItsRange) {
  cv::Mat image(300, 400, CV_8UC3, cv::Scalar::all(0));
  cv::rectangle(image, cv::Rect(160, 110, 80, 80), cv::Scalar::all(255), cv::FILLED);
  const std::vector<LabelledBox> boxes = {{200 / 400.f, 150 / 300.f, 80 / 400.f, 80 / 300.f, 0}};
  constexpr int kW = 160, kH = 128, kDraws = 300;
  for (const bool letterbox : {false, true}) {
    for (const float resize : {0.25f, 2.f}) {
      DetectionAugmentOptions options;
      options.jitter = 0;
      options.flip = false;
      options.letterbox = letterbox;
      options.resize = resize;
      // Box width on the input without resize: stretch maps the 400 px image to kW, letterbox too
      // (400 x 300 is wider than 160 x 128).
      const float unzoomed_w = 80.f / 400 * kW, unzoomed_h = letterbox ? 80.f / 400 * kW : 80.f / 300 * kH;
      const float low = std::min(resize, 1 / resize), high = std::max(resize, 1 / resize);
      float smallest = high, largest = 0, sum = 0;
      int whole = 0;
      for (int seed = 0; seed < kDraws; ++seed) {
        std::mt19937 rng(seed);
        std::vector<LabelledBox> moved;
        augmented_detection_input(image, boxes, kW, kH, options, &rng, &moved);
        if (moved.size() != 1u) continue;  // zoomed in past the box
        const float w = moved[0].w * kW, h = moved[0].h * kH;
        const bool inside = moved[0].x - moved[0].w / 2 > 0.01f && moved[0].x + moved[0].w / 2 < 0.99f &&
                            moved[0].y - moved[0].h / 2 > 0.01f && moved[0].y + moved[0].h / 2 < 0.99f;
        if (!inside) continue;  // clipped: its size says nothing of the zoom
        const float shrink = unzoomed_w / w;  // the window's scale factor
        EXPECT_NEAR(unzoomed_h / h, shrink, 0.05f * shrink) << "one factor both ways, seed " << seed;
        smallest = std::min(smallest, shrink);
        largest = std::max(largest, shrink);
        sum += shrink;
        ++whole;
      }
      SCOPED_TRACE(std::string(letterbox ? "letterbox" : "stretch") + " resize " + std::to_string(resize));
      ASSERT_GT(whole, kDraws / 2);
      EXPECT_GT(smallest, (resize < 1 ? 1.f : low) * 0.97f);
      EXPECT_LT(largest, high * 1.03f);
      EXPECT_LT(smallest, (resize < 1 ? 1.f : low) + 0.25f);  // the range is used to its ends
      EXPECT_GT(largest, high - 0.5f);
      if (resize < 1) {  // 1 - a1 - a2, each a uniform in [(1 - 1/R) / 2, 0]
        EXPECT_NEAR(sum / whole, (1 + high) / 2, 0.2f);
      }
    }
  }
}

// Four images of four grey levels, each with a white box: every mosaic box frames white pixels, the
// quadrants around the cut show the four images, and no box leaves its quadrant.
// AlexeyAB's blur=N (load_data_detection, image_data_augmentation): a third of the images are
// left alone, a third get a 17 x 17 Gaussian outside the boxes only, a third a Gaussian over the
// whole image whose width follows N but stays under an eighth of the smallest box side. The blur
// is drawn last, so blur=0 with the same seed gives the same image before it.
TEST(DetectionAugment, BlurFollowsAlexeyABsThreeCases) {
  cv::Mat image(300, 400, CV_8UC3);
  cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
  const std::vector<LabelledBox> boxes = {{200 / 400.f, 150 / 300.f, 80 / 400.f, 80 / 300.f, 0}};
  constexpr int kW = 160, kH = 128, kDraws = 60;
  const auto to_mat = [&](const std::vector<float>& planar) {
    std::vector<cv::Mat> channels;
    for (int c = 0; c < 3; ++c) {
      channels.emplace_back(kH, kW, CV_32F, const_cast<float*>(planar.data()) + static_cast<size_t>(c) * kW * kH);
    }
    cv::Mat merged;
    cv::merge(channels, merged);
    return merged;
  };
  const auto max_diff = [](const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); };
  DetectionAugmentOptions sharp;
  sharp.jitter = 0;
  sharp.flip = false;
  sharp.letterbox = false;
  DetectionAugmentOptions blurred = sharp;
  blurred.blur = 9;  // the box is 32 x 34 px on the input: 32 / 8 = 4, a 5 x 5 kernel
  int none = 0, background = 0, whole = 0;
  for (int seed = 0; seed < kDraws; ++seed) {
    std::mt19937 rng_sharp(seed), rng_blurred(seed);
    std::vector<LabelledBox> moved_sharp, moved;
    const cv::Mat reference = to_mat(augmented_detection_input(image, boxes, kW, kH, sharp, &rng_sharp, &moved_sharp));
    const cv::Mat out = to_mat(augmented_detection_input(image, boxes, kW, kH, blurred, &rng_blurred, &moved));
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_FLOAT_EQ(moved[0].w, moved_sharp[0].w) << "the blur does not move boxes";
    const auto& b = moved[0];
    const cv::Rect box(static_cast<int>((b.x - b.w / 2) * kW), static_cast<int>((b.y - b.h / 2) * kH),
                       static_cast<int>(b.w * kW), static_cast<int>(b.h * kH));
    cv::Mat background_blur, whole_blur;
    cv::GaussianBlur(reference, background_blur, cv::Size(17, 17), 0);
    reference(box).copyTo(background_blur(box));
    cv::GaussianBlur(reference, whole_blur, cv::Size(5, 5), 0);
    if (max_diff(out, reference) == 0) {
      ++none;
    } else if (max_diff(out, background_blur) < 1e-6) {
      ++background;
    } else {
      EXPECT_LT(max_diff(out, whole_blur), 1e-6) << "seed " << seed << ": none of the three cases";
      ++whole;
    }
  }
  for (const int count : {none, background, whole}) {
    EXPECT_GT(count, kDraws / 6) << none << " unblurred, " << background << " background, " << whole << " whole";
  }
  // A box less than a pixel wide on the input (a stage-4 training run met one) keeps no pixels.
  const std::vector<LabelledBox> thin = {{0.5f, 0.5f, 0.5f / 400, 0.2f, 0}};
  for (int seed = 0; seed < 12; ++seed) {
    std::mt19937 rng(seed);
    std::vector<LabelledBox> moved;
    EXPECT_NO_THROW(augmented_detection_input(image, thin, kW, kH, blurred, &rng, &moved)) << "seed " << seed;
  }
}

TEST(DetectionAugment, MosaicBoxesMoveWithThePixels) {
  constexpr int kW = 160, kH = 128;
  const float greys[4] = {0.1f, 0.3f, 0.5f, 0.7f};
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<LabelledBox>> boxes;
  for (float grey : greys) {
    std::vector<float> planes(3 * kW * kH, grey);
    for (int c = 0; c < 3; ++c) {
      for (int y = 40; y < 90; ++y) {
        for (int x = 50; x < 110; ++x) planes[c * kW * kH + y * kW + x] = 1.f;
      }
    }
    inputs.push_back(planes);
    boxes.push_back({{80.f / kW, 65.f / kH, 60.f / kW, 50.f / kH, 0}});
  }
  int kept = 0;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    std::mt19937 rng(seed);
    std::vector<LabelledBox> moved;
    const auto out = mosaic_detection_input(inputs, boxes, kW, kH, &rng, &moved);
    ASSERT_EQ(out.size(), 3u * kW * kH);
    std::set<float> seen(out.begin(), out.begin() + kW * kH);
    for (float grey : greys) {
      EXPECT_TRUE(seen.count(grey) || seen.count(1.f)) << "seed " << seed;  // a quadrant may be all box
    }
    for (const auto& b : moved) {
      const int x1 = static_cast<int>(std::ceil((b.x - b.w / 2) * kW)), x2 = static_cast<int>((b.x + b.w / 2) * kW) - 1;
      const int y1 = static_cast<int>(std::ceil((b.y - b.h / 2) * kH)), y2 = static_cast<int>((b.y + b.h / 2) * kH) - 1;
      if (x2 < x1 || y2 < y1) continue;  // thinner than a pixel
      for (int y : {y1, y2}) {
        for (int x : {x1, x2}) EXPECT_EQ(out[static_cast<size_t>(y) * kW + x], 1.f) << "seed " << seed << " at " << x << "," << y;
      }
      ++kept;
    }
    EXPECT_LE(moved.size(), 4u);
  }
  EXPECT_GT(kept, 30);  // most quadrants keep a part of their box
}

TEST(DetectionLoader, SameSeedSameBatchesWhateverTheThreads) {
  const test::TempDir temp;
  const fs::path& dir = temp.path();
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
  for (bool mosaic : {false, true}) {
    o.augment_options.mosaic = mosaic;
    const auto one = run(1), three = run(3);
    ASSERT_EQ(one.size(), 2u);
    for (size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(one[i].pixels, three[i].pixels) << "mosaic " << mosaic;
      ASSERT_EQ(one[i].boxes.size(), three[i].boxes.size());
      for (size_t k = 0; k < one[i].boxes.size(); ++k) EXPECT_EQ(one[i].boxes[k].size(), three[i].boxes[k].size());
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace facekit
