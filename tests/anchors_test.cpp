// k-means anchors (train/anchors.h) on hand-made boxes, the mean IoU on a hand-computed case,
// determinism under a seed, and the face cfgs shipped in models/cfg/ (1 class, 18-channel heads).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"
#include "train/anchors.h"
#include "tests/test_util.h"

namespace facekit::train {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(FACEKIT_SHARED_DIR) / "data";
const fs::path kFaceCfgs = fs::path(FACEKIT_SOURCE_DIR) / "models/cfg";

darknet::NetDef face_netdef(const std::string& name) {
  const darknet::CfgFile cfg = darknet::parse_cfg_file((kFaceCfgs / name).string());
  std::string reason;
  return darknet::build_netdef(cfg, darknet::detect_dialect(cfg, 0, &reason));
}

// The anchors of the first [yolo] head.
std::vector<BoxSize> cfg_anchors(const darknet::NetDef& def) {
  for (const auto& layer : def.layers) {
    if (layer.type != darknet::LayerType::kYolo) continue;
    std::vector<BoxSize> anchors;
    for (size_t i = 0; i + 1 < layer.anchors.size(); i += 2) anchors.push_back({layer.anchors[i], layer.anchors[i + 1]});
    return anchors;
  }
  return {};
}

// Nine boxes around each centre, offsets -1, 0, +1 in width and height: the mean is the centre.
std::vector<BoxSize> three_clusters(const std::vector<BoxSize>& centres) {
  std::vector<BoxSize> boxes;
  for (const auto& c : centres) {
    for (int dw = -1; dw <= 1; ++dw) {
      for (int dh = -1; dh <= 1; ++dh) boxes.push_back({c.w + dw, c.h + dh});
    }
  }
  return boxes;
}

// Sizes like real faces: log-normal widths, heights a little taller.
std::vector<BoxSize> random_faces(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<float> size(3.5f, 0.8f);
  std::normal_distribution<float> aspect(1.2f, 0.15f);
  std::vector<BoxSize> boxes;
  for (size_t i = 0; i < n; ++i) {
    const float w = size(rng);
    boxes.push_back({w, w * aspect(rng)});
  }
  return boxes;
}

TEST(Anchors, CentredIouOnHandCases) {
  EXPECT_FLOAT_EQ(centred_iou({10, 10}, {10, 10}), 1.f);
  EXPECT_FLOAT_EQ(centred_iou({10, 10}, {10, 20}), 0.5f);  // 100 / 200
  EXPECT_FLOAT_EQ(centred_iou({20, 10}, {10, 20}), 1.f / 3);  // 100 / (200 + 200 - 100)
  EXPECT_FLOAT_EQ(centred_iou({0, 0}, {0, 0}), 0.f);
}

TEST(Anchors, MeanIouWithTheBestAnchorOnAHandCase) {
  // (10,10) matches (10,10) exactly: 1; (20,20) is best with (10,20): 200 / 400 = 0.5.
  EXPECT_DOUBLE_EQ(mean_best_iou({{10, 10}, {20, 20}}, {{10, 10}, {10, 20}}), 0.75);
  EXPECT_DOUBLE_EQ(mean_best_iou({{10, 10}, {20, 20}}, {{10, 20}}), 0.5);
}

TEST(Anchors, FindsThreeObviousClustersSortedByArea) {
  const std::vector<BoxSize> centres = {{120, 90}, {10, 14}, {40, 42}};
  const auto boxes = three_clusters(centres);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    AnchorOptions o;
    o.count = 3;
    o.seed = seed;
    const AnchorResult r = kmeans_anchors(boxes, o);
    ASSERT_EQ(r.anchors.size(), 3u);
    EXPECT_TRUE(r.converged);
    const std::vector<BoxSize> expected = {{10, 14}, {40, 42}, {120, 90}};  // by area
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(r.anchors[i].w, expected[i].w, 1.0) << "seed " << seed << " anchor " << i;
      EXPECT_NEAR(r.anchors[i].h, expected[i].h, 1.0) << "seed " << seed << " anchor " << i;
    }
    EXPECT_DOUBLE_EQ(r.mean_iou, mean_best_iou(boxes, r.anchors));
    EXPECT_GT(r.mean_iou, 0.85);
  }
}

TEST(Anchors, SameSeedSameAnchors) {
  const auto boxes = random_faces(2000, 3);
  AnchorOptions o;
  o.count = 6;
  o.seed = 42;
  const AnchorResult a = kmeans_anchors(boxes, o), b = kmeans_anchors(boxes, o);
  ASSERT_EQ(a.anchors.size(), 6u);
  for (size_t i = 0; i < a.anchors.size(); ++i) {
    EXPECT_EQ(a.anchors[i].w, b.anchors[i].w);
    EXPECT_EQ(a.anchors[i].h, b.anchors[i].h);
    if (i > 0) {
      EXPECT_LE(a.anchors[i - 1].w * a.anchors[i - 1].h, a.anchors[i].w * a.anchors[i].h);
    }
  }
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.mean_iou, b.mean_iou);
  // More anchors never serve the boxes worse than one anchor.
  o.count = 1;
  EXPECT_GT(a.mean_iou, kmeans_anchors(boxes, o).mean_iou);
}

