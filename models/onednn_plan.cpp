#include "models/onednn_plan.h"

#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <dnnl.hpp>

namespace facekit {
namespace {

using dnnl::memory;

constexpr float kLeakySlope = 0.1f;  // Darknet's leaky_activate

memory::desc nhwc_desc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::nhwc);
}

dnnl::primitive_attr activation_attr(PlanActivation act) {
  dnnl::post_ops ops;
  switch (act) {
    case PlanActivation::kNone: break;
    case PlanActivation::kRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case PlanActivation::kLeaky: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, kLeakySlope, 0.f); break;
    case PlanActivation::kLogistic: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

// The padding after a window that gives `out` outputs with `before` padding before it.
int64_t padding_after(int64_t in, int64_t out, int64_t span, int64_t stride, int64_t before) {
  return (out - 1) * stride + span - in - before;
}

}  // namespace

struct OnednnPlan::Impl {
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> args;
  };
  struct Output {  // a map handed back as an NCHW tensor
    Map map;
    memory nchw;  // its data handle is a new tensor's, set per run
    dnnl::reorder reorder;
  };

  // A new NHWC map and the step that writes it.
  Map add_step(const memory::desc& map_desc, dnnl::primitive primitive, std::unordered_map<int, memory> args) {
    maps.emplace_back(map_desc, engine);
    args.emplace(DNNL_ARG_DST, maps.back());
    steps.push_back({std::move(primitive), std::move(args)});
    return maps.size() - 1;
  }

  // A pooling step whose windows give an out[0] x out[1] map with `before` padding before them.
  Map pool(Map x, dnnl::algorithm algorithm, Pair kernel, Pair stride, Pair before, Pair out) {
    const memory::dims in = maps[x].get_desc().dims();
    const memory::dims out_dims{in[0], in[1], out[0], out[1]};
    const memory::dims pad_after{padding_after(in[2], out[0], kernel[0], stride[0], before[0]),
                                 padding_after(in[3], out[1], kernel[1], stride[1], before[1])};
    const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, maps[x].get_desc(),
                                           nhwc_desc(out_dims), {stride[0], stride[1]}, {kernel[0], kernel[1]},
                                           {before[0], before[1]}, pad_after);
    return add_step(nhwc_desc(out_dims), dnnl::pooling_forward({desc, engine}), {{DNNL_ARG_SRC, maps[x]}});
  }

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  memory input_nchw;         // the caller's tensor, set per run
  std::vector<memory> maps;  // maps[0]: the input, NHWC
  std::vector<Step> steps;
  std::vector<Output> outputs;
};

OnednnPlan::OnednnPlan(const std::vector<int64_t>& input_dims) : impl_(std::make_unique<Impl>()) {
  if (input_dims.size() != 4) throw std::invalid_argument("OnednnPlan: the input must be N x C x H x W");
  impl_->input_nchw = memory({input_dims, memory::data_type::f32, memory::format_tag::nchw}, impl_->engine, DNNL_MEMORY_NONE);
  impl_->maps.emplace_back(nhwc_desc(input_dims), impl_->engine);
  impl_->steps.push_back({dnnl::reorder(impl_->input_nchw, impl_->maps[0]),
                          {{DNNL_ARG_FROM, impl_->input_nchw}, {DNNL_ARG_TO, impl_->maps[0]}}});
}

OnednnPlan::~OnednnPlan() = default;

std::vector<int64_t> OnednnPlan::dims(Map x) const { return impl_->maps.at(x).get_desc().dims(); }

OnednnPlan::Map OnednnPlan::conv(Map x, const torch::Tensor& weight, const torch::Tensor& bias, Pair stride, Pair padding,
                                 int64_t dilation, int64_t groups, PlanActivation act) {
  const auto in = dims(x);
  const int64_t out_c = weight.size(0), kh = weight.size(2), kw = weight.size(3);
  const int64_t span_h = (kh - 1) * dilation + 1, span_w = (kw - 1) * dilation + 1;
  const int64_t out_h = (in[2] + 2 * padding[0] - span_h) / stride[0] + 1;
  const int64_t out_w = (in[3] + 2 * padding[1] - span_w) / stride[1] + 1;
  const memory::dims out_dims{in[0], out_c, out_h, out_w};
  const memory::dims pad_after{padding_after(in[2], out_h, span_h, stride[0], padding[0]),
                               padding_after(in[3], out_w, span_w, stride[1], padding[1])};
  const bool grouped = groups > 1;
  const memory::dims weight_dims = grouped ? memory::dims{groups, out_c / groups, in[1] / groups, kh, kw}
                                           : memory::dims{out_c, in[1], kh, kw};
  const memory::desc bias_desc({out_c}, memory::data_type::f32, memory::format_tag::x);
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, impl_->maps[x].get_desc(),
      memory::desc(weight_dims, memory::data_type::f32, memory::format_tag::any), bias_desc, nhwc_desc(out_dims),
      {stride[0], stride[1]}, {dilation - 1, dilation - 1}, {padding[0], padding[1]}, pad_after);
  const dnnl::convolution_forward::primitive_desc pd(desc, activation_attr(act), impl_->engine);

  // The weights, OIHW (GOIHW when grouped: the same bytes), into the primitive's layout once.
  const torch::Tensor plain = weight.to(torch::kFloat32).contiguous();
  memory plain_weights({weight_dims, memory::data_type::f32, grouped ? memory::format_tag::goihw : memory::format_tag::oihw},
                       impl_->engine, plain.data_ptr());
  memory weights(pd.weights_desc(), impl_->engine);
  dnnl::reorder(plain_weights, weights).execute(impl_->stream, plain_weights, weights);
  impl_->stream.wait();  // before `plain` is freed
  memory bias_memory(bias_desc, impl_->engine);
  const torch::Tensor plain_bias = bias.to(torch::kFloat32).contiguous();
  std::memcpy(bias_memory.get_data_handle(), plain_bias.data_ptr(), sizeof(float) * static_cast<size_t>(out_c));

  return impl_->add_step(nhwc_desc(out_dims), dnnl::convolution_forward(pd),
                         {{DNNL_ARG_SRC, impl_->maps[x]}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias_memory}});
}

