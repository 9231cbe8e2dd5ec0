#include "convert/darknet_onnx.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "convert/onnx_graph.h"

namespace facekit::darknet {
namespace {

constexpr double kPjreddieBnEps = 1e-6;  // as in darknet_net.cpp (normalize_cpu)
constexpr double kAlexeyABBnEps = 1e-5;

using onnx::NodeProto;
using onnx::TensorProto;

std::string join(const std::vector<float>& values) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

class DarknetOnnxExporter {
 public:
  DarknetOnnxExporter(DarknetNetImpl& net, const OnnxExportOptions& options, onnx::GraphProto* graph)
      : def_(net.def()), options_(options), g_(graph, options.fp16), graph_(graph) {
    for (const auto& p : net.named_parameters()) params_[p.key()] = p.value();
    for (const auto& b : net.named_buffers()) params_[b.key()] = b.value();
  }

  void build() {
    std::string x = add_input();
    for (const auto& layer : def_.layers) {
      prefix_ = std::string(layer_type_name(layer.type)) + "_" + std::to_string(layer.index);
      try {
        x = export_layer(layer, x);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(layer.where + ": cannot export to ONNX: " + e.what());
      }
      outputs_.push_back(x);
    }
    add_outputs();
  }

 private:
  // ---- graph input and outputs ----

  // float32 at the graph's edges, unless fp16_io asks for float16 there too.
  int32_t io_type() const { return options_.fp16 && options_.fp16_io ? TensorProto::FLOAT16 : TensorProto::FLOAT; }

  std::string add_input() {
    auto* input = graph_->add_input();
    input->set_name("input");
    set_shape(input, io_type(), {def_.channels, def_.height, def_.width});
    if (!options_.fp16 || options_.fp16_io) return "input";
    auto* cast = g_.node("Cast", {"input"}, "input_fp16");
    GraphBuilder::set(cast, "to", static_cast<int64_t>(TensorProto::FLOAT16));
    return "input_fp16";
  }

  void set_shape(onnx::ValueInfoProto* info, int32_t type, const std::vector<int64_t>& dims_after_batch) {
    auto* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    auto* shape = tensor->mutable_shape();
    auto* batch = shape->add_dim();
    if (options_.dynamic_batch) {
      batch->set_dim_param("batch");
    } else {
      batch->set_dim_value(options_.batch);
    }
    for (const auto d : dims_after_batch) shape->add_dim()->set_dim_value(d);
  }

  // Outputs leave the graph as float32 whatever the compute type (float16 with fp16_io).
  void add_output(const std::string& tensor, const std::string& name, const std::vector<int64_t>& dims) {
    if (options_.fp16 && !options_.fp16_io) {
      auto* cast = g_.node("Cast", {tensor}, name);
      GraphBuilder::set(cast, "to", static_cast<int64_t>(TensorProto::FLOAT));
    } else {
      g_.op("Identity", {tensor}, name);
    }
    auto* output = graph_->add_output();
    output->set_name(name);
    set_shape(output, io_type(), dims);
  }

  void add_outputs() {
    bool has_heads = false;
    for (const auto& layer : def_.layers) {
      if (layer.type != LayerType::kYolo && layer.type != LayerType::kRegion) continue;
      has_heads = true;
      if (options_.decode || options_.nms) continue;
      const std::string name = std::string(layer.type == LayerType::kYolo ? "yolo_" : "region_") +
                               std::to_string(layer.index);
      add_output(outputs_[static_cast<size_t>(layer.index - 1)], name, {layer.in.c, layer.in.h, layer.in.w});
    }
    if (!has_heads) {
      if (options_.decode || options_.nms) throw std::runtime_error(def_.cfg_path + ": --decode/--nms need yolo or region layers");
      const auto& last = def_.layers[static_cast<size_t>(def_.output_layer())];
      add_output(outputs_[static_cast<size_t>(def_.output_layer())], "output", {last.out.c, last.out.h, last.out.w});
      return;
    }
    if (options_.decode || options_.nms) add_decoded_outputs();
  }

  // ---- one function per layer type ----

