// `facekit bench`: forward speed of a detector and a classifier in facekit against OpenCV dnn and
// libdarknet, in one process and one run (issue #7, "Fast"), timed by Google Benchmark. Prints
// Google Benchmark's own lines, then one table per model with ms, GFLOP/s and the ratios the issue
// sets as targets, and a measured SGEMM peak of this machine to read the GFLOP/s against.
#include <benchmark/benchmark.h>

#include <ATen/record_function.h>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>

#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>

#include "convert/classifier_onnx.h"
#include "convert/darknet_onnx.h"
#include "convert/darknet_torch.h"
#include "models/darknet/inference.h"
#include "models/darknet/reference/libdarknet_ref.h"
#include "tools/facekit/cli.h"
#include "tools/facekit/detectors.h"
#include "tools/infer/backends.h"
#include "tools/infer/faces.h"

namespace facekit::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kFaceBatch = 8;     // the batched classifier case: faces per forward
constexpr int64_t kSgemmSide = 1024;
constexpr float kPipelineConfThresh = 0.25f, kPipelineNmsThresh = 0.45f;  // facekit-infer's defaults
constexpr const char* kDefaultPhoto = "../shared/data/seed-demo/friends.jpg";

// One timed thing: `items` per call (faces in a batch), `flops` per item; `ms` per item once run.
struct Row {
  std::string label;
  double flops = 0;
  int items = 1;
  double ms = NAN;
};

struct Section {
  std::string title;
  std::vector<Row> rows;
};

struct Options {
  double min_time = 1.0;
  int threads = 1;
};

// Registers `run` with Google Benchmark as "<section>/<label>" after one untimed call (warm-up:
// oneDNN primitives, OpenCV's graph, allocator caches), and adds its row to `section`.
void add_row(Section* section, const Options& options, const std::string& label, double flops, int items,
             std::function<void()> run) {
  run();
  benchmark::RegisterBenchmark((section->title + "/" + label).c_str(), [run](benchmark::State& state) {
    for (auto _ : state) run();
  })->Unit(benchmark::kMillisecond)->MinTime(options.min_time)->UseRealTime();
  section->rows.push_back({label, flops, items});
}

// Google Benchmark's console output, plus each run's real time kept for the tables.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) ms_[run.run_name.function_name] = run.GetAdjustedRealTime();
  }
  void fill(std::vector<Section>* sections) const {
    for (auto& section : *sections) {
      for (auto& row : section.rows) row.ms = ms_.at(section.title + "/" + row.label) / row.items;
    }
  }

 private:
  std::map<std::string, double> ms_;
};

// ---- FLOPs: a multiply-add counts 2 ----

// Convolutions and connected layers from the NetDef's shapes: 2 k k cin/groups cout hout wout.
double darknet_flops(const darknet::NetDef& def) {
  double flops = 0;
  for (const auto& l : def.layers) {
    if (l.type == darknet::LayerType::kConvolutional) {
      flops += 2.0 * l.size * l.size * (l.in.c / l.groups) * l.filters * l.out.h * l.out.w;
    } else if (l.type == darknet::LayerType::kConnected) {
      flops += 2.0 * static_cast<double>(l.in.size()) * l.filters;
    }
  }
  return flops;
}

thread_local double t_counted_flops = 0;

// aten::convolution: 2 x (weight values per output channel) x output values; aten::linear:
// 2 x inputs x output values. Called by LibTorch's RecordFunction at the end of each op.
void count_flops(const at::RecordFunction& fn, at::ObserverContext*) {
  const std::string name = fn.name();
  if (name != "aten::convolution" && name != "aten::linear") return;
  const auto weight = fn.inputs()[1].toTensor();
  const auto output = fn.outputs()[0].toTensor();
  const double per_output = name == "aten::linear" ? weight.size(1) : weight.numel() / weight.size(0);
  t_counted_flops += 2.0 * per_output * static_cast<double>(output.numel());
}

