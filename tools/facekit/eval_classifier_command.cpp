// `facekit eval classifier`: gender and age accuracy of a classifier on a face dataset, with a
// table, a JSON report and confusion-matrix PNGs.
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "datasets/atomic_file.h"
#include "eval/classify_faces.h"
#include "eval/confusion_plot.h"
#include "tools/facekit/classifiers.h"
#include "tools/facekit/cli.h"
#include "tools/facekit/detectors.h"

namespace facekit::cli {
namespace {

namespace fs = std::filesystem;


void print_classifier_report(const eval::ClassifierReport& r, const std::vector<AgeInterval>& intervals) {
  std::cout << std::fixed << std::setprecision(4) << "faces " << r.n << " (skipped " << r.skipped << ")\n"
            << "gender accuracy      " << r.gender_acc << "  (" << r.gender_n << " faces)\n"
            << "age interval exact   " << r.age_exact << "  (" << r.age_n << " faces)\n"
            << "age interval 1-off   " << r.age_1off << "\n"
            << "age MAE (years)      " << std::setprecision(2) << r.age_mae << "  (" << r.mae_n << " faces)\n"
            << "\ninterval     accuracy  MAE    gender\n";
  for (size_t i = 0; i < intervals.size(); ++i) {
    std::cout << std::left << std::setw(12) << intervals[i].label() << std::right << " " << std::setprecision(4)
              << r.age_acc_per_interval[i] << "    " << std::setprecision(2) << std::setw(5) << r.age_mae_per_interval[i]
              << "  " << std::setprecision(4) << r.gender_acc_per_interval[i] << "\n";
  }
  std::cout << "Male         " << r.gender_acc_per_class[0] << "\nFemale       " << r.gender_acc_per_class[1] << "\n";
}

int run_eval_classifier(const std::vector<std::string>& args) {
  po::options_description options("facekit eval classifier");
  add_face_dataset_options(&options);
  options.add_options()
      ("json", po::value<std::string>()->default_value(""), "write the JSON report here")
      ("predictions", po::value<std::string>()->default_value(""), "write every face's labels and predictions here (CSV)")
      ("plots", po::value<std::string>()->default_value(""), "folder for age_confusion.png and gender_confusion.png");
  add_classifier_option(&options, "model");
  add_tta_option(&options);
  add_crop_margin_option(&options);
  add_runtime_options(&options);
  const std::string usage =
      "usage: facekit eval classifier --dataset FORMAT:PATH [--split FILE] [--model M]... [--tta] [--crop-margin M] [--json OUT]\n"
      "                                [--predictions CSV] [--plots DIR]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  const torch::Device device = apply_runtime_options(vm);
  Classifier classifier = load_classifier_ensemble(classifier_files(vm, "model"), device);
  apply_tta_option(vm, &classifier);
  apply_crop_margin_option(vm, &classifier);
  const auto& intervals = classifier.config.intervals;
  const FaceDataset dataset = face_dataset_from_options(vm, intervals);
  const eval::ScoredFaces scored = classify_face_dataset(vm, classifier, dataset);
  const auto report = eval::score_faces(scored, dataset, intervals);
  print_classifier_report(report, intervals);
  if (const auto json = vm["json"].as<std::string>(); !json.empty()) {
    write_file_atomically(json, [&](std::ostream& out) { out << eval::classifier_report_json(report, intervals); });
    std::cout << "wrote " << json << "\n";
  }
  if (const auto csv = vm["predictions"].as<std::string>(); !csv.empty()) {
    write_file_atomically(csv, [&](std::ostream& out) { out << eval::predictions_csv(scored, intervals); });
    std::cout << "wrote " << csv << " (" << scored.predictions.size() << " faces)\n";
  }
  if (const auto plots = vm["plots"].as<std::string>(); !plots.empty()) {
    fs::create_directories(plots);
    std::vector<std::string> labels;
    for (const auto& i : intervals) labels.push_back(i.label());
    eval::plot_confusion_matrix(report.age_confusion, labels, "age interval: label (rows) vs prediction",
                                (fs::path(plots) / "age_confusion.png").string());
    eval::plot_confusion_matrix(report.gender_confusion, {"Male", "Female"}, "gender: label (rows) vs prediction",
                                (fs::path(plots) / "gender_confusion.png").string());
    std::cout << "wrote " << plots << "/age_confusion.png, gender_confusion.png\n";
  }
  return kExitOk;
}

}  // namespace

Command eval_classifier_command() {
  return {"classifier", "gender and age accuracy on a face dataset", run_eval_classifier};
}

}  // namespace facekit::cli