TEST(Anchors, TooFewDistinctBoxesIsAnError) {
  AnchorOptions o;
  o.count = 3;
  EXPECT_THROW(kmeans_anchors({{10, 10}, {10, 10}, {20, 20}}, o), std::invalid_argument);
  EXPECT_THROW(kmeans_anchors({}, o), std::invalid_argument);
}

TEST(Anchors, BoxSizesScaleToTheNetworkInput) {
  const std::vector<DetectionSample> samples = {{"a.jpg", {{0.5f, 0.5f, 0.25f, 0.5f, 0}}}, {"b.jpg", {}}};
  const auto sizes = box_sizes(samples, 320, 416);
  ASSERT_EQ(sizes.size(), 1u);
  EXPECT_FLOAT_EQ(sizes[0].w, 80.f);
  EXPECT_FLOAT_EQ(sizes[0].h, 208.f);
}

TEST(Anchors, CfgLineIsRoundedPairsSeparatedByTwoSpaces) {
  EXPECT_EQ(anchors_cfg_line({{10.4f, 13.6f}, {23.f, 27.5f}, {0.2f, 300.f}}), "anchors = 10,14,  23,28,  1,300");
}

// The face cfgs of models/cfg: they parse, have one class, and every [yolo] head gets
// (classes + 5) * len(mask) = 18 channels from the convolution before it.
TEST(FaceCfgs, OneClassAndEighteenChannelHeads) {
  constexpr int kHeadChannels = (1 + 5) * 3;
  for (const char* name : {"yolo-fastest-1.1-face.cfg", "yolov3-tiny-face.cfg"}) {
    SCOPED_TRACE(name);
    const darknet::NetDef def = face_netdef(name);
    int heads = 0;
    for (const auto& layer : def.layers) {
      if (layer.type != darknet::LayerType::kYolo) continue;
      ++heads;
      EXPECT_EQ(layer.classes, 1) << layer.where;
      EXPECT_EQ(layer.mask.size(), 3u) << layer.where;
      EXPECT_EQ(layer.anchors.size(), 12u) << layer.where;  // 6 anchors, w and h
      EXPECT_EQ(layer.in.c, kHeadChannels) << layer.where;
      const auto& conv = def.layers[layer.index - 1];
      EXPECT_EQ(conv.type, darknet::LayerType::kConvolutional) << layer.where;
      EXPECT_EQ(conv.filters, kHeadChannels) << conv.where;
    }
    EXPECT_EQ(heads, 2);
  }
}

// The shipped anchors are what the command in the cfg headers computes today on the real data:
// the face-mask VOC files (byte order, as `LC_ALL=C ls`), then the All-Age-Faces list.
TEST(FaceCfgs, AnchorsAreReproducedFromTheFaceData) {
  FACEKIT_REQUIRE_PATH(kData / "facemask/annotations");
  FACEKIT_REQUIRE_PATH(kData / "aaf-train/images.txt");
  const fs::path list = fs::temp_directory_path() / ("facekit_anchors_" + std::to_string(::getpid()) + ".txt");
  std::vector<std::string> xmls;
  for (const auto& e : fs::directory_iterator(kData / "facemask/annotations")) xmls.push_back(e.path().string());
  std::sort(xmls.begin(), xmls.end());
  {
    std::ofstream out(list);
    for (const auto& x : xmls) out << x << "\n";
    std::ifstream aaf(kData / "aaf-train/images.txt");
    for (std::string line; std::getline(aaf, line);) {
      if (!line.empty()) out << (kData / "aaf-train" / line).string() << "\n";
    }
  }
  const auto samples = read_detection_list(list.string(), read_class_index_map((kFaceCfgs / "facemask.map").string()));
  fs::remove(list);
  for (const char* name : {"yolo-fastest-1.1-face.cfg", "yolov3-tiny-face.cfg"}) {
    SCOPED_TRACE(name);
    const darknet::NetDef def = face_netdef(name);
    const auto boxes = box_sizes(samples, def.width, def.height);
    EXPECT_EQ(boxes.size(), 8984u);  // 9072 with the 42 repeated photos
    AnchorOptions o;
    o.count = 6;
    o.seed = 0;
    const AnchorResult r = kmeans_anchors(boxes, o);
    // The cfgs' anchors predate dropping the 42 repeated photos, which moves them by at most 1 px
    // (see the cfgs' header).
    const auto found = rounded_anchors(r.anchors), shipped = cfg_anchors(def);
    ASSERT_EQ(found.size(), shipped.size());
    for (size_t i = 0; i < found.size(); ++i) {
      EXPECT_NEAR(found[i].w, shipped[i].w, 1.0) << anchors_cfg_line(r.anchors);
      EXPECT_NEAR(found[i].h, shipped[i].h, 1.0) << anchors_cfg_line(r.anchors);
    }
    EXPECT_GT(r.mean_iou, 0.8);
  }
}

}  // namespace
}  // namespace facekit::train
