#include "models/darknet/onednn_net.h"

#include <cstring>
#include <unordered_map>
#include <utility>

#include <dnnl.hpp>

#include "models/darknet/inference.h"

namespace facekit::darknet {
namespace {

using dnnl::memory;

constexpr float kLeakySlope = 0.1f;  // Darknet's leaky_activate: x > 0 ? x : .1 * x

bool is_head(LayerType type) { return type == LayerType::kYolo || type == LayerType::kRegion; }

// A layer's output map: (batch, c, h, w) stored channels-last, the layout every primitive here reads.
memory::desc map_desc(int64_t batch, const Shape& shape) {
  return memory::desc({batch, shape.c, shape.h, shape.w}, memory::data_type::f32, memory::format_tag::nhwc);
}

// Darknet's activation as a post-op fused into the primitive before it; false when oneDNN has no
// eltwise that computes the same function.
bool append_activation(Activation activation, dnnl::post_ops* ops) {
  switch (activation) {
    case Activation::kLinear: return true;
    case Activation::kLeaky: ops->append_eltwise(1.f, dnnl::algorithm::eltwise_relu, kLeakySlope, 0.f); return true;
    case Activation::kRelu: ops->append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); return true;
    case Activation::kLogistic: ops->append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); return true;
    default: return false;
  }
}

dnnl::primitive_attr activation_attr(Activation activation) {
  dnnl::post_ops ops;
  append_activation(activation, &ops);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

// Why layer `l` cannot be a primitive here, or "".
std::string unsupported_because(const NetDef& def, const LayerDef& l) {
  dnnl::post_ops unused;
  switch (l.type) {
    case LayerType::kConvolutional:
      return append_activation(l.activation, &unused) ? "" : std::string("activation ") + activation_name(l.activation);
    case LayerType::kRoute: return l.groups == 1 ? "" : "channel groups";
    case LayerType::kShortcut: {
      const bool plain_sum = l.inputs.size() == 1 && l.alpha == 1.f && l.beta == 1.f;
      const Shape& from = def.layers[static_cast<size_t>(l.inputs[0])].out;
      const bool same_shape = from.c == l.in.c && from.h == l.in.h && from.w == l.in.w;
      if (!plain_sum || !same_shape) return "not a plain sum of two maps of one shape";
      return append_activation(l.activation, &unused) ? "" : std::string("activation ") + activation_name(l.activation);
    }
    case LayerType::kUpsample: return l.reverse || l.scale != 1.f ? "reversed or scaled" : "";
    case LayerType::kMaxpool:
    case LayerType::kDropout:
    case LayerType::kYolo:
    case LayerType::kRegion: return "";
    default: return "no primitive for this layer type";
  }
}

}  // namespace

std::string onednn_unsupported(const NetDef& def) {
  for (const auto& l : def.layers) {
    std::string why = unsupported_because(def, l);
    const bool after_head = l.index > 0 && is_head(def.layers[static_cast<size_t>(l.index - 1)].type) &&
                            l.type != LayerType::kRoute && !is_head(l.type);
    if (after_head) why = "reads a head's output";
    for (const int from : l.inputs) {
      if (is_head(def.layers[static_cast<size_t>(from)].type)) why = "reads a head's output";
    }
    if (!why.empty()) return "layer " + std::to_string(l.index) + " (" + layer_type_name(l.type) + "): " + why;
  }
  return "";
}

// Everything a forward needs, made once: one primitive per step with its arguments, and the maps
// (memory) they read and write. Maps of dropout and single-input route layers are their input's.
struct OnednnNet::Plan {
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> args;
  };
  struct Export {  // a map handed back to LibTorch as an NCHW tensor
    size_t layer;
    memory nchw;  // its data handle is set to a new tensor's per forward
    dnnl::reorder reorder;
  };

  Plan(const NetDef& def, const std::vector<FoldedConv>& convs, int64_t batch);
  const memory& input_of(const LayerDef& l) const { return l.index == 0 ? input_nhwc : maps[static_cast<size_t>(l.index - 1)]; }
  void add_convolution(const LayerDef& l, const FoldedConv& conv);
  void add_maxpool(const LayerDef& l);
  void add_route(const LayerDef& l);
  void add_shortcut(const LayerDef& l);
  void add_upsample(const LayerDef& l);
  void add_export(size_t layer);
  memory new_map(const LayerDef& l) const { return memory(map_desc(batch, l.out), engine); }

  int64_t batch;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  memory input_nchw, input_nhwc;
  std::vector<memory> maps;  // per layer; heads have none
  std::vector<Step> steps;
  std::vector<Export> exports;
};

