#include "train/classifier_trainer.h"

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "convert/torchvision_import.h"
#include "datasets/atomic_file.h"
#include "datasets/duplicates.h"
#include "datasets/face_loader.h"
#include "eval/classify_faces.h"
#include "models/classifier/widen.h"
#include "train/age_years_loss.h"
#include "train/archive_io.h"
#include "train/bad_data.h"
#include "train/run_log.h"
#include "train/sound_weights.h"
#include "train/step_memory.h"
#include "train/weight_average.h"

namespace facekit::train {
namespace {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

constexpr int kMaxAge = 100;              // the regression head's last year
constexpr int kMaxBadStepsInARow = 5;     // NaN/Inf losses tolerated before stopping
constexpr int kMinFacesToTrain = 2;       // in one micro-batch
const std::vector<std::string> kColumns = {"train_loss", "train_gender_loss", "train_age_loss", "val_gender_acc",
                                           "val_age_acc", "val_age_1off_acc", "val_age_mae", "lr"};

// Where training stands: what --resume restores besides the weights.
struct TrainState {
  int epoch = 0;           // the epoch in progress
  int batch_in_epoch = 0;  // steps of it already done (global batches: the same for any world size)
  int step = 0;            // optimiser steps in total
  double best_score = -1;
  double loss_sum = 0, gender_loss_sum = 0, age_loss_sum = 0;  // this epoch so far
  int loss_count = 0;
};

struct Targets {
  torch::Tensor gender, age_interval, age_years;  // -1 where unknown
};

Targets targets_of(const FaceBatch& batch, torch::Device device) {
  std::vector<int64_t> gender, interval, years;
  for (const FaceSample* s : batch.samples) {
    gender.push_back(s->gender);
    interval.push_back(s->age_interval);
    years.push_back(s->age < 0 ? -1 : std::min<int64_t>(kMaxAge, std::lround(s->age)));
  }
  const auto tensor = [&](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong).to(device); };
  return {tensor(gender), tensor(interval), tensor(years)};
}

// Cross-entropy over the known labels only (a batch without any gives 0, not NaN).
torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target, double smoothing,
                                   const torch::Tensor& weight = {}) {
  if ((target >= 0).sum().item<int64_t>() == 0) return torch::zeros({}, logits.options());
  auto options = F::CrossEntropyFuncOptions().ignore_index(-1).label_smoothing(smoothing);
  if (weight.defined()) options.weight(weight);
  return F::cross_entropy(logits, target, options);
}

struct Losses {
  torch::Tensor total, gender, age;
};

Losses compute_losses(const AgeGenderOutput& out, const Targets& t, const ClassifierTrainOptions& o,
                      const torch::Tensor& age_weight) {
  Losses l;
  l.gender = masked_cross_entropy(out.gender_logits, t.gender, o.label_smoothing);
  l.age = masked_cross_entropy(out.age_logits, t.age_interval, o.label_smoothing, age_weight);
  l.total = o.gender_weight * l.gender + l.age;
  if (out.age_years_logits.defined()) {
    l.total = l.total + o.regression_weight * age_years_loss(out.age_years_logits, t.age_years, o.age_sigma, o.age_l1_weight);
  }
  if (out.aux_gender_logits.defined() && o.aux_weight > 0) {
    l.total = l.total + o.aux_weight * (o.gender_weight * masked_cross_entropy(out.aux_gender_logits, t.gender, o.label_smoothing) +
                                        masked_cross_entropy(out.aux_age_logits, t.age_interval, o.label_smoothing, age_weight));
  }
  return l;
}

