#include "train/detector_trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <tuple>
#include <utility>

#include <opencv2/imgcodecs.hpp>

#include "convert/darknet_torch.h"
#include "datasets/atomic_file.h"
#include "datasets/detection_loader.h"
#include "datasets/epoch_order.h"
#include "datasets/preprocess.h"
#include "eval/detection_metrics.h"
#include "models/darknet/decode.h"
#include "train/archive_io.h"
#include "train/bad_data.h"
#include "train/net_training_config.h"
#include "train/region_loss.h"
#include "train/run_log.h"
#include "train/sound_weights.h"
#include "train/step_memory.h"
#include "train/yolo_loss.h"

namespace facekit::train {
namespace {

namespace fs = std::filesystem;
using darknet::LayerType;

constexpr int kMaxBadStepsInARow = 5;      // non-finite losses tolerated before stopping
constexpr int kResizeEvery = 10;           // detector.c: a new input size every 10 batches
constexpr int kMultiscaleMin = 10, kMultiscaleMax = 19, kMultiscaleBase = 13;  // 320..608 for a 416 net
constexpr float kValidConfThresh = 0.005f, kValidNmsThresh = 0.45f;
constexpr float kValidIou = 0.5f;  // validation AP@0.5 (VOC all-point), all faces
const std::vector<std::string> kColumns = {"train_loss", "val_ap50", "lr"};

struct TrainState {
  int iteration = 0;
  double best_ap50 = -1;
};

std::string stem(const std::string& cfg) { return fs::path(cfg).stem().string(); }

// Copies every parameter and buffer whose name and shape match; prints a line per layer.
void load_matching(const darknet::DarknetNet& from, darknet::DarknetNet& to, std::ostream& log) {
  std::map<std::string, torch::Tensor> source;
  for (const auto& p : from->named_parameters()) source[p.key()] = p.value();
  for (const auto& b : from->named_buffers()) source[b.key()] = b.value();
  std::map<std::string, bool> layer_loaded;  // layer name -> every tensor loaded
  torch::NoGradGuard no_grad;
  const auto copy = [&](const std::string& name, torch::Tensor& target) {
    const std::string layer = name.substr(0, name.find('.'));
    const auto it = source.find(name);
    const bool fits = it != source.end() && it->second.sizes() == target.sizes();
    if (fits) target.copy_(it->second);
    layer_loaded.emplace(layer, true).first->second &= fits;
  };
  for (auto& p : to->named_parameters()) copy(p.key(), p.value());
  for (auto& b : to->named_buffers()) copy(b.key(), b.value());
  int loaded = 0;
  std::string reset;
  for (const auto& [layer, ok] : layer_loaded) ok ? ++loaded : (reset += (reset.empty() ? "" : ", ") + layer, 0);
  log << "start weights: " << loaded << " layers loaded; reset (shapes changed): " << (reset.empty() ? "none" : reset) << "\n";
}

void freeze_layers(darknet::DarknetNet& net, int count, std::ostream& log) {
  if (count <= 0) return;
  for (auto& p : net->named_parameters()) {
    const std::string layer = p.key().substr(0, p.key().find('.'));
    const int index = std::stoi(layer.substr(layer.rfind('_') + 1));
    if (index < count) p.value().requires_grad_(false);
  }
  log << "frozen: layers 0.." << count - 1 << "\n";
}

std::unique_ptr<torch::optim::SGD> make_sgd(darknet::DarknetNet& net, const NetTrainingConfig& c) {
  // update_convolutional_layer: decay on the weights only, not on biases or BN scales.
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : net->named_parameters()) {
    const bool weights = p.key().size() > 7 && p.key().compare(p.key().size() - 7, 7, ".weight") == 0 &&
                         p.key().find(".bn.") == std::string::npos && p.value().dim() > 1;
    (weights ? decay : no_decay).push_back(p.value());
  }
  const auto sgd = [&](double decay_rate) {
    return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(c.learning_rate).momentum(c.momentum).weight_decay(decay_rate));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, sgd(c.decay));
  groups.emplace_back(no_decay, sgd(0));
  return std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(c.learning_rate));
}