  std::string export_layer(const LayerDef& l, const std::string& x) {
    switch (l.type) {
      case LayerType::kConvolutional: return convolutional(l, x);
      case LayerType::kConnected: return connected(l, x);
      case LayerType::kBatchnorm: return batchnorm(l, x);
      case LayerType::kMaxpool: return maxpool(l, x);
      case LayerType::kAvgpool: return g_.op("GlobalAveragePool", {x}, prefix_);
      case LayerType::kRoute: return route(l);
      case LayerType::kShortcut: return shortcut(l, x);
      case LayerType::kUpsample: return upsample(l, x);
      case LayerType::kReorg: return reorg(l, x);
      case LayerType::kSoftmax: return softmax(l, x);
      case LayerType::kSam:
        return activation(l.activation, g_.op("Mul", {x, input_of(l, 0)}, prefix_ + "/Mul"), prefix_);
      case LayerType::kScaleChannels:
        return activation(l.activation, g_.op("Mul", {input_of(l, 0), x}, prefix_ + "/Mul"), prefix_);
      // Heads are exported from their input (raw mode) or decoded at the end; dropout and cost
      // do nothing at inference.
      case LayerType::kYolo:
      case LayerType::kRegion:
      case LayerType::kDropout:
      case LayerType::kCost:
        return x;
    }
    throw std::runtime_error("unhandled layer type");
  }

  const std::string& input_of(const LayerDef& l, size_t k) const {
    return outputs_[static_cast<size_t>(l.inputs[k])];
  }
  torch::Tensor param(const std::string& name) const {
    const auto it = params_.find(prefix_ + "." + name);
    if (it == params_.end()) throw std::runtime_error("missing parameter " + prefix_ + "." + name);
    return it->second.detach().to(torch::kCPU, torch::kFloat32);  // no copy when already there
  }

  // Each dialect's BatchNorm denominator (see DarknetBatchNorm).
  torch::Tensor bn_denominator() const {
    const auto var = param("bn.running_var").to(torch::kFloat64);
    return (def_.dialect == Dialect::kPjreddie ? var.sqrt() + kPjreddieBnEps : (var + kAlexeyABBnEps).sqrt());
  }

  // Folded: y = W' x + b' with W' = W g / d, b' = beta - mean g / d. Unfolded: a
  // BatchNormalization node with epsilon 0 and variance d^2, which is exactly Darknet's d.
  std::string with_batchnorm(const std::string& op_name, torch::Tensor w, const std::vector<std::string>& inputs_before_weights,
                             const std::function<NodeProto*(const std::vector<std::string>&)>& make) {
    const auto scale = (param("bn.weight").to(torch::kFloat64) / bn_denominator());
    if (options_.fold_bn) {
      std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
      shape[0] = -1;
      const auto folded = w * scale.to(torch::kFloat32).view(shape);
      const auto bias = (param("bn.bias").to(torch::kFloat64) - param("bn.running_mean").to(torch::kFloat64) * scale)
                            .to(torch::kFloat32);
      auto inputs = inputs_before_weights;
      inputs.push_back(g_.weights(prefix_ + ".weight", folded));
      inputs.push_back(g_.weights(prefix_ + ".bias", bias));
      make(inputs);
      return op_name;
    }
    auto inputs = inputs_before_weights;
    inputs.push_back(g_.weights(prefix_ + ".weight", w));
    const std::string raw = op_name + "_raw";
    NodeProto* n = make(inputs);
    n->set_output(0, raw);
    n->set_name(raw);
    return batchnorm_node(raw, op_name);
  }

  std::string batchnorm_node(const std::string& x, const std::string& output) {
    const auto d = bn_denominator();
    auto* n = g_.node("BatchNormalization",
                      {x, g_.weights(prefix_ + ".bn.weight", param("bn.weight")),
                       g_.weights(prefix_ + ".bn.bias", param("bn.bias")),
                       g_.weights(prefix_ + ".bn.running_mean", param("bn.running_mean")),
                       g_.weights(prefix_ + ".bn.running_var_darknet", (d * d).to(torch::kFloat32))},
                      output);
    GraphBuilder::set(n, "epsilon", 0.f);
    return output;
  }