// Inverse-frequency weights of the age intervals, normalised to mean 1 over the intervals present.
std::vector<double> interval_weights(const FaceDataset& set, size_t intervals) {
  std::vector<double> count(intervals, 0);
  for (const auto& s : set.samples) {
    if (s.age_interval >= 0) ++count[s.age_interval];
  }
  std::vector<double> weight(intervals, 0);
  double present = 0, sum = 0;
  for (size_t i = 0; i < intervals; ++i) {
    if (count[i] > 0) weight[i] = 1 / count[i], sum += weight[i], ++present;
  }
  for (auto& w : weight) w *= present / sum;
  return weight;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(AgeGenderNet& net, const ClassifierTrainOptions& o) {
  // No weight decay on BN parameters and biases (1-d tensors), as is usual since Goyal et al. 2017.
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : net->parameters()) (p.dim() > 1 ? decay : no_decay).push_back(p);
  if (o.optimizer == "sgd") {
    std::vector<torch::optim::OptimizerParamGroup> groups = {
        {decay, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(true).weight_decay(o.weight_decay))},
        {no_decay, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(true))}};
    return std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(o.lr));
  }
  if (o.optimizer == "adamw") {
    std::vector<torch::optim::OptimizerParamGroup> groups = {
        {decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay))},
        {no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o.lr).weight_decay(0))}};
    return std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(o.lr));
  }
  throw std::invalid_argument("optimizer '" + o.optimizer + "' (expected sgd or adamw)");
}

LrSchedule make_schedule(const ClassifierTrainOptions& o, int steps_per_epoch) {
  LrSchedule s;
  s.base = o.lr;
  s.total = o.epochs * steps_per_epoch;
  s.warmup = static_cast<int>(std::lround(o.warmup_epochs * steps_per_epoch));
  s.policy = parse_lr_policy(o.schedule);
  if (s.policy == LrSchedule::Policy::kSteps) {
    s.steps = {s.total / 2, s.total * 3 / 4};
    s.scales = {0.1, 0.1};
  } else if (s.policy != LrSchedule::Policy::kCosine) {
    throw std::invalid_argument("classifier schedule '" + o.schedule + "' (expected cosine or steps)");
  }
  return s;
}

// The weights travel in the state too: it is renamed into place in one step, so a run killed
// between writing the weights file and the state still resumes from one consistent moment.
// `average` (null without --ema) is the weight average, which the checkpoints hold instead.
void save_state(const std::string& path, const TrainState& s, torch::optim::Optimizer& optimizer,
                const torch::nn::Module& model, const torch::nn::Module* average) {
  torch::serialize::OutputArchive archive, optimizer_archive, model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (average) {
    torch::serialize::OutputArchive average_archive;
    average->save(average_archive);
    archive.write("average", average_archive);
  }
  archive.write("epoch", torch::tensor(static_cast<int64_t>(s.epoch)));
  archive.write("batch_in_epoch", torch::tensor(static_cast<int64_t>(s.batch_in_epoch)));
  archive.write("step", torch::tensor(static_cast<int64_t>(s.step)));
  archive.write("best_score", torch::tensor(s.best_score, torch::kDouble));
  archive.write("epoch_sums", torch::tensor({s.loss_sum, s.gender_loss_sum, s.age_loss_sum, double(s.loss_count)}, torch::kDouble));
  archive.write("rng", at::detail::getDefaultCPUGenerator().get_state());
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  const std::string temporary = path + ".tmp";
  archive.save_to(temporary);
  fs::rename(temporary, path);
}

// A state saved without a weight average resumes one (when `average` is given) from the weights.
TrainState load_state(const std::string& path, torch::optim::Optimizer& optimizer, torch::nn::Module& model,
                      torch::nn::Module* average) {
  torch::serialize::InputArchive archive, optimizer_archive, model_archive, average_archive;
  archive.load_from(path);
  archive.read("model", model_archive);
  model.load(model_archive);
  if (average && archive.try_read("average", average_archive)) {
    average->load(average_archive);
  } else if (average) {
    std::cout << "the state has no weight average: it starts from the weights now\n";
    copy_weights(*average, model);
  }
  const auto read = [&](const std::string& key) { return read_tensor(archive, key); };
  TrainState s;
  s.epoch = static_cast<int>(read("epoch").item<int64_t>());
  s.batch_in_epoch = static_cast<int>(read("batch_in_epoch").item<int64_t>());
  s.step = static_cast<int>(read("step").item<int64_t>());
  s.best_score = read("best_score").item<double>();
  const torch::Tensor sums = read("epoch_sums");
  s.loss_sum = sums[0].item<double>(), s.gender_loss_sum = sums[1].item<double>(), s.age_loss_sum = sums[2].item<double>();
  s.loss_count = static_cast<int>(sums[3].item<double>());
  at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the global generator
  generator.set_state(read("rng"));
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  return s;
}