// The FLOPs of one call of `forward`, counted op by op (the Inception graph has no NetDef).
double counted_flops(const std::function<void()>& forward) {
  t_counted_flops = 0;
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(nullptr, count_flops).needsInputs(true).needsOutputs(true));
  forward();
  at::removeCallback(handle);
  return t_counted_flops;
}

// ---- the backends ----

cv::Mat blob_of(const torch::Tensor& input) {
  const std::vector<int> shape(input.sizes().begin(), input.sizes().end());
  return cv::Mat(static_cast<int>(shape.size()), shape.data(), CV_32F, input.data_ptr<float>());
}

std::function<void()> opencv_forward(cv::dnn::Net net, const torch::Tensor& input) {
  auto shared = std::make_shared<cv::dnn::Net>(std::move(net));
  const auto names = shared->getUnconnectedOutLayersNames();
  return [shared, names, input, blob = blob_of(input)] {
    std::vector<cv::Mat> outputs;
    shared->setInput(blob);
    shared->forward(outputs, names);
  };
}

std::function<void()> libdarknet_forward(const std::string& cfg, const std::string& weights) {
  std::shared_ptr<fk_darknet> net(fk_darknet_load(cfg.c_str(), weights.c_str()), fk_darknet_free);
  int c = 0, h = 0, w = 0;
  fk_darknet_input_shape(net.get(), &c, &h, &w);
  auto input = std::make_shared<std::vector<float>>(static_cast<size_t>(c * h * w), 0.5f);
  return [net, input] { fk_darknet_forward(net.get(), input->data()); };
}

Section detector_section(const Options& options, const std::string& cfg, const std::string& weights,
                         const fs::path& temp) {
  auto loaded = darknet::load_darknet(cfg, weights);
  const auto& def = loaded.net->def();
  const double flops = darknet_flops(def);
  Section s{"detector " + fs::path(weights).filename().string() + " " + std::to_string(def.width) + "x" +
                std::to_string(def.height),
            {}};
  const auto input = torch::full({1, def.channels, def.height, def.width}, 0.5f);
  auto prepared = std::make_shared<darknet::InferenceNet>(loaded.net);
  s.title += " (prepared: " + prepared->engine_description() + ")";
  add_row(&s, options, "facekit torch (prepared)", flops, 1, [prepared, input] { prepared->forward_all(input); });
  auto calls = std::make_shared<darknet::InferenceNet>(loaded.net, darknet::InferenceEngine::kLibTorchCalls);
  add_row(&s, options, "facekit torch (prepared, LibTorch calls)", flops, 1, [calls, input] { calls->forward_all(input); });
  add_row(&s, options, "facekit torch (unprepared)", flops, 1, [plain = loaded.net, input]() mutable {
    torch::NoGradGuard no_grad;
    plain->forward_all(input);
  });
  const std::string onnx = (temp / "detector.onnx").string();
  darknet::export_darknet_onnx(*loaded.net, {}, onnx);
  add_row(&s, options, "facekit onnx in OpenCV dnn", flops, 1, opencv_forward(cv::dnn::readNetFromONNX(onnx), input));
  add_row(&s, options, "OpenCV dnn (Darknet files)", flops, 1,
          opencv_forward(cv::dnn::readNetFromDarknet(cfg, weights), input));
  add_row(&s, options, "libdarknet (1 thread)", flops, 1, libdarknet_forward(cfg, weights));
  return s;
}

