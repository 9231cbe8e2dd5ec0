// facekit-infer: label placement, tracking, and the binary end to end on the seed-demo photos and
// on a video this test writes from them (both backends, errors and skipped inputs).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "datasets/age_intervals.h"
#include "datasets/preprocess.h"
#include "models/classifier/age_gender_net.h"
#include "tests/test_util.h"
#include "tools/facekit/detectors.h"
#include "tools/infer/draw.h"
#include "tools/infer/tracker.h"

namespace facekit::test {
namespace {

using infer::Face;
using nlohmann::json;

const fs::path kSeedDemo = shared_dir() / "data" / "seed-demo";
const fs::path kModels = fs::path(FACEKIT_SOURCE_DIR) / "models" / "pretrained";

CommandResult run_infer(const std::string& args) {
  return run_command(std::string(FACEKIT_INFER_BINARY) + " --threads 2 " + args);
}

std::vector<json> read_json_lines(const std::string& path) {
  std::vector<json> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) records.push_back(json::parse(line));  // throws on a malformed line
  return records;
}

// ---- label placement ----

TEST(Labels, CrowdedFacesGetLabelsInsideTheImageThatDoNotOverlap) {
  // Twelve faces in a tight 4 x 3 grid (a group photo), labels wider than the faces.
  std::vector<Box> faces;
  std::vector<cv::Size> sizes;
  for (int row = 0; row < 3; ++row) {
    for (int col = 0; col < 4; ++col) {
      const float x = 20.f + col * 60.f, y = 10.f + row * 70.f;  // the first row touches the top border
      faces.push_back({x, y, x + 50.f, y + 50.f});
      sizes.emplace_back(110, 18);
    }
  }
  const cv::Size image(300, 260);
  const auto labels = infer::place_labels(faces, sizes, image);
  ASSERT_EQ(labels.size(), faces.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(labels[i].size(), sizes[i]);
    EXPECT_EQ(labels[i] & cv::Rect({0, 0}, image), labels[i]) << "label " << i << " leaves the image";
    for (size_t j = 0; j < i; ++j) EXPECT_EQ((labels[i] & labels[j]).area(), 0) << "labels " << i << " and " << j;
  }
}

TEST(Labels, ALoneFaceIsLabelledJustAboveItAndAtTheTopBorderJustInside) {
  const auto above = infer::place_labels({{100, 100, 160, 160}}, {{80, 20}}, {400, 400});
  EXPECT_EQ(above[0], cv::Rect(100, 80, 80, 20));
  const auto border = infer::place_labels({{380, 5, 400, 40}}, {{80, 20}}, {400, 400});
  EXPECT_EQ(border[0], cv::Rect(320, 0, 80, 20));  // pushed left and down into the image
}

// ---- tracking and smoothing ----

Face face_at(float x, float p_male) { return {{x, 50, x + 40, 90}, 0.9f, {p_male, 1 - p_male}, {0.5f, 0.5f}, {}, -1}; }

TEST(Tracker, AFaceKeepsItsTrackAndItsLabelDoesNotFlicker) {
  infer::FaceTracker tracker;
  std::vector<int> ids_a, ids_b;
  std::vector<int> genders;
  for (int frame = 0; frame < 8; ++frame) {
    // Face A drifts right and its raw gender output flickers around 0.5; face B stands still.
    std::vector<Face> faces = {face_at(10.f + 2 * frame, frame % 2 ? 0.45f : 0.7f), face_at(200, 0.1f)};
    tracker.update(&faces);
    ids_a.push_back(faces[0].track);
    ids_b.push_back(faces[1].track);
    genders.push_back(faces[0].gender());
  }
  EXPECT_NE(ids_a[0], ids_b[0]);
  EXPECT_TRUE(std::all_of(ids_a.begin(), ids_a.end(), [&](int id) { return id == ids_a[0]; }));
  EXPECT_TRUE(std::all_of(ids_b.begin(), ids_b.end(), [&](int id) { return id == ids_b[0]; }));
  // Raw argmax alternates Male/Female; the smoothed one stays Male throughout.
  EXPECT_TRUE(std::all_of(genders.begin(), genders.end(), [](int g) { return g == 0; }));
}

TEST(Tracker, FollowMovesABoxWithTheImage) {
  cv::Mat first(240, 320, CV_8UC1, cv::Scalar(0)), second;
  cv::randu(first, 0, 255);
  cv::GaussianBlur(first, first, {5, 5}, 1.5);
  const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, 7, 0, 1, -4);  // 7 px right, 4 px up
  cv::warpAffine(first, second, shift, first.size());
  infer::FaceTracker tracker;
  std::vector<Face> faces = {{{100, 100, 160, 160}, 0.9f, {0.8f, 0.2f}, {1.f}, {}, -1}};
  tracker.update(&faces);
  const auto followed = tracker.follow(first, second);
  ASSERT_EQ(followed.size(), 1u);
  EXPECT_NEAR(followed[0].box.x1, 107, 0.5);
  EXPECT_NEAR(followed[0].box.y1, 96, 0.5);
  EXPECT_EQ(followed[0].track, faces[0].track);
}