OnednnNet::Plan::Plan(const NetDef& def, const std::vector<FoldedConv>& convs, int64_t batch) : batch(batch) {
  const memory::dims input_dims{batch, def.channels, def.height, def.width};
  input_nchw = memory({input_dims, memory::data_type::f32, memory::format_tag::nchw}, engine, DNNL_MEMORY_NONE);
  input_nhwc = memory({input_dims, memory::data_type::f32, memory::format_tag::nhwc}, engine);
  steps.push_back({dnnl::reorder(input_nchw, input_nhwc), {{DNNL_ARG_FROM, input_nchw}, {DNNL_ARG_TO, input_nhwc}}});
  maps.resize(def.layers.size());
  for (const auto& l : def.layers) {
    const size_t i = static_cast<size_t>(l.index);
    switch (l.type) {
      case LayerType::kConvolutional: add_convolution(l, convs[i]); break;
      case LayerType::kMaxpool: add_maxpool(l); break;
      case LayerType::kRoute: add_route(l); break;
      case LayerType::kShortcut: add_shortcut(l); break;
      case LayerType::kUpsample: add_upsample(l); break;
      case LayerType::kDropout: maps[i] = input_of(l); break;  // identity at inference
      default: add_export(i - 1); break;  // a head: LibTorch applies it to its input
    }
  }
  const size_t output = static_cast<size_t>(def.output_layer());
  if (!is_head(def.layers[output].type)) add_export(output);
  stream.wait();  // the weight reorders
}

// The convolution of convolutional_layer.c with the folded BatchNorm as its bias; padding on the
// right is whatever gives Darknet's output size ((in + 2 pad - size) / stride + 1).
void OnednnNet::Plan::add_convolution(const LayerDef& l, const FoldedConv& conv) {
  const int span = (l.size - 1) * l.dilation + 1;
  const memory::dims strides{l.stride_y, l.stride_x}, dilates{l.dilation - 1, l.dilation - 1};
  const memory::dims pad_left{l.padding, l.padding};
  const memory::dims pad_right{(l.out.h - 1) * l.stride_y + span - l.in.h - l.padding,
                               (l.out.w - 1) * l.stride_x + span - l.in.w - l.padding};
  const bool grouped = l.groups > 1;
  const memory::dims weight_dims = grouped ? memory::dims{l.groups, l.filters / l.groups, l.in.c / l.groups, l.size, l.size}
                                           : memory::dims{l.filters, l.in.c, l.size, l.size};
  const memory::desc any_weights(weight_dims, memory::data_type::f32, memory::format_tag::any);
  const memory::desc bias_desc({l.filters}, memory::data_type::f32, memory::format_tag::x);
  const memory& src = input_of(l);
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src.get_desc(), any_weights, bias_desc, map_desc(batch, l.out), strides,
                                             dilates, pad_left, pad_right);
  const dnnl::convolution_forward::primitive_desc pd(desc, activation_attr(l.activation), engine);

  // Weights: OIHW (GOIHW when grouped, the same bytes) into the primitive's own layout, once.
  torch::Tensor plain = conv.weight.contiguous();
  memory plain_weights({weight_dims, memory::data_type::f32, grouped ? memory::format_tag::goihw : memory::format_tag::oihw},
                       engine, plain.data_ptr());
  memory weights(pd.weights_desc(), engine);
  dnnl::reorder(plain_weights, weights).execute(stream, plain_weights, weights);
  stream.wait();  // `plain` is freed on return
  memory bias(bias_desc, engine);
  std::memcpy(bias.get_data_handle(), conv.bias.contiguous().data_ptr(), sizeof(float) * static_cast<size_t>(l.filters));

  maps[static_cast<size_t>(l.index)] = new_map(l);
  steps.push_back({dnnl::convolution_forward(pd),
                   {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias},
                    {DNNL_ARG_DST, maps[static_cast<size_t>(l.index)]}}});
}