  std::string convolutional(const LayerDef& l, const std::string& x) {
    const std::string conv = prefix_ + "/Conv";
    const auto make = [&](const std::vector<std::string>& inputs) {
      NodeProto* n = g_.node("Conv", inputs, conv);
      GraphBuilder::set(n, "kernel_shape", std::vector<int64_t>{l.size, l.size});
      GraphBuilder::set(n, "strides", std::vector<int64_t>{l.stride_y, l.stride_x});
      GraphBuilder::set(n, "pads", std::vector<int64_t>{l.padding, l.padding, l.padding, l.padding});
      GraphBuilder::set(n, "dilations", std::vector<int64_t>{l.dilation, l.dilation});
      GraphBuilder::set(n, "group", static_cast<int64_t>(l.groups));
      return n;
    };
    std::string y;
    if (l.batch_normalize) {
      y = with_batchnorm(conv, param("weight"), {x}, make);
    } else {
      make({x, g_.weights(prefix_ + ".weight", param("weight")), g_.weights(prefix_ + ".bias", param("bias"))});
      y = conv;
    }
    return activation(l.activation, y, prefix_);
  }

  std::string connected(const LayerDef& l, const std::string& x) {
    const std::string flat = g_.op("Flatten", {x}, prefix_ + "/Flatten");
    const std::string gemm = prefix_ + "/Gemm";
    const auto make = [&](const std::vector<std::string>& inputs) {
      NodeProto* n = g_.node("Gemm", inputs, gemm);
      GraphBuilder::set(n, "transB", static_cast<int64_t>(1));
      return n;
    };
    std::string y;
    if (l.batch_normalize) {
      if (!options_.fold_bn) throw std::runtime_error("--no-fold-bn is not supported for connected layers");
      y = with_batchnorm(gemm, param("weight"), {flat}, make);
    } else {
      make({flat, g_.weights(prefix_ + ".weight", param("weight")), g_.weights(prefix_ + ".bias", param("bias"))});
      y = gemm;
    }
    y = activation(l.activation, y, prefix_ + "/act");
    return g_.op("Reshape", {y, g_.int64s(prefix_ + "/shape", {0, l.out.c, 1, 1})}, prefix_);
  }

  std::string batchnorm(const LayerDef&, const std::string& x) { return batchnorm_node(x, prefix_); }

  // Darknet pads with -inf, padding/2 before; ONNX MaxPool ignores padded cells, which is the same.
  std::string maxpool(const LayerDef& l, const std::string& x) {
    auto* n = g_.node("MaxPool", {x}, prefix_);
    const int64_t before = l.padding / 2, after = l.padding - l.padding / 2;
    GraphBuilder::set(n, "kernel_shape", std::vector<int64_t>{l.size, l.size});
    GraphBuilder::set(n, "strides", std::vector<int64_t>{l.stride_y, l.stride_x});
    GraphBuilder::set(n, "pads", std::vector<int64_t>{before, before, after, after});
    return prefix_;
  }

  std::string slice(const std::string& x, const std::string& name, const std::vector<int64_t>& starts,
                    const std::vector<int64_t>& ends, const std::vector<int64_t>& axes,
                    const std::vector<int64_t>& steps = {}) {
    std::vector<std::string> inputs = {x, g_.int64s(name + "/starts", starts), g_.int64s(name + "/ends", ends),
                                       g_.int64s(name + "/axes", axes)};
    if (!steps.empty()) inputs.push_back(g_.int64s(name + "/steps", steps));
    return g_.op("Slice", inputs, name);
  }

  std::string route(const LayerDef& l) {
    std::vector<std::string> parts;
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      const auto& source = def_.layers[static_cast<size_t>(l.inputs[k])];
      const int64_t part = source.out.c / l.groups;
      if (l.groups == 1) {
        parts.push_back(input_of(l, k));
      } else {
        parts.push_back(slice(input_of(l, k), prefix_ + "/Slice" + std::to_string(k), {part * l.group_id},
                              {part * (l.group_id + 1)}, {1}));
      }
    }
    if (parts.size() == 1) return parts[0];
    auto* n = g_.node("Concat", parts, prefix_);
    GraphBuilder::set(n, "axis", static_cast<int64_t>(1));
    return prefix_;
  }

  std::string times(const std::string& x, float factor, const std::string& name) {
    if (factor == 1.f) return x;
    return g_.op("Mul", {x, g_.scalar(name + "/factor", factor)}, name);
  }