// ---- the detector at several input sizes ----

// The views' boxes are merged whole and clipped to the photo after, as Darknet's do_nms_sort then
// draw_detections: two boxes that one view's NMS kept come back both, from one view or from two.
// Hand-worked: a, (-80..20) x (10..50), and b, (0..30) x (10..50), share 20 x 40 px: IoU 800 / 4400 =
// 0.18 whole, but 800 / 1200 = 0.67 once a is clipped to x >= 0, which an NMS would suppress at 0.45.
TEST(MultiScaleDetector, MergesWholeBoxesThenClipsThemAsDarknetDoes) {
  const darknet::Detection a{-80, 10, 20, 50, 0.9f, 0}, b{0, 10, 30, 50, 0.8f, 0}, other_class{5, 5, 25, 25, 0.95f, 1};
  const cv::Mat photo(100, 100, CV_8UC3, cv::Scalar::all(0));
  const auto view = [](std::vector<darknet::Detection> detections) -> cli::DetectAtSize {
    return [detections](const PlanarImage&) { return detections; };
  };
  const std::vector<std::vector<cli::DetectAtSize>> view_sets = {{view({a, b, other_class})},
                                                                 {view({a}), view({b, other_class})}};
  for (const auto& views : view_sets) {
    const auto faces = cli::merged_over_sizes(views, /*class_id=*/0, /*nms_thresh=*/0.45f, /*tta=*/false)(photo);
    ASSERT_EQ(faces.size(), 2u) << views.size() << " views";
    EXPECT_FLOAT_EQ(faces[0].score, a.score);
    EXPECT_FLOAT_EQ(faces[0].box.x1, 0);  // clipped
    EXPECT_FLOAT_EQ(faces[0].box.x2, a.x2);
    EXPECT_FLOAT_EQ(faces[1].score, b.score);
    EXPECT_FLOAT_EQ(faces[1].box.x2, b.x2);
  }
}

// What merged_over_sizes should return for the views' `detections` (one class, image pixels, whole):
// those OpenCV's NMSBoxes keeps, in its order, clipped to the photo afterwards.
std::vector<eval::ScoredBox> opencv_nms_then_clipped(const std::vector<darknet::Detection>& detections, float nms,
                                                     const cv::Mat& photo) {
  std::vector<cv::Rect2d> boxes;
  std::vector<float> scores;
  for (const auto& d : detections) {
    boxes.emplace_back(d.x1, d.y1, d.x2 - d.x1, d.y2 - d.y1);
    scores.push_back(d.score);
  }
  std::vector<int> kept;
  cv::dnn::NMSBoxes(boxes, scores, 0.0f, nms, kept);
  const auto clip = [](double v, int max) { return static_cast<float>(std::clamp(v, 0.0, double(max))); };
  std::vector<eval::ScoredBox> expected;
  for (const int k : kept) {
    const cv::Rect2d& r = boxes[static_cast<size_t>(k)];
    expected.push_back({{clip(r.x, photo.cols), clip(r.y, photo.rows), clip(r.x + r.width, photo.cols),
                         clip(r.y + r.height, photo.rows)},
                        scores[static_cast<size_t>(k)]});
  }
  return expected;
}

bool leaves_the_photo(const std::vector<darknet::Detection>& detections, const cv::Mat& photo) {
  return std::any_of(detections.begin(), detections.end(), [&](const darknet::Detection& d) {
    return d.x1 < 0 || d.y1 < 0 || d.x2 > photo.cols || d.y2 > photo.rows;
  });
}

