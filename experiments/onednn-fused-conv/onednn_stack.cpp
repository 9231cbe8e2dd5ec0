// The layer stack of layers.txt run by oneDNN directly: each convolution one primitive with leaky
// ReLU fused as a post-op (eltwise_relu with alpha 0.1), weights reordered once into the blocked
// layout the primitive picks, activations left in the layouts the primitives choose.
// Prints ms per forward at 1 and 2 OpenMP threads.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

namespace {

using dnnl::memory;

constexpr int kInputSize = 320;
constexpr float kLeakySlope = 0.1f;
constexpr int kWarmup = 5, kRuns = 50;

struct ConvLayer {
  int in, out, kernel, stride, groups;
};

std::vector<ConvLayer> read_layers(const std::string& path) {
  std::ifstream file(path);
  std::vector<ConvLayer> layers;
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ConvLayer l{};
    fields >> l.in >> l.out >> l.kernel >> l.stride >> l.groups;
    layers.push_back(l);
  }
  return layers;
}

void fill(memory& m, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, 0.1f);
  auto* p = static_cast<float*>(m.get_data_handle());
  for (size_t i = 0; i < m.get_desc().get_size() / sizeof(float); ++i) p[i] = normal(rng);
}

}  // namespace

int main(int argc, char** argv) {
  const auto layers = read_layers(argc > 1 ? argv[1] : "layers.txt");
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::mt19937 rng(0);
  int h = kInputSize, w = kInputSize;
  memory::desc src_md({1, 3, h, w}, memory::data_type::f32, memory::format_tag::nchw);
  memory src(src_md, engine);
  fill(src, rng);
  std::vector<dnnl::primitive> convs;
  std::vector<std::unordered_map<int, memory>> args;
  for (const auto& l : layers) {
    const int pad = l.kernel / 2;
    const int oh = (h + 2 * pad - l.kernel) / l.stride + 1, ow = (w + 2 * pad - l.kernel) / l.stride + 1;
    const bool grouped = l.groups > 1;
    const memory::dims weight_dims = grouped ? memory::dims{l.groups, l.out / l.groups, l.in / l.groups, l.kernel, l.kernel}
                                             : memory::dims{l.out, l.in, l.kernel, l.kernel};
    const memory::desc any_weights(weight_dims, memory::data_type::f32, memory::format_tag::any);
    const memory::desc bias_md({l.out}, memory::data_type::f32, memory::format_tag::x);
    const memory::desc any_dst({1, l.out, oh, ow}, memory::data_type::f32, memory::format_tag::any);
    dnnl::post_ops leaky;
    leaky.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, kLeakySlope, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(leaky);
    const auto desc = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                                      src_md, any_weights, bias_md, any_dst, {l.stride, l.stride},
                                                      {pad, pad}, {pad, pad});
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    memory plain_weights({weight_dims, memory::data_type::f32, grouped ? memory::format_tag::goihw : memory::format_tag::oihw},
                         engine);
    fill(plain_weights, rng);
    memory weights(pd.weights_desc(), engine);
    dnnl::reorder(plain_weights, weights).execute(stream, plain_weights, weights);  // once, not per forward
    memory bias(bias_md, engine);
    fill(bias, rng);
    memory dst(pd.dst_desc(), engine);
    convs.emplace_back(dnnl::convolution_forward(pd));
    args.push_back({{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
    src = dst, src_md = pd.dst_desc(), h = oh, w = ow;
  }
  stream.wait();
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    const auto forward = [&] {
      for (size_t i = 0; i < convs.size(); ++i) convs[i].execute(stream, args[i]);
      stream.wait();
    };
    for (int r = 0; r < kWarmup; ++r) forward();
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < kRuns; ++r) forward();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / kRuns;
    std::printf("oneDNN, fused conv + leaky, %d thread%s: %.2f ms\n", threads, threads > 1 ? "s" : "", ms);
  }
}