void set_backbone_frozen(AgeGenderNet& net, bool frozen) {
  for (auto& p : net->backbone_parameters()) p.requires_grad_(!frozen);
}

// How a step's global batch is cut: into `subdivisions` micro-batches, `per_rank` on each rank.
struct BatchSplit {
  int micro_batch = 0, subdivisions = 1, per_rank = 1;
};

BatchSplit split_batch(const ClassifierTrainOptions& o, int world_size) {
  BatchSplit split;
  split.subdivisions = std::max(o.subdivisions, world_size);
  if (split.subdivisions % world_size != 0 || o.batch_size % split.subdivisions != 0) {
    throw std::invalid_argument("train classifier: batch " + std::to_string(o.batch_size) + " must be a multiple of subdivisions " +
                                std::to_string(split.subdivisions) + ", itself a multiple of the world size " +
                                std::to_string(world_size));
  }
  split.micro_batch = o.batch_size / split.subdivisions;
  split.per_rank = split.subdivisions / world_size;
  return split;
}

// The loaded configuration with its crop side replaced by `input_size` (0: unchanged), checked
// (an auxiliary head needs 299 px or more).
AgeGenderConfig with_input_size(AgeGenderConfig config, int input_size, bool report) {
  if (input_size == 0 || input_size == config.crop.size) return config;
  if (report) std::cout << "training at " << input_size << " px (the checkpoint was trained at " << config.crop.size << " px)\n";
  config.crop.size = input_size;
  check_age_gender_config(config);
  return config;
}

// A calibration line was fitted to the starting network's estimates; training changes them, so the
// trained network starts without one (fit its own with `facekit calibrate age`).
AgeGenderConfig without_age_calibration(AgeGenderConfig config, bool report) {
  if (config.age_calibration.is_identity()) return config;
  if (report) std::cout << "the starting checkpoint's age calibration is dropped: refit it on the trained network (facekit calibrate age)\n";
  config.age_calibration = AgeCalibration{};
  return config;
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

// The loaded network grown to `width_mult` (0 or its own width: unchanged); widen.h.
LoadedAgeGenderNet widened(LoadedAgeGenderNet loaded, double width_mult, uint64_t seed, bool report) {
  if (width_mult == 0 || width_mult == loaded.config.width_mult) return loaded;
  LoadedAgeGenderNet wide = widen_age_gender_net(loaded, width_mult, seed);
  if (report) {
    std::cout << "widened from width " << loaded.config.width_mult << " (" << parameter_count(*loaded.net)
              << " parameters) to " << width_mult << " (" << parameter_count(*wide.net)
              << "), the same outputs (Net2WiderNet)\n";
  }
  return wide;
}

// One step's sums over every micro-batch of every rank: loss x faces, gender x faces, age x faces, faces.
struct StepSums {
  double loss = 0, gender = 0, age = 0, faces = 0;
  double unreadable = 0, read = 0;  // images that failed to decode, of those attempted
};

StepSums sum_over_ranks(const StepSums& local, DataParallel& parallel) {
  auto values = torch::tensor({local.loss, local.gender, local.age, local.faces, local.unreadable, local.read}, torch::kDouble);
  parallel.sum(values);
  const auto v = [&](int i) { return values[i].item<double>(); };
  return {v(0), v(1), v(2), v(3), v(4), v(5)};
}

// The set with each face listed again (same image file, same face box) dropped, counted in `labels`.
FaceDataset without_repeats(const FaceDataset& set, LabelAudit* labels) {
  FaceDataset kept = set;
  labels->images = static_cast<int64_t>(set.samples.size());
  labels->duplicate_images = drop_repeated_images(&kept.samples, [](const FaceSample& s) {
    return s.face ? std::to_string(s.face->x1) + "," + std::to_string(s.face->y1) + "," + std::to_string(s.face->x2) + "," +
                        std::to_string(s.face->y2)
                  : std::string();
  });
  return kept;
}

}  // namespace