void expect_same_boxes(const std::vector<eval::ScoredBox>& actual, const std::vector<eval::ScoredBox>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_FLOAT_EQ(actual[i].score, expected[i].score) << i;
    EXPECT_FLOAT_EQ(actual[i].box.x1, expected[i].box.x1) << i;
    EXPECT_FLOAT_EQ(actual[i].box.y1, expected[i].box.y1) << i;
    EXPECT_FLOAT_EQ(actual[i].box.x2, expected[i].box.x2) << i;
    EXPECT_FLOAT_EQ(actual[i].box.y2, expected[i].box.y2) << i;
  }
}

// Multi-scale testing (--input-size 320,512) keeps what OpenCV's NMSBoxes keeps of the two sizes'
// whole boxes together, in the same order, clipped after, on a crowded photo where the sizes find
// different faces and some boxes leave the photo.
TEST(MultiScaleDetector, MergesTheSizesDetectionsAsOpenCvNmsDoes) {
  const fs::path photo = kSeedDemo / "big_bang_theory2.jpg";
  FACEKIT_REQUIRE_PATH(photo);
  const cv::Mat bgr = cv::imread(photo.string());
  const std::string weights = (kModels / "yolo-fastest-1.1-face.weights").string();
  const cli::DetectionThresholds thresholds{0.05f, 0.45f};
  const std::vector<cv::Size> sizes = {{320, 320}, {512, 512}};
  const auto views = cli::darknet_views(weights, "", torch::kCPU, thresholds, sizes);
  const PlanarImage rgb = to_planar_rgb(bgr);
  const auto at_320 = views[0](rgb), at_512 = views[1](rgb);
  auto both = at_320;
  both.insert(both.end(), at_512.begin(), at_512.end());
  const auto expected = opencv_nms_then_clipped(both, thresholds.nms, bgr);
  ASSERT_GE(at_320.size(), 3u);
  ASSERT_TRUE(leaves_the_photo(both, bgr));
  ASSERT_LT(expected.size(), both.size());  // the sizes found some faces both
  ASSERT_GT(expected.size(), std::max(at_320.size(), at_512.size()));  // and each some the other missed
  expect_same_boxes(cli::make_detector(weights, "", 0, torch::kCPU, thresholds, sizes)(bgr), expected);
}

// Test-time augmentation (--tta) keeps what OpenCV's NMSBoxes keeps of the whole boxes on the photo
// and on its mirror image (cv::flip) mapped back (x -> width - x), in the same order, clipped after.
TEST(MirroredDetector, MergesThePhotoAndItsMirrorImageAsOpenCvNmsDoes) {
  const fs::path photo = kSeedDemo / "big_bang_theory2.jpg";
  FACEKIT_REQUIRE_PATH(photo);
  const cv::Mat bgr = cv::imread(photo.string());
  cv::Mat mirrored;
  cv::flip(bgr, mirrored, /*flipCode=*/1);
  const std::string weights = (kModels / "yolo-fastest-1.1-face.weights").string();
  const cli::DetectionThresholds thresholds{0.05f, 0.45f};
  const auto view = cli::darknet_views(weights, "", torch::kCPU, thresholds).front();
  const auto on_photo = view(to_planar_rgb(bgr)), on_mirror = view(to_planar_rgb(mirrored));
  const auto width = static_cast<float>(bgr.cols);
  auto both = on_photo;
  for (const auto& d : on_mirror) both.push_back({width - d.x2, d.y1, width - d.x1, d.y2, d.score, d.class_id});
  const auto expected = opencv_nms_then_clipped(both, thresholds.nms, bgr);
  ASSERT_GE(on_photo.size(), 3u);
  ASSERT_TRUE(leaves_the_photo(both, bgr));
  ASSERT_LT(expected.size(), both.size());  // the two views found some faces both
  expect_same_boxes(cli::make_detector(weights, "", 0, torch::kCPU, thresholds, {}, /*tta=*/true)(bgr), expected);
}

// ---- the binary end to end ----