  // shortcut_cpu: alpha * x + beta * from on the common channels; a larger `from` is read
  // every `stride` pixels (a Slice with steps).
  std::string shortcut(const LayerDef& l, const std::string& x) {
    const Shape from_shape = def_.layers[static_cast<size_t>(l.inputs[0])].out;
    if (from_shape.w < l.in.w) throw std::runtime_error("shortcut from a smaller layer is not exported");
    const int64_t stride = from_shape.w / l.in.w;
    const int64_t c = std::min(l.in.c, from_shape.c);
    std::string from = input_of(l, 0);
    if (stride != 1 || from_shape.c != c) {
      from = slice(from, prefix_ + "/from", {0, 0, 0}, {c, l.in.h * stride, l.in.w * stride}, {1, 2, 3},
                   {1, stride, stride});
    }
    std::string base = x;
    if (l.in.c != c) base = slice(x, prefix_ + "/common", {0}, {c}, {1});
    std::string sum = g_.op("Add", {times(base, l.alpha, prefix_ + "/alpha"), times(from, l.beta, prefix_ + "/beta")},
                            prefix_ + "/Add");
    if (l.in.c != c) {
      const std::string rest = slice(x, prefix_ + "/rest", {c}, {l.in.c}, {1});
      auto* n = g_.node("Concat", {sum, rest}, prefix_ + "/Concat");
      GraphBuilder::set(n, "axis", static_cast<int64_t>(1));
      sum = prefix_ + "/Concat";
    }
    return activation(l.activation, sum, prefix_);
  }

  std::string upsample(const LayerDef& l, const std::string& x) {
    std::string y;
    const auto s = static_cast<float>(l.stride);
    if (l.reverse) {  // upsample_cpu backwards: a sum over stride x stride blocks
      auto* n = g_.node("AveragePool", {x}, prefix_ + "/AveragePool");
      GraphBuilder::set(n, "kernel_shape", std::vector<int64_t>{l.stride, l.stride});
      GraphBuilder::set(n, "strides", std::vector<int64_t>{l.stride, l.stride});
      return times(prefix_ + "/AveragePool", s * s * l.scale, prefix_);
    }
    const std::string resized = l.scale == 1.f ? prefix_ : prefix_ + "/Resize";
    auto* n = g_.node("Resize", {x, g_.float32(prefix_ + "/roi", {}), g_.float32(prefix_ + "/scales", {1, 1, s, s})},
                      resized);
    GraphBuilder::set(n, "mode", std::string("nearest"));
    GraphBuilder::set(n, "coordinate_transformation_mode", std::string("asymmetric"));
    GraphBuilder::set(n, "nearest_mode", std::string("floor"));
    return l.scale == 1.f ? resized : times(resized, l.scale, prefix_);
  }

  // Darknet's reorg as darknet_net.cpp's darknet_reorg: Reshape, Transpose, Reshape (six
  // dimensions; a Gather with the index map would be the same but OpenCV 4.6 cannot run it).
  std::string reorg(const LayerDef& l, const std::string& x) {
    const int64_t s = l.stride;
    std::vector<int64_t> split, perm;
    if (l.reverse) {
      split = {0, s, s, l.in.c / (s * s), l.in.h, l.in.w};
      perm = {0, 3, 4, 1, 5, 2};
    } else {
      split = {0, l.in.c / (s * s), l.in.h, s, l.in.w, s};
      perm = {0, 3, 5, 1, 2, 4};
    }
    const std::string cells = g_.op("Reshape", {x, g_.int64s(prefix_ + "/split", split)}, prefix_ + "/Split");
    auto* t = g_.node("Transpose", {cells}, prefix_ + "/Transpose");
    GraphBuilder::set(t, "perm", perm);
    return g_.op("Reshape", {prefix_ + "/Transpose", g_.int64s(prefix_ + "/shape", {0, l.out.c, l.out.h, l.out.w})}, prefix_);
  }

  std::string softmax(const LayerDef& l, const std::string& x) {
    std::string grouped = g_.op("Reshape", {x, g_.int64s(prefix_ + "/groups", {0, l.groups, -1})}, prefix_ + "/Group");
    if (l.temperature != 1.f) grouped = g_.op("Div", {grouped, g_.scalar(prefix_ + "/temperature", l.temperature)}, prefix_ + "/Div");
    auto* n = g_.node("Softmax", {grouped}, prefix_ + "/Softmax");
    GraphBuilder::set(n, "axis", static_cast<int64_t>(2));
    return g_.op("Reshape", {prefix_ + "/Softmax", g_.int64s(prefix_ + "/shape", {0, l.out.c, l.out.h, l.out.w})}, prefix_);
  }

