// `facekit eval pipeline`: detector + classifier on WIDER faces with perceived gender and age
// (eval/pipeline_metrics.h defines the matching and the age-group mapping).
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>

#include "datasets/atomic_file.h"
#include "datasets/formats/wider.h"
#include "datasets/formats/wider_demographics.h"
#include "datasets/preprocess.h"
#include "eval/pipeline_metrics.h"
#include "tools/facekit/classifiers.h"
#include "tools/facekit/cli.h"
#include "tools/facekit/detectors.h"
#include "tools/infer/faces.h"

namespace facekit::cli {
namespace {

constexpr float kOperatingThresh = 0.25f;  // detections below this score are not shown to users
constexpr const char* kDatasetPrefix = "wider-demographics:";

// The labelled faces grouped by image, in the order the file lists the images.
std::vector<std::pair<std::string, std::vector<DemographicFace>>> faces_by_image(const std::string& csv) {
  std::vector<std::pair<std::string, std::vector<DemographicFace>>> images;
  std::map<std::string, size_t> position;
  for (auto& face : read_wider_demographics(csv)) {
    const auto [it, inserted] = position.emplace(face.image, images.size());
    if (inserted) images.push_back({face.image, {}});
    images[it->second].second.push_back(std::move(face));
  }
  return images;
}

// The classifier on each detection above the operating threshold, cropped as in training and
// as facekit-infer crops.
std::vector<eval::PipelineFace> classify_detections(const cv::Mat& bgr, const std::vector<eval::ScoredBox>& boxes,
                                                    const Classifier& classifier) {
  std::vector<eval::ScoredBox> shown;
  std::copy_if(boxes.begin(), boxes.end(), std::back_inserter(shown), [](const auto& b) { return b.score >= kOperatingThresh; });
  auto faces = infer::select_faces(shown, {});
  infer::classify_faces(bgr, classifier, &faces);
  std::vector<eval::PipelineFace> classified;
  for (const auto& f : faces) classified.push_back({f.box, f.score, f.gender(), f.age(classifier.config.intervals)});
  return classified;
}

void print_pipeline_report(const eval::PipelineReport& r, double ms_per_image) {
  std::cout << std::fixed << std::setprecision(4) << "labelled faces       " << r.labelled << "\n"
            << "detected             " << r.detected_fraction << "  (" << r.detected << ")\n"
            << "gender accuracy      " << r.gender_acc << "  (" << r.gender_n << " detected faces with a gender)\n"
            << "age group agreement  " << r.age_group_acc << "  (" << r.age_n << " detected faces with an age group)\n"
            << std::setprecision(1) << "ms per image         " << ms_per_image << "  (detection and classification)\n";
}

int run_eval_pipeline(const std::vector<std::string>& args) {
  po::options_description options("facekit eval pipeline");
  options.add_options()
      ("dataset", po::value<std::string>()->required(), "wider-demographics:CSV (image,face_index,x,y,w,h,gender,age)")
      ("images", po::value<std::string>()->required(), "the WIDER images (event/name.jpg or flattened name.jpg)")
      ("detector", po::value<std::string>()->default_value(""), "as eval detector's --model (default: the shipped detector)")
      ("cfg", po::value<std::string>()->default_value(""), "the cfg of a .weights detector when not beside it")
      ("json", po::value<std::string>()->default_value(""), "write the JSON report here");
  add_input_size_option(&options);
  add_detector_tta_option(&options);
  add_classifier_option(&options, "classifier");
  add_tta_option(&options);
  add_crop_margin_option(&options);
  add_runtime_options(&options);
  const std::string usage =
      "usage: facekit eval pipeline --dataset wider-demographics:CSV --images DIR [--detector M] [--input-size S[,S...]]\n"
      "                             [--detector-tta] [--classifier M]... [--tta] [--crop-margin M] [--json OUT]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  const torch::Device device = apply_runtime_options(vm);
  const std::string dataset = vm["dataset"].as<std::string>();
  if (dataset.rfind(kDatasetPrefix, 0) != 0) throw UsageError("--dataset must be wider-demographics:CSV, not '" + dataset + "'");
  const auto images = faces_by_image(dataset.substr(std::string(kDatasetPrefix).size()));
  const std::string detector_path = vm["detector"].as<std::string>();
  const Detector detect = make_detector(detector_path.empty() ? default_model(kDefaultDetectorFile) : detector_path,
                                        vm["cfg"].as<std::string>(), 0, device, {}, input_sizes(vm), vm["detector-tta"].as<bool>());
  Classifier classifier = load_classifier_ensemble(classifier_files(vm, "classifier"), device);
  apply_tta_option(vm, &classifier);
  apply_crop_margin_option(vm, &classifier);

  std::vector<std::vector<DemographicFace>> labels;
  std::vector<std::vector<eval::PipelineFace>> detections;
  double total_ms = 0;
  for (const auto& [image, faces] : images) {
    const cv::Mat bgr = read_image(wider_image_path(vm["images"].as<std::string>(), image));
    const auto start = std::chrono::steady_clock::now();
    detections.push_back(classify_detections(bgr, detect(bgr), classifier));
    total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    labels.push_back(faces);
  }
  const double ms_per_image = images.empty() ? 0 : total_ms / images.size();
  const auto report = eval::evaluate_pipeline(labels, detections, classifier.config.intervals, kOperatingThresh);
  print_pipeline_report(report, ms_per_image);
  if (const auto json = vm["json"].as<std::string>(); !json.empty()) {
    write_file_atomically(json, [&](std::ostream& out) { out << eval::pipeline_report_json(report, ms_per_image); });
    std::cout << "wrote " << json << "\n";
  }
  return kExitOk;
}

}  // namespace

Command eval_pipeline_command() {
  return {"pipeline", "detector + classifier on faces with perceived gender and age (WIDER demographics)", run_eval_pipeline};
}

}  // namespace facekit::cli
