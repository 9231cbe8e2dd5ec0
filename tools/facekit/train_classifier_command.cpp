// `facekit train classifier`: options -> train::ClassifierTrainOptions, then the trainer.
#include <iostream>

#include "datasets/formats/face_labels.h"
#include "tools/facekit/cli.h"
#include "tools/facekit/training_options.h"
#include "train/classifier_trainer.h"

namespace facekit::cli {
namespace {

void report_skipped(const std::string& what, const FaceDataset& set) {
  std::cout << what << ": " << set.samples.size() << " faces";
  if (!set.skipped.empty()) std::cout << ", " << set.skipped.size() << " skipped (first: " << set.skipped.front() << ")";
  std::cout << "\n";
}

int run_train_classifier(const std::vector<std::string>& args) {
  po::options_description options("facekit train classifier");
  options.add_options()
      ("train", po::value<std::string>()->required(), "training set FORMAT:PATH (utkface, aaf, csv, adience, imdbwiki)")
      ("train-split", po::value<std::string>()->default_value(""), "split file of the training set (utkface) or more folds (adience)")
      ("val", po::value<std::string>()->required(), "validation set FORMAT:PATH")
      ("val-split", po::value<std::string>()->default_value(""), "split file of the validation set")
      ("run", po::value<std::string>()->required(), "run folder: weights/last.pt, weights/best.pt, state.pt, results.csv, curves.png")
      ("init", po::value<std::string>()->default_value(""), "start from an AgeGenderNet checkpoint or a torchvision inception_v3 .pth")
      ("resume", po::bool_switch(), "continue the run in --run exactly where it stopped")
      ("width-mult", po::value<float>()->default_value(1.0f), "channel width of Inception-v3 (1.0: torchvision's); with --init, grow its network to it")
      ("input-size", po::value<int>()->default_value(299), "crop side in pixels (>= 75); with --init, retrain its network at this side")
      ("crop-margin", po::value<float>()->default_value(1.4f), "square crop side / face box side")
      ("age-intervals", po::value<std::string>()->default_value(""), "e.g. '(0, 2) (4, 6) ...' (default: Adience's 8)")
      ("age-regression", po::bool_switch(), "add the 0..100 years head (MAE from its expectation)")
      ("epochs", po::value<int>()->default_value(30), "epochs")
      ("batch", po::value<int>()->default_value(64), "batch size (global: over every micro-batch and rank)")
      ("subdivisions", po::value<int>()->default_value(1), "micro-batches per step, gradients accumulated (at least the world size)")
      ("dropout", po::value<double>()->default_value(0.5), "dropout before the heads")
      ("optimizer", po::value<std::string>()->default_value("sgd"), "sgd or adamw")
      ("lr", po::value<double>()->default_value(0.01), "peak learning rate")
      ("momentum", po::value<double>()->default_value(0.9), "SGD momentum (Nesterov)")
      ("weight-decay", po::value<double>()->default_value(5e-4), "weight decay (not on BN and biases)")
      ("schedule", po::value<std::string>()->default_value("cosine"), "cosine or steps")
      ("warmup-epochs", po::value<double>()->default_value(1.0), "linear warm-up")
      ("label-smoothing", po::value<double>()->default_value(0.1), "label smoothing of the gender and age losses")
      ("gender-weight", po::value<double>()->default_value(1.0), "weight of the gender loss against the age losses")
      ("age-sigma", po::value<double>()->default_value(0.0),
       "years head: train towards a Gaussian of this many years around the age (DLDL; 0: the year alone, DEX)")
      ("age-l1", po::value<double>()->default_value(0.0),
       "years head: add this weight times the expected age's absolute error (DLDL-v2; 0: off)")
      ("ema", po::value<double>()->default_value(0.0),
       "validate and save a moving average of the weights with this decay per step, e.g. 0.999 (0: off)")
      ("balance", po::value<std::string>()->default_value("none"), "none, sampling or weights (by age interval)")
      ("freeze-epochs", po::value<int>()->default_value(0), "epochs training only the heads first")
      ("no-augment", po::bool_switch(), "no crop jitter, rotation, flip or colour changes")
      ("save-every", po::value<int>()->default_value(200), "steps between checkpoints inside an epoch")
      ("max-steps", po::value<int>()->default_value(0), "stop after this many steps (0: all epochs)");
  add_training_run_options(&options);
  const std::string usage =
      "usage: facekit train classifier --train FORMAT:PATH [--train-split F] --val FORMAT:PATH [--val-split F]\n"
      "                                --run DIR [--init M] [--resume] [options]";
  po::variables_map vm;
  if (!parse_options(args, options, usage, &vm)) return kExitOk;
  train::ClassifierTrainOptions o;
  o.device = apply_runtime_options(vm);
  o.run_dir = vm["run"].as<std::string>();
  o.init = vm["init"].as<std::string>();
  o.resume = vm["resume"].as<bool>();
  o.model.width_mult = vm["width-mult"].as<float>();
  o.model.crop.size = vm["input-size"].as<int>();
  if (!o.init.empty() && !vm["input-size"].defaulted()) o.init_input_size = o.model.crop.size;
  if (!o.init.empty() && !vm["width-mult"].defaulted()) o.init_width_mult = o.model.width_mult;
  o.model.crop.margin = vm["crop-margin"].as<float>();
  if (!vm["age-intervals"].as<std::string>().empty()) o.model.intervals = parse_age_intervals(vm["age-intervals"].as<std::string>());
  o.model.age_regression = vm["age-regression"].as<bool>();
  o.model.aux_head = aux_head_fits(o.model.crop.size);  // Inception-v3's aux head needs 299 px
  o.epochs = vm["epochs"].as<int>();
  o.batch_size = vm["batch"].as<int>();
  o.subdivisions = vm["subdivisions"].as<int>();
  o.model.dropout = vm["dropout"].as<double>();
  o.distributed = read_distributed_options(vm);
  o.max_bad_fraction = vm["max-bad-fraction"].as<double>();
  o.optimizer = vm["optimizer"].as<std::string>();
  o.lr = vm["lr"].as<double>();
  o.momentum = vm["momentum"].as<double>();
  o.weight_decay = vm["weight-decay"].as<double>();
  o.schedule = vm["schedule"].as<std::string>();
  o.warmup_epochs = vm["warmup-epochs"].as<double>();
  o.label_smoothing = vm["label-smoothing"].as<double>();
  o.gender_weight = vm["gender-weight"].as<double>();
  o.age_sigma = vm["age-sigma"].as<double>();
  o.age_l1_weight = vm["age-l1"].as<double>();
  o.ema_decay = vm["ema"].as<double>();
  o.balance = vm["balance"].as<std::string>();
  o.freeze_epochs = vm["freeze-epochs"].as<int>();
  o.augment = !vm["no-augment"].as<bool>();
  o.loader_threads = vm["loader-threads"].as<int>();
  o.save_every = vm["save-every"].as<int>();
  o.max_steps = vm["max-steps"].as<int>();
  o.seed = vm["seed"].as<uint64_t>();
  if (o.epochs <= 0 || o.batch_size <= 0 || o.subdivisions <= 0) throw UsageError("--epochs, --batch and --subdivisions must be positive");
  if (o.gender_weight < 0) throw UsageError("--gender-weight must not be negative");
  if (o.age_sigma < 0 || o.age_l1_weight < 0) throw UsageError("--age-sigma and --age-l1 must not be negative");
  if (o.ema_decay < 0 || o.ema_decay >= 1) throw UsageError("--ema must be in [0, 1)");

  const FaceDataset train_set = read_face_dataset(vm["train"].as<std::string>(), vm["train-split"].as<std::string>(), "", o.model.intervals);
  const FaceDataset val_set = read_face_dataset(vm["val"].as<std::string>(), vm["val-split"].as<std::string>(), "", o.model.intervals);
  report_skipped("training set", train_set);
  report_skipped("validation set", val_set);
  const auto result = train::train_classifier(train_set, val_set, o);
  std::cout << "done: " << result.epochs_done << " epochs, " << result.steps_done << " steps, best validation score "
            << result.best_score << " (mean of gender accuracy and age exact accuracy); " << result.skipped_images
            << " images could not be decoded\nweights: " << o.run_dir << "/weights/best.pt\n";
  if (result.age_regression) {
    std::cout << "next, for a years head: facekit calibrate --dataset " << vm["val"].as<std::string>()
              << (vm["val-split"].as<std::string>().empty() ? "" : " --split " + vm["val-split"].as<std::string>())
              << " --model " << o.run_dir << "/weights/best.pt --write (a line for its age in years, fitted on validation)\n";
  }
  return kExitOk;
}

}  // namespace

Command train_classifier_command() {
  return {"classifier", "fine-tune the gender and age network (Inception-v3)", run_train_classifier};
}

}  // namespace facekit::cli