ClassifierTrainResult train_classifier(const FaceDataset& listed_train_set, const FaceDataset& val_set,
                                       const ClassifierTrainOptions& o) {
  keep_freed_memory_for_reuse();
  LabelAudit labels;
  const FaceDataset train_set = without_repeats(listed_train_set, &labels);
  if (train_set.samples.empty()) throw std::invalid_argument("train classifier: the training set is empty");
  BadDataCounter bad_data(o.max_bad_fraction, labels);
  bad_data.check_labels("train classifier: the training set");
  DataParallel parallel(o.distributed);
  const bool main_rank = parallel.is_main();
  const BatchSplit split = split_batch(o, parallel.world_size());
  const fs::path run(o.run_dir), weights = run / "weights";
  const std::string last = (weights / "last.pt").string(), best = (weights / "best.pt").string();
  const std::string state_path = (run / "state.pt").string();
  torch::manual_seed(o.seed);

  std::ostringstream quiet;  // what only rank 0 reports
  LoadedAgeGenderNet loaded =
      o.resume ? load_age_gender_checkpoint(last)
               : widened(initial_age_gender_net(o.init, o.model, main_rank ? std::cout : quiet), o.init_width_mult, o.seed,
                         main_rank);
  AgeGenderNet net = loaded.net;
  const AgeGenderConfig config =
      o.resume ? loaded.config : without_age_calibration(with_input_size(loaded.config, o.init_input_size, main_rank), main_rank);
  if ((o.age_sigma > 0 || o.age_l1_weight > 0) && !config.age_regression) {
    throw std::invalid_argument("the years head's loss options (age_sigma, age_l1_weight) need a network with that head (--age-regression)");
  }
  net->to(o.device);
  parallel.broadcast(*net);  // every rank starts from rank 0's weights
  parallel.reduce_gradients_of(net->parameters());
  if (main_rank) require_writable_folder(weights.string(), kCheckpointCopies * module_bytes(*net));
  // With --ema, the network validated and saved: the weights' moving average (weight_average.h).
  AgeGenderNet average{nullptr};
  if (o.ema_decay > 0) {
    // Its random initialisation must not draw from the generator: with or without --ema, a seeded
    // run trains the same weights.
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the global generator
    const torch::Tensor generator_state = generator.get_state();
    average = make_age_gender_net(config).net;
    generator.set_state(generator_state);
    average->to(o.device);
    copy_weights(*average, *net);
    if (main_rank) std::cout << "validating and saving the weights' moving average (decay " << o.ema_decay << ")\n";
  }
  AgeGenderNet& evaluated = average ? average : net;

  FaceLoaderOptions lo;
  lo.batch_size = split.micro_batch;
  lo.threads = o.loader_threads;
  lo.augment = o.augment;
  lo.drop_last = true;
  lo.seed = o.seed;
  lo.rank = parallel.rank();
  lo.world_size = parallel.world_size();
  lo.rank_slice = static_cast<size_t>(split.micro_batch * split.per_rank);
  lo.crop = config.crop;
  lo.normalisation = config.normalisation;
  const auto age_weight_values = interval_weights(train_set, config.intervals.size());
  if (o.balance == "sampling") {
    for (const auto& s : train_set.samples) lo.sample_weights.push_back(s.age_interval >= 0 ? age_weight_values[s.age_interval] : 1.0);
  } else if (o.balance != "none" && o.balance != "weights") {
    throw std::invalid_argument("balance '" + o.balance + "' (expected none, sampling or weights)");
  }
  const torch::Tensor age_weight = o.balance == "weights" ? torch::tensor(age_weight_values, torch::kFloat).to(o.device) : torch::Tensor();
  FaceLoader loader(train_set.samples, lo);
  loader.start_epoch(0);
  const int steps_per_epoch = loader.batches_per_epoch() / split.per_rank;
  if (steps_per_epoch == 0) throw std::invalid_argument("train classifier: fewer training faces than one batch");
  const LrSchedule schedule = make_schedule(o, steps_per_epoch);

  auto optimizer = make_optimizer(net, o);
  TrainState state;
  std::optional<RunLog> log;
  if (main_rank) log.emplace(run.string(), kColumns);
  if (o.resume) {
    state = load_state(state_path, *optimizer, *net, average ? average.get() : nullptr);
    if (log) log->restore(state.epoch);
    if (main_rank) std::cout << "resuming " << run.string() << " at epoch " << state.epoch + 1 << ", step " << state.step << "\n";
  }
  if (parallel.active() && main_rank) {
    std::cout << "data-parallel: " << parallel.world_size() << " ranks, global batch " << o.batch_size << " = "
              << split.subdivisions << " micro-batches of " << split.micro_batch << ", " << split.per_rank << " per rank\n";
  }
  torch::Tensor probe;  // the latest micro-batch, on which settle_weights checks the weights
  // Before validating or saving, on every rank: the ranks' BN running statistics averaged, and the
  // weights checked (sound_weights.h).
  const auto settle_weights = [&] {
    parallel.average_buffers(*net);
    if (average) parallel.average_buffers(*average);
    const bool sound = all_finite(*net) && all_finite(*evaluated) &&
                       (!probe.defined() || in_eval_mode(*evaluated, [&] {
                         const AgeGenderOutput out = evaluated->forward(probe);
                         return all_finite(out.gender_logits) && all_finite(out.age_logits);
                       }));
    if (!parallel.all_true(sound)) {  // each rank checked its own batch: all stop together
      throw std::runtime_error("train classifier: the weights give non-finite values (training diverged; lower --lr); "
                               "nothing was saved, the last good checkpoint is " + last);
    }
  };
  const auto save_checkpoint = [&](const std::string& path) {
    if (main_rank) save_age_gender_checkpoint(path, evaluated, config);
  };
  const auto save_training_state = [&](const TrainState& s) {
    if (main_rank) save_state(state_path, s, *optimizer, *net, average ? average.get() : nullptr);
  };
  ClassifierTrainResult result;
  const int total_steps = o.max_steps > 0 ? std::min(o.max_steps, o.epochs * steps_per_epoch) : o.epochs * steps_per_epoch;
  Progress progress(total_steps, state.step);
  int bad_in_a_row = 0;
  // An epoch whose steps are all done but which was not yet validated (killed in between) is
  // entered again, for its validation and its row in results.csv, even when it was the last.
  const auto epoch_pending = [&] { return state.step < total_steps || state.batch_in_epoch == steps_per_epoch; };
  for (; state.epoch < o.epochs && epoch_pending(); ++state.epoch) {
    const bool frozen = state.epoch < o.freeze_epochs;
    set_backbone_frozen(net, frozen);
    net->train();
    if (frozen) net->backbone_eval();  // frozen BN statistics too
    loader.start_epoch(state.epoch, state.batch_in_epoch * split.per_rank);
    while (state.step < total_steps && state.batch_in_epoch < steps_per_epoch) {
      const double lr = schedule.at(state.step);
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
      optimizer->zero_grad();
      StepSums local;
      for (int m = 0; m < split.per_rank; ++m) {
        FaceBatch batch;
        if (!loader.next(&batch)) throw std::logic_error("train classifier: the loader ended inside a step");
        local.unreadable += static_cast<double>(batch.unreadable.size());
        local.read += static_cast<double>(batch.unreadable.size() + batch.samples.size());
        for (const auto& image : batch.unreadable) std::cerr << "\nwarning: " << image << ": cannot decode, skipped\n";
        // BatchNorm in training needs two faces (the late maps are 1x1 at small inputs): a
        // micro-batch that decoding failures left with one face is not trained on.
        const bool sync = m == split.per_rank - 1;  // its backward averages the step's gradients over the ranks
        if (batch.size() < kMinFacesToTrain) {
          if (sync) parallel.backward({}, sync);
          continue;
        }
        const auto input = torch::from_blob(batch.pixels.data(), {batch.size(), 3, config.crop.size, config.crop.size}).to(o.device);
        probe = input.clone();
        const Losses losses = compute_losses(net->forward(input), targets_of(batch, o.device), o, age_weight);
        parallel.backward(losses.total / split.per_rank, sync);  // this rank's mean over its micro-batches
        local.loss += losses.total.item<double>() * batch.size();
        local.gender += losses.gender.item<double>() * batch.size();
        local.age += losses.age.item<double>() * batch.size();
        local.faces += batch.size();
      }
      const StepSums step = sum_over_ranks(local, parallel);  // NaN on any rank: NaN on all, all skip
      bad_data.add(static_cast<int64_t>(step.unreadable), static_cast<int64_t>(step.read));
      bad_data.check();  // every rank has the same counts: all stop together
      ++state.batch_in_epoch;
      ++state.step;
      const double faces = std::max(1.0, step.faces), loss = step.loss / faces;
      if (!std::isfinite(loss)) {
        std::cerr << "\nwarning: step " << state.step << ": loss is " << loss << ", step skipped\n";
        if (++bad_in_a_row >= kMaxBadStepsInARow) {
          throw std::runtime_error("train classifier: " + std::to_string(kMaxBadStepsInARow) +
                                   " non-finite losses in a row; the last good checkpoint is " + last);
        }
        continue;
      }
      bad_in_a_row = 0;
      optimizer->step();
      if (average) update_average(*average, *net, o.ema_decay, state.step);
      state.loss_sum += step.loss;
      state.gender_loss_sum += step.gender;
      state.age_loss_sum += step.age;
      state.loss_count += static_cast<int>(step.faces);
      if (main_rank) {
        progress.step(state.step - 1, static_cast<int>(step.faces),
                      {{"loss", loss}, {"gender", step.gender / faces}, {"age", step.age / faces}, {"lr", lr}},
                      "epoch " + std::to_string(state.epoch + 1) + "/" + std::to_string(o.epochs));
      }
      if (o.save_every > 0 && state.step % o.save_every == 0) {
        settle_weights();
        save_checkpoint(last);
        save_training_state(state);
      }
    }
    if (main_rank) progress.finish_line();
    if (state.batch_in_epoch < steps_per_epoch) break;  // --max-steps stopped inside the epoch

    // Every rank validates (the same faces, the same result): no rank idles into the timeout.
    settle_weights();
    const auto report = eval::classify_and_score(evaluated, config, val_set, o.batch_size, o.loader_threads, o.device);
    const double score = (report.gender_acc + report.age_exact) / 2;
    const double n = std::max(1, state.loss_count);
    if (log) {
      log->add(state.epoch + 1, {{"train_loss", state.loss_sum / n}, {"train_gender_loss", state.gender_loss_sum / n},
                                 {"train_age_loss", state.age_loss_sum / n}, {"val_gender_acc", report.gender_acc},
                                 {"val_age_acc", report.age_exact}, {"val_age_1off_acc", report.age_1off},
                                 {"val_age_mae", report.age_mae}, {"lr", schedule.at(state.step)}});
    }
    if (const std::string bad = bad_data.end_epoch(); main_rank && !bad.empty()) {
      std::cout << "epoch " << state.epoch + 1 << ": " << bad << "\n";
    }
    if (main_rank) {
      std::cout << "epoch " << state.epoch + 1 << ": train loss " << state.loss_sum / n << ", val gender " << report.gender_acc
                << ", age exact " << report.age_exact << ", 1-off " << report.age_1off << ", MAE " << report.age_mae << "\n";
    }
    result.last_train_loss = state.loss_sum / n;
    save_checkpoint(last);
    if (score > state.best_score) {
      state.best_score = score;
      save_checkpoint(best);
    }
    state.batch_in_epoch = 0;
    state.loss_sum = state.gender_loss_sum = state.age_loss_sum = 0;
    state.loss_count = 0;
    TrainState next = state;
    ++next.epoch;
    save_training_state(next);
  }
  if (state.batch_in_epoch > 0) {  // stopped mid-epoch: keep where we are for --resume
    settle_weights();
    save_checkpoint(last);
    save_training_state(state);
  }
  result.skipped_images = static_cast<int>(bad_data.bad());
  result.epochs_done = state.epoch;
  result.steps_done = state.step;
  result.best_score = state.best_score;
  result.age_regression = config.age_regression;
  return result;
}

}  // namespace facekit::train