std::vector<std::vector<TruthBox>> truths_of(const DetectionBatch& batch) {
  std::vector<std::vector<TruthBox>> truths;
  for (const auto& boxes : batch.boxes) {
    std::vector<TruthBox> t;
    for (const auto& b : boxes) t.push_back({b.x, b.y, b.w, b.h, b.class_id});
    truths.push_back(std::move(t));
  }
  return truths;
}

// The sum of every head's loss (a head reads the output of the layer before it); `terms` adds up
// their parts (box, objectness, no-object, classes).
torch::Tensor detection_loss(const darknet::NetDef& def, const std::vector<torch::Tensor>& outputs,
                             const std::vector<std::vector<TruthBox>>& truths, int w, int h, long long seen,
                             YoloLossStats* terms) {
  torch::Tensor total = torch::zeros({}, outputs.front().options());
  for (const auto& layer : def.layers) {
    if (layer.type == LayerType::kYolo) total = total + yolo_loss(layer, outputs[layer.index - 1], truths, w, h, terms);
    if (layer.type == LayerType::kRegion) total = total + region_loss(layer, outputs[layer.index - 1], truths, seen, terms);
  }
  return total;
}

// Finite weights whose heads' inputs are finite on `input` (sound_weights.h).
bool sound_weights(darknet::DarknetNet& net, const torch::Tensor& input) {
  if (!all_finite(*net)) return false;
  if (!input.defined()) return true;
  return in_eval_mode(*net, [&] {
    const auto outputs = net->forward_all(input);
    for (const auto& layer : net->def().layers) {
      const bool head = layer.type == LayerType::kYolo || layer.type == LayerType::kRegion;
      if (head && !all_finite(outputs[static_cast<size_t>(layer.index - 1)])) return false;
    }
    return true;
  });
}

// AP@0.5 of class 0 on the validation list, at the cfg's input size.
double validate(darknet::DarknetNet& net, const std::vector<DetectionSample>& samples, torch::Device device) {
  torch::NoGradGuard no_grad;
  net->eval();
  const auto& def = net->def();
  std::vector<eval::ImageDetections> images;
  for (const auto& s : samples) {
    const cv::Mat bgr = cv::imread(s.image, cv::IMREAD_COLOR);
    if (bgr.empty()) continue;
    LetterboxGeometry geometry;
    PlanarImage input = fit_to_input(to_planar_rgb(bgr), def.width, def.height, def.letterbox, &geometry);
    const auto tensor = torch::from_blob(input.data.data(), {1, 3, def.height, def.width}).to(device);
    eval::ImageDetections image{s.image, {}, {}};
    for (const auto& b : s.boxes) {
      image.truth.push_back({{(b.x - b.w / 2) * bgr.cols, (b.y - b.h / 2) * bgr.rows, (b.x + b.w / 2) * bgr.cols,
                              (b.y + b.h / 2) * bgr.rows}});
    }
    for (const auto& d : darknet::decode_detections(def, net->forward_all(tensor), geometry, kValidConfThresh, kValidNmsThresh)) {
      if (d.class_id == 0) image.detections.push_back({{d.x1, d.y1, d.x2, d.y2}, d.score});
    }
    images.push_back(std::move(image));
  }
  net->train();
  // The one number the run keeps; evaluate_detections would also match every size bucket and IoU.
  return eval::average_precision_voc(eval::pr_curve(eval::match_detections(images, kValidIou)));
}

// The weights travel in the state too: it is renamed into place in one step, so a run killed
// between writing the weights file and the state still resumes from one consistent moment.
void save_state(const std::string& path, const TrainState& s, torch::optim::Optimizer& optimizer,
                const torch::nn::Module& model) {
  torch::serialize::OutputArchive archive, optimizer_archive, model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  archive.write("iteration", torch::tensor(static_cast<int64_t>(s.iteration)));
  archive.write("best_ap50", torch::tensor(s.best_ap50, torch::kDouble));
  archive.write("rng", at::detail::getDefaultCPUGenerator().get_state());
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.save_to(path + ".tmp");
  fs::rename(path + ".tmp", path);
}