  // ---- activations (src/activations.h formulas, as in darknet_net.cpp) ----

  std::string unary(const std::string& op, const std::string& x, const std::string& name) { return g_.op(op, {x}, name); }
  std::string binary(const std::string& op, const std::string& a, const std::string& b, const std::string& name) {
    return g_.op(op, {a, b}, name);
  }
  std::string mul(const std::string& x, float c, const std::string& name) {
    return binary("Mul", x, g_.scalar(name + "/c", c), name);
  }
  std::string add(const std::string& x, float c, const std::string& name) {
    return binary("Add", x, g_.scalar(name + "/c", c), name);
  }
  std::string clip(const std::string& x, float low, float high, const std::string& name) {
    return g_.op("Clip", {x, g_.scalar(name + "/min", low), g_.scalar(name + "/max", high)}, name);
  }
  std::string leaky(const std::string& x, float alpha, const std::string& name) {
    auto* n = g_.node("LeakyRelu", {x}, name);
    GraphBuilder::set(n, "alpha", alpha);
    return name;
  }
  // where(x < low, below, where(x > high, above, middle)), for Darknet's piecewise activations.
  std::string piecewise(const std::string& x, float low, float high, const std::string& below,
                        const std::string& middle, const std::string& above, const std::string& name) {
    const std::string is_low = binary("Less", x, g_.scalar(name + "/low", low), name + "/Less");
    const std::string is_high = binary("Greater", x, g_.scalar(name + "/high", high), name + "/Greater");
    const std::string upper = g_.op("Where", {is_high, above, middle}, name + "/Where_high");
    return g_.op("Where", {is_low, below, upper}, name);
  }

  std::string activation(Activation a, const std::string& x, const std::string& name) {
    const std::string p = name + "/" + activation_name(a);
    switch (a) {
      case Activation::kLinear: return x;
      case Activation::kLeaky: return leaky(x, 0.1f, name);
      case Activation::kRelie: return leaky(x, 0.01f, name);
      case Activation::kRelu: return unary("Relu", x, name);
      case Activation::kRelu6: return clip(x, 0.f, 6.f, name);
      case Activation::kHardtan: return clip(x, -1.f, 1.f, name);
      case Activation::kLogistic: return unary("Sigmoid", x, name);
      case Activation::kTanh: return unary("Tanh", x, name);
      case Activation::kElu: {
        auto* n = g_.node("Elu", {x}, name);
        GraphBuilder::set(n, "alpha", 1.f);
        return name;
      }
      case Activation::kSelu: {  // Darknet's rounded constants, not ONNX's defaults
        auto* n = g_.node("Selu", {x}, name);
        GraphBuilder::set(n, "alpha", 1.6732f);
        GraphBuilder::set(n, "gamma", 1.0507f);
        return name;
      }
      // Mish is an ONNX op only from opset 18: x * tanh(softplus(x)). Darknet's softplus switches
      // to x above 20, where the two differ by less than 1e-8.
      case Activation::kMish:
        return binary("Mul", x, unary("Tanh", unary("Softplus", x, p + "/Softplus"), p + "/Tanh"), name);
      case Activation::kSwish: return binary("Mul", x, unary("Sigmoid", x, p + "/Sigmoid"), name);
      // hard_mish: x for x > 0, x^2/2 + x on (-2, 0], 0 below: x * clip(x + 2, 0, 2) / 2.
      case Activation::kHardMish:
        return mul(binary("Mul", x, clip(add(x, 2.f, p + "/plus2"), 0.f, 2.f, p + "/Clip"), p + "/Mul"), 0.5f, name);
      case Activation::kGelu: {  // 0.5 x (1 + tanh(0.797885 x + 0.035677 x^3)), AlexeyAB's
        const std::string x3 = binary("Mul", binary("Mul", x, x, p + "/x2"), x, p + "/x3");
        const std::string inner = binary("Add", mul(x, 0.797885f, p + "/a"), mul(x3, 0.035677f, p + "/b"), p + "/inner");
        return mul(binary("Mul", x, add(unary("Tanh", inner, p + "/Tanh"), 1.f, p + "/one_plus"), p + "/Mul"), 0.5f, name);
      }
      case Activation::kRamp: return binary("Add", unary("Relu", x, p + "/Relu"), mul(x, 0.1f, p + "/tenth"), name);
      case Activation::kLoggy: return add(mul(unary("Sigmoid", x, p + "/Sigmoid"), 2.f, p + "/twice"), -1.f, name);
      case Activation::kPlse:
        return piecewise(x, -4.f, 4.f, mul(add(x, 4.f, p + "/xp4"), 0.01f, p + "/below"),
                         add(mul(x, 0.125f, p + "/mid_mul"), 0.5f, p + "/middle"),
                         add(mul(add(x, -4.f, p + "/xm4"), 0.01f, p + "/above_mul"), 1.f, p + "/above"), name);
      case Activation::kLhtan:
        return piecewise(x, 0.f, 1.f, mul(x, 0.001f, p + "/below"), x,
                         add(mul(add(x, -1.f, p + "/xm1"), 0.001f, p + "/above_mul"), 1.f, p + "/above"), name);
    }
    throw std::runtime_error("unhandled activation");
  }