TEST(InferCli, SeedDemoPhotosGiveAnnotatedImagesAndOneJsonRecordEach) {
  FACEKIT_REQUIRE_PATH(kSeedDemo);
  TempDir dir;
  const auto r = run_infer("--input " + kSeedDemo.string() + " --output " + dir / "out" + " --json " + dir / "faces.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ms per image: decode"), std::string::npos) << r.output;
  std::vector<fs::path> photos;
  for (const auto& e : fs::directory_iterator(kSeedDemo)) photos.push_back(e.path());
  std::sort(photos.begin(), photos.end());
  const auto records = read_json_lines(dir / "faces.jsonl");
  ASSERT_EQ(records.size(), photos.size());
  int faces = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    EXPECT_EQ(records[i]["source"], photos[i].string());
    EXPECT_EQ(records[i]["frame"], static_cast<int>(i));
    const cv::Mat annotated = cv::imread(dir / ("out/" + photos[i].filename().string()));
    const cv::Mat original = cv::imread(photos[i].string());
    ASSERT_EQ(annotated.size(), original.size()) << photos[i];
    for (const auto& f : records[i]["faces"]) {
      ++faces;
      const auto box = f["box"].get<std::vector<float>>();
      EXPECT_GE(box[0], 0);
      EXPECT_GE(box[1], 0);
      EXPECT_LE(box[2], original.cols);
      EXPECT_LE(box[3], original.rows);
      EXPECT_GE(f["score"].get<float>(), 0.25f);
      EXPECT_TRUE(f["gender"] == "Male" || f["gender"] == "Female");
      EXPECT_EQ(f["age_dist"].size(), 8u);
      EXPECT_GE(f["gender_prob"].get<float>(), 0.5f);  // the more likely of two
      // The shipped classifiers have an age-regression head: the interval is the one nearest its years.
      const auto dist = f["age_dist"].get<std::vector<float>>();
      const int interval = nearest_age_interval(adience_intervals(), f["age_years"].get<float>());
      EXPECT_EQ(f["age"].get<std::string>(), adience_intervals()[interval].label());
      EXPECT_EQ(f["age_prob"].get<float>(), dist[interval]);
    }
  }
  EXPECT_GE(faces, 20);  // 45 with the shipped models at --conf-thresh 0.25
}

