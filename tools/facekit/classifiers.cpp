#include "tools/facekit/classifiers.h"

#include <filesystem>
#include <stdexcept>

#include <opencv2/dnn.hpp>

#include "convert/darknet_onnx.h"

namespace facekit::cli {
namespace {

// A row of an OpenCV dnn output blob (N x K) as a vector.
std::vector<float> blob_row(const cv::Mat& blob, int i) {
  const float* row = blob.ptr<float>(i);
  return std::vector<float>(row, row + blob.size[1]);
}

eval::FacePredictor onnx_face_predictor(const std::string& path, bool age_regression) {
  auto net = std::make_shared<cv::dnn::Net>(cv::dnn::readNetFromONNX(path));
  std::vector<std::string> outputs = {"gender", "age"};
  if (age_regression) outputs.push_back("age_years");
  return [net, outputs](const torch::Tensor& input) {
    auto contiguous = input.contiguous();
    const std::vector<int> shape(contiguous.sizes().begin(), contiguous.sizes().end());
    net->setInput(cv::Mat(static_cast<int>(shape.size()), shape.data(), CV_32F, contiguous.data_ptr<float>()));
    std::vector<cv::Mat> blobs;
    net->forward(blobs, outputs);
    std::vector<eval::FacePrediction> predictions;
    for (int i = 0; i < shape[0]; ++i) {
      eval::FacePrediction p{blob_row(blobs[0], i), blob_row(blobs[1], i), {}};
      if (blobs.size() > 2) p.age_years = blobs[2].ptr<float>()[i];
      predictions.push_back(std::move(p));
    }
    return predictions;
  };
}

}  // namespace

Classifier load_classifier(const std::string& path, torch::Device device) {
  if (std::filesystem::path(path).extension() == ".onnx") {
    const auto metadata = darknet::read_onnx_metadata(path);
    const auto config = metadata.find("age_gender_config");
    if (config == metadata.end()) {
      throw std::runtime_error(path + ": no age_gender_config in the metadata: not a facekit classifier2onnx export");
    }
    Classifier classifier{{}, age_gender_config_from_json(config->second)};
    classifier.predict = onnx_face_predictor(path, classifier.config.age_regression);
    return classifier;
  }
  LoadedAgeGenderNet loaded = load_age_gender_checkpoint(path);
  if (!device.is_cpu()) {
    loaded.net->to(device);
    return {eval::torch_face_predictor(loaded.net, device), loaded.config};
  }
  // BN folded, oneDNN on channels-last maps (models/classifier: prepare_for_inference).
  return {eval::torch_face_predictor(prepare_for_inference(loaded.net, loaded.config), device), loaded.config};
}

void add_tta_option(po::options_description* options) {
  options->add_options()("tta", po::bool_switch(), "average each face's predictions with its mirror image's (twice the classifier time)");
}

void apply_tta_option(const po::variables_map& vm, Classifier* classifier) {
  if (vm["tta"].as<bool>()) classifier->predict = eval::mirror_averaged(classifier->predict);
}

}  // namespace facekit::cli