  // ---- decode and NMS ----

  struct HeadOutputs {
    std::string boxes, scores;  // (N, K, 4) and (N, K, C)
  };

  // Constant per-candidate tables: grid offsets (K, 2) and anchor sizes in pixels (K, 2).
  std::pair<torch::Tensor, torch::Tensor> grid_and_anchors(const LayerDef& l, int64_t anchors, bool region) const {
    const int64_t h = l.in.h, w = l.in.w;
    auto grid = torch::empty({anchors * h * w, 2});
    auto sizes = torch::empty({anchors * h * w, 2});
    for (int64_t n = 0; n < anchors; ++n) {
      const int64_t a = region ? n : l.mask[static_cast<size_t>(n)];
      float aw = l.anchors[static_cast<size_t>(2 * a)], ah = l.anchors[static_cast<size_t>(2 * a + 1)];
      if (region) {  // region anchors are in grid cells
        aw *= static_cast<float>(def_.width) / w;
        ah *= static_cast<float>(def_.height) / h;
      }
      for (int64_t j = 0; j < h; ++j) {
        for (int64_t i = 0; i < w; ++i) {
          const int64_t k = (n * h + j) * w + i;
          grid[k][0] = static_cast<float>(i);
          grid[k][1] = static_cast<float>(j);
          sizes[k][0] = aw;
          sizes[k][1] = ah;
        }
      }
    }
    return {grid, sizes};
  }

