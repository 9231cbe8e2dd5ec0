// Face detectors behind one signature, for `facekit eval` and `facekit-infer`: a Darknet
// model in LibTorch (cfg + weights or a facekit checkpoint), a raw ONNX export in OpenCV dnn, or
// OpenCV's Haar cascade. Each returns scored boxes of the face class in image pixels.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "convert/darknet_torch.h"
#include "eval/detection_metrics.h"

namespace facekit::cli {

using Detector = std::function<std::vector<eval::ScoredBox>(const cv::Mat& bgr)>;

// Which boxes a detector returns. Evaluation keeps low scores (AP needs the whole curve);
// inference shows only confident ones.
struct DetectionThresholds {
  float conf = 0.005f;
  float nms = 0.45f;
};

// The models shipped in models/pretrained/ (see its README): found through $FACEKIT_MODELS, then
// beside the executable's source tree (build/tools/facekit -> models/pretrained), then in
// ./models/pretrained. Throws UsageError naming where it looked when the file is in none of them.
constexpr const char* kDefaultDetectorFile = "yolo-fastest-1.1-face.weights";
constexpr const char* kDefaultClassifierFile = "age_gender.pt";
std::string default_model(const std::string& file);

// X.weights (with `cfg`, else the .cfg beside it) or a facekit Darknet checkpoint X.pt.
darknet::LoadedDarknet load_darknet_model(const std::string& model, const std::string& cfg);

// `model`: X.weights (cfg beside it or `cfg`), X.pt, X.onnx (a raw darknet2onnx export) or
// haar:CASCADE.xml. `class_id`: the model's face class.
Detector make_detector(const std::string& model, const std::string& cfg, int class_id, torch::Device device,
                       DetectionThresholds thresholds = {});

}  // namespace facekit::cli