Section classifier_section(const Options& options, const std::string& path, const fs::path& temp) {
  auto loaded = load_age_gender_checkpoint(path);
  const int64_t side = loaded.config.crop.size;
  Section s{"classifier " + fs::path(path).filename().string() + " " + std::to_string(side) + "px", {}};
  auto plain = loaded.net;
  auto prepared = prepare_for_inference(loaded.net, loaded.config);
  const std::string onnx = (temp / "classifier.onnx").string();
  export_age_gender_onnx(loaded.net, loaded.config, {}, onnx);
  for (const int batch : {1, kFaceBatch}) {
    const auto input = torch::randn({batch, 3, side, side});
    const std::string faces = " batch " + std::to_string(batch);
    auto forward_plain = [plain, input]() mutable {
      torch::NoGradGuard no_grad;
      plain->forward(input);
    };
    const double flops = counted_flops(forward_plain) / batch;
    add_row(&s, options, "facekit torch (prepared)" + faces, flops, batch, [prepared, input]() mutable {
      c10::InferenceMode inference;
      prepared->forward(input);
    });
    add_row(&s, options, "facekit torch (unprepared)" + faces, flops, batch, forward_plain);
    add_row(&s, options, "OpenCV dnn (ONNX export)" + faces, flops, batch,
            opencv_forward(cv::dnn::readNetFromONNX(onnx), input));
  }
  return s;
}

// The whole facekit-infer pipeline on one photo: detect, crop every face, classify them in one
// batch (no drawing), with each backend. Returns no rows when the photo is missing.
Section pipeline_section(const Options& options, const std::string& photo, const infer::ModelFiles& models) {
  Section s{"pipeline on " + photo, {}};
  const cv::Mat image = cv::imread(photo, cv::IMREAD_COLOR);
  if (image.empty()) {
    std::cerr << "facekit bench: " << photo << " cannot be read; the pipeline is not timed\n";
    return s;
  }
  for (const auto& [name, backend] : {std::pair{"facekit-infer torch", infer::Backend::kTorch},
                                      std::pair{"facekit-infer onnx", infer::Backend::kOnnx}}) {
    auto loaded = std::make_shared<infer::Models>(
        infer::load_models(models, backend, {kPipelineConfThresh, kPipelineNmsThresh}, torch::kCPU));
    const size_t faces = infer::select_faces(loaded->detect(image), {}).size();
    add_row(&s, options, std::string(name) + " (" + std::to_string(faces) + " faces)", 0, 1, [loaded, image] {
      auto found = infer::select_faces(loaded->detect(image), {});
      infer::classify_faces(image, loaded->classifier, &found);
    });
  }
  return s;
}

Section sgemm_section(const Options& options) {
  Section s{"sgemm", {}};
  const auto a = torch::randn({kSgemmSide, kSgemmSide}), b = torch::randn({kSgemmSide, kSgemmSide});
  add_row(&s, options, "at::mm " + std::to_string(kSgemmSide), 2.0 * std::pow(kSgemmSide, 3), 1,
          [a, b] { benchmark::DoNotOptimize(at::mm(a, b)); });
  return s;
}

// ---- the report ----

double gflops(const Row& row) { return row.flops / (row.ms * 1e6); }

const Row& find_row(const Section& section, const std::string& label) {
  for (const auto& row : section.rows) {
    if (row.label == label) return row;
  }
  throw std::logic_error("facekit bench: no row " + label);
}

void print_section(const Section& section, double peak_gflops) {
  std::cout << "\n" << section.title << "\n"
            << std::left << std::setw(40) << "" << std::right << std::setw(12) << "ms/item" << std::setw(10)
            << "GFLOP" << std::setw(10) << "GFLOP/s" << std::setw(10) << "of peak\n";
  for (const auto& row : section.rows) {
    std::cout << std::left << std::setw(40) << row.label << std::right << std::fixed << std::setprecision(3)
              << std::setw(12) << row.ms;
    if (row.flops > 0) {
      std::cout << std::setw(10) << row.flops / 1e9 << std::setprecision(1) << std::setw(10) << gflops(row) << std::setw(9)
                << 100 * gflops(row) / peak_gflops << "%";
    }
    std::cout << "\n";
  }
}