  // get_yolo_box / get_region_box in graph form; see decode.cpp for the same in C++.
  HeadOutputs decode_head(const LayerDef& l) {
    prefix_ = std::string(layer_type_name(l.type)) + "_" + std::to_string(l.index) + "/decode";
    const bool region = l.type == LayerType::kRegion;
    const int64_t anchors = region ? l.num : static_cast<int64_t>(l.mask.size());
    const int64_t entries = region ? l.coords + 1 + l.classes : 5 + l.classes;
    const int64_t cells = l.in.h * l.in.w;
    const std::string feed = outputs_[static_cast<size_t>(l.index - 1)];
    const std::string grouped = g_.op("Reshape", {feed, g_.int64s(prefix_ + "/shape5", {0, anchors, entries, cells})},
                                      prefix_ + "/Reshape");
    auto* t = g_.node("Transpose", {grouped}, prefix_ + "/Transpose");
    GraphBuilder::set(t, "perm", std::vector<int64_t>{0, 1, 3, 2});
    const std::string rows = g_.op("Reshape", {prefix_ + "/Transpose", g_.int64s(prefix_ + "/rows", {0, anchors * cells, entries})},
                                   prefix_ + "/Rows");
    const auto entry = [&](int64_t from, int64_t to, const std::string& name) {
      return slice(rows, prefix_ + "/" + name, {from}, {to}, {2});
    };
    std::string xy = entry(0, 2, "xy"), wh = entry(2, 4, "wh");
    const int64_t obj_at = region ? l.coords : 4;
    const int64_t class_at = region ? l.coords + (l.background ? 0 : 1) : 5;
    std::string obj = entry(obj_at, obj_at + 1, "obj"), cls = entry(class_at, class_at + l.classes, "cls");
    if (!l.new_coords) {
      xy = unary("Sigmoid", xy, prefix_ + "/xy_sigmoid");
      if (!(region && l.background)) obj = unary("Sigmoid", obj, prefix_ + "/obj_sigmoid");
      if (region) {
        if (l.softmax) {
          auto* n = g_.node("Softmax", {cls}, prefix_ + "/cls_softmax");
          GraphBuilder::set(n, "axis", static_cast<int64_t>(2));
          cls = prefix_ + "/cls_softmax";
        }
      } else {
        cls = unary("Sigmoid", cls, prefix_ + "/cls_sigmoid");
      }
    }
    if (l.scale_x_y != 1.f) xy = add(mul(xy, l.scale_x_y, prefix_ + "/xy_scale"), -0.5f * (l.scale_x_y - 1.f), prefix_ + "/xy_shift");
    const auto [grid, sizes] = grid_and_anchors(l, anchors, region);
    const auto cell = torch::tensor({static_cast<float>(def_.width) / l.in.w, static_cast<float>(def_.height) / l.in.h});
    const std::string centre = binary("Mul", binary("Add", xy, g_.weights(prefix_ + "/grid", grid), prefix_ + "/xy_cell"),
                                      g_.weights(prefix_ + "/cell", cell), prefix_ + "/centre");
    std::string size;
    if (l.new_coords) {  // AlexeyAB: 4 t^2 anchor
      size = binary("Mul", mul(binary("Mul", wh, wh, prefix_ + "/wh2"), 4.f, prefix_ + "/wh4"),
                    g_.weights(prefix_ + "/anchors", sizes), prefix_ + "/size");
    } else {
      size = binary("Mul", unary("Exp", wh, prefix_ + "/wh_exp"), g_.weights(prefix_ + "/anchors", sizes), prefix_ + "/size");
    }
    const std::string half = mul(size, 0.5f, prefix_ + "/half");
    auto* boxes = g_.node("Concat", {binary("Sub", centre, half, prefix_ + "/x1y1"), binary("Add", centre, half, prefix_ + "/x2y2")},
                          prefix_ + "/boxes");
    GraphBuilder::set(boxes, "axis", static_cast<int64_t>(2));
    const std::string scores = binary("Mul", obj, cls, prefix_ + "/scores");
    return {prefix_ + "/boxes", scores};
  }

  void add_decoded_outputs() {
    std::vector<std::string> boxes, scores;
    int64_t candidates = 0, classes = -1;
    for (const auto& l : def_.layers) {
      if (l.type != LayerType::kYolo && l.type != LayerType::kRegion) continue;
      const auto head = decode_head(l);
      boxes.push_back(head.boxes);
      scores.push_back(head.scores);
      const int64_t anchors = l.type == LayerType::kRegion ? l.num : static_cast<int64_t>(l.mask.size());
      candidates += anchors * l.in.h * l.in.w;
      if (classes >= 0 && classes != l.classes) throw std::runtime_error("heads with different class counts");
      classes = l.classes;
    }
    const auto concat = [&](const std::vector<std::string>& parts, const std::string& name) {
      if (parts.size() == 1) return parts[0];
      auto* n = g_.node("Concat", parts, name);
      GraphBuilder::set(n, "axis", static_cast<int64_t>(1));
      return name;
    };
    const std::string all_boxes = concat(boxes, "boxes_all");
    const std::string all_scores = concat(scores, "scores_all");
    if (!options_.nms) {
      add_output(all_boxes, "boxes", {candidates, 4});
      add_output(all_scores, "scores", {candidates, classes});
      return;
    }
    add_nms(all_boxes, all_scores);
  }