// forward_maxpool_layer: `padding` in total, padding / 2 before; padded cells never win.
void OnednnNet::Plan::add_maxpool(const LayerDef& l) {
  const int before = l.padding / 2;
  const memory::dims pad_left{before, before};
  const memory::dims pad_right{(l.out.h - 1) * l.stride_y + l.size - l.in.h - before,
                               (l.out.w - 1) * l.stride_x + l.size - l.in.w - before};
  const memory& src = input_of(l);
  maps[static_cast<size_t>(l.index)] = new_map(l);
  const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src.get_desc(),
                                         map_desc(batch, l.out), {l.stride_y, l.stride_x}, {l.size, l.size}, pad_left,
                                         pad_right);
  steps.push_back({dnnl::pooling_forward(dnnl::pooling_forward::primitive_desc(desc, engine)),
                   {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, maps[static_cast<size_t>(l.index)]}}});
}

// route_layer.c: the input maps one after the other along the channels; one input is that map.
void OnednnNet::Plan::add_route(const LayerDef& l) {
  const size_t i = static_cast<size_t>(l.index);
  if (l.inputs.size() == 1) {
    maps[i] = maps[static_cast<size_t>(l.inputs[0])];
    return;
  }
  std::vector<memory::desc> sources;
  for (const int from : l.inputs) sources.push_back(maps[static_cast<size_t>(from)].get_desc());
  maps[i] = new_map(l);
  Step step{dnnl::concat(dnnl::concat::primitive_desc(map_desc(batch, l.out), 1, sources, engine)), {{DNNL_ARG_DST, maps[i]}}};
  for (size_t k = 0; k < l.inputs.size(); ++k) {
    step.args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), maps[static_cast<size_t>(l.inputs[k])]);
  }
  steps.push_back(std::move(step));
}

// shortcut_cpu with alpha = beta = 1 on maps of one shape: the sum, then the activation.
void OnednnNet::Plan::add_shortcut(const LayerDef& l) {
  const memory& previous = input_of(l);
  const memory& from = maps[static_cast<size_t>(l.inputs[0])];
  maps[static_cast<size_t>(l.index)] = new_map(l);
  const dnnl::binary::desc desc(dnnl::algorithm::binary_add, previous.get_desc(), from.get_desc(), map_desc(batch, l.out));
  steps.push_back({dnnl::binary(dnnl::binary::primitive_desc(desc, activation_attr(l.activation), engine)),
                   {{DNNL_ARG_SRC_0, previous}, {DNNL_ARG_SRC_1, from}, {DNNL_ARG_DST, maps[static_cast<size_t>(l.index)]}}});
}

// upsample_cpu: output pixel (y, x) is input pixel (y / stride, x / stride), oneDNN's nearest
// resampling at an integer factor.
void OnednnNet::Plan::add_upsample(const LayerDef& l) {
  const memory& src = input_of(l);
  maps[static_cast<size_t>(l.index)] = new_map(l);
  const dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_nearest,
                                            src.get_desc(), map_desc(batch, l.out));
  steps.push_back({dnnl::resampling_forward(dnnl::resampling_forward::primitive_desc(desc, engine)),
                   {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, maps[static_cast<size_t>(l.index)]}}});
}

void OnednnNet::Plan::add_export(size_t layer) {
  const memory& map = maps[layer];
  memory nchw({map.get_desc().dims(), memory::data_type::f32, memory::format_tag::nchw}, engine, DNNL_MEMORY_NONE);
  exports.push_back({layer, nchw, dnnl::reorder(map, nchw)});
}

OnednnNet::OnednnNet(const NetDef& def, const std::vector<FoldedConv>& convs, int64_t batch)
    : batch_(batch), plan_(std::make_unique<Plan>(def, convs, batch)) {}

OnednnNet::~OnednnNet() = default;

std::vector<torch::Tensor> OnednnNet::forward(const torch::Tensor& input) {
  const auto dims = plan_->input_nchw.get_desc().dims();
  TORCH_CHECK(input.is_cpu() && input.scalar_type() == torch::kFloat32 && input.is_contiguous() &&
                  input.sizes() == c10::IntArrayRef(dims),
              "OnednnNet: expected a contiguous float32 CPU input of ", c10::IntArrayRef(dims), ", got ", input.sizes());
  plan_->input_nchw.set_data_handle(input.data_ptr());
  for (auto& step : plan_->steps) step.primitive.execute(plan_->stream, step.args);
  std::vector<torch::Tensor> outputs(plan_->maps.size());
  for (auto& e : plan_->exports) {
    auto& out = outputs[e.layer];
    out = torch::empty(c10::IntArrayRef(e.nchw.get_desc().dims()));
    e.nchw.set_data_handle(out.data_ptr());
    e.reorder.execute(plan_->stream, plan_->maps[e.layer], e.nchw);
  }
  plan_->stream.wait();
  return outputs;
}

}  // namespace facekit::darknet
