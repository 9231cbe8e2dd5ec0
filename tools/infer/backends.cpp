#include "tools/infer/backends.h"

#include <algorithm>
#include <filesystem>

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

// One raw export per --input-size (none: one at the cfg's size).
std::vector<std::string> detector_as_onnx(const ModelFiles& files, const fs::path& folder) {
  std::vector<std::string> exports;
  for (const cv::Size size : cli::sizes_to_run(files.detector_sizes)) {
    darknet::LoadedDarknet model = cli::load_darknet_model(files.detector, files.detector_cfg, size);
    exports.push_back((folder / ("detector_" + std::to_string(exports.size()) + ".onnx")).string());
    darknet::export_darknet_onnx(*model.net, darknet::OnnxExportOptions{}, exports.back());
  }
  return exports;
}

std::string classifier_as_onnx(const std::string& checkpoint, const fs::path& file) {
  LoadedAgeGenderNet loaded = load_age_gender_checkpoint(checkpoint);
  export_age_gender_onnx(loaded.net, loaded.config, ClassifierOnnxOptions{}, file.string());
  return file.string();
}

// "classifier", or "classifier 2 of 3" in an ensemble.
std::string classifier_name(size_t i, size_t n) {
  return n == 1 ? "classifier" : "classifier " + std::to_string(i + 1) + " of " + std::to_string(n);
}

}  // namespace

Backend parse_backend(const std::string& name) {
  if (name == "auto") return Backend::kAuto;
  if (name == "torch") return Backend::kTorch;
  if (name == "onnx") return Backend::kOnnx;
  throw cli::UsageError("--backend must be auto, torch or onnx, not '" + name + "'");
}

Models load_models(const ModelFiles& requested, Backend backend, cli::DetectionThresholds thresholds, torch::Device device) {
  ModelFiles files = requested;
  if (files.detector.empty()) files.detector = cli::default_model(cli::kDefaultDetectorFile);
  if (files.classifiers.empty()) files.classifiers = cli::default_classifiers();
  require_file(files.detector, "detector");
  for (const auto& c : files.classifiers) require_file(c, "classifier");
  const auto& classifiers = files.classifiers;
  const bool any_onnx = is_onnx(files.detector) || std::any_of(classifiers.begin(), classifiers.end(), is_onnx);
  const bool all_onnx = is_onnx(files.detector) && std::all_of(classifiers.begin(), classifiers.end(), is_onnx);
  if (backend == Backend::kTorch && any_onnx) {
    throw cli::UsageError("--backend torch runs Darknet weights and .pt checkpoints; an .onnx model needs --backend onnx");
  }
  const bool exporting = backend == Backend::kOnnx && !all_onnx;
  Models models;
  if (exporting) {
    const cli::TemporaryFolder exports("facekit-infer-");  // removed when loading is done
    models.detect = is_onnx(files.detector)
                        ? cli::make_detector(files.detector, files.detector_cfg, kFaceClass, device, thresholds,
                                             files.detector_sizes, files.detector_tta)
                        : cli::onnx_exports_detector(detector_as_onnx(files, exports.path), files.detector_cfg,
                                                     kFaceClass, thresholds, files.detector_tta);
    std::vector<cli::Classifier> members;
    for (size_t i = 0; i < classifiers.size(); ++i) {
      const std::string& given = classifiers[i];
      const fs::path file = exports.path / ("classifier_" + std::to_string(i) + ".onnx");
      members.push_back(cli::load_classifier(is_onnx(given) ? given : classifier_as_onnx(given, file), device));
    }
    models.classifier = cli::ensemble_of(members, classifiers);  // errors name the given files, not the exports
  } else {
    models.detect = cli::make_detector(files.detector, files.detector_cfg, kFaceClass, device, thresholds,
                                       files.detector_sizes, files.detector_tta);
    models.classifier = cli::load_classifier_ensemble(classifiers, device);
  }
  const auto describe = [&](const std::string& what, const std::string& file) {
    const bool exported = exporting && !is_onnx(file);
    models.description += what + ": " + file + (exported ? ", exported" : "") +
                          (exporting || is_onnx(file) ? " (ONNX in OpenCV dnn)\n" : " (LibTorch)\n");
  };
  describe("detector", files.detector);
  for (size_t i = 0; i < classifiers.size(); ++i) describe(classifier_name(i, classifiers.size()), classifiers[i]);
  return models;
}

}  // namespace facekit::infer