  // NonMaxSuppression per class, then gather each kept box and score into (M, 7) rows.
  void add_nms(std::string boxes, std::string scores) {
    const auto to_float = [&](const std::string& x, const std::string& name) {
      if (!options_.fp16) return x;
      auto* n = g_.node("Cast", {x}, name);
      GraphBuilder::set(n, "to", static_cast<int64_t>(TensorProto::FLOAT));
      return name;
    };
    boxes = to_float(boxes, "nms/boxes_float");
    scores = to_float(scores, "nms/scores_float");
    auto* t = g_.node("Transpose", {scores}, "nms/scores_by_class");
    GraphBuilder::set(t, "perm", std::vector<int64_t>{0, 2, 1});
    const std::string selected =
        g_.op("NonMaxSuppression",
              {boxes, "nms/scores_by_class", g_.int64s("nms/max_per_class", {options_.max_detections}),
               g_.float32("nms/iou_threshold", {options_.iou_thresh}),
               g_.float32("nms/score_threshold", {options_.conf_thresh})},
              "nms/selected");  // (M, 3): batch, class, box
    const std::string batch = slice(selected, "nms/batch", {0}, {1}, {1});
    const std::string cls = slice(selected, "nms/class", {1}, {2}, {1});
    const std::string box = slice(selected, "nms/box", {2}, {3}, {1});
    auto* concat_index = g_.node("Concat", {batch, box}, "nms/batch_box");
    GraphBuilder::set(concat_index, "axis", static_cast<int64_t>(1));
    const std::string kept_boxes = g_.op("GatherND", {boxes, "nms/batch_box"}, "nms/kept_boxes");          // (M, 4)
    const std::string kept_scores = g_.op("GatherND", {"nms/scores_by_class", selected}, "nms/kept_scores");  // (M)
    const std::string score_column = g_.op("Reshape", {kept_scores, g_.int64s("nms/column", {-1, 1})}, "nms/score_column");
    const auto as_float = [&](const std::string& x, const std::string& name) {
      auto* n = g_.node("Cast", {x}, name);
      GraphBuilder::set(n, "to", static_cast<int64_t>(TensorProto::FLOAT));
      return name;
    };
    auto* rows = g_.node("Concat", {as_float(batch, "nms/batch_float"), kept_boxes, score_column, as_float(cls, "nms/class_float")},
                         "detections");
    GraphBuilder::set(rows, "axis", static_cast<int64_t>(1));
    auto* output = graph_->add_output();
    output->set_name("detections");
    auto* tensor = output->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(TensorProto::FLOAT);
    tensor->mutable_shape()->add_dim()->set_dim_param("detections");
    tensor->mutable_shape()->add_dim()->set_dim_value(7);
  }


  const NetDef& def_;
  const OnnxExportOptions& options_;
  GraphBuilder g_;
  onnx::GraphProto* graph_;
  std::map<std::string, torch::Tensor> params_;
  std::vector<std::string> outputs_;  // the tensor holding each layer's output
  std::string prefix_;                // "<type>_<index>" of the layer being exported, as the parameters
};

void add_metadata(onnx::ModelProto* model, const NetDef& def, const OnnxExportOptions& options) {
  const auto meta = [&](const std::string& key, const std::string& value) {
    auto* entry = model->add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  };
  std::string names;
  for (size_t i = 0; i < options.class_names.size(); ++i) names += (i ? "\n" : "") + options.class_names[i];
  meta("class_names", names);
  std::string anchors;
  for (const auto& l : def.layers) {
    if (l.type == LayerType::kYolo || l.type == LayerType::kRegion) {
      anchors += (anchors.empty() ? "" : ";") + std::to_string(l.index) + ":" + join(l.anchors);
    }
  }
  meta("anchors", anchors);
  meta("input_size", std::to_string(def.width) + "x" + std::to_string(def.height));
  meta("resize_mode", def.letterbox ? "letterbox" : "stretch");
  meta("pixel_scale", "1/255");
  meta("channel_order", "RGB");
  meta("dialect", dialect_name(def.dialect));
  meta("source_cfg", def.cfg_path);
  meta("facekit_version", kFacekitVersion);
}

}  // namespace

void export_darknet_onnx(DarknetNetImpl& net, const OnnxExportOptions& options, const std::string& path) {
  if (options.batch < 1) throw std::runtime_error("batch must be at least 1");
  onnx::ModelProto model = new_onnx_model(options.opset, "Darknet " + net.def().cfg_path + " exported by facekit");
  auto* graph = model.mutable_graph();
  graph->set_name("darknet");
  DarknetOnnxExporter exporter(net, options, graph);
  exporter.build();
  add_metadata(&model, net.def(), options);
  check_and_write_onnx(&model, path);
}

std::map<std::string, std::string> read_onnx_metadata(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open ONNX model");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&file)) throw std::runtime_error(path + ": not an ONNX model (protobuf parse failed)");
  std::map<std::string, std::string> metadata;
  for (const auto& entry : model.metadata_props()) metadata[entry.key()] = entry.value();
  return metadata;
}

}  // namespace facekit::darknet