TrainState load_state(const std::string& path, torch::optim::Optimizer& optimizer, torch::nn::Module& model) {
  torch::serialize::InputArchive archive, optimizer_archive, model_archive;
  archive.load_from(path);
  archive.read("model", model_archive);
  model.load(model_archive);
  TrainState s;
  s.iteration = static_cast<int>(read_tensor(archive, "iteration").item<int64_t>());
  s.best_ap50 = read_tensor(archive, "best_ap50").item<double>();
  at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the global generator
  generator.set_state(read_tensor(archive, "rng"));
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  return s;
}

void save_weights(const darknet::LoadedDarknet& model, long long seen, const std::string& path) {
  darknet::WeightsHeader header = model.header;
  header.seen = static_cast<uint64_t>(seen);
  darknet::write_weights(model.net->save_weights(header), path);
}

// detector.c's multi-scale training: a new input size every kResizeEvery iterations, 10/13 to 19/13
// of the cfg's (320..608 for 416) in multiples of the net's downsampling. A function of the seed and
// the iteration only, so that --resume continues with the sizes of an uninterrupted run.
std::pair<int, int> multiscale_size(const darknet::NetDef& def, int stride, uint64_t seed, int iteration) {
  auto rng = sample_generator(seed, 0, static_cast<uint64_t>(iteration - iteration % kResizeEvery));
  const int factor = std::uniform_int_distribution<int>(kMultiscaleMin, kMultiscaleMax)(rng);
  return {std::max(stride, def.width * factor / kMultiscaleBase / stride * stride),
          std::max(stride, def.height * factor / kMultiscaleBase / stride * stride)};
}

// One line per [yolo] head: the loss it trains with (AlexeyAB's keys, or pjreddie's fixed loss).
void report_head_losses(const darknet::NetDef& def, std::ostream& report) {
  for (const auto& l : def.layers) {
    if (l.type != LayerType::kYolo) continue;
    report << "loss of layer " << l.index << ": box " << darknet::iou_loss_name(l.iou_loss) << " x " << l.iou_normalizer
           << ", objectness x " << l.obj_normalizer << ", classes x " << l.cls_normalizer;
    if (l.iou_thresh < 1.f) report << ", iou_thresh " << l.iou_thresh;
    report << "\n";
  }
}

// One line: how training images are augmented (datasets/detection_loader.h), as the cfg set it.
void report_augmentation(const DetectionAugmentOptions& a, std::ostream& report) {
  report << "augmentation: " << (a.letterbox ? "letterbox" : "stretch") << ", jitter " << a.jitter;
  std::ostringstream zoom;
  zoom << std::setprecision(3) << std::max(a.resize, 1 / a.resize);
  if (a.resize < 1) report << ", resize " << a.resize << " (zoom out up to " << zoom.str() << "x)";
  if (a.resize > 1) report << ", resize " << a.resize << " (zoom in or out up to " << zoom.str() << "x)";
  report << ", hue " << a.hue << ", saturation " << a.saturation << ", exposure " << a.exposure << (a.flip ? ", flip" : "")
         << (a.mosaic ? ", mosaic" : "");
  if (a.blur > 0) report << ", blur " << a.blur;
  report << "\n";
}

const darknet::LayerDef& last_head(const darknet::NetDef& def) {
  for (auto it = def.layers.rbegin(); it != def.layers.rend(); ++it) {
    if (it->type == LayerType::kYolo || it->type == LayerType::kRegion) return *it;
  }
  throw std::runtime_error(def.cfg_path + ": no [yolo] or [region] layer to train");
}

}  // namespace

