#include "tools/facekit/classifiers.h"

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <opencv2/dnn.hpp>

#include "convert/darknet_onnx.h"
#include "tools/facekit/detectors.h"

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

// Why `b`'s predictions cannot be averaged with `a`'s face by face, or "" when they can.
std::string ensemble_mismatch(const AgeGenderConfig& a, const AgeGenderConfig& b) {
  if (a.crop.size != b.crop.size || a.crop.margin != b.crop.margin || a.crop.fill != b.crop.fill) {
    const auto crop = [](const FaceCropOptions& c) {
      std::ostringstream text;
      text << c.size << " px with margin " << c.margin << " and fill BGR (" << c.fill[0] << ", " << c.fill[1] << ", "
           << c.fill[2] << ")";
      return text.str();
    };
    return "its face crop is " + crop(b.crop) + ", not " + crop(a.crop);
  }
  for (int c = 0; c < 3; ++c) {
    if (a.normalisation.mean[c] != b.normalisation.mean[c] || a.normalisation.std[c] != b.normalisation.std[c]) {
      return "another normalisation";
    }
  }
  if (format_age_intervals(a.intervals) != format_age_intervals(b.intervals)) {
    return "its age intervals are " + format_age_intervals(b.intervals) + ", not " + format_age_intervals(a.intervals);
  }
  if (a.gender_labels != b.gender_labels) return "other gender labels";
  if (a.age_regression != b.age_regression) return a.age_regression ? "no age-in-years head" : "an age-in-years head";
  return "";
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
    return {eval::torch_face_predictor(loaded.net, loaded.config.age_calibration, device), loaded.config};
  }
  // BN folded, oneDNN on channels-last maps (models/classifier: prepare_for_inference).
  return {eval::torch_face_predictor(prepare_for_inference(loaded.net, loaded.config), loaded.config.age_calibration, device), loaded.config};
}

Classifier ensemble_of(const std::vector<Classifier>& members, const std::vector<std::string>& names) {
  if (members.empty() || members.size() != names.size()) {
    throw std::invalid_argument("ensemble_of: one name per member, at least one");
  }
  if (members.size() == 1) return members[0];
  std::vector<eval::FacePredictor> predictors;
  for (size_t i = 0; i < members.size(); ++i) {
    if (const std::string why = ensemble_mismatch(members[0].config, members[i].config); !why.empty()) {
      throw std::runtime_error(names[i] + ": cannot be averaged with " + names[0] + ": " + why);
    }
    if (members[i].zooms != members[0].zooms) {
      throw std::invalid_argument("ensemble_of: " + names[i] + " takes other crops than " + names[0]);
    }
    predictors.push_back(members[i].predict);
  }
  return {eval::averaged(std::move(predictors)), members[0].config, members[0].zooms};
}

Classifier load_classifier_ensemble(const std::vector<std::string>& paths, torch::Device device) {
  if (paths.empty()) throw std::invalid_argument("load_classifier_ensemble: no files");
  std::vector<Classifier> members;
  for (const auto& path : paths) members.push_back(load_classifier(path, device));
  return ensemble_of(members, paths);
}

void add_classifier_option(po::options_description* options, const char* name) {
  options->add_options()(name, po::value<std::vector<std::string>>()->composing(),
                         "AgeGenderNet checkpoint (.pt) or its ONNX export (.onnx); given more than once, their predictions "
                         "are averaged (an ensemble; same crop and classes) (default: the shipped ensemble of two)");
}

std::vector<std::string> classifier_files(const po::variables_map& vm, const char* name) {
  if (!vm.count(name)) return default_classifiers();
  return vm[name].as<std::vector<std::string>>();
}

void add_face_dataset_options(po::options_description* options) {
  options->add_options()
      ("dataset", po::value<std::string>()->required(), "FORMAT:PATH with FORMAT utkface, aaf, csv, adience or imdbwiki")
      ("split", po::value<std::string>()->default_value(""), "split file (utkface) or more fold files (adience)")
      ("images", po::value<std::string>()->default_value(""), "where the images are (default: beside the labels)")
      ("batch", po::value<int>()->default_value(32), "faces per forward pass");
}

FaceDataset face_dataset_from_options(const po::variables_map& vm, const std::vector<AgeInterval>& intervals) {
  return read_face_dataset(vm["dataset"].as<std::string>(), vm["split"].as<std::string>(), vm["images"].as<std::string>(),
                           intervals);
}

eval::ScoredFaces classify_face_dataset(const po::variables_map& vm, const Classifier& classifier, const FaceDataset& dataset) {
  return eval::classify_dataset(classifier.predict, classifier.zooms, classifier.config, dataset, vm["batch"].as<int>(),
                                at::get_num_threads());
}

void add_tta_option(po::options_description* options) {
  options->add_options()("tta", po::bool_switch(), "average each face's predictions over six views: as it is, 5 % closer, 5 % farther, and each mirrored (six times the classifier time)");
}

void add_crop_margin_option(po::options_description* options) {
  options->add_options()("crop-margin", po::value<float>(), "face crop side / face box side (default: the classifier's; the original used 1.4, 1.05 in crowds)");
}

void apply_crop_margin_option(const po::variables_map& vm, Classifier* classifier) {
  if (!vm.count("crop-margin")) return;
  const float margin = vm["crop-margin"].as<float>();
  if (!(margin >= 1)) throw UsageError("--crop-margin must be >= 1");
  classifier->config.crop.margin = margin;
}

void apply_tta_option(const po::variables_map& vm, Classifier* classifier) {
  if (!vm["tta"].as<bool>()) return;
  classifier->predict = eval::test_time_augmented(classifier->predict);
  classifier->zooms = eval::kTtaZooms;
}

}  // namespace facekit::cli
