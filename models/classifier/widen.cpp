#include "models/classifier/widen.h"

#include <ATen/CPUGeneratorImpl.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace facekit {
namespace {

// Where each channel of a widened feature map comes from: new channel j is old channel from[j].
struct ChannelMap {
  std::vector<int64_t> from;
  int64_t old_channels = 0;
};

ChannelMap identity(int64_t channels) {
  ChannelMap map{std::vector<int64_t>(static_cast<size_t>(channels)), channels};
  for (int64_t c = 0; c < channels; ++c) map.from[static_cast<size_t>(c)] = c;
  return map;
}

// The map of torch::cat(parts, /*dim=*/1): each part's old channels follow the previous parts'.
ChannelMap concat(const std::vector<ChannelMap>& parts) {
  ChannelMap map;
  for (const auto& part : parts) {
    for (const int64_t c : part.from) map.from.push_back(map.old_channels + c);
    map.old_channels += part.old_channels;
  }
  return map;
}

// One Inception block: each BasicConv2d and what it reads ("" = the block's input), then the
// parts its output concatenates ("" = the input itself, the max-pool branch). As inception.cpp's
// constructors and forward functions.
struct ConvInput {
  const char* conv;
  const char* input;
};
struct BlockLayout {
  std::vector<ConvInput> convs;
  std::vector<const char*> output;
};

const BlockLayout kInceptionA{{{"branch1x1", ""},
                               {"branch5x5_1", ""},
                               {"branch5x5_2", "branch5x5_1"},
                               {"branch3x3dbl_1", ""},
                               {"branch3x3dbl_2", "branch3x3dbl_1"},
                               {"branch3x3dbl_3", "branch3x3dbl_2"},
                               {"branch_pool", ""}},
                              {"branch1x1", "branch5x5_2", "branch3x3dbl_3", "branch_pool"}};
const BlockLayout kInceptionB{{{"branch3x3", ""},
                               {"branch3x3dbl_1", ""},
                               {"branch3x3dbl_2", "branch3x3dbl_1"},
                               {"branch3x3dbl_3", "branch3x3dbl_2"}},
                              {"branch3x3", "branch3x3dbl_3", ""}};
const BlockLayout kInceptionC{{{"branch1x1", ""},
                               {"branch7x7_1", ""},
                               {"branch7x7_2", "branch7x7_1"},
                               {"branch7x7_3", "branch7x7_2"},
                               {"branch7x7dbl_1", ""},
                               {"branch7x7dbl_2", "branch7x7dbl_1"},
                               {"branch7x7dbl_3", "branch7x7dbl_2"},
                               {"branch7x7dbl_4", "branch7x7dbl_3"},
                               {"branch7x7dbl_5", "branch7x7dbl_4"},
                               {"branch_pool", ""}},
                              {"branch1x1", "branch7x7_3", "branch7x7dbl_5", "branch_pool"}};
const BlockLayout kInceptionD{{{"branch3x3_1", ""},
                               {"branch3x3_2", "branch3x3_1"},
                               {"branch7x7x3_1", ""},
                               {"branch7x7x3_2", "branch7x7x3_1"},
                               {"branch7x7x3_3", "branch7x7x3_2"},
                               {"branch7x7x3_4", "branch7x7x3_3"}},
                              {"branch3x3_2", "branch7x7x3_4", ""}};
const BlockLayout kInceptionE{{{"branch1x1", ""},
                               {"branch3x3_1", ""},
                               {"branch3x3_2a", "branch3x3_1"},
                               {"branch3x3_2b", "branch3x3_1"},
                               {"branch3x3dbl_1", ""},
                               {"branch3x3dbl_2", "branch3x3dbl_1"},
                               {"branch3x3dbl_3a", "branch3x3dbl_2"},
                               {"branch3x3dbl_3b", "branch3x3dbl_2"},
                               {"branch_pool", ""}},
                              {"branch1x1", "branch3x3_2a", "branch3x3_2b", "branch3x3dbl_3a", "branch3x3dbl_3b",
                               "branch_pool"}};

std::map<std::string, torch::Tensor> tensors_of(torch::nn::Module& net) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : net.named_parameters()) tensors[item.key()] = item.value();
  for (const auto& item : net.named_buffers()) tensors[item.key()] = item.value();
  return tensors;
}

torch::Tensor index_tensor(const std::vector<int64_t>& indices) { return torch::tensor(indices, torch::kLong); }

// Copies the narrow net's tensors into the wide one, layer by layer, in the order the data flows.
class Widener {
 public:
  Widener(AgeGenderNet& narrow, AgeGenderNet& wide, uint64_t seed)
      : narrow_(tensors_of(*narrow)), wide_(tensors_of(*wide)), channels_rng_(seed),
        noise_rng_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  // The BasicConv2d `name` reading `input`: its output keeps the old channels and adds copies of
  // random old ones. Returns its output's map.
  ChannelMap conv(const std::string& name, const ChannelMap& input) {
    const auto& wide_weight = wide(name + ".conv.weight");
    ChannelMap output = grown(narrow(name + ".conv.weight").size(0), wide_weight.size(0), name);
    set(name + ".conv.weight", split_inputs(narrow(name + ".conv.weight").index_select(0, index_tensor(output.from)), input));
    for (const char* bn : {".bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var"}) {
      set(name + bn, narrow(name + bn).index_select(0, index_tensor(output.from)));
    }
    set(name + ".bn.num_batches_tracked", narrow(name + ".bn.num_batches_tracked"));
    return output;
  }

