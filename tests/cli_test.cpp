// The facekit binary end to end: exit codes, messages, .npy dumps compared across backends,
// and the darknet2torch/torch2darknet round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "datasets/formats/wider.h"
#include "datasets/npy.h"
#include "tests/tensor_util.h"

namespace facekit::test {
namespace {

using Result = CommandResult;

Result run_facekit(const std::string& args) { return run_command(std::string(FACEKIT_BINARY) + " " + args); }

bool cv_empty_png(const fs::path& path) { return cv::imread(path.string()).empty(); }

torch::Tensor load_npy(const std::string& path) {
  NpyArray array = read_npy(path);
  return torch::from_blob(array.data.data(), array.shape).clone();
}

const fs::path kFastest = shared_dir() / "models" / "yolo-fastest-1.1";
const std::string kCfg = (kFastest / "yolo-fastest-1.1.cfg").string();
const std::string kWeights = (kFastest / "yolo-fastest-1.1.weights").string();

TEST(Cli, HelpOnEveryLevelExitsZero) {
  const Result help = run_facekit("--help");
  EXPECT_EQ(help.exit_code, 0);
  // A group's line names every command it accepts (the last one added to `convert` included).
  EXPECT_NE(help.output.find("classifier2onnx, classifier2fp16"), std::string::npos) << help.output;
  EXPECT_EQ(run_facekit("darknet --help").exit_code, 0);
  const Result forward = run_facekit("darknet forward --help");
  EXPECT_EQ(forward.exit_code, 0);
  EXPECT_NE(forward.output.find("--threads"), std::string::npos);
  EXPECT_EQ(run_facekit("convert darknet2torch --help").exit_code, 0);
}

TEST(Cli, BadUsageExitsTwo) {
  EXPECT_EQ(run_facekit("").exit_code, 2);
  EXPECT_EQ(run_facekit("teleport").exit_code, 2);
  EXPECT_EQ(run_facekit("darknet forward --cfg x.cfg --bogus").exit_code, 2);
  EXPECT_EQ(run_facekit("darknet forward --cfg x.cfg").exit_code, 2);  // no --image/--input-npy
  EXPECT_EQ(run_facekit("darknet forward --cfg x.cfg --image y.jpg --threads -3").exit_code, 2);
  const Result ema = run_facekit("train classifier --train csv:x.csv --val csv:x.csv --run r --ema 1");
  EXPECT_EQ(ema.exit_code, 2);
  EXPECT_NE(ema.output.find("--ema must be in [0, 1)"), std::string::npos) << ema.output;
  const Result size = run_facekit("eval detector --dataset wider:x.txt --input-size 320,330");
  EXPECT_EQ(size.exit_code, 2);
  EXPECT_NE(size.output.find("--input-size: '330' is not S or WxH"), std::string::npos) << size.output;
}

TEST(Cli, FailureExitsOneWithFileAndLine) {
  TempDir dir;
  write_file(dir.path() / "bad.cfg", "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nsize=three\n");
  const Result result = run_facekit("darknet info --cfg " + (dir / "bad.cfg"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("bad.cfg:6"), std::string::npos) << result.output;
  const Result missing = run_facekit("darknet info --cfg " + (dir / "missing.cfg"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("missing.cfg"), std::string::npos) << missing.output;
}

TEST(Cli, WrongWeightsSayExpectedAndFound) {
  FACEKIT_REQUIRE_PATH(kWeights);
  const std::string tiny = "/usr/share/darknet/cfg/yolov3-tiny.cfg";
  FACEKIT_REQUIRE_PATH(tiny);
  const Result result = run_facekit("darknet info --cfg " + tiny + " --weights " + kWeights);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("needs 8858734 floats"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("has 346062"), std::string::npos) << result.output;
}

// The dumps of the torch backend equal those of libdarknet (same dialect), file by file.
TEST(Cli, ForwardDumpsMatchAcrossBackends) {
  const std::string photo = (shared_dir() / "data" / "seed-demo" / "friends.jpg").string();
  FACEKIT_REQUIRE_PATH(kWeights);
  FACEKIT_REQUIRE_PATH(photo);
  TempDir dir;
  const std::string common = "darknet forward --cfg " + kCfg + " --weights " + kWeights + " --image " + photo +
                             " --dialect pjreddie --threads 2 --names " + (kFastest / "coco.names").string();
  const Result torch_run = run_facekit(common + " --backend torch --dump " + (dir / "torch"));
  ASSERT_EQ(torch_run.exit_code, 0) << torch_run.output;
  const Result darknet_run = run_facekit(common + " --backend darknet --dump " + (dir / "darknet"));
  ASSERT_EQ(darknet_run.exit_code, 0) << darknet_run.output;
  for (const char* name : {"input", "yolo_121", "yolo_121_out", "yolo_130", "yolo_130_out", "output"}) {
    const auto ours = load_npy((dir.path() / "torch" / (std::string(name) + ".npy")).string());
    const auto reference = load_npy((dir.path() / "darknet" / (std::string(name) + ".npy")).string());
    ASSERT_EQ(ours.sizes(), reference.sizes()) << name;
    EXPECT_LE(relative_max_diff(ours, reference), 1e-4) << name;
  }
  EXPECT_EQ(load_npy((dir.path() / "torch" / "yolo_121.npy").string()).sizes(), (std::vector<int64_t>{1, 255, 10, 10}));
  EXPECT_NE(torch_run.output.find("person"), std::string::npos) << torch_run.output;
  EXPECT_NE(torch_run.output.find("threads: 2 LibTorch, 2 OpenCV"), std::string::npos) << torch_run.output;
  // The same detections are printed by both backends.
  const auto detections = [](const std::string& out) { return out.substr(out.find(" detections")); };
  EXPECT_EQ(detections(torch_run.output), detections(darknet_run.output));

  // --input-npy feeds the dumped input back and gives the same heads.
  const Result again = run_facekit("darknet forward --cfg " + kCfg + " --weights " + kWeights + " --input-npy " +
                                   (dir.path() / "torch" / "input.npy").string() + " --dialect pjreddie --dump " + (dir / "again"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_LE(relative_max_diff(load_npy((dir.path() / "again" / "yolo_130.npy").string()), load_npy((dir.path() / "torch" / "yolo_130.npy").string())),
            1e-6);
}

TEST(Cli, ConvertRoundTripIsByteIdentical) {
  FACEKIT_REQUIRE_PATH(kWeights);
  TempDir dir;
  const Result to_torch = run_facekit("convert darknet2torch --cfg " + kCfg + " --weights " + kWeights + " -o " +
                                      (dir / "m.pt"));
  ASSERT_EQ(to_torch.exit_code, 0) << to_torch.output;
  const Result back = run_facekit("convert torch2darknet --checkpoint " + (dir / "m.pt") + " -o " +
                                  (dir / "m.weights") + " --cfg-output " + (dir / "m.cfg"));
  ASSERT_EQ(back.exit_code, 0) << back.output;
  EXPECT_TRUE(read_file(dir / "m.weights") == read_file(kWeights));
  EXPECT_EQ(read_file(dir / "m.cfg"), read_file(kCfg));
}

// facekit eval detector on the real WIDER subset: a report that parses, numbers in [0, 1], a plot.
// Yolo-Fastest is a COCO model: its `person` class stands in for a face detector here.
TEST(Cli, EvalDetectorWritesReportAndPlot) {
  const auto wider = shared_dir() / "data" / "wider-val-dev";
  FACEKIT_REQUIRE_PATH(wider / "wider_face_val_bbx_gt_416.txt");
  FACEKIT_REQUIRE_PATH(kWeights);
  TempDir dir;
  const Result result = run_facekit("eval detector --dataset wider:" + (wider / "wider_face_val_bbx_gt_416.txt").string() +
                                    " --model " + kWeights + " --class-id 0 --json " + (dir / "report.json") +
                                    " --plots " + (dir / "plots"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string json = read_file(dir.path() / "report.json");
  for (const char* key : {"\"all\"", "\"min16\"", "\"min32\"", "\"min64\"", "\"coco_ap\"", "\"recall\"",
                          "\"num_gt\": 2500", "\"ms_per_image\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
  // AP per bucket (before "num_gt_by_size"), COCO AP, recall and precision are probabilities.
  const std::string ap_part = json.substr(0, json.find("num_gt_by_size"));
  const std::regex bucket("\"(all|min16|min32|min64)\": ([-0-9.e]+)");
  const std::regex rate("\"(coco_ap|recall|precision)\": ([-0-9.e]+)");
  int checked = 0;
  for (const auto& [text, pattern] : {std::pair{ap_part, bucket}, std::pair{json, rate}}) {
    for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern); it != std::sregex_iterator(); ++it) {
      const double value = std::stod((*it)[2].str());
      EXPECT_GE(value, 0.0) << (*it)[0].str();
      EXPECT_LE(value, 1.0) << (*it)[0].str();
      ++checked;
    }
  }
  EXPECT_GE(checked, 7);
  EXPECT_GT(fs::file_size(dir.path() / "plots" / "pr_curves.png"), 1000u);
  EXPECT_FALSE(cv_empty_png(dir.path() / "plots" / "pr_curves.png"));
  for (const char* bucket : {"all", "min16", "min32", "min64"}) {
    EXPECT_FALSE(cv_empty_png(dir.path() / "plots" / ("pr_" + std::string(bucket) + ".png"))) << bucket;
  }
}

// A Darknet list (All-Age-Faces, one labelled face per photo) scored with OpenCV's Haar cascade.
TEST(Cli, EvalDetectorReadsDarknetLists) {
  const auto aaf = shared_dir() / "data" / "aaf-train";
  const std::string cascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
  FACEKIT_REQUIRE_PATH(aaf / "images.txt");
  FACEKIT_REQUIRE_PATH(cascade);
  TempDir dir;
  std::ifstream all(aaf / "images.txt");
  std::ofstream list(dir.path() / "list.txt");
  std::string line;
  for (int i = 0; i < 12 && std::getline(all, line); ++i) list << (aaf / line).string() << "\n";
  list.close();
  const Result result = run_facekit("eval detector --dataset darknet:" + (dir / "list.txt") + " --model haar:" + cascade +
                                    " --json " + (dir / "report.json"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string json = read_file(dir.path() / "report.json");
  EXPECT_NE(json.find("\"num_gt\": 12"), std::string::npos) << json;
  const std::smatch ap = [&] {
    std::smatch m;
    std::regex_search(json, m, std::regex("\"all\": ([0-9.e-]+)"));
    return m;
  }();
  ASSERT_FALSE(ap.empty());
  EXPECT_GT(std::stod(ap[1].str()), 0.5);  // frontal portraits: the cascade finds most of them
  EXPECT_LE(std::stod(ap[1].str()), 1.0);
}

// The value of `"key": number` in a JSON report (-1 when absent).
double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": ([-0-9.e]+)"))) return -1;
  return std::stod(m[1].str());
}

const fs::path kFaceMask = shared_dir() / "data" / "facemask";
const fs::path kWider = shared_dir() / "data" / "wider-val-dev";
const std::string kWiderGt = (kWider / "wider_face_val_bbx_gt_416.txt").string();

// Pascal VOC (the face-mask set, every class a face): all 4,072 boxes count; a detections file
// with one hit and one false alarm gives probabilities; --draw draws the worst images. A class
// map drops a class, and a class it does not name is an error naming the XML file.
TEST(Cli, EvalDetectorReadsVocAndDrawsTheWorstImages) {
  FACEKIT_REQUIRE_PATH(kFaceMask / "annotations");
  TempDir dir;
  // maksssksksss0.xml's first face is VOC (79, 105, 109, 142): x 78, y 104, w 31, h 38 in pixels.
  write_file(dir.path() / "detections.txt", "maksssksksss0.jpg 78 104 31 38 0.9\nmaksssksksss0.jpg 400 300 20 20 0.8\n");
  const std::string voc = "eval detector --dataset voc:" + (kFaceMask / "annotations").string() + " --detections " +
                          (dir / "detections.txt");
  const Result result = run_facekit(voc + " --json " + (dir / "report.json") + " --draw " + (dir / "worst") + " --worst 3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string json = read_file(dir.path() / "report.json");
  EXPECT_EQ(json_number(json, "num_gt"), 4072) << json;
  EXPECT_EQ(json_number(json, "num_images"), 853) << json;
  for (const char* key : {"all", "coco_ap", "recall", "precision"}) {
    EXPECT_GT(json_number(json, key), 0.0) << key << " in " << json;
    EXPECT_LE(json_number(json, key), 1.0) << key << " in " << json;
  }
  EXPECT_DOUBLE_EQ(json_number(json, "precision"), 0.5);
  size_t drawn = 0;
  for (const auto& entry : fs::directory_iterator(dir.path() / "worst")) {
    EXPECT_FALSE(cv_empty_png(entry.path())) << entry.path();
    EXPECT_EQ(entry.path().extension(), ".png");
    ++drawn;
  }
  EXPECT_EQ(drawn, 3u);

  write_file(dir.path() / "map.txt", "con_mascarilla face\nsin_mascarilla face\nmascarilla_mal_puesta -\n");
  const Result mapped = run_facekit(voc + " --class-map " + (dir / "map.txt") + " --json " + (dir / "mapped.json"));
  ASSERT_EQ(mapped.exit_code, 0) << mapped.output;
  EXPECT_EQ(json_number(read_file(dir.path() / "mapped.json"), "num_gt"), 4072 - 123);
  write_file(dir.path() / "short_map.txt", "con_mascarilla face\n");
  const Result unknown = run_facekit(voc + " --class-map " + (dir / "short_map.txt"));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find(".xml:"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("'sin_mascarilla' is not in the class map"), std::string::npos) << unknown.output;
  EXPECT_EQ(run_facekit(voc + " --worst 3").exit_code, 2);  // --worst without --draw
}

// The WIDER ground truth written as COCO json (invalid faces as crowds) scores the same
// detections exactly as the WIDER file does.
TEST(Cli, EvalDetectorCocoEqualsWider) {
  FACEKIT_REQUIRE_PATH(kWiderGt);
  TempDir dir;
  std::ostringstream images, annotations, detections;
  int face_id = 0;
  const auto wider = read_wider_ground_truth(kWiderGt);
  for (size_t i = 0; i < wider.size(); ++i) {
    images << (i ? ",\n" : "") << "{\"id\": " << i + 1 << ", \"file_name\": \"" << wider[i].path
           << "\", \"width\": 416, \"height\": 416}";
    const std::string name = fs::path(wider[i].path).filename().string();
    for (const auto& f : wider[i].faces) {
      annotations << (face_id ? ",\n" : "") << "{\"id\": " << face_id + 1 << ", \"image_id\": " << i + 1
                  << ", \"category_id\": 1, \"bbox\": [" << f.x << ", " << f.y << ", " << f.w << ", " << f.h
                  << "], \"iscrowd\": " << f.invalid << "}";
      // Detections: two faces in three, shifted a little, with varied scores, plus a false alarm per image.
      if (face_id % 3) {
        detections << name << " " << f.x + face_id % 4 << " " << f.y << " " << f.w << " " << f.h << " "
                   << 0.05 + (face_id % 17) / 20.0 << "\n";
      }
      ++face_id;
    }
    detections << name << " 1 1 30 30 " << 0.1 + (i % 7) / 10.0 << "\n";
  }
  write_file(dir.path() / "wider.json", "{\"images\": [" + images.str() + "],\n\"annotations\": [" + annotations.str() +
                                            "],\n\"categories\": [{\"id\": 1, \"name\": \"face\"}]}\n");
  write_file(dir.path() / "detections.txt", detections.str());
  const std::string common = " --images " + (kWider / "images").string() + " --detections " + (dir / "detections.txt");
  const Result from_wider = run_facekit("eval detector --dataset wider:" + kWiderGt + common + " --json " + (dir / "w.json"));
  ASSERT_EQ(from_wider.exit_code, 0) << from_wider.output;
  const Result from_coco =
      run_facekit("eval detector --dataset coco:" + (dir / "wider.json") + common + " --json " + (dir / "c.json"));
  ASSERT_EQ(from_coco.exit_code, 0) << from_coco.output;
  const std::string w = read_file(dir.path() / "w.json"), c = read_file(dir.path() / "c.json");
  EXPECT_EQ(c, w);
  EXPECT_EQ(json_number(c, "num_gt"), 2500);
  EXPECT_GT(json_number(c, "all"), 0.1) << c;  // the detections do hit faces
  const Result bad_category = run_facekit("eval detector --dataset coco:" + (dir / "wider.json") + common + " --category person");
  EXPECT_EQ(bad_category.exit_code, 1);
  EXPECT_NE(bad_category.output.find("wider.json: no category 'person'"), std::string::npos) << bad_category.output;
}

// --input-size runs the weights as a cfg with that width and height would (which the parity tests
// hold to libdarknet at such sizes): the same report to the last digit, but for the timing. The
// shipped face detector (trained at 416) scores differently at 320.
TEST(Cli, EvalDetectorInputSizeIsTheCfgsSize) {
  FACEKIT_REQUIRE_PATH(kWiderGt);
  const fs::path shipped = fs::path(FACEKIT_SOURCE_DIR) / "models" / "pretrained";
  TempDir dir;
  const std::string cfg_320 = (dir / "face-320.cfg");
  const std::string cfg = read_file(shipped / "yolo-fastest-1.1-face.cfg");
  ASSERT_NE(cfg.find("\nwidth=416\nheight=416\n"), std::string::npos);
  write_file(cfg_320, std::regex_replace(cfg, std::regex("\nwidth=416\nheight=416\n"), "\nwidth=320\nheight=320\n"));
  const std::string common = "eval detector --dataset wider:" + kWiderGt + " --threads 2 --model " +
                             (shipped / "yolo-fastest-1.1-face.weights").string();
  const Result by_option = run_facekit(common + " --input-size 320 --json " + (dir / "option.json"));
  ASSERT_EQ(by_option.exit_code, 0) << by_option.output;
  const Result by_cfg = run_facekit(common + " --cfg " + cfg_320 + " --json " + (dir / "cfg.json"));
  ASSERT_EQ(by_cfg.exit_code, 0) << by_cfg.output;
  const Result at_416 = run_facekit(common + " --json " + (dir / "416.json"));
  ASSERT_EQ(at_416.exit_code, 0) << at_416.output;
  const std::regex timing("\"ms_per_image\": [-0-9.e]+");
  const std::string option = std::regex_replace(read_file(dir.path() / "option.json"), timing, "");
  EXPECT_EQ(option, std::regex_replace(read_file(dir.path() / "cfg.json"), timing, ""));
  EXPECT_GT(json_number(option, "min32"), 0.5) << option;
  EXPECT_GT(std::abs(json_number(option, "min16") - json_number(read_file(dir.path() / "416.json"), "min16")), 0.01);
  const Result haar = run_facekit("eval detector --dataset wider:" + kWiderGt + " --model haar:x.xml --input-size 320");
  EXPECT_EQ(haar.exit_code, 2);
  EXPECT_NE(haar.output.find("--input-size runs Darknet models (.weights, .pt), not haar:x.xml, which has one input size"),
            std::string::npos) << haar.output;
}

// facekit bench (the shipped models, a hundredth of a second per case): every backend's row, the two
// speed ratios, the pipeline in both backends, with --input-size too.
TEST(Cli, BenchTimesEveryBackendAndThePipelineAtTheGivenSizes) {
  const fs::path photo = shared_dir() / "data" / "seed-demo" / "friends.jpg";
  FACEKIT_REQUIRE_PATH(photo);
  const std::string common = "bench --threads 2 --min-time 0.01 --photo " + photo.string();
  const Result plain = run_facekit(common);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  for (const char* row : {"\nfacekit torch (prepared)  ", "\nOpenCV dnn (Darknet files)  ", "\nlibdarknet (1 thread)  ",
                          "\nfacekit torch (prepared) batch 8  ", "\nOpenCV dnn (ONNX export) batch 8  ",
                          "libdarknet (1 thread) / facekit torch (prepared): ", "\nfacekit-infer torch (3 faces)  ",
                          "\nfacekit-infer onnx (3 faces)  "}) {
    EXPECT_NE(plain.output.find(row), std::string::npos) << row << "\n" << plain.output;
  }
  const Result sized = run_facekit(common + " --input-size 320,512");
  ASSERT_EQ(sized.exit_code, 0) << sized.output;
  EXPECT_NE(sized.output.find("\nfacekit-infer torch ("), std::string::npos) << sized.output;
  EXPECT_NE(sized.output.find("\nfacekit-infer onnx ("), std::string::npos) << sized.output;
  EXPECT_EQ(run_facekit(common + " --input-size 330").exit_code, 2);
}

// A command that fails after making its temporary folder (for on-the-fly ONNX exports) still removes
// it: bench with a detector whose cfg is missing, infer's onnx backend with a classifier that is not one.
TEST(Cli, AFailedCommandLeavesNoTemporaryFolder) {
  const fs::path photo = shared_dir() / "data" / "seed-demo" / "friends.jpg";
  FACEKIT_REQUIRE_PATH(photo);
  TempDir dir;
  const fs::path temp = dir.path() / "tmp";
  fs::create_directories(temp);
  write_file(dir.path() / "bogus.pt", "not a checkpoint");
  const std::string facekit = "TMPDIR=" + temp.string() + " " + FACEKIT_BINARY;
  const Result bench = run_command(facekit + " bench --min-time 0.01 --detector " + (dir / "missing.weights"));
  EXPECT_EQ(bench.exit_code, 1) << bench.output;
  const Result infer = run_command(facekit + " infer --backend onnx --output '' --input " + photo.string() +
                                   " --classifier " + (dir / "bogus.pt"));
  EXPECT_EQ(infer.exit_code, 1) << infer.output;
  EXPECT_TRUE(fs::is_empty(temp));
}

// Yolo-Fastest exported to ONNX and run by OpenCV dnn scores as the .weights run by LibTorch.
// Its 'person' boxes hardly overlap faces (AP about 1e-4), so an absolute 1e-3 would prove
// nothing: the bound is 1e-3 relative to max(value, 0.01). A --decode export is refused clearly.
TEST(Cli, EvalDetectorOnnxMatchesWeights) {
  FACEKIT_REQUIRE_PATH(kWiderGt);
  FACEKIT_REQUIRE_PATH(kWeights);
  TempDir dir;
  const std::string convert = "convert darknet2onnx --cfg " + kCfg + " --weights " + kWeights + " -o ";
  ASSERT_EQ(run_facekit(convert + (dir / "raw.onnx")).exit_code, 0);
  const std::string common = "eval detector --dataset wider:" + kWiderGt + " --class-id 0 --threads 2 --model ";
  const Result weights = run_facekit(common + kWeights + " --json " + (dir / "weights.json"));
  ASSERT_EQ(weights.exit_code, 0) << weights.output;
  const Result onnx = run_facekit(common + (dir / "raw.onnx") + " --json " + (dir / "onnx.json"));
  ASSERT_EQ(onnx.exit_code, 0) << onnx.output;
  const std::string reference = read_file(dir.path() / "weights.json"), json = read_file(dir.path() / "onnx.json");
  EXPECT_GT(json_number(reference, "all"), 0.0) << reference;
  for (const char* key : {"all", "min16", "min32", "min64", "coco_ap", "recall", "precision"}) {
    const double expected = json_number(reference, key);
    EXPECT_NEAR(json_number(json, key), expected, 1e-3 * std::max(expected, 0.01)) << key;
  }
  ASSERT_EQ(run_facekit(convert + (dir / "decode.onnx") + " --decode").exit_code, 0);
  const Result decoded = run_facekit(common + (dir / "decode.onnx"));
  EXPECT_EQ(decoded.exit_code, 1);
  EXPECT_NE(decoded.output.find("decode.onnx: a --decode or --nms export"), std::string::npos) << decoded.output;
}

TEST(Cli, UnwritableOutputLeavesNothingBehind) {
  FACEKIT_REQUIRE_PATH(kWeights);
  const Result result = run_facekit("convert darknet2torch --cfg " + kCfg + " --weights " + kWeights +
                                    " -o /nonexistent-folder/m.pt");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("/nonexistent-folder/m.pt"), std::string::npos) << result.output;
}

// `facekit anchors` on a Darknet-labelled list of three obvious box sizes (10x14, 40x42 and
// 120x90 px at 200x200, each +-1 px): prints and writes them in cfg syntax, smallest first.
TEST(Cli, AnchorsFindThreeClustersAndWriteTheCfgLine) {
  TempDir dir;
  fs::create_directories(dir.path() / "images");
  fs::create_directories(dir.path() / "labels");
  constexpr double kSize = 200;
  std::ofstream list(dir / "train.txt");
  const std::vector<std::pair<int, int>> centres = {{120, 90}, {10, 14}, {40, 42}};
  for (size_t i = 0; i < centres.size(); ++i) {
    const std::string name = "face" + std::to_string(i);
    list << (dir.path() / "images" / (name + ".jpg")).string() << "\n";
    std::ofstream labels(dir.path() / "labels" / (name + ".txt"));
    for (int dw = -1; dw <= 1; ++dw) {
      for (int dh = -1; dh <= 1; ++dh) {
        labels << "0 0.5 0.5 " << (centres[i].first + dw) / kSize << " " << (centres[i].second + dh) / kSize << "\n";
      }
    }
  }
  list.close();
  std::ofstream(dir / "face.data") << "classes = 1\ntrain = train.txt\n";
  const Result result = run_facekit("anchors --data " + (dir / "face.data") + " --num 3 --size 200x200 --seed 1 --out " +
                                    (dir / "anchors.txt"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string line = "anchors = 10,14,  40,42,  120,90";
  EXPECT_NE(result.output.find("read 27 boxes from 3 images"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(line), std::string::npos) << result.output;
  EXPECT_NE(read_file(dir / "anchors.txt").find(line + "\n"), std::string::npos);
  EXPECT_EQ(run_facekit("anchors --data " + (dir / "face.data") + " --num 3 --size 200by200").exit_code, 2);
  const Result missing = run_facekit("anchors --data " + (dir / "missing.data") + " --num 3 --size 200x200");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("missing.data"), std::string::npos) << missing.output;
}


// train classifier -> eval classifier -> eval pipeline on real faces: eval classifier's gender and
// age accuracy equal the trainer's own validation of the same checkpoint on the same faces (one
// crop, one model) and those of its ONNX export, and the pipeline counts WIDER's 679 labelled faces.
TEST(Cli, TrainAndEvalClassifierThenThePipeline) {
  const fs::path utkface = shared_dir() / "data" / "utkface";
  FACEKIT_REQUIRE_PATH(utkface);
  FACEKIT_REQUIRE_PATH(kWider);
  TempDir dir;
  utkface_split(dir.path(), 32, 70);  // dir/split.txt
  const std::string faces = "utkface:" + utkface.string() + " ";
  const Result trained = run_facekit("train classifier --train " + faces + "--train-split " + (dir / "split.txt") +
                                     " --val " + faces + "--val-split " + (dir / "split.txt") + " --run " + (dir / "run") +
                                     " --width-mult 0.25 --input-size 75 --epochs 2 --batch 16 --no-augment --threads 2");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  // The years head's loss options on a network without that head: refused, naming what is missing.
  const std::string no_years_head = "train classifier --train " + faces + "--train-split " + (dir / "split.txt") + " --val " +
                                    faces + "--val-split " + (dir / "split.txt") + " --run " + (dir / "no-years") +
                                    " --width-mult 0.25 --input-size 75 --epochs 1 --batch 16 --threads 2 --age-sigma ";
  const Result refused = run_facekit(no_years_head + "2");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("--age-regression"), std::string::npos) << refused.output;
  EXPECT_EQ(run_facekit(no_years_head + "-1").exit_code, 2);
  for (const char* file : {"weights/best.pt", "weights/last.pt", "state.pt", "results.csv", "curves.png"}) {
    EXPECT_TRUE(fs::exists(dir.path() / "run" / file)) << file;
  }
  const std::string model = dir / "run/weights/last.pt";
  const Result evaluated = run_facekit("eval classifier --dataset " + faces + "--split " + (dir / "split.txt") +
                                       " --model " + model + " --json " + (dir / "c.json") + " --plots " + (dir / "plots"));
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const std::string report = read_file(dir.path() / "c.json");
  EXPECT_EQ(json_number(report, "n"), 32);
  EXPECT_EQ(json_number(report, "skipped"), 0);
  EXPECT_NEAR(json_number(report, "gender_acc"), csv_column(dir / "run/results.csv", "val_gender_acc").back(), 1e-6);
  EXPECT_NEAR(json_number(report, "age_exact"), csv_column(dir / "run/results.csv", "val_age_acc").back(), 1e-6);
  EXPECT_NEAR(json_number(report, "age_mae"), csv_column(dir / "run/results.csv", "val_age_mae").back(), 1e-4);
  EXPECT_FALSE(cv_empty_png(dir.path() / "plots" / "age_confusion.png"));
  // --predictions: one row per face whose labels and predictions give the report's accuracies.
  const Result listed = run_facekit("eval classifier --dataset " + faces + "--split " + (dir / "split.txt") +
                                    " --model " + model + " --predictions " + (dir / "faces.csv"));
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  std::ifstream rows(dir.path() / "faces.csv");
  std::string row;
  std::getline(rows, row);
  EXPECT_EQ(row.rfind("image,gender,age,age_interval,predicted_gender,p_female,predicted_interval,", 0), 0u) << row;
  // image,gender,age,"(a, b)",predicted gender,p_female,"(c, d)",...
  const std::regex fields(R"(^[^,]+,(\w+),[^,]+,("[^"]+"),(\w+),[^,]+,("[^"]+"),.*)");
  int n = 0, gender_right = 0, age_right = 0;
  while (std::getline(rows, row)) {
    std::smatch field;
    ASSERT_TRUE(std::regex_match(row, field, fields)) << row;
    ++n;
    gender_right += field[1] == field[3];
    age_right += field[2] == field[4];
  }
  EXPECT_EQ(n, 32);
  EXPECT_NEAR(static_cast<double>(age_right) / n, json_number(report, "age_exact"), 1e-9);
  EXPECT_NEAR(static_cast<double>(gender_right) / n, json_number(report, "gender_acc"), 1e-9);
  // --tta classifies six views of each face (mirrored, zoomed): the same faces, other (averaged) estimates.
  const Result augmented = run_facekit("eval classifier --dataset " + faces + "--split " + (dir / "split.txt") +
                                      " --model " + model + " --tta --json " + (dir / "tta.json"));
  ASSERT_EQ(augmented.exit_code, 0) << augmented.output;
  const std::string tta_report = read_file(dir.path() / "tta.json");
  EXPECT_EQ(json_number(tta_report, "n"), 32);
  EXPECT_GT(std::abs(json_number(tta_report, "age_mae") - json_number(report, "age_mae")), 1e-6);

  // The ONNX export, run by OpenCV dnn, scores the same.
  const Result exported = run_facekit("convert classifier2onnx --checkpoint " + model + " -o " + (dir / "c.onnx"));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const Result onnx = run_facekit("eval classifier --dataset " + faces + "--split " + (dir / "split.txt") + " --model " +
                                  (dir / "c.onnx") + " --json " + (dir / "onnx.json"));
  ASSERT_EQ(onnx.exit_code, 0) << onnx.output;
  const std::string onnx_report = read_file(dir.path() / "onnx.json");
  EXPECT_EQ(json_number(onnx_report, "n"), 32);
  for (const char* key : {"gender_acc", "age_exact", "age_1off"}) {  // a face on a 0.5 tie may flip
    EXPECT_NEAR(json_number(onnx_report, key), json_number(report, key), 1.0 / 32 + 1e-9) << key;
  }
  // Expected ages are sums of probabilities times midpoints up to 80 years: 1e-4 there is 0.01 here.
  EXPECT_NEAR(json_number(onnx_report, "age_mae"), json_number(report, "age_mae"), 1e-2);

  // --model twice averages the two: the checkpoint and its ONNX export (one function, two runtimes)
  // score as either alone, years included (a sum instead of a mean would double every age). A model
  // that crops otherwise (the shipped one: 160 px) cannot join; the error names it.
  const Result ensemble = run_facekit("eval classifier --dataset " + faces + "--split " + (dir / "split.txt") + " --model " +
                                      model + " --model " + (dir / "c.onnx") + " --json " + (dir / "ensemble.json"));
  ASSERT_EQ(ensemble.exit_code, 0) << ensemble.output;
  const std::string ensemble_report = read_file(dir.path() / "ensemble.json");
  for (const char* key : {"gender_acc", "age_exact", "age_1off"}) {
    EXPECT_NEAR(json_number(ensemble_report, key), json_number(report, key), 1.0 / 32 + 1e-9) << key;
  }
  EXPECT_NEAR(json_number(ensemble_report, "age_mae"), json_number(report, "age_mae"), 1e-2);
  const std::string shipped = std::string(FACEKIT_SOURCE_DIR) + "/models/pretrained/age_gender.pt";
  const Result mismatched = run_facekit("eval classifier --dataset " + faces + "--split " + (dir / "split.txt") +
                                        " --model " + model + " --model " + shipped);
  EXPECT_EQ(mismatched.exit_code, 1);
  EXPECT_NE(mismatched.output.find(shipped + ": cannot be averaged with " + model + ": its face crop is 160 px"),
            std::string::npos) << mismatched.output;

  const std::string cascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
  const std::string pipeline = "eval pipeline --dataset wider-demographics:" + (kWider / "demographics_416.csv").string() +
                               " --images " + (kWider / "images").string() + " --detector haar:" + cascade +
                               " --classifier " + model;
  const Result piped = run_facekit(pipeline + " --json " + (dir / "p.json"));
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  const std::string p = read_file(dir.path() / "p.json");
  EXPECT_EQ(json_number(p, "labelled"), 679);
  EXPECT_GT(json_number(p, "detected"), 0);
  EXPECT_NEAR(json_number(p, "detected_fraction"), json_number(p, "detected") / 679, 1e-9);
  EXPECT_GE(json_number(p, "gender_acc"), 0);
  EXPECT_GE(json_number(p, "age_group_acc"), 0);
  EXPECT_EQ(run_facekit("eval pipeline --dataset wider:x.txt --images y").exit_code, 2);
}

// A training setup on a few face-mask images with one or two faces: Yolo-Fastest 1.1 for faces from
// the COCO weights, the shipped cfg with a short schedule (burn-in 100, constant LR 0.0005; a burn-in
// of 50 diverged, fresh heads need the slow start; at 0.001 the objectness oscillated and diverged
// after 290 iterations at this batch of 6).
struct DetectorOverfit {
  std::string cfg, data, list, first_image;
};

DetectorOverfit detector_overfit_setup(const TempDir& dir, int max_batches) {
  DetectorOverfit setup;
  std::vector<std::string> annotations;
  for (const auto& entry : fs::directory_iterator(kFaceMask / "annotations")) annotations.push_back(entry.path().string());
  std::sort(annotations.begin(), annotations.end());
  setup.list = dir / "list.txt";
  std::ofstream list(setup.list);
  int small = 0, taken = 0;
  for (const auto& xml : annotations) {
    const std::string text = read_file(xml);
    int objects = 0;
    for (size_t at = text.find("<object>"); at != std::string::npos; at = text.find("<object>", at + 1)) ++objects;
    if (objects > 2 || small++ % 40 != 2 || taken == 6) continue;
    list << xml << "\n";
    ++taken;
    if (setup.first_image.empty()) {
      std::smatch name;
      std::regex_search(text, name, std::regex("<filename>([^<]+)</filename>"));
      setup.first_image = (kFaceMask / "images" / name[1].str()).string();
    }
  }
  list.close();
  std::string cfg = read_file(fs::path(FACEKIT_SOURCE_DIR) / "models/cfg/yolo-fastest-1.1-face.cfg");
  cfg = std::regex_replace(cfg, std::regex("\nburn_in=4000"), "\nburn_in=100");
  cfg = std::regex_replace(cfg, std::regex("\nmax_batches=500000"), "\nmax_batches=" + std::to_string(max_batches));
  cfg = std::regex_replace(cfg, std::regex("\npolicy=steps"), "\npolicy=constant");
  cfg = std::regex_replace(cfg, std::regex("\nlearning_rate=0.001"), "\nlearning_rate=0.0005");
  setup.cfg = dir / "face.cfg";
  write_file(setup.cfg, cfg);
  setup.data = dir / "face.data";
  write_file(setup.data, "classes = 1\ntrain = " + setup.list + "\nvalid = " + setup.list + "\nnames = " +
                             FACEKIT_SOURCE_DIR + "/models/cfg/face.names\nclass_map = " + FACEKIT_SOURCE_DIR +
                             "/models/cfg/facemask.map\nbackup = " + (dir / "backup") + "\n");
  return setup;
}

std::string train_detector_command(const DetectorOverfit& setup, const std::string& backup) {
  return "train detector --cfg " + setup.cfg + " --weights " + kWeights + " --weights-cfg " + kCfg + " --data " +
         setup.data + " --backup " + backup + " --batch 6 --subdivisions 1 --threads 2";
}

// A few face-mask images are learnt: the loss falls at least 5x and AP@0.5 on them reaches 0.8 (the
// issue's bar); the weights written load in libdarknet, OpenCV dnn and facekit and give the same heads.
// Measured (deterministic) with the cfg's loss (CIoU, iou_normalizer 0.07, iou_thresh 0.213) and
// its stretch resize: loss 591 -> 0.87, AP@0.5 0.06 (150 it.) -> 0.85 (200) -> 0.96 (250) -> 0.83
// (300) -> 1.0 (350) -> 0.989 (400). Before the trainer read the cfg's loss and resize: 0.676 at 300.
TEST(Cli, TrainDetectorOverfitsAFewFaceMaskImages) {
  FACEKIT_REQUIRE_PATH(kFaceMask);
  FACEKIT_REQUIRE_PATH(kWeights);
  TempDir dir;
  const DetectorOverfit setup = detector_overfit_setup(dir, 400);
  const Result trained = run_facekit(train_detector_command(setup, dir / "backup") + " --validate-every 50 --save-every 50");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("reset (shapes changed): convolutional_120, convolutional_129"), std::string::npos) << trained.output;
  const auto loss = csv_column(dir / "backup/results.csv", "train_loss");
  const auto ap = csv_column(dir / "backup/results.csv", "val_ap50");
  ASSERT_EQ(loss.size(), 8u);
  std::printf("loss %.1f -> %.2f, AP@0.5 %.3f\n", loss.front(), loss.back(), ap.back());
  EXPECT_GE(loss.front() / loss.back(), 5);
  EXPECT_GE(ap.back(), 0.8);

  const std::string common = "darknet forward --cfg " + setup.cfg + " --weights " + (dir / "backup/face_final.weights") +
                             " --image " + setup.first_image + " --dialect pjreddie --threads 2";
  for (const char* backend : {"torch", "darknet", "opencv"}) {
    const Result run = run_facekit(common + " --backend " + backend + " --dump " + (dir / backend));
    ASSERT_EQ(run.exit_code, 0) << backend << ": " << run.output;
  }
  for (const char* head : {"yolo_121", "yolo_130"}) {
    const auto ours = load_npy((dir.path() / "torch" / (std::string(head) + ".npy")).string());
    EXPECT_LE(relative_max_diff(ours, load_npy((dir.path() / "darknet" / (std::string(head) + ".npy")).string())), 1e-4) << head;
    EXPECT_LE(relative_max_diff(ours, load_npy((dir.path() / "opencv" / (std::string(head) + ".npy")).string())), 1e-4) << head;
  }
}

// Stopped after 8 iterations and resumed, a run logs the losses of one that was never stopped; with
// multi-scale training (random=1), whose input size changes every 10 iterations by the seed.
TEST(Cli, TrainDetectorResumeContinuesTheSameLoss) {
  FACEKIT_REQUIRE_PATH(kFaceMask);
  FACEKIT_REQUIRE_PATH(kWeights);
  TempDir dir;
  const DetectorOverfit setup = detector_overfit_setup(dir, 12);
  write_file(setup.cfg, std::regex_replace(read_file(setup.cfg), std::regex("\nrandom=0"), "\nrandom=1"));
  const std::string whole = train_detector_command(setup, dir / "whole") + " --save-every 4";
  const Result uninterrupted = run_facekit(whole);
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.output;
  std::set<std::string> sizes;
  const std::regex size(" size ([0-9]+) ");
  for (std::sregex_iterator it(uninterrupted.output.begin(), uninterrupted.output.end(), size), end; it != end; ++it) {
    sizes.insert((*it)[1].str());
  }
  EXPECT_GE(sizes.size(), 2u) << "one input size in 12 multi-scale iterations: " << uninterrupted.output;
  const std::string parts = train_detector_command(setup, dir / "parts") + " --save-every 4";
  ASSERT_EQ(run_facekit(parts + " --max-batches 8").exit_code, 0);
  const Result resumed = run_facekit(parts + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming at iteration 8"), std::string::npos) << resumed.output;
  const auto expected = csv_column(dir / "whole/results.csv", "train_loss");
  const auto got = csv_column(dir / "parts/results.csv", "train_loss");
  ASSERT_EQ(expected.size(), 3u);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-4 * expected[i]) << "row " << i;
}

// Without --model, eval detector, eval classifier and eval pipeline use the models shipped in
// models/pretrained (found beside the build tree): the face detector is above OpenCV's Haar cascade
// (AP@0.5 0.325 for faces >= 32 px, experiments/baselines; the shipped detector scores 0.616), and
// the classifier is the ensemble of the two shipped networks, not the first alone.
// `facekit calibrate` on copies of the shipped pair: without --write the files stay as they were; with
// it, each member holds the line (composed with the one it had, in its float16 storage), and
// evaluating the pair then gives the MAE and exact accuracy calibrate reported for the line; the ONNX
// export of a calibrated member scores as the checkpoint does. An ONNX model is refused, and so is
// --write without --model (it would rewrite the shipped models).
TEST(Cli, CalibrateWritesTheLineThatEvaluationThenApplies) {
  const fs::path pretrained = fs::path(FACEKIT_SOURCE_DIR) / "models" / "pretrained";
  FACEKIT_REQUIRE_PATH(pretrained / "age_gender.pt");
  FACEKIT_REQUIRE_PATH(shared_dir() / "data" / "utkface");
  TempDir dir;
  fs::copy_file(pretrained / "age_gender.pt", dir.path() / "a.pt");
  fs::copy_file(pretrained / "age_gender_2.pt", dir.path() / "b.pt");
  const std::string faces = " --dataset utkface:" + (shared_dir() / "data" / "utkface").string() + " --split " +
                            utkface_split(dir.path(), 150, 15) + " --threads 2";
  const std::string pair = " --model " + (dir / "a.pt") + " --model " + (dir / "b.pt");
  const std::string original = read_file(dir.path() / "a.pt");
  const Result dry = run_facekit("calibrate" + faces + pair);
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("not written"), std::string::npos) << dry.output;
  EXPECT_EQ(read_file(dir.path() / "a.pt"), original);
  const Result written = run_facekit("calibrate" + faces + pair + " --write --json " + (dir / "line.json"));
  ASSERT_EQ(written.exit_code, 0) << written.output;
  EXPECT_NE(written.output.find("wrote " + (dir / "b.pt") + ": age = "), std::string::npos) << written.output;
  const std::string line = read_file(dir.path() / "line.json");
  EXPECT_LT(json_number(line, "age_mae_calibrated"), json_number(line, "age_mae"));
  EXPECT_NEAR(static_cast<double>(fs::file_size(dir.path() / "a.pt")), static_cast<double>(original.size()), 1024);
  ASSERT_EQ(run_facekit("eval classifier" + faces + pair + " --json " + (dir / "after.json")).exit_code, 0);
  const std::string after = read_file(dir.path() / "after.json");
  EXPECT_NEAR(json_number(after, "age_mae"), json_number(line, "age_mae_calibrated"), 1e-4);
  EXPECT_NEAR(json_number(after, "age_exact"), json_number(line, "age_exact_calibrated"), 1e-9);

  const Result exported = run_facekit("convert classifier2onnx --checkpoint " + (dir / "a.pt") + " -o " + (dir / "a.onnx"));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  ASSERT_EQ(run_facekit("eval classifier" + faces + " --model " + (dir / "a.pt") + " --json " + (dir / "pt.json")).exit_code, 0);
  ASSERT_EQ(run_facekit("eval classifier" + faces + " --model " + (dir / "a.onnx") + " --json " + (dir / "onnx.json")).exit_code, 0);
  EXPECT_NEAR(json_number(read_file(dir.path() / "onnx.json"), "age_mae"), json_number(read_file(dir.path() / "pt.json"), "age_mae"), 2e-3);
  const Result onnx = run_facekit("calibrate" + faces + " --model " + (dir / "a.onnx"));
  EXPECT_EQ(onnx.exit_code, 2);
  EXPECT_NE(onnx.output.find("calibrate the .pt checkpoint"), std::string::npos) << onnx.output;
  const Result shipped = run_facekit("calibrate" + faces + " --write");  // would rewrite models/pretrained
  EXPECT_EQ(shipped.exit_code, 2);
  EXPECT_NE(shipped.output.find("--write needs the checkpoints to write"), std::string::npos) << shipped.output;
}

// `facekit eval classifier`'s report (--json) against scikit-learn recomputing every number from the
// same run's --predictions CSV (tests/classifier_metrics_ref.py): counts, accuracies, confusion
// matrices, per-class and per-interval accuracy and MAE. The CSV holds the years to 6 significant
// digits, hence the MAE's tolerance. 200 faces of UTKFace's validation split, the shipped models.
// --crop-margin replaces the classifier's own margin: the shipped one (1.4) given explicitly changes
// nothing, a crowd's 1.05 changes the predictions, below 1 is refused naming the option.
TEST(Cli, CropMarginRecropsTheFaces) {
  FACEKIT_REQUIRE_PATH(shared_dir() / "data" / "utkface");
  TempDir dir;
  const std::string eval = "eval classifier --dataset utkface:" + (shared_dir() / "data" / "utkface").string() +
                           " --split " + utkface_split(dir.path(), 16, 50) + " --threads 2";
  const auto predictions = [&](const std::string& name, const std::string& margin) {
    const Result run = run_facekit(eval + margin + " --predictions " + (dir / name));
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return read_file(dir.path() / name);
  };
  const std::string shipped = predictions("default.csv", "");
  EXPECT_EQ(predictions("explicit.csv", " --crop-margin 1.4"), shipped);
  EXPECT_NE(predictions("crowd.csv", " --crop-margin 1.05"), shipped);
  const Result refused = run_facekit(eval + " --crop-margin 0.5");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.output.find("--crop-margin"), std::string::npos) << refused.output;
}

TEST(Cli, EvalClassifierReportMatchesScikitLearnOnItsPredictions) {
  FACEKIT_REQUIRE_PATH(fs::path(FACEKIT_SOURCE_DIR) / "models" / "pretrained" / "age_gender.pt");
  FACEKIT_REQUIRE_PATH(shared_dir() / "data" / "utkface");
  TempDir dir;
  const std::string report = dir / "report.json", predictions = dir / "predictions.csv", reference = dir / "sklearn.json";
  const Result run = run_facekit("eval classifier --dataset utkface:" + (shared_dir() / "data" / "utkface").string() +
                                 " --split " + utkface_split(dir.path(), 200, 10) + " --threads 2 --json " + report +
                                 " --predictions " + predictions);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Result sklearn = run_command("/usr/bin/python3 " + std::string(FACEKIT_CLASSIFIER_METRICS_SCRIPT) + " " +
                                     predictions + " " + report + " " + reference);
  ASSERT_EQ(sklearn.exit_code, 0) << "python3-sklearn missing? " << sklearn.output;
  const auto ours = nlohmann::json::parse(read_file(report)), theirs = nlohmann::json::parse(read_file(reference));
  EXPECT_EQ(ours["n"], 200);
  for (const char* key : {"n", "gender_n", "age_n", "mae_n", "gender_confusion", "age_confusion"}) {
    EXPECT_EQ(ours[key], theirs[key]) << key;
  }
  const auto expect_near = [&](const char* key, double tolerance) {
    const auto a = ours[key].is_array() ? ours[key] : nlohmann::json::array({ours[key]});
    const auto b = theirs[key].is_array() ? theirs[key] : nlohmann::json::array({theirs[key]});
    ASSERT_EQ(a.size(), b.size()) << key;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i].get<double>(), b[i].get<double>(), tolerance) << key << "[" << i << "]";
  };
  for (const char* key : {"gender_acc", "age_exact", "age_1off", "gender_acc_per_class", "age_acc_per_interval",
                          "gender_acc_per_interval"}) {
    expect_near(key, 1e-12);
  }
  expect_near("age_mae", 1e-4);
  expect_near("age_mae_per_interval", 1e-4);
}

TEST(Cli, EvaluationsDefaultToTheShippedModels) {
  const fs::path pretrained = fs::path(FACEKIT_SOURCE_DIR) / "models" / "pretrained";
  FACEKIT_REQUIRE_PATH(pretrained / "yolo-fastest-1.1-face.weights");
  FACEKIT_REQUIRE_PATH(pretrained / "age_gender.pt");
  FACEKIT_REQUIRE_PATH(pretrained / "age_gender_2.pt");
  FACEKIT_REQUIRE_PATH(kWider);
  TempDir dir;
  const std::string faces = "eval classifier --dataset utkface:" + (shared_dir() / "data" / "utkface").string() +
                            " --split " + utkface_split(dir.path(), 200, 10) + " --threads 2 --json ";
  const Result by_default = run_facekit(faces + (dir / "default.json"));
  ASSERT_EQ(by_default.exit_code, 0) << by_default.output;
  const std::string both = " --model " + (pretrained / "age_gender.pt").string() + " --model " +
                           (pretrained / "age_gender_2.pt").string();
  ASSERT_EQ(run_facekit(faces + (dir / "both.json") + both).exit_code, 0);
  ASSERT_EQ(run_facekit(faces + (dir / "first.json") + " --model " + (pretrained / "age_gender.pt").string()).exit_code, 0);
  const std::string ensemble = read_file(dir.path() / "default.json");
  EXPECT_EQ(ensemble, read_file(dir.path() / "both.json"));
  EXPECT_NE(json_number(ensemble, "age_mae"), json_number(read_file(dir.path() / "first.json"), "age_mae"));
  const Result detector = run_facekit("eval detector --dataset wider:" + kWiderGt + " --threads 2 --json " + (dir / "d.json"));
  ASSERT_EQ(detector.exit_code, 0) << detector.output;
  EXPECT_GT(json_number(read_file(dir.path() / "d.json"), "min32"), 0.4);
  const Result pipeline = run_facekit("eval pipeline --dataset wider-demographics:" + (kWider / "demographics_416.csv").string() +
                                      " --images " + (kWider / "images").string() + " --threads 2 --json " + (dir / "p.json"));
  ASSERT_EQ(pipeline.exit_code, 0) << pipeline.output;
  EXPECT_GT(json_number(read_file(dir.path() / "p.json"), "detected_fraction"), 0.1);
}

}  // namespace
}  // namespace facekit::test