DetectorTrainResult train_detector(const DetectorTrainOptions& o) {
  keep_freed_memory_for_reuse();
  torch::manual_seed(o.seed);
  DataParallel parallel(o.distributed);
  const bool main_rank = parallel.is_main();
  std::ostringstream quiet;  // what only rank 0 reports
  std::ostream& report = main_rank ? std::cout : quiet;
  const DataFile data = read_data_file(o.data);
  const darknet::CfgFile cfg = darknet::parse_cfg_file(o.cfg);
  NetTrainingConfig config = read_net_training_config(cfg);
  if (o.batch > 0) config.batch = o.batch;
  if (o.subdivisions > 0) config.subdivisions = o.subdivisions;
  if (o.learning_rate > 0) config.learning_rate = static_cast<float>(o.learning_rate);
  if (o.max_batches > 0) config.max_batches = o.max_batches;
  if (config.max_batches <= 0) throw std::runtime_error(o.cfg + ": max_batches must be set (cfg or --max-batches)");
  if (config.batch % config.subdivisions != 0) throw std::runtime_error("batch must be a multiple of subdivisions");
  const int world = parallel.world_size();
  if (config.subdivisions % world != 0) {
    throw std::runtime_error("subdivisions " + std::to_string(config.subdivisions) + " must be a multiple of the world size " +
                             std::to_string(world) + " (each rank takes the same number of micro-batches)");
  }
  const int per_rank = config.subdivisions / world;  // micro-batches of each batch on this rank
  const fs::path backup = o.backup.empty() ? fs::path(data.backup) : fs::path(o.backup);
  const std::string name = stem(o.cfg);
  const std::string last = (backup / (name + "_last.weights")).string(), state_path = (backup / (name + "_state.pt")).string();

  // The lists first: a broken one should stop the run before any weights are loaded.
  const ClassIndexMap class_map = data.class_map.empty() ? ClassIndexMap() : read_class_index_map(data.class_map);
  LabelAudit labels;
  const auto train_samples = read_detection_list(data.train, class_map, &labels);
  const auto valid_samples = data.valid.empty() ? std::vector<DetectionSample>() : read_detection_list(data.valid, class_map);
  report << "training on " << train_samples.size() << " images, validating on " << valid_samples.size() << "; batch "
            << config.batch << " = " << config.subdivisions << " x " << config.mini_batch() << ", " << config.max_batches
            << " iterations\n";
  if (const std::string fixed = labels.summary(); !fixed.empty()) report << fixed << "\n";
  BadDataCounter bad_data(o.max_bad_fraction, labels);
  bad_data.check_labels(data.train);

  darknet::LoadedDarknet model = darknet::load_darknet(o.cfg, o.resume ? last : "");
  const auto& def = model.net->def();
  const darknet::LayerDef& head = last_head(def);
  report_head_losses(def, report);
  for (const auto& l : def.layers) {
    if ((l.type == LayerType::kYolo || l.type == LayerType::kRegion) && l.classes != data.classes) {
      throw std::runtime_error(o.cfg + ": layer " + std::to_string(l.index) + " has classes=" + std::to_string(l.classes) + " but " +
                               o.data + " says classes=" + std::to_string(data.classes));
    }
  }
  if (!o.resume && !o.weights.empty()) {
    const std::string start_cfg = o.weights_cfg.empty() ? fs::path(o.weights).replace_extension(".cfg").string() : o.weights_cfg;
    const auto start = darknet::load_darknet(start_cfg, o.weights);
    load_matching(start.net, model.net, report);
    model.header = start.header;
  }
  freeze_layers(model.net, o.freeze, report);
  model.net->to(o.device);
  parallel.broadcast(*model.net);  // every rank starts from rank 0's weights
  parallel.reduce_gradients_of(model.net->parameters());  // after freeze_layers: the trainable ones
  if (main_rank) require_writable_folder(backup.string(), kCheckpointCopies * module_bytes(*model.net));
  model.net->train();

  if (parallel.active()) report << "data-parallel: " << world << " ranks, " << per_rank << " micro-batches each per iteration\n";

  DetectionLoaderOptions lo;
  lo.batch_size = config.mini_batch();
  lo.width = def.width;
  lo.height = def.height;
  lo.threads = o.loader_threads;
  lo.seed = o.seed;
  lo.rank = parallel.rank();
  lo.world_size = world;
  lo.rank_slice = static_cast<size_t>(config.batch / world);
  DetectionAugmentOptions& augment = lo.augment_options;  // the cfg's: jitter and resize from the last head
  augment.jitter = head.jitter;
  augment.resize = head.resize;
  augment.hue = config.hue;
  augment.saturation = config.saturation;
  augment.exposure = config.exposure;
  augment.mosaic = config.mosaic;
  augment.flip = config.flip;
  augment.blur = config.blur;
  augment.letterbox = def.letterbox;
  report_augmentation(lo.augment_options, report);
  for (const auto& key : config.not_implemented) report << "warning: " << key << " is not implemented; training without it\n";
  DetectionLoader loader(train_samples, lo);
  loader.start_epoch(0);
  const int per_epoch = loader.batches_per_epoch();
  if (per_epoch == 0) throw std::runtime_error(data.train + ": fewer images than one mini-batch");

  auto optimizer = make_sgd(model.net, config);
  const LrSchedule schedule = config.schedule();
  TrainState state;
  std::optional<RunLog> log;
  if (main_rank) log.emplace(backup.string(), kColumns, "iteration");
  if (o.resume) {
    state = load_state(state_path, *optimizer, *model.net);
    if (log) log->restore(state.iteration);
    report << "resuming at iteration " << state.iteration << "\n";
  }
  const long long mini_done = static_cast<long long>(state.iteration) * per_rank;
  int epoch = static_cast<int>(mini_done / per_epoch);
  loader.start_epoch(epoch, static_cast<int>(mini_done % per_epoch));

  const int stride = def.input_multiple();  // the sizes the net runs at: multiples of its downsampling
  const bool multiscale = o.multiscale && head.random && stride > 0;
  if (o.multiscale && head.random && stride == 0) {
    report << "random=1 ignored: " << o.cfg << " runs only at its own input size\n";
  }
  DetectorTrainResult result;
  Progress progress(config.max_batches, state.iteration);
  int bad_in_a_row = 0, width = def.width, height = def.height;
  torch::Tensor probe;  // the latest micro-batch, on which the weights are checked before saving
  double loss_sum = 0;
  int loss_count = 0;
  while (state.iteration < config.max_batches) {
    if (multiscale) {
      std::tie(width, height) = multiscale_size(def, stride, o.seed, state.iteration);
      loader.set_input_size(width, height);
    }
    const double lr = schedule.at(state.iteration);
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    optimizer->zero_grad();
    double loss = 0, unreadable = 0, read = 0;
    YoloLossStats terms;
    for (int s = 0; s < per_rank; ++s) {
      DetectionBatch batch;
      while (!loader.next(&batch)) loader.start_epoch(++epoch);
      for (const auto& bad : batch.unreadable) std::cerr << "\nwarning: " << bad << ": cannot decode, skipped\n";
      unreadable += static_cast<double>(batch.unreadable.size());
      read += static_cast<double>(batch.unreadable.size()) + batch.size();
      const bool sync = s == per_rank - 1;  // its backward averages the iteration's gradients over the ranks
      if (batch.size() == 0) {
        if (sync) parallel.backward({}, sync);
        continue;
      }
      // Channels-last (NHWC): oneDNN's convolutions then read and write it as it is, where NCHW costs
      // a reorder of every activation and gradient each way (yolov3-tiny at 416, 2 cores: 11 % faster).
      const auto input = torch::from_blob(batch.pixels.data(), {batch.size(), 3, batch.height, batch.width})
                             .to(o.device)
                             .contiguous(torch::MemoryFormat::ChannelsLast);
      probe = input.clone();
      const long long seen = static_cast<long long>(state.iteration) * config.batch;
      const auto total =
          detection_loss(def, model.net->forward_all(input), truths_of(batch), batch.width, batch.height, seen, &terms);
      // Darknet divides the summed update by the batch: here this rank's share of it, which the
      // average over the ranks turns into the whole batch's.
      parallel.backward(total / (config.batch / world), sync);
      loss += total.item<double>() / config.batch;
    }
    auto summed = torch::tensor({loss, unreadable, read, terms.coord, terms.objectness, terms.no_object, terms.classes},
                                torch::kDouble);
    parallel.sum(summed);  // the whole batch's; a NaN loss on any rank is NaN on all, and all skip
    loss = summed[0].item<double>();
    const auto per_image = [&](int k) { return summed[k].item<double>() / config.batch; };
    bad_data.add(static_cast<int64_t>(summed[1].item<double>()), static_cast<int64_t>(summed[2].item<double>()));
    bad_data.check();
    ++state.iteration;
    if (!std::isfinite(loss)) {
      std::cerr << "\nwarning: iteration " << state.iteration << ": loss is " << loss << ", update skipped\n";
      if (++bad_in_a_row >= kMaxBadStepsInARow) {
        throw std::runtime_error("train detector: " + std::to_string(kMaxBadStepsInARow) + " non-finite losses in a row; the last good weights are " + last);
      }
      continue;
    }
    bad_in_a_row = 0;
    optimizer->step();
    if (result.iterations == 0) result.first_loss = loss;
    ++result.iterations;
    result.last_loss = loss;
    loss_sum += loss, ++loss_count;
    if (main_rank) {
      progress.step(state.iteration - 1, config.batch,
                    {{"loss", loss}, {"box", per_image(3)}, {"obj", per_image(4)}, {"noobj", per_image(5)},
                     {"cls", per_image(6)}, {"lr", lr}, {"size", double(width)}},
                    name);
    }
    const bool end = state.iteration == config.max_batches;
    const bool validate_now = !valid_samples.empty() && (end || (o.validate_every > 0 && state.iteration % o.validate_every == 0));
    if (validate_now || end || state.iteration % o.save_every == 0) {
      const long long seen = static_cast<long long>(state.iteration) * config.batch;
      double ap50 = NAN;
      parallel.average_buffers(*model.net);  // BN running statistics of every rank, before they are used or saved
      if (!parallel.all_true(sound_weights(model.net, probe))) {  // each rank checked its own batch: all stop together
        throw std::runtime_error("train detector: the weights give non-finite values (training diverged; lower the "
                                 "learning rate); nothing was saved, the last good weights are " + last);
      }
      if (validate_now) {
        if (main_rank) progress.finish_line();
        ap50 = validate(model.net, valid_samples, o.device);  // on every rank: none idles into the timeout
        report << "iteration " << state.iteration << ": validation AP@0.5 " << ap50 << "\n";
        if (ap50 > state.best_ap50) {
          state.best_ap50 = ap50;
          if (main_rank) save_weights(model, seen, (backup / (name + "_best.weights")).string());
        }
      }
      // Each checkpoint: images that failed to decode since the last; the last one repeats the
      // label audit of the start for whoever reads the log's tail.
      if (const std::string bad = end ? bad_data.end_epoch() : bad_data.take_unreadable(); main_rank && !bad.empty()) {
        std::cout << "iteration " << state.iteration << ": " << bad << "\n";
      }
      if (main_rank) {
        // The row first: a kill before the state is saved repeats this stretch, and --resume drops
        // the rows after the saved iteration, so every row is written exactly once.
        log->add(state.iteration, {{"train_loss", loss_sum / std::max(1, loss_count)}, {"val_ap50", ap50}, {"lr", lr}});
        save_weights(model, seen, last);
        save_state(state_path, state, *optimizer, *model.net);
      }
      loss_sum = 0, loss_count = 0;
    }
  }
  if (main_rank) progress.finish_line();
  result.final_weights = (backup / (name + "_final.weights")).string();
  parallel.average_buffers(*model.net);
  if (main_rank) save_weights(model, static_cast<long long>(state.iteration) * config.batch, result.final_weights);
  result.best_ap50 = state.best_ap50;
  return result;
}

}  // namespace facekit::train
