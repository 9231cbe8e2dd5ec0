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
#include "datasets/preprocess.h"
#include "eval/detection_metrics.h"
#include "models/darknet/decode.h"
#include "tools/facekit/cli.h"

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
std::string default_model(const std::string& file);

// The default classifier: two AgeGenderNets whose predictions are averaged face by face, an ensemble
// (experiments/age-gender-utkface/, stage 13), each found as default_model finds a file.
constexpr const char* kDefaultClassifierFiles[] = {"age_gender.pt", "age_gender_2.pt"};
std::vector<std::string> default_classifiers();

// Every class's detections of a photo (as planar RGB) by one view of it (one input size), in image
// pixels, after that view's NMS, not clipped to the photo (Darknet's NMS sees whole boxes).
using DetectAtSize = std::function<std::vector<darknet::Detection>(const PlanarImage& rgb)>;

// A detector over several views (multi-scale testing): the photo converted once, every size's
// detections merged by one NMS at `nms_thresh` on the whole boxes, clipped to the photo, then the
// boxes of `class_id`. With `tta` every size also runs on the photo mirrored (once), its boxes
// mirrored back (x -> width - x) into the same NMS: test-time augmentation. One view gives
// exactly Darknet's detections (do_nms_sort, then draw_detections' clipping): its own NMS left no
// two boxes of a class above `nms_thresh`, so the merge keeps them all.
Detector merged_over_sizes(std::vector<DetectAtSize> sizes, int class_id, float nms_thresh, bool tta);

// X.weights (with `cfg`, else the .cfg beside it) or a facekit Darknet checkpoint X.pt, built for
// `input_size` (empty: the cfg's or the checkpoint's).
darknet::LoadedDarknet load_darknet_model(const std::string& model, const std::string& cfg, cv::Size input_size = {});

// A Darknet model (X.weights with `cfg` or the .cfg beside it, or X.pt) at each of `input_sizes`
// (none: its own), run in LibTorch: make_detector's views, before merged_over_sizes.
std::vector<DetectAtSize> darknet_views(const std::string& model, const std::string& cfg, torch::Device device,
                                        DetectionThresholds thresholds, const std::vector<cv::Size>& input_sizes = {});

// `model`: X.weights (cfg beside it or `cfg`), X.pt, X.onnx (a raw darknet2onnx export) or
// haar:CASCADE.xml. `class_id`: the model's face class. `input_sizes` (Darknet models only; empty:
// the cfg's size): the image runs at each size and the detections of all sizes are merged by one
// non-maximum suppression (multi-scale testing), so each size contributes the faces it sees best.
// `tta` (not Haar): every size also runs on the mirrored photo, its boxes mirrored back into the same
// NMS (test-time augmentation; twice the forward passes).
Detector make_detector(const std::string& model, const std::string& cfg, int class_id, torch::Device device,
                       DetectionThresholds thresholds = {}, const std::vector<cv::Size>& input_sizes = {},
                       bool tta = false);

// Raw ONNX exports of one Darknet model, one per input size (each export has one), run by OpenCV dnn
// and merged as make_detector merges a Darknet model's sizes: facekit-infer's onnx backend with
// --input-size.
Detector onnx_exports_detector(const std::vector<std::string>& exports, const std::string& cfg, int class_id,
                               DetectionThresholds thresholds, bool tta = false);

// --input-size for the commands that run a detector: "416", "416x320" or a comma-separated list of
// them, each side a multiple of 32 (Darknet's detectors downsample by 32). Throws UsageError.
void add_input_size_option(po::options_description* options);
std::vector<cv::Size> input_sizes(const po::variables_map& vm);  // empty: the cfg's
// --detector-tta for the commands that run a detector and a classifier (whose --tta is the
// classifier's): make_detector's `tta`.
void add_detector_tta_option(po::options_description* options);
// The sizes a Darknet model runs at: `requested`, or when none one empty size (the cfg's).
std::vector<cv::Size> sizes_to_run(const std::vector<cv::Size>& requested);

}  // namespace facekit::cli