void print_ratio(const Section& section, const std::string& a, const std::string& b, const std::string& target) {
  std::cout << "  " << a << " / " << b << ": " << std::setprecision(2)
            << find_row(section, a).ms / find_row(section, b).ms << "  (target " << target << ")\n";
}

void print_report(const std::vector<Section>& sections, const Options& options) {
  const Row& sgemm = sections.back().rows.front();
  const double peak = gflops(sgemm);
  std::cout << "\nSGEMM peak (" << sgemm.label << " float, " << options.threads << " threads): " << std::fixed
            << std::setprecision(1) << peak << " GFLOP/s\n";
  const Section& detector = sections[0];
  print_section(detector, peak);
  print_ratio(detector, "facekit torch (prepared)", "OpenCV dnn (Darknet files)", "<= 1.0");
  print_ratio(detector, "libdarknet (1 thread)", "facekit torch (prepared)", ">= 8");
  const Section& classifier = sections[1];
  print_section(classifier, peak);
  for (const int batch : {1, kFaceBatch}) {
    const std::string faces = " batch " + std::to_string(batch);
    print_ratio(classifier, "facekit torch (prepared)" + faces, "OpenCV dnn (ONNX export)" + faces, "<= 1.0");
  }
  if (!sections[2].rows.empty()) print_section(sections[2], peak);
}

int run_bench(const std::vector<std::string>& args) {
  po::options_description options_desc("facekit bench");
  options_desc.add_options()
      ("detector", po::value<std::string>()->default_value(""), "Darknet .weights (default: the shipped face detector)")
      ("cfg", po::value<std::string>()->default_value(""), "its cfg (default: beside the weights)")
      ("classifier", po::value<std::string>()->default_value(""),
       "AgeGenderNet checkpoint (default: the shipped ensemble, its first network alone in the classifier rows)")
      ("photo", po::value<std::string>()->default_value(kDefaultPhoto), "the photo the whole pipeline runs on")
      ("min-time", po::value<double>()->default_value(1.0), "seconds each case runs at least");
  add_input_size_option(&options_desc);
  add_runtime_options(&options_desc);
  const std::string usage =
      "usage: facekit bench [--detector X.weights] [--cfg X.cfg] [--classifier X.pt] [--input-size S[,S...]]\n"
      "                     [--threads N] [--min-time S]";
  po::variables_map vm;
  if (!parse_options(args, options_desc, usage, &vm)) return kExitOk;
  if (apply_runtime_options(vm) != torch::Device(torch::kCPU)) throw UsageError("facekit bench runs on the CPU only");
  const Options options{vm["min-time"].as<double>(), at::get_num_threads()};
  std::string weights = vm["detector"].as<std::string>(), cfg = vm["cfg"].as<std::string>();
  if (weights.empty()) weights = default_model(kDefaultDetectorFile);
  if (cfg.empty()) cfg = fs::path(weights).replace_extension(".cfg").string();
  const std::string given = vm["classifier"].as<std::string>();
  const std::vector<std::string> classifiers = given.empty() ? default_classifiers() : std::vector<std::string>{given};

  std::vector<Section> sections;
  {
    const TemporaryFolder exports("facekit_bench_");
    sections = {detector_section(options, cfg, weights, exports.path),
                classifier_section(options, classifiers.front(), exports.path)};
  }
  sections.push_back(
      pipeline_section(options, vm["photo"].as<std::string>(), {weights, cfg, classifiers, input_sizes(vm)}));
  sections.push_back(sgemm_section(options));

  int argc = 1;
  char name[] = "facekit bench";
  char* argv[] = {name, nullptr};
  benchmark::Initialize(&argc, argv);
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  reporter.fill(&sections);
  print_report(sections, options);
  return kExitOk;
}

}  // namespace

Command bench_command() {
  return {"bench", "forward speed against OpenCV dnn and libdarknet (Google Benchmark)", run_bench};
}

}  // namespace facekit::cli
