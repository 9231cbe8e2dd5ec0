// `facekit train detector`: a Darknet detector (re)trained in LibTorch with Darknet's semantics.
//
// Start: every layer whose parameter shapes match the starting model loads from it (the start
// weights are read with their own cfg, so a changed head does not shift the layers after it, as
// it does in Darknet); layers whose shapes changed start fresh, like Darknet's `-clear`/`partial`.
// `freeze` keeps the first N layers fixed (Darknet's `stopbackward`).
// Optimisation (update_convolutional_layer): SGD with momentum on the loss summed over the batch
// and divided by `batch`, weight decay on weights only (not biases or BN scales), the cfg's
// learning-rate policy per weight update, `subdivisions` mini-batches per update.
// Output in the backup folder: NAME_last.weights, NAME_best.weights (best validation AP@0.5),
// NAME_final.weights, NAME_state.pt (optimiser, iteration, best AP: what --resume needs),
// results.csv, curves.png. Everything is written to a temporary file and renamed.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "train/distributed.h"

namespace facekit::train {

struct DetectorTrainOptions {
  std::string cfg, weights, weights_cfg, data, backup;  // weights_cfg: the start weights' own cfg
  int max_batches = 0;      // overrides the cfg's when > 0
  int batch = 0, subdivisions = 0;
  double learning_rate = 0;
  int freeze = 0;
  bool resume = false;
  bool multiscale = true;   // the last head's `random=1`
  uint64_t seed = 1;
  int loader_threads = 2;
  int validate_every = 0;   // iterations (0: at the end only)
  int save_every = 50;
  double max_bad_fraction = 0.01;  // stop when more of the images read are unreadable (train/bad_data.h)
  torch::Device device = torch::kCPU;
  // Several processes (train/distributed.h): each rank takes subdivisions / world_size of every
  // batch's micro-batches, so the cfg's batch stays the global batch.
  DistributedOptions distributed;
};

struct DetectorTrainResult {
  int iterations = 0;
  double first_loss = 0, last_loss = 0, best_ap50 = -1;
  std::string final_weights;
};

DetectorTrainResult train_detector(const DetectorTrainOptions& options);

}  // namespace facekit::train
