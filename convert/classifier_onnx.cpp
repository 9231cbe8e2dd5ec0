#include "convert/classifier_onnx.h"

#include <map>
#include <stdexcept>

#include "convert/onnx_graph.h"

namespace facekit {
namespace {

using onnx::NodeProto;

// Mirrors InceptionV3Impl::forward_features and AgeGenderNetImpl::forward (models/classifier),
// which mirror torchvision's inception.py: the same branches in the same concatenation order.
// Kernel sizes, strides, paddings and BN epsilons are read from the modules themselves.
class AgeGenderOnnxExporter {
 public:
  AgeGenderOnnxExporter(AgeGenderNet& net, const AgeGenderConfig& config, const ClassifierOnnxOptions& options,
                        onnx::GraphProto* graph)
      : config_(config), options_(options), g_(graph, /*fp16=*/false), graph_(graph) {
    for (const auto& p : net->named_parameters()) params_[p.key()] = p.value();
    for (const auto& b : net->named_buffers()) params_[b.key()] = b.value();
    for (const auto& m : net->named_modules()) modules_[m.key()] = m.value();
  }

  void build() {
    std::string x = add_input();
    x = basic_conv("backbone.Conv2d_1a_3x3", x);  // N x 32 x 149 x 149
    x = basic_conv("backbone.Conv2d_2a_3x3", x);  // N x 32 x 147 x 147
    x = basic_conv("backbone.Conv2d_2b_3x3", x);  // N x 64 x 147 x 147
    x = max_pool_3x3_s2(x, "backbone.maxpool1");  // N x 64 x 73 x 73
    x = basic_conv("backbone.Conv2d_3b_1x1", x);  // N x 80 x 73 x 73
    x = basic_conv("backbone.Conv2d_4a_3x3", x);  // N x 192 x 71 x 71
    x = max_pool_3x3_s2(x, "backbone.maxpool2");  // N x 192 x 35 x 35
    for (const char* name : {"Mixed_5b", "Mixed_5c", "Mixed_5d"}) x = inception_a(std::string("backbone.") + name, x);
    x = inception_b("backbone.Mixed_6a", x);      // N x 768 x 17 x 17
    for (const char* name : {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"}) x = inception_c(std::string("backbone.") + name, x);
    x = inception_d("backbone.Mixed_7a", x);      // N x 1280 x 8 x 8
    for (const char* name : {"Mixed_7b", "Mixed_7c"}) x = inception_e(std::string("backbone.") + name, x);
    const std::string pooled = g_.op("Flatten", {g_.op("GlobalAveragePool", {x}, "backbone.avgpool")}, "backbone.flatten");
    add_heads(pooled);
  }

 private:
  torch::Tensor param(const std::string& name) const {
    const auto it = params_.find(name);
    if (it == params_.end()) throw std::runtime_error("AgeGenderNet has no tensor " + name);
    return it->second.detach().to(torch::kCPU);
  }
  template <typename Module>
  const Module& module(const std::string& name) const {
    const auto it = modules_.find(name);
    const auto* m = it == modules_.end() ? nullptr : dynamic_cast<const Module*>(it->second.get());
    if (!m) throw std::runtime_error("AgeGenderNet has no module " + name + " of the expected type");
    return *m;
  }

  std::string add_input() {
    auto* input = graph_->add_input();
    input->set_name("input");
    auto* tensor = input->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tensor->mutable_shape();
    if (options_.dynamic_batch) {
      shape->add_dim()->set_dim_param("batch");
    } else {
      shape->add_dim()->set_dim_value(options_.batch);
    }
    for (const int64_t d : {int64_t{3}, int64_t{config_.crop.size}, int64_t{config_.crop.size}}) shape->add_dim()->set_dim_value(d);
    return "input";
  }

  void add_output(const std::string& tensor, const std::string& name) {
    g_.op("Identity", {tensor}, name);
    graph_->add_output()->set_name(name);  // type and shape come from inference
  }

  // BasicConv2d: conv (no bias) + BatchNorm folded as W' = W g / sqrt(var + eps),
  // b' = beta - mean g / sqrt(var + eps), then ReLU.
  std::string basic_conv(const std::string& name, const std::string& x) {
    const auto& conv = module<torch::nn::Conv2dImpl>(name + ".conv").options;
    const auto& bn = module<torch::nn::BatchNorm2dImpl>(name + ".bn").options;
    const auto scale = param(name + ".bn.weight").to(torch::kDouble) /
                       (param(name + ".bn.running_var").to(torch::kDouble) + bn.eps()).sqrt();
    const auto weight = (param(name + ".conv.weight").to(torch::kDouble) * scale.view({-1, 1, 1, 1})).to(torch::kFloat);
    const auto bias = (param(name + ".bn.bias").to(torch::kDouble) - param(name + ".bn.running_mean").to(torch::kDouble) * scale)
                          .to(torch::kFloat);
    const auto& padding = c10::get<torch::ExpandingArray<2>>(conv.padding());
    NodeProto* n = g_.node("Conv", {x, g_.weights(name + ".weight", weight), g_.weights(name + ".bias", bias)}, name + ".conv");
    GraphBuilder::set(n, "kernel_shape", std::vector<int64_t>{conv.kernel_size()->at(0), conv.kernel_size()->at(1)});
    GraphBuilder::set(n, "strides", std::vector<int64_t>{conv.stride()->at(0), conv.stride()->at(1)});
    GraphBuilder::set(n, "pads", std::vector<int64_t>{padding->at(0), padding->at(1), padding->at(0), padding->at(1)});
    return g_.op("Relu", {name + ".conv"}, name);
  }

  std::string max_pool_3x3_s2(const std::string& x, const std::string& name) {
    NodeProto* n = g_.node("MaxPool", {x}, name);
    GraphBuilder::set(n, "kernel_shape", std::vector<int64_t>{3, 3});
    GraphBuilder::set(n, "strides", std::vector<int64_t>{2, 2});
    return name;
  }

  // F.avg_pool2d(x, 3, stride 1, padding 1) averages over the padded zeros too (count_include_pad,
  // PyTorch's default). Written as an explicit zero Pad then an unpadded AveragePool: OpenCV dnn 4.6
  // gets a padded AveragePool wrong on the 1x1 maps of Mixed_7b/c at small inputs (96 px), which
  // ONNX Runtime computes right either way.
  std::string avg_pool_3x3_same(const std::string& x, const std::string& name) {
    const std::string pads = g_.int64s(name + ".pads", {0, 0, 1, 1, 0, 0, 1, 1});  // N, C, H, W begins; then ends
    NodeProto* n = g_.node("AveragePool", {g_.op("Pad", {x, pads}, name + ".padded")}, name);
    GraphBuilder::set(n, "kernel_shape", std::vector<int64_t>{3, 3});
    GraphBuilder::set(n, "strides", std::vector<int64_t>{1, 1});
    return name;
  }

  std::string concat(const std::vector<std::string>& parts, const std::string& name) {
    GraphBuilder::set(g_.node("Concat", parts, name), "axis", int64_t{1});
    return name;
  }

  std::string chain(const std::string& block, const std::vector<std::string>& convs, std::string x) {
    for (const auto& c : convs) x = basic_conv(block + "." + c, x);
    return x;
  }

  std::string inception_a(const std::string& b, const std::string& x) {
    return concat({chain(b, {"branch1x1"}, x), chain(b, {"branch5x5_1", "branch5x5_2"}, x),
                   chain(b, {"branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"}, x),
                   chain(b, {"branch_pool"}, avg_pool_3x3_same(x, b + ".pool"))},
                  b);
  }
  std::string inception_b(const std::string& b, const std::string& x) {
    return concat({chain(b, {"branch3x3"}, x), chain(b, {"branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"}, x),
                   max_pool_3x3_s2(x, b + ".pool")},
                  b);
  }
  std::string inception_c(const std::string& b, const std::string& x) {
    return concat({chain(b, {"branch1x1"}, x), chain(b, {"branch7x7_1", "branch7x7_2", "branch7x7_3"}, x),
                   chain(b, {"branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"}, x),
                   chain(b, {"branch_pool"}, avg_pool_3x3_same(x, b + ".pool"))},
                  b);
  }
  std::string inception_d(const std::string& b, const std::string& x) {
    return concat({chain(b, {"branch3x3_1", "branch3x3_2"}, x),
                   chain(b, {"branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"}, x),
                   max_pool_3x3_s2(x, b + ".pool")},
                  b);
  }
  std::string inception_e(const std::string& b, const std::string& x) {
    const std::string b3 = chain(b, {"branch3x3_1"}, x);
    const std::string b3dbl = chain(b, {"branch3x3dbl_1", "branch3x3dbl_2"}, x);
    return concat({chain(b, {"branch1x1"}, x),
                   concat({chain(b, {"branch3x3_2a"}, b3), chain(b, {"branch3x3_2b"}, b3)}, b + ".branch3x3"),
                   concat({chain(b, {"branch3x3dbl_3a"}, b3dbl), chain(b, {"branch3x3dbl_3b"}, b3dbl)}, b + ".branch3x3dbl"),
                   chain(b, {"branch_pool"}, avg_pool_3x3_same(x, b + ".pool"))},
                  b);
  }

  // y = x W^T + b (torch::nn::Linear's layout is Gemm's with transB); output `<name>_logits`.
  std::string linear(const std::string& name, const std::string& x) {
    const std::string output = name + "_logits";
    NodeProto* n = g_.node("Gemm", {x, g_.weights(name + ".weight", param(name + ".weight")), g_.weights(name + ".bias", param(name + ".bias"))},
                           output);
    GraphBuilder::set(n, "transB", int64_t{1});
    return output;
  }

  std::string softmax(const std::string& x, const std::string& name) {
    GraphBuilder::set(g_.node("Softmax", {x}, name), "axis", int64_t{1});
    return name;
  }

  void add_heads(const std::string& pooled) {
    add_output(softmax(linear("gender", pooled), "gender_softmax"), "gender");
    add_output(softmax(linear("age", pooled), "age_softmax"), "age");
    if (!config_.age_regression) return;
    // The calibrated expected age (eval/classify_faces): the probabilities over 0..100 times each
    // year through the calibration line; the same as the line through the expectation, since the
    // probabilities sum to 1.
    std::vector<float> years(kAgeYearsClasses);
    for (size_t i = 0; i < years.size(); ++i) years[i] = config_.age_calibration(static_cast<float>(i));
    const std::string p = softmax(linear("age_years", pooled), "age_years_softmax");
    add_output(g_.op("MatMul", {p, g_.float32("years", years)}, "age_years_expectation"), "age_years");
    add_output(nearest_interval(p), "age_interval");
  }

  // eval::predicted_interval in the graph, so that ONNX users get facekit's interval: the one nearest
  // the calibrated expected age of the distribution `p` over 0..100 years (N, the index as a float). With
  // increasing, disjoint intervals that is the number of boundaries the age lies above, a boundary
  // being the midpoint of the gap between two neighbours (strictly above: a tie keeps the lower, as
  // nearest_age_interval does). For whole z = ceil(age - boundary), relu(z) - relu(z - 1) is 1 where
  // z >= 1 (age above it) and 0 where z <= 0. (Greater and Cast would do it too; OpenCV dnn 4.6 runs
  // Sub, Ceil, Relu and MatMul.)
  std::string nearest_interval(const std::string& p) {
    const auto& intervals = config_.intervals;
    std::vector<float> boundaries;
    for (size_t i = 0; i + 1 < intervals.size(); ++i) boundaries.push_back((intervals[i].high + intervals[i + 1].low) / 2.f);
    // The expected age once per boundary, N x B (p times B columns of 0..100: OpenCV dnn 4.6 cannot
    // broadcast N x 1 against B).
    const int64_t b = static_cast<int64_t>(boundaries.size());
    const auto calibrated = torch::arange(kAgeYearsClasses, torch::kFloat) * config_.age_calibration.scale + config_.age_calibration.offset;
    const auto years = calibrated.unsqueeze(1).expand({kAgeYearsClasses, b}).contiguous();
    const std::string age = g_.op("MatMul", {p, g_.weights("years_per_boundary", years)}, "age_per_boundary");
    const std::string z = g_.op("Ceil", {g_.op("Sub", {age, g_.float32("interval_boundaries", boundaries)}, "age_minus_boundaries")},
                                "age_minus_boundaries_ceil");
    const std::string less_one = g_.op("Sub", {z, g_.scalar("one", 1.f)}, "age_minus_boundaries_less_one");
    const std::string above = g_.op("Sub", {g_.op("Relu", {z}, "age_minus_boundaries_relu"), g_.op("Relu", {less_one}, "less_one_relu")},
                                    "above_boundaries");
    return g_.op("MatMul", {above, g_.float32("one_per_boundary", std::vector<float>(boundaries.size(), 1.f))}, "age_interval_index");
  }

  const AgeGenderConfig& config_;
  const ClassifierOnnxOptions& options_;
  GraphBuilder g_;
  onnx::GraphProto* graph_;
  std::map<std::string, torch::Tensor> params_;
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules_;
};

void add_metadata(onnx::ModelProto* model, const AgeGenderConfig& config) {
  const auto meta = [&](const std::string& key, const std::string& value) {
    auto* entry = model->add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  };
  meta("age_gender_config", age_gender_config_json(config));
  meta("gender_labels", config.gender_labels.at(0) + "\n" + config.gender_labels.at(1));
  meta("age_intervals", format_age_intervals(config.intervals));
  meta("facekit_version", kFacekitVersion);
}

}  // namespace

void export_age_gender_onnx(AgeGenderNet& net, const AgeGenderConfig& config, const ClassifierOnnxOptions& options,
                            const std::string& path) {
  if (config.architecture != kInceptionV3Architecture) {
    throw std::runtime_error(path + ": cannot export architecture '" + config.architecture + "' to ONNX");
  }
  if (options.batch < 1) throw std::runtime_error("batch must be at least 1");
  onnx::ModelProto model =
      new_onnx_model(options.opset, "facekit AgeGenderNet (Inception-v3, width " + std::to_string(config.width_mult) + ")");
  auto* graph = model.mutable_graph();
  graph->set_name("age_gender");
  AgeGenderOnnxExporter(net, config, options, graph).build();
  add_metadata(&model, config);
  check_and_write_onnx(&model, path);
}

}  // namespace facekit