OnednnPlan::Map OnednnPlan::max_pool(Map x, Pair kernel, Pair stride, Pair before, Pair total) {
  const auto in = dims(x);
  const Pair out{(in[2] + total[0] - kernel[0]) / stride[0] + 1, (in[3] + total[1] - kernel[1]) / stride[1] + 1};
  return impl_->pool(x, dnnl::algorithm::pooling_max, kernel, stride, before, out);
}

OnednnPlan::Map OnednnPlan::avg_pool(Map x, Pair kernel, Pair stride, Pair padding) {
  const auto in = dims(x);
  const Pair out{(in[2] + 2 * padding[0] - kernel[0]) / stride[0] + 1, (in[3] + 2 * padding[1] - kernel[1]) / stride[1] + 1};
  return impl_->pool(x, dnnl::algorithm::pooling_avg_include_padding, kernel, stride, padding, out);
}

OnednnPlan::Map OnednnPlan::global_avg_pool(Map x) {
  const auto in = dims(x);
  return impl_->pool(x, dnnl::algorithm::pooling_avg_exclude_padding, {in[2], in[3]}, {1, 1}, {0, 0}, {1, 1});
}

OnednnPlan::Map OnednnPlan::concat(const std::vector<Map>& parts) {
  std::vector<memory::desc> sources;
  std::unordered_map<int, memory> args;
  memory::dims out_dims = dims(parts.at(0));
  out_dims[1] = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    sources.push_back(impl_->maps[parts[k]].get_desc());
    args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), impl_->maps[parts[k]]);
    out_dims[1] += dims(parts[k])[1];
  }
  const dnnl::concat::primitive_desc pd(nhwc_desc(out_dims), 1, sources, impl_->engine);
  return impl_->add_step(nhwc_desc(out_dims), dnnl::concat(pd), std::move(args));
}

OnednnPlan::Map OnednnPlan::add(Map a, Map b, PlanActivation act) {
  const auto out_dims = dims(a);
  const dnnl::binary::desc desc(dnnl::algorithm::binary_add, impl_->maps[a].get_desc(), impl_->maps[b].get_desc(),
                                nhwc_desc(out_dims));
  return impl_->add_step(nhwc_desc(out_dims), dnnl::binary({desc, activation_attr(act), impl_->engine}),
                         {{DNNL_ARG_SRC_0, impl_->maps[a]}, {DNNL_ARG_SRC_1, impl_->maps[b]}});
}

// Nearest at an integer factor: output pixel (y, x) is input pixel (y / factor, x / factor).
OnednnPlan::Map OnednnPlan::upsample_nearest(Map x, int64_t factor) {
  auto out_dims = dims(x);
  out_dims[2] *= factor, out_dims[3] *= factor;
  const dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_nearest,
                                            impl_->maps[x].get_desc(), nhwc_desc(out_dims));
  return impl_->add_step(nhwc_desc(out_dims), dnnl::resampling_forward({desc, impl_->engine}),
                         {{DNNL_ARG_SRC, impl_->maps[x]}});
}

void OnednnPlan::output(Map x) {
  memory nchw({dims(x), memory::data_type::f32, memory::format_tag::nchw}, impl_->engine, DNNL_MEMORY_NONE);
  impl_->outputs.push_back({x, nchw, dnnl::reorder(impl_->maps[x], nchw)});
}

std::vector<torch::Tensor> OnednnPlan::run(const torch::Tensor& input) {
  const auto expected = impl_->input_nchw.get_desc().dims();
  TORCH_CHECK(input.is_cpu() && input.scalar_type() == torch::kFloat32 && input.sizes() == c10::IntArrayRef(expected),
              "OnednnPlan: expected a float32 CPU input of ", c10::IntArrayRef(expected), ", got ", input.sizes());
  const torch::Tensor nchw = input.contiguous();
  impl_->input_nchw.set_data_handle(nchw.data_ptr());
  for (auto& step : impl_->steps) step.primitive.execute(impl_->stream, step.args);
  std::vector<torch::Tensor> results;
  for (auto& out : impl_->outputs) {
    results.push_back(torch::empty(c10::IntArrayRef(out.nchw.get_desc().dims())));
    out.nchw.set_data_handle(results.back().data_ptr());
    out.reorder.execute(impl_->stream, impl_->maps[out.map], out.nchw);
  }
  impl_->stream.wait();
  return results;
}

}  // namespace facekit
