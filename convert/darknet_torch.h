// Darknet <-> LibTorch. A facekit Darknet checkpoint is a torch::serialize archive holding the
// module's parameters and buffers plus what is needed to rebuild it and write the .weights back
// byte for byte: the cfg text, the dialect and the weights header.
#pragma once

#include <string>

#include "models/darknet/darknet_net.h"

namespace facekit::darknet {

struct LoadedDarknet {
  DarknetNet net{nullptr};
  WeightsHeader header;
  std::string cfg_text;
  std::string dialect_reason;  // why this dialect was chosen (printed to the user)
};

// Parses the cfg, chooses the dialect ("auto", "pjreddie" or "alexeyab"), builds the net and,
// when weights_path is not empty, loads the weights (checked to fit the cfg first).
// input_w/input_h override the cfg's [net] size when > 0. With load_values false the weights file
// is only checked (header for the dialect, size against the cfg), for callers that run another
// backend on it.
LoadedDarknet load_darknet(const std::string& cfg_path, const std::string& weights_path,
                           const std::string& dialect = "auto", int input_w = 0, int input_h = 0,
                           bool load_values = true);

void save_darknet_checkpoint(const LoadedDarknet& model, const std::string& path);
// input_w/input_h override the stored input size when > 0.
LoadedDarknet load_darknet_checkpoint(const std::string& path, int input_w = 0, int input_h = 0);

}  // namespace facekit::darknet