// The demo photos through both backends with `options`: the same faces, boxes and labels.
void expect_backends_agree(const std::string& options) {
  TempDir dir;
  for (const std::string backend : {"torch", "onnx"}) {
    const auto r = run_infer("--input " + kSeedDemo.string() + " --backend " + backend + " --output '' --json " +
                             dir / (backend + ".jsonl") + options);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const auto torch_records = read_json_lines(dir / "torch.jsonl"), onnx_records = read_json_lines(dir / "onnx.jsonl");
  ASSERT_EQ(torch_records.size(), onnx_records.size());
  int compared = 0;
  for (size_t i = 0; i < torch_records.size(); ++i) {
    const auto& a = torch_records[i]["faces"];
    const auto& b = onnx_records[i]["faces"];
    ASSERT_EQ(a.size(), b.size()) << torch_records[i]["source"];
    for (size_t k = 0; k < a.size(); ++k) {
      const auto ba = a[k]["box"].get<std::vector<float>>(), bb = b[k]["box"].get<std::vector<float>>();
      EXPECT_GE(iou({ba[0], ba[1], ba[2], ba[3]}, {bb[0], bb[1], bb[2], bb[3]}), 0.99f) << torch_records[i]["source"];
      EXPECT_EQ(a[k]["gender"], b[k]["gender"]);
      EXPECT_EQ(a[k]["age"], b[k]["age"]);
      EXPECT_NEAR(a[k]["gender_prob"].get<float>(), b[k]["gender_prob"].get<float>(), 1e-3);
      ++compared;
    }
  }
  EXPECT_GE(compared, 20) << options;
}

TEST(InferCli, TorchAndOnnxBackendsAgreeOnBoxesAndLabels) {
  FACEKIT_REQUIRE_PATH(kSeedDemo);
  expect_backends_agree("");
}

// With several input sizes the onnx backend exports the detector once per size and merges their
// boxes as the torch backend does (one that ran only the cfg's 416 would find other faces).
TEST(InferCli, BackendsAgreeWithSeveralInputSizes) {
  FACEKIT_REQUIRE_PATH(kSeedDemo);
  expect_backends_agree(" --input-size 320,512");
}

// The shipped classifier with its age head's weights moved at random: a second, different member.
void write_perturbed_classifier(const std::string& path, int crop_size) {
  LoadedAgeGenderNet loaded = load_age_gender_checkpoint((kModels / "age_gender.pt").string());
  torch::manual_seed(0);
  {
    torch::NoGradGuard no_grad;
    auto weight = loaded.net->named_parameters()["age.weight"];
    weight.add_(torch::randn_like(weight) * weight.std());
  }
  loaded.config.crop.size = crop_size;
  save_age_gender_checkpoint(path, loaded.net, loaded.config);
}

std::vector<std::vector<float>> age_dists(const std::string& jsonl) {
  std::vector<std::vector<float>> dists;
  for (const auto& record : read_json_lines(jsonl)) {
    for (const auto& f : record["faces"]) dists.push_back(f["age_dist"].get<std::vector<float>>());
  }
  return dists;
}

TEST(InferCli, ClassifiersGivenTwiceAreAveragedFaceByFaceInBothBackends) {
  FACEKIT_REQUIRE_PATH(kSeedDemo);
  TempDir dir;
  const std::string shipped = (kModels / "age_gender.pt").string(), other = dir / "other.pt";
  write_perturbed_classifier(other, 160);
  const std::string photo = (kSeedDemo / "friends.jpg").string();
  const auto run = [&](const std::string& name, const std::string& models) {
    const auto r = run_infer("--input " + photo + " --output '' --json " + dir / name + " " + models);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return age_dists(dir / name);
  };
  const auto a = run("a.jsonl", "--classifier " + shipped), b = run("b.jsonl", "--classifier " + other);
  const auto both = run("both.jsonl", "--classifier " + shipped + " --classifier " + other);
  const auto both_onnx = run("both_onnx.jsonl", "--backend onnx --classifier " + shipped + " --classifier " + other);
  ASSERT_GE(a.size(), 3u);  // friends.jpg: three faces with the shipped detector
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(both.size(), a.size());
  ASSERT_EQ(both_onnx.size(), a.size());
  float members_differ = 0;
  for (size_t f = 0; f < a.size(); ++f) {
    for (size_t k = 0; k < a[f].size(); ++k) {
      members_differ = std::max(members_differ, std::abs(a[f][k] - b[f][k]));
      EXPECT_NEAR(both[f][k], (a[f][k] + b[f][k]) / 2, 1e-5) << "face " << f << ", interval " << k;
      EXPECT_NEAR(both_onnx[f][k], both[f][k], 1e-3) << "face " << f << ", interval " << k;
    }
  }
  EXPECT_GT(members_differ, 0.05f);  // else the mean would not tell the members apart

  // A member that crops otherwise: the error names the file given, not its temporary ONNX export.
  write_perturbed_classifier(dir / "other_128.pt", 128);
  const auto r = run_infer("--input " + photo + " --backend onnx --output '' --classifier " + shipped +
                           " --classifier " + dir / "other_128.pt");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(dir / "other_128.pt" + ": cannot be averaged with " + shipped + ": its face crop is 128 px"),
            std::string::npos)
      << r.output;
}

// A short video from the demo photos: kFrames frames, each photo held for two frames.
constexpr int kFrames = 8;
constexpr double kFps = 12.5;
const cv::Size kVideoSize(480, 320);

void write_test_video(const std::string& path) {
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), kFps, kVideoSize);
  ASSERT_TRUE(writer.isOpened());
  const char* photos[] = {"friends.jpg", "big_bang_theory2.jpg", "olivier.jpg", "selfi.jpg"};
  for (int i = 0; i < kFrames; ++i) {
    cv::Mat frame;
    cv::resize(cv::imread((kSeedDemo / photos[i / 2]).string()), frame, kVideoSize);
    writer.write(frame);
  }
}

