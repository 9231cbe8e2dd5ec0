// The [net] section's training keys, with the defaults of Darknet's parse_net_options
// (pjreddie's src/parser.c): the cfg is the single source of hyper-parameters; the command line
// only overrides.
#pragma once

#include <string>
#include <vector>

#include "models/darknet/cfg.h"
#include "train/lr_schedule.h"

namespace facekit::train {

struct NetTrainingConfig {
  int batch = 1;          // images per weight update
  int subdivisions = 1;   // the batch runs as `subdivisions` mini-batches (gradient accumulation)
  float learning_rate = 0.001f, momentum = 0.9f, decay = 0.0001f;
  int burn_in = 0;
  float power = 4;        // burn-in exponent (and poly's)
  int max_batches = 0;
  std::string policy = "constant";
  std::vector<int> steps;
  std::vector<float> scales;
  float gamma = 1;
  float learning_rate_min = 0.00001f;  // sgdr (AlexeyAB's parse_net_options)
  int sgdr_cycle = 0;                   // 0: max_batches
  int sgdr_mult = 2;
  float saturation = 1, exposure = 1, hue = 0;
  bool mosaic = false;                  // AlexeyAB's four-image augmentation (datasets/detection_loader.h)
  bool flip = true;                     // AlexeyAB's flip=0 turns the random mirror off
  int blur = 0;                         // AlexeyAB's blur (DetectionAugmentOptions::blur)
  // "FILE:LINE: key=value" for each training key of AlexeyAB's that is set but that facekit does
  // not implement (mixup, cutmix, adam...): the trainer prints them rather than train otherwise
  // than the cfg says without a word.
  std::vector<std::string> not_implemented;

  int mini_batch() const { return batch / subdivisions; }
  LrSchedule schedule() const;
};

// Throws naming the cfg for an unknown policy, steps/scales of different lengths, or a batch that
// subdivisions does not divide.
NetTrainingConfig read_net_training_config(const darknet::CfgFile& cfg);

}  // namespace facekit::train
