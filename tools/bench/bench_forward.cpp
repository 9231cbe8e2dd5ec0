// Forward-pass speed of the same Darknet model in facekit (LibTorch), libdarknet and OpenCV dnn,
// in one process, with the same thread count. Run:
//   build/tools/bench/facekit_bench_forward --threads 2
// Models: yolov3-tiny at 416 (Debian's cfg, random weights written by libdarknet) and
// Yolo-Fastest 1.1 at 320 (../shared/models).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "convert/darknet_torch.h"
#include "models/darknet/reference/libdarknet_ref.h"

namespace {

namespace fs = std::filesystem;
using facekit::darknet::load_darknet;

struct Model {
  std::string name, cfg, weights;
};

int g_threads = 2;

// yolov3-tiny has no public weights here: libdarknet writes random ones once.
Model yolov3_tiny() {
  const fs::path dir = fs::temp_directory_path() / "facekit_bench";
  fs::create_directories(dir);
  const std::string weights = (dir / "yolov3-tiny-random.weights").string();
  const std::string cfg = "/usr/share/darknet/cfg/yolov3-tiny.cfg";
  if (!fs::exists(weights)) {
    fk_darknet* net = fk_darknet_load(cfg.c_str(), nullptr);
    fk_darknet_randomize(net, 1);
    fk_darknet_save_weights(net, weights.c_str());
    fk_darknet_free(net);
  }
  return {"yolov3-tiny-416", cfg, weights};
}

Model yolo_fastest() {
  const fs::path dir = fs::path(FACEKIT_SHARED_DIR) / "models" / "yolo-fastest-1.1";
  return {"yolo-fastest-1.1-320", (dir / "yolo-fastest-1.1.cfg").string(), (dir / "yolo-fastest-1.1.weights").string()};
}

void bench_facekit(benchmark::State& state, const Model& model) {
  at::set_num_threads(g_threads);
  auto loaded = load_darknet(model.cfg, model.weights);
  const auto& def = loaded.net->def();
  const auto input = torch::rand({1, 3, def.height, def.width});
  torch::NoGradGuard no_grad;
  loaded.net->forward(input);  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(loaded.net->forward(input));
}

void bench_libdarknet(benchmark::State& state, const Model& model) {
  fk_darknet* net = fk_darknet_load(model.cfg.c_str(), model.weights.c_str());
  int c = 0, h = 0, w = 0;
  fk_darknet_input_shape(net, &c, &h, &w);
  std::vector<float> input(static_cast<size_t>(c * h * w), 0.5f);
  fk_darknet_forward(net, input.data());
  for (auto _ : state) fk_darknet_forward(net, input.data());
  fk_darknet_free(net);
}

void bench_opencv(benchmark::State& state, const Model& model) {
  cv::setNumThreads(g_threads);
  auto loaded = load_darknet(model.cfg, "");
  const auto& def = loaded.net->def();
  cv::dnn::Net net = cv::dnn::readNetFromDarknet(model.cfg, model.weights);
  const int shape[] = {1, 3, def.height, def.width};
  cv::Mat input(4, shape, CV_32F, cv::Scalar(0.5));
  net.setInput(input);
  const auto outputs = net.getUnconnectedOutLayersNames();
  std::vector<cv::Mat> results;
  net.forward(results, outputs);
  for (auto _ : state) {
    net.setInput(input);
    net.forward(results, outputs);
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--threads" && i + 1 < argc) g_threads = std::atoi(argv[++i]);
  }
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--threads") { ++i; continue; }
    rest.push_back(argv[i]);
  }
  int rest_count = static_cast<int>(rest.size());
  std::cerr << "threads: " << g_threads << " (LibTorch and OpenCV; libdarknet is single-threaded)\n";
  for (const Model& model : {yolov3_tiny(), yolo_fastest()}) {
    if (!fs::exists(model.weights)) {
      std::cerr << "skipping " << model.name << ": " << model.weights << " is missing\n";
      continue;
    }
    benchmark::RegisterBenchmark(("facekit/" + model.name).c_str(), bench_facekit, model)->Unit(benchmark::kMillisecond)->MinTime(2.0);
    benchmark::RegisterBenchmark(("opencv_dnn/" + model.name).c_str(), bench_opencv, model)->Unit(benchmark::kMillisecond)->MinTime(2.0);
    benchmark::RegisterBenchmark(("libdarknet/" + model.name).c_str(), bench_libdarknet, model)->Unit(benchmark::kMillisecond)->MinTime(2.0);
  }
  benchmark::Initialize(&rest_count, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