  // An Inception block named `name` reading `input`; returns its output's map.
  ChannelMap block(const std::string& name, const BlockLayout& layout, const ChannelMap& input) {
    std::map<std::string, ChannelMap> outputs{{"", input}};
    for (const auto& [conv_name, source] : layout.convs) {
      outputs[conv_name] = conv(name + "." + conv_name, outputs.at(source));
    }
    std::vector<ChannelMap> parts;
    for (const char* part : layout.output) parts.push_back(outputs.at(part));
    return concat(parts);
  }

  // A linear layer on pooled features with the map `input`; its outputs stay as they are.
  void linear(const std::string& name, const ChannelMap& input) {
    set(name + ".weight", split_inputs(narrow(name + ".weight"), input));
    set(name + ".bias", narrow(name + ".bias"));
  }

  // Every tensor of the wide net must have been written: a layer the layouts above miss would
  // otherwise keep its random weights without a word.
  void check_complete() const {
    for (const auto& [name, tensor] : wide_) {
      if (!written_.count(name)) throw std::logic_error("widen: " + name + " has no rule (inception.cpp changed?)");
    }
  }

 private:
  const torch::Tensor& narrow(const std::string& name) const { return at(narrow_, name, "narrow"); }
  const torch::Tensor& wide(const std::string& name) const { return at(wide_, name, "wide"); }
  static const torch::Tensor& at(const std::map<std::string, torch::Tensor>& tensors, const std::string& name,
                                 const char* which) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw std::logic_error(std::string("widen: the ") + which + " net has no " + name);
    return it->second;
  }

  ChannelMap grown(int64_t old_channels, int64_t new_channels, const std::string& name) {
    if (new_channels < old_channels) {
      throw std::invalid_argument("widen: " + name + " would shrink from " + std::to_string(old_channels) + " to " +
                                  std::to_string(new_channels) + " channels");
    }
    ChannelMap map = identity(old_channels);
    std::uniform_int_distribution<int64_t> pick(0, old_channels - 1);
    while (static_cast<int64_t>(map.from.size()) < new_channels) map.from.push_back(pick(channels_rng_));
    return map;
  }

  // weight: out x old_in x ... -> out x new_in x ...; each old input column shared by its copies
  // (Net2Net eq. 2: divided by the number of copies), plus noise that sums to zero over the copies.
  torch::Tensor split_inputs(const torch::Tensor& weight, const ChannelMap& input) {
    if (weight.size(1) != input.old_channels) {
      throw std::logic_error("widen: a layer reads " + std::to_string(weight.size(1)) + " channels, its input has " +
                             std::to_string(input.old_channels));
    }
    const auto from = index_tensor(input.from);
    const auto copies = torch::zeros({input.old_channels}).index_add_(0, from, torch::ones({from.size(0)}));
    std::vector<int64_t> column_shape(static_cast<size_t>(weight.dim()), 1);
    column_shape[1] = from.size(0);
    const auto share = (1.0 / copies.index_select(0, from)).view(column_shape);
    auto shape = weight.sizes().vec();
    shape[1] = from.size(0);
    auto noise = torch::randn(shape, noise_rng_) * (kWidenNoise * weight.std().item<double>());
    const auto noise_sum = torch::zeros(weight.sizes()).index_add_(1, from, noise);
    noise -= noise_sum.index_select(1, from) * share;  // each group of copies now sums to 0
    return weight.index_select(1, from) * share + noise;
  }

  void set(const std::string& name, const torch::Tensor& value) {
    const auto& target = wide(name);
    if (target.sizes() != value.sizes()) {
      std::ostringstream why;
      why << "widen: " << name << " is " << target.sizes() << " in the wide net, widened to " << value.sizes();
      throw std::logic_error(why.str());
    }
    torch::NoGradGuard no_grad;
    target.copy_(value);
    written_.insert(name);
  }

  std::map<std::string, torch::Tensor> narrow_, wide_;
  std::set<std::string> written_;
  std::mt19937_64 channels_rng_;
  at::Generator noise_rng_;
};

}  // namespace

LoadedAgeGenderNet widen_age_gender_net(const LoadedAgeGenderNet& narrow, double width_mult, uint64_t seed) {
  if (!(width_mult >= narrow.config.width_mult)) {
    throw std::invalid_argument("widen: width " + std::to_string(width_mult) + " is narrower than the network's " +
                                std::to_string(narrow.config.width_mult));
  }
  AgeGenderConfig config = narrow.config;
  config.width_mult = width_mult;
  LoadedAgeGenderNet wide = make_age_gender_net(config);
  AgeGenderNet narrow_net = narrow.net;
  Widener w(narrow_net, wide.net, seed);

  const std::string b = "backbone.";
  ChannelMap x = identity(3);  // RGB
  for (const char* stem : {"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"}) {
    x = w.conv(b + stem, x);  // the max pools between them keep every channel where it is
  }
  for (const char* block : {"Mixed_5b", "Mixed_5c", "Mixed_5d"}) x = w.block(b + block, kInceptionA, x);
  x = w.block(b + "Mixed_6a", kInceptionB, x);
  for (const char* block : {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"}) x = w.block(b + block, kInceptionC, x);
  if (config.aux_head) {
    const ChannelMap aux = w.conv("aux.conv1", w.conv("aux.conv0", x));
    w.linear("aux.gender", aux);
    w.linear("aux.age", aux);
  }
  x = w.block(b + "Mixed_7a", kInceptionD, x);
  for (const char* block : {"Mixed_7b", "Mixed_7c"}) x = w.block(b + block, kInceptionE, x);
  w.linear("gender", x);  // after the global average pool, which keeps every channel where it is
  w.linear("age", x);
  if (config.age_regression) w.linear("age_years", x);
  w.check_complete();
  wide.net->eval();
  return wide;
}

}  // namespace facekit
