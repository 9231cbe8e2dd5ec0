#include "tools/infer/backends.h"

#include <filesystem>
#include <unistd.h>

#include "convert/classifier_onnx.h"
#include "convert/darknet_onnx.h"
#include "tools/facekit/cli.h"

namespace facekit::infer {
namespace {

namespace fs = std::filesystem;

constexpr int kFaceClass = 0;  // the shipped and trained face detectors have one class

bool is_onnx(const std::string& path) { return fs::path(path).extension() == ".onnx"; }

void require_file(const std::string& path, const char* what) {
  if (!fs::is_regular_file(path)) throw std::runtime_error(path + ": no such " + std::string(what) + " file");
}

// A folder for on-the-fly exports, removed when loading is done.
struct TemporaryFolder {
  fs::path path = fs::temp_directory_path() / ("facekit-infer-" + std::to_string(::getpid()));
  TemporaryFolder() { fs::create_directories(path); }
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string detector_as_onnx(const ModelFiles& files, const fs::path& folder) {
  darknet::LoadedDarknet model = cli::load_darknet_model(files.detector, files.detector_cfg);
  const std::string path = (folder / "detector.onnx").string();
  darknet::export_darknet_onnx(*model.net, darknet::OnnxExportOptions{}, path);
  return path;
}

std::string classifier_as_onnx(const std::string& checkpoint, const fs::path& folder) {
  LoadedAgeGenderNet loaded = load_age_gender_checkpoint(checkpoint);
  const std::string path = (folder / "classifier.onnx").string();
  export_age_gender_onnx(loaded.net, loaded.config, ClassifierOnnxOptions{}, path);
  return path;
}

}  // namespace

Backend parse_backend(const std::string& name) {
  if (name == "auto") return Backend::kAuto;
  if (name == "torch") return Backend::kTorch;
  if (name == "onnx") return Backend::kOnnx;
  throw cli::UsageError("--backend must be auto, torch or onnx, not '" + name + "'");
}

Models load_models(const ModelFiles& given, Backend backend, cli::DetectionThresholds thresholds, torch::Device device) {
  ModelFiles files = given;
  if (files.detector.empty()) files.detector = cli::default_model(cli::kDefaultDetectorFile);
  if (files.classifier.empty()) files.classifier = cli::default_model(cli::kDefaultClassifierFile);
  require_file(files.detector, "detector");
  require_file(files.classifier, "classifier");
  if (backend == Backend::kTorch && (is_onnx(files.detector) || is_onnx(files.classifier))) {
    throw cli::UsageError("--backend torch runs Darknet weights and .pt checkpoints; an .onnx model needs --backend onnx");
  }
  Models models;
  const auto describe = [&](const char* what, const std::string& file, bool onnx) {
    models.description += std::string(what) + ": " + file + (onnx ? " (ONNX in OpenCV dnn)\n" : " (LibTorch)\n");
  };
  if (backend == Backend::kOnnx && (!is_onnx(files.detector) || !is_onnx(files.classifier))) {
    TemporaryFolder exports;
    const std::string detector = is_onnx(files.detector) ? files.detector : detector_as_onnx(files, exports.path);
    const std::string classifier = is_onnx(files.classifier) ? files.classifier : classifier_as_onnx(files.classifier, exports.path);
    models.detect = cli::make_detector(detector, files.detector_cfg, kFaceClass, device, thresholds);
    models.classifier = cli::load_classifier(classifier, device);
    describe("detector", files.detector + (is_onnx(files.detector) ? "" : ", exported"), true);
    describe("classifier", files.classifier + (is_onnx(files.classifier) ? "" : ", exported"), true);
    return models;
  }
  models.detect = cli::make_detector(files.detector, files.detector_cfg, kFaceClass, device, thresholds);
  models.classifier = cli::load_classifier(files.classifier, device);
  describe("detector", files.detector, is_onnx(files.detector));
  describe("classifier", files.classifier, is_onnx(files.classifier));
  return models;
}

}  // namespace facekit::infer
