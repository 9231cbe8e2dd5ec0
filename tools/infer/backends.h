// The models facekit-infer runs and where: Darknet cfg + weights / facekit checkpoints in LibTorch
// (`torch`), or ONNX exports in OpenCV dnn (`onnx`). `auto` picks by the files' extensions. Asked
// for `onnx` with a .weights or .pt model, the model is exported with facekit's own converter
// first (into a temporary folder, removed after loading), so both backends run the same weights.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "tools/facekit/classifiers.h"
#include "tools/facekit/detectors.h"

namespace facekit::infer {

enum class Backend { kAuto, kTorch, kOnnx };
Backend parse_backend(const std::string& name);  // throws cli::UsageError

struct ModelFiles {
  std::string detector, detector_cfg;      // empty detector: the shipped one
  std::vector<std::string> classifiers;    // none: the shipped one; several: an ensemble (averaged)
  std::vector<cv::Size> detector_sizes;    // --input-size (a Darknet model's; the onnx backend exports one per size); empty: the cfg's
  bool detector_tta = false;               // --detector-tta: each photo also mirrored (cli::make_detector)
};

struct Models {
  cli::Detector detect;
  cli::Classifier classifier;
  std::string description;  // one line per model: file and backend
};

// Throws naming the file when it is missing or not a model of the expected kind.
Models load_models(const ModelFiles& files, Backend backend, cli::DetectionThresholds thresholds, torch::Device device);

}  // namespace facekit::infer
