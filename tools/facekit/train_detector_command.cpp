// `facekit train detector`: options -> train::DetectorTrainOptions, then the trainer.
#include <iostream>

#include "tools/facekit/cli.h"
#include "tools/facekit/training_options.h"
#include "train/detector_trainer.h"

namespace facekit::cli {
namespace {

int run_train_detector(const std::vector<std::string>& args) {
  po::options_description options("facekit train detector");
  options.add_options()
      ("cfg", po::value<std::string>()->required(), "the Darknet cfg to train (e.g. models/cfg/yolo-fastest-1.1-face.cfg)")
      ("weights", po::value<std::string>()->default_value(""), "starting weights (layers whose shapes match load)")
      ("weights-cfg", po::value<std::string>()->default_value(""), "the starting weights' own cfg (default: beside them)")
      ("data", po::value<std::string>()->required(), "Darknet .data file: classes, train, valid, names, backup [, class_map]")
      ("backup", po::value<std::string>()->default_value(""), "output folder (default: the .data file's backup)")
      ("max-batches", po::value<int>()->default_value(0), "iterations (default: the cfg's max_batches)")
      ("batch", po::value<int>()->default_value(0), "images per update (default: the cfg's)")
      ("subdivisions", po::value<int>()->default_value(0), "mini-batches per update (default: the cfg's)")
      ("lr", po::value<double>()->default_value(0), "learning rate (default: the cfg's)")
      ("freeze", po::value<int>()->default_value(0), "keep the first N layers fixed")
      ("no-multiscale", po::bool_switch(), "keep the cfg's input size even with random=1")
      ("validate-every", po::value<int>()->default_value(0), "iterations between validation AP runs (0: at the end)")
      ("save-every", po::value<int>()->default_value(50), "iterations between checkpoints")
      ("resume", po::bool_switch(), "continue from the backup folder's _last.weights and _state.pt");
  add_training_run_options(&options);
  const std::string usage =
      "usage: facekit train detector --cfg face.cfg --weights START.weights --data face.data [--backup DIR]\n"
      "                              [--max-batches N] [--resume] [--seed S] [--threads T] [--device cpu|cuda]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  train::DetectorTrainOptions o;
  o.device = apply_runtime_options(vm);
  o.cfg = vm["cfg"].as<std::string>();
  o.weights = vm["weights"].as<std::string>();
  o.weights_cfg = vm["weights-cfg"].as<std::string>();
  o.data = vm["data"].as<std::string>();
  o.backup = vm["backup"].as<std::string>();
  o.max_batches = vm["max-batches"].as<int>();
  o.batch = vm["batch"].as<int>();
  o.subdivisions = vm["subdivisions"].as<int>();
  o.learning_rate = vm["lr"].as<double>();
  o.freeze = vm["freeze"].as<int>();
  o.multiscale = !vm["no-multiscale"].as<bool>();
  o.validate_every = vm["validate-every"].as<int>();
  o.save_every = vm["save-every"].as<int>();
  o.loader_threads = vm["loader-threads"].as<int>();
  o.resume = vm["resume"].as<bool>();
  o.seed = vm["seed"].as<uint64_t>();
  o.distributed = read_distributed_options(vm);
  o.max_bad_fraction = vm["max-bad-fraction"].as<double>();
  if (o.save_every <= 0) throw UsageError("--save-every must be positive");
  const auto result = train::train_detector(o);
  std::cout << "done: " << result.iterations << " iterations, loss " << result.first_loss << " -> " << result.last_loss;
  if (result.best_ap50 >= 0) std::cout << ", best validation AP@0.5 " << result.best_ap50;
  std::cout << "\nweights: " << result.final_weights << "\n";
  return kExitOk;
}

}  // namespace

Command train_detector_command() {
  return {"detector", "(re)train a Darknet detector (YOLOv2/v3 heads) with Darknet's loss and schedule", run_train_detector};
}

}  // namespace facekit::cli
