// torchvision -> facekit: copies an `inception_v3` state dict (torch.save, zip or legacy format;
// see convert/torch_state_dict.h) into an InceptionV3 or an AgeGenderNet by parameter name, and
// reports what was loaded, what was skipped and what starts fresh.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "convert/torch_state_dict.h"
#include "models/classifier/age_gender_net.h"

namespace facekit {

struct LoadReport {
  std::vector<std::string> loaded;                             // file names copied into the net
  std::vector<std::pair<std::string, std::string>> skipped;    // file name, why (missing, shape)
  std::vector<std::string> initialised;                        // net names the file did not give
};

// "loaded N tensors; skipped M: ...; initialised K: ..." with every skipped and initialised name.
std::string format_load_report(const LoadReport& report);

// File name -> the net's name for it (identity for InceptionV3).
using NameMap = std::function<std::string(const std::string&)>;

// Copies every tensor whose mapped name and shape match a parameter or buffer of `net`.
LoadReport load_matching(torch::nn::Module& net, const StateDict& state,
                         const NameMap& to_net_name = [](const std::string& name) { return name; });

// torchvision inception_v3 names -> AgeGenderNet names: `AuxLogits.conv0.*` / `AuxLogits.conv1.*`
// -> `aux.*` (the auxiliary head's trunk), anything else -> `backbone.*` (so `fc.*` and
// `AuxLogits.fc.*`, ImageNet's 1000-class layers, find nothing and are skipped).
std::string age_gender_name_of_torchvision(const std::string& name);

// An AgeGenderNet for `config` with the backbone (and aux trunk) from a torchvision state dict;
// the heads start fresh. In eval mode.
LoadedAgeGenderNet import_torchvision_inception(const std::string& path, const AgeGenderConfig& config,
                                                LoadReport* report);

// Where training starts: `init` empty -> random weights for `config`; a facekit AgeGenderNet
// checkpoint -> that network and its own config; anything else is read as a torchvision state dict
// (the load report goes to `log`).
LoadedAgeGenderNet initial_age_gender_net(const std::string& init, const AgeGenderConfig& config, std::ostream& log);

}  // namespace facekit
