#include "convert/torchvision_import.h"

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace facekit {
namespace {

constexpr const char* kTorchvisionAuxPrefix = "AuxLogits.";
const std::vector<std::string> kAuxTrunkModules = {"conv0.", "conv1."};

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// LibTorch's torch::serialize archives (what save_age_gender_checkpoint writes) are TorchScript
// zips with a constants.pkl record; python's torch.save zips have none.
bool is_libtorch_archive(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[2] = {};
  if (!file.read(magic, sizeof magic) || magic[0] != 'P' || magic[1] != 'K') return false;
  try {
    return caffe2::serialize::PyTorchStreamReader(path).hasRecord("constants.pkl");
  } catch (const c10::Error&) {
    return false;  // not a readable zip: let the state-dict reader say what is wrong
  }
}

}  // namespace

std::string format_load_report(const LoadReport& r) {
  std::ostringstream out;
  out << "loaded " << r.loaded.size() << " tensors; skipped " << r.skipped.size() << "; initialised "
      << r.initialised.size() << "\n";
  for (const auto& [name, why] : r.skipped) out << "  skipped " << name << ": " << why << "\n";
  for (const auto& name : r.initialised) out << "  initialised " << name << "\n";
  return out.str();
}

LoadReport load_matching(torch::nn::Module& net, const StateDict& state, const NameMap& to_net_name) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : net.named_parameters()) targets.emplace(p.key(), p.value());
  for (const auto& b : net.named_buffers()) targets.emplace(b.key(), b.value());
  std::map<std::string, bool> given;
  LoadReport report;
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : state) {
    const std::string net_name = to_net_name(name);
    const auto it = targets.find(net_name);
    if (it == targets.end()) {
      report.skipped.emplace_back(name, "not in the network" + (net_name == name ? "" : " (as " + net_name + ")"));
    } else if (it->second.sizes() != tensor.sizes()) {
      report.skipped.emplace_back(name, "shape " + shape_text(tensor) + " in the file, " + shape_text(it->second) +
                                            " in the network");
    } else {
      it->second.copy_(tensor);
      given[net_name] = true;
      report.loaded.push_back(name);
    }
  }
  for (const auto& [name, tensor] : targets) {
    if (!given.count(name)) report.initialised.push_back(name);
  }
  return report;
}

std::string age_gender_name_of_torchvision(const std::string& name) {
  const std::string aux(kTorchvisionAuxPrefix);
  if (name.compare(0, aux.size(), aux) == 0) {
    const std::string rest = name.substr(aux.size());
    for (const auto& module : kAuxTrunkModules) {
      if (rest.compare(0, module.size(), module) == 0) return "aux." + rest;
    }
  }
  return "backbone." + name;
}

LoadedAgeGenderNet import_torchvision_inception(const std::string& path, const AgeGenderConfig& config,
                                                LoadReport* report) {
  const StateDict state = read_torch_state_dict(path);
  LoadedAgeGenderNet loaded = make_age_gender_net(config);
  *report = load_matching(*loaded.net, state, age_gender_name_of_torchvision);
  // BN's num_batches_tracked counters (0-d) fit at any width; weights only at torchvision's own.
  const auto file = std::map<std::string, torch::Tensor>(state.begin(), state.end());
  const bool any_weight = std::any_of(report->loaded.begin(), report->loaded.end(),
                                      [&](const std::string& name) { return file.at(name).is_floating_point(); });
  if (!any_weight) {
    std::ostringstream why;
    why << path << ": no weight fits the network: is it a torchvision inception_v3 state dict? (its weights fit "
        << "only width 1; this network has width " << config.width_mult << ")";
    throw std::runtime_error(why.str());
  }
  return loaded;
}

LoadedAgeGenderNet initial_age_gender_net(const std::string& init, const AgeGenderConfig& config, std::ostream& log) {
  if (init.empty()) {
    log << "starting from random weights\n";
    return make_age_gender_net(config);
  }
  if (is_libtorch_archive(init)) {
    log << "starting from the AgeGenderNet checkpoint " << init << " (its own configuration)\n";
    return load_age_gender_checkpoint(init);
  }
  LoadReport report;
  LoadedAgeGenderNet loaded = import_torchvision_inception(init, config, &report);
  log << "starting from the torchvision state dict " << init << ": " << format_load_report(report);
  return loaded;
}

}  // namespace facekit
