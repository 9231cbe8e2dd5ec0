// `facekit train classifier`: AgeGenderNet fine-tuned on a face dataset.
//
// Run folder (ultralytics' layout): weights/last.pt and weights/best.pt (AgeGenderNet checkpoints:
// everything inference needs), state.pt (optimiser, step, epoch, RNG, best score: what --resume
// needs), results.csv and curves.png. Every file is written to a temporary name and renamed.
//
// Loss: cross-entropy with label smoothing on gender and on the age interval, each over the faces
// whose label is known; with an age-regression head, cross-entropy over 0..100 years as in DEX
// (Rothe et al. 2015), whose expectation is the age estimate; the auxiliary head's loss is added
// with weight `aux_weight` (Szegedy et al. 2016 used 0.4 on the main loss scale). `gender_weight`
// scales the gender terms: the age terms (interval and years) otherwise dominate the shared backbone's
// gradient.
// Model selection: the best validation (gender_acc + age_exact) / 2. With `ema_decay` the network
// validated and saved (last.pt, best.pt) is the moving average of the trained weights
// (train/weight_average.h); state.pt keeps both for --resume.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/formats/face_labels.h"
#include "models/classifier/age_gender_net.h"
#include "train/distributed.h"
#include "train/lr_schedule.h"

namespace facekit::train {

struct ClassifierTrainOptions {
  std::string run_dir;
  std::string init;              // AgeGenderNet checkpoint or torchvision state dict; empty: random
  AgeGenderConfig model;         // used when `init` does not carry one
  // Train at this crop side although `init` carries its own (0: keep the checkpoint's): a network
  // trained on small crops, fine-tuned on larger ones (progressive resizing; Touvron et al. 2019,
  // "Fixing the train-test resolution discrepancy"). Every layer fits any side, global pooling ends it.
  int init_input_size = 0;
  // Grow `init`'s network to this --width-mult first (0: keep its width): Net2WiderNet
  // (models/classifier/widen.h), the same function with more channels to learn with.
  double init_width_mult = 0;
  int epochs = 30;
  int batch_size = 64;            // the global batch: over all micro-batches and ranks
  // Micro-batches per step (gradients accumulated, as Darknet's `subdivisions`); at least the world
  // size, and a multiple of it: each rank takes subdivisions / world_size of them.
  int subdivisions = 1;
  int loader_threads = 2;
  std::string optimizer = "sgd"; // sgd (momentum, Nesterov) or adamw
  double lr = 0.01, momentum = 0.9, weight_decay = 5e-4;
  std::string schedule = "cosine";  // cosine or steps (x0.1 at 50 % and 75 %)
  double warmup_epochs = 1;
  double label_smoothing = 0.1;
  std::string balance = "none";  // none, sampling (by age interval) or weights (in the age loss)
  int freeze_epochs = 0;         // epochs with the backbone frozen (heads only), then all layers
  double aux_weight = 0.4;
  double regression_weight = 0.5;
  double age_sigma = 0;          // the years head's target: 0 the year alone, else a Gaussian (train/age_years_loss.h)
  double age_l1_weight = 0;      // weight of the expected age's absolute error in the years head's loss
  double gender_weight = 1.0;
  double ema_decay = 0;          // 0: no weight average; else its decay per step, e.g. 0.999
  bool augment = true;
  uint64_t seed = 1;
  bool resume = false;
  int save_every = 200;          // steps between mid-epoch state saves
  int max_steps = 0;             // stop after this many steps in total (0: all epochs)
  double max_bad_fraction = 0.01;  // stop when more of the images read are unreadable (train/bad_data.h)
  torch::Device device = torch::kCPU;
  DistributedOptions distributed;  // world_size 1: one process
};

struct ClassifierTrainResult {
  int epochs_done = 0, steps_done = 0;
  double best_score = 0, last_train_loss = 0;
  int skipped_images = 0;
  bool age_regression = false;  // the trained network has a years head
};

ClassifierTrainResult train_classifier(const FaceDataset& train_set, const FaceDataset& val_set,
                                       const ClassifierTrainOptions& options);

}  // namespace facekit::train
