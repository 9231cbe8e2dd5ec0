// `facekit calibrate`: fits the age calibration line (models/classifier/age_calibration.h) of a
// classifier, or an ensemble, on held-out faces with exact ages, reports what it is worth, and with
// --write stores it in every member's checkpoint.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/atomic_file.h"
#include "eval/age_calibration.h"
#include "eval/classify_faces.h"
#include "tools/facekit/classifiers.h"
#include "tools/facekit/cli.h"

namespace facekit::cli {
namespace {

namespace fs = std::filesystem;

struct AgePairs {
  std::vector<float> estimates, ages;
};

// Every face with an exact age label: its estimate (eval::predicted_age) and its age.
AgePairs age_pairs(const eval::ScoredFaces& scored, const std::vector<AgeInterval>& intervals) {
  AgePairs pairs;
  for (size_t i = 0; i < scored.labels.size(); ++i) {
    if (scored.labels[i].age < 0) continue;
    pairs.estimates.push_back(eval::predicted_age(scored.predictions[i], intervals));
    pairs.ages.push_back(scored.labels[i].age);
  }
  return pairs;
}

eval::ScoredFaces calibrated(eval::ScoredFaces scored, const AgeCalibration& line) {
  for (auto& p : scored.predictions) p.age_years = line(*p.age_years);
  return scored;
}

// The line composed with what each checkpoint had (the estimates it was fitted on already went
// through it), stored in the checkpoint's own storage, the file replaced atomically.
void write_line(const std::string& path, const AgeCalibration& fitted) {
  LoadedAgeGenderNet loaded = load_age_gender_checkpoint(path);
  loaded.config.age_calibration = fitted.after(loaded.config.age_calibration);
  save_age_gender_checkpoint(path, loaded.net, loaded.config, loaded.storage);
  std::cout << "wrote " << path << ": age = " << loaded.config.age_calibration.offset << " + "
            << loaded.config.age_calibration.scale << " x the expected age\n";
}

int run_calibrate(const std::vector<std::string>& args) {
  po::options_description options("facekit calibrate");
  add_face_dataset_options(&options);  // held-out faces with exact ages, e.g. a validation split
  options.add_options()
      ("json", po::value<std::string>()->default_value(""), "write the line and the numbers here")
      ("write", po::bool_switch(), "store the line in every --model checkpoint (each replaced atomically)");
  add_classifier_option(&options, "model");
  add_tta_option(&options);
  add_runtime_options(&options);
  const std::string usage =
      "usage: facekit calibrate --dataset FORMAT:PATH [--split FILE] [--model M.pt]... [--tta] [--json OUT] [--write]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  const torch::Device device = apply_runtime_options(vm);
  if (vm["write"].as<bool>() && !vm.count("model")) {
    throw UsageError("--write needs the checkpoints to write, --model M.pt (the shipped models are not rewritten)");
  }
  const std::vector<std::string> files = classifier_files(vm, "model");
  for (const auto& file : files) {
    if (fs::path(file).extension() == ".onnx") {
      throw UsageError(file + ": calibrate the .pt checkpoint and export it again (facekit convert classifier2onnx)");
    }
  }
  Classifier classifier = load_classifier_ensemble(files, device);
  if (!classifier.config.age_regression) throw UsageError(files[0] + ": no age-in-years head: nothing to calibrate");
  apply_tta_option(vm, &classifier);
  const auto& intervals = classifier.config.intervals;
  const FaceDataset dataset = face_dataset_from_options(vm, intervals);
  const eval::ScoredFaces scored = classify_face_dataset(vm, classifier, dataset);
  const AgePairs pairs = age_pairs(scored, intervals);
  if (pairs.ages.size() < 2) {
    throw std::runtime_error(vm["dataset"].as<std::string>() + ": " + std::to_string(pairs.ages.size()) +
                             " faces with an exact age; the line needs at least 2 (labels that are intervals only cannot fit it)");
  }
  const AgeCalibration line = eval::fit_age_calibration(pairs.estimates, pairs.ages);
  if (line.scale < eval::kMinCalibrationScale * 1.01 || line.scale > eval::kMaxCalibrationScale * 0.99) {
    std::cerr << "warning: the line's scale " << line.scale << " is at the end of its range ("
              << eval::kMinCalibrationScale << " to " << eval::kMaxCalibrationScale
              << "): the estimates hardly follow the ages; is the network trained?\n";
  }
  const auto before = eval::score_faces(scored, dataset, intervals);
  const auto after = eval::score_faces(calibrated(scored, line), dataset, intervals);
  const double cross_validated = eval::cross_validated_mae(pairs.estimates, pairs.ages);

  std::cout << std::fixed << std::setprecision(4) << "faces with an age: " << pairs.ages.size() << "\n"
            << "line: age = " << line.offset << " + " << line.scale << " x the estimate\n"
            << "                     as it is   with the line\n"
            << "age MAE (years)      " << before.age_mae << "     " << after.age_mae << "  (fitted on these faces)\n"
            << "age MAE, 2-fold      " << before.age_mae << "     " << cross_validated << "  (each half's line on the other half)\n"
            << "age interval exact   " << before.age_exact << "     " << after.age_exact << "\n"
            << "age interval 1-off   " << before.age_1off << "     " << after.age_1off << "\n";
  if (const auto json = vm["json"].as<std::string>(); !json.empty()) {
    const nlohmann::json report = {{"faces", pairs.ages.size()},
                                   {"offset", line.offset},
                                   {"scale", line.scale},
                                   {"age_mae", before.age_mae},
                                   {"age_mae_calibrated", after.age_mae},
                                   {"age_mae_cross_validated", cross_validated},
                                   {"age_exact", before.age_exact},
                                   {"age_exact_calibrated", after.age_exact},
                                   {"age_1off", before.age_1off},
                                   {"age_1off_calibrated", after.age_1off}};
    write_file_atomically(json, [&](std::ostream& out) { out << report.dump(2) << "\n"; });
    std::cout << "wrote " << json << "\n";
  }
  if (!vm["write"].as<bool>()) {
    std::cout << "not written: --write stores the line in the checkpoints\n";
    return kExitOk;
  }
  for (const auto& file : files) write_line(file, line);
  std::cout << "next: facekit eval classifier on faces the line was not fitted on (a test split) with these --model files\n";
  return kExitOk;
}

}  // namespace

Command calibrate_command() {
  return {"calibrate", "fit the classifier's age calibration line on held-out faces", run_calibrate};
}

}  // namespace facekit::cli