TEST(InferCli, AVideoKeepsItsFramesRateAndSizeAndGetsARecordPerFrame) {
  FACEKIT_REQUIRE_PATH(kSeedDemo);
  TempDir dir;
  write_test_video(dir / "clip.avi");
  const auto r = run_infer("--input " + dir / "clip.avi" + " --every 2 --output " + dir / "out.avi" + " --json " +
                           dir / "clip.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  cv::VideoCapture written(dir / "out.avi");
  ASSERT_TRUE(written.isOpened());
  EXPECT_NEAR(written.get(cv::CAP_PROP_FPS), kFps, 0.01);
  int frames = 0;
  for (cv::Mat frame; written.read(frame); ++frames) EXPECT_EQ(frame.size(), kVideoSize);
  EXPECT_EQ(frames, kFrames);
  EXPECT_FALSE(fs::exists(dir / "out.partial.avi"));
  const auto records = read_json_lines(dir / "clip.jsonl");
  ASSERT_EQ(records.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(records[i]["frame"], i);
    for (const auto& f : records[i]["faces"]) {
      EXPECT_TRUE(f.contains("track"));
      const auto box = f["box"].get<std::vector<float>>();
      EXPECT_TRUE(box[0] >= 0 && box[1] >= 0 && box[2] <= kVideoSize.width && box[3] <= kVideoSize.height);
    }
  }
  // Frame 1 is not detected (--every 2): the tracker carries frame 0's faces, same tracks.
  ASSERT_EQ(records[1]["faces"].size(), records[0]["faces"].size());
  for (size_t k = 0; k < records[0]["faces"].size(); ++k) EXPECT_EQ(records[1]["faces"][k]["track"], records[0]["faces"][k]["track"]);
}

// A stream URL: the test's video served over HTTP on this machine (Python's http.server on a
// free port) is read frame by frame like a file, one record per frame.
TEST(InferCli, AStreamUrlIsReadLikeAVideo) {
  FACEKIT_REQUIRE_PATH(kSeedDemo);
  TempDir dir;
  write_test_video(dir / "clip.avi");
  const std::string log = dir / "server.log";
  const pid_t server = spawn("/usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory " + dir.path().string(), log);
  std::string port;
  for (int wait = 0; wait < 100 && port.empty(); ++wait) {  // it prints "Serving HTTP on 127.0.0.1 port N ..."
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string text = fs::exists(log) ? read_file(log) : "";
    if (const auto at = text.find(" port "); at != std::string::npos && text.find(' ', at + 6) != std::string::npos) {
      port = text.substr(at + 6, text.find(' ', at + 6) - at - 6);
    }
  }
  ASSERT_FALSE(port.empty()) << read_file(log);
  const auto r = run_infer("--input http://127.0.0.1:" + port + "/clip.avi --json " + dir / "stream.jsonl");
  kill(server, SIGTERM);
  wait_exit(server, std::chrono::seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("input: video http://127.0.0.1:" + port + "/clip.avi"), std::string::npos) << r.output;
  const auto records = read_json_lines(dir / "stream.jsonl");
  ASSERT_EQ(records.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(records[i]["frame"], i);
  EXPECT_GT(records[0]["faces"].size(), 0u);
}

TEST(InferCli, ACorruptImageInAFolderIsSkippedAndReportedTheRestProcessed) {
  FACEKIT_REQUIRE_PATH(kSeedDemo);
  TempDir dir;
  fs::create_directories(dir / "in/sub");
  fs::copy_file(kSeedDemo / "olivier.jpg", dir / "in/sub/a.jpg");
  write_file(dir / "in/b.jpg", "\xff\xd8 not really a jpeg");
  const auto r = run_infer("--input " + dir / "in" + " --output " + dir / "out" + " --json " + dir / "f.jsonl");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("b.jpg: cannot decode"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 skipped"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir / "out/sub/a.jpg"));  // the folder structure is kept
  const auto records = read_json_lines(dir / "f.jsonl");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_TRUE(records[0].contains("error"));  // in/b.jpg sorts before in/sub/a.jpg
  EXPECT_FALSE(records[1].contains("error"));
}

TEST(InferCli, NothingToDoIsAClearErrorAndANonZeroExit) {
  TempDir dir;
  fs::create_directories(dir / "empty");
  write_file(dir / "bad.jpg", "not an image");
  const std::map<std::string, std::string> cases = {
      {"--input " + dir / "missing.jpg", "missing.jpg: no such file or folder"},
      {"--input " + dir / "empty", "empty: no images in this folder"},
      {"--input " + dir / "bad.jpg", "every input was unreadable"},
      {"--input " + dir / "missing.mp4", "missing.mp4: no such file or folder"},
      {"--input cam:x", "cam:x: a webcam is cam:N"},
      {"--input " + dir / "bad.jpg --backend tensorflow", "--backend must be auto, torch or onnx"},
      {"--input " + dir / "bad.jpg --detector " + (kModels / "age_gender.pt").string(), "age_gender.pt"},
      {"--input " + dir / "bad.jpg --classifier " + (kModels / "yolo-fastest-1.1-face.weights").string(),
       "yolo-fastest-1.1-face.weights"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_infer(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
}

}  // namespace
}  // namespace facekit::test
