#include "tools/infer/infer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <iomanip>
#include <iostream>
#include <memory>
#include <thread>

#include <opencv2/highgui.hpp>
#include <opencv2/imgproc.hpp>

#include "tools/infer/backends.h"
#include "tools/infer/bounded_queue.h"
#include "tools/infer/draw.h"
#include "tools/infer/outputs.h"
#include "tools/infer/sources.h"
#include "tools/infer/tracker.h"

namespace facekit::infer {
namespace {

using cli::po::value;
using Clock = std::chrono::steady_clock;

constexpr size_t kQueuedFrames = 4;  // decoded frames waiting for compute, computed ones waiting to be drawn
constexpr const char* kDefaultOutput = "runs/infer";
constexpr float kDefaultConfThresh = 0.25f;  // Darknet's detector test default
constexpr float kDefaultNmsThresh = 0.45f;
constexpr int kEscape = 27;

// Ctrl-C on a webcam or stream: stop reading, then finish the video and JSON files properly.
std::atomic<bool> g_stop{false};
extern "C" void request_stop(int) { g_stop = true; }

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

struct InferOptions {
  std::string input, output, json;
  bool verbose_labels = false, show = false;
  int every = 1;  // video: detect on every N-th frame, follow the faces in between
  FaceFilter filter;
  float smoothing = 0.3f;
};

TrackerOptions tracker_options(float smoothing) {
  TrackerOptions options;
  options.smoothing = smoothing;
  return options;
}

struct Processed {
  Frame frame;
  std::vector<Face> faces;
  double detect_ms = 0, classify_ms = 0;
};

// Detection (on every N-th frame of a video; the tracker carries the boxes in between),
// classification of all faces of the frame in one batch, and per-track smoothing for videos.
class FaceStage {
 public:
  FaceStage(const Models& models, const InferOptions& options, bool video)
      : models_(models), options_(options), video_(video), tracker_(tracker_options(options.smoothing)) {}

  Processed run(Frame frame) {
    Processed out;
    out.frame = std::move(frame);
    if (out.frame.image.empty()) return out;
    const cv::Mat& image = out.frame.image;
    const bool detect_now = !video_ || out.frame.index % options_.every == 0;
    cv::Mat grey;
    if (video_ && options_.every > 1) cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
    if (detect_now) {
      auto start = Clock::now();
      out.faces = select_faces(models_.detect(image), options_.filter);
      out.detect_ms = ms_since(start);
      start = Clock::now();
      classify_faces(image, models_.classifier, &out.faces);
      out.classify_ms = ms_since(start);
      if (video_) tracker_.update(&out.faces);
    } else {
      const auto start = Clock::now();
      out.faces = tracker_.follow(previous_grey_, grey);
      out.detect_ms = ms_since(start);
    }
    previous_grey_ = grey;
    return out;
  }

 private:
  const Models& models_;
  const InferOptions& options_;
  bool video_;
  FaceTracker tracker_;
  cv::Mat previous_grey_;
};

struct Totals {
  int frames = 0, skipped = 0, faces = 0;
  double decode_ms = 0, detect_ms = 0, classify_ms = 0, draw_ms = 0;
};

// Drawing and writing: annotated images or video, JSON lines, the optional window.
class OutputStage {
 public:
  OutputStage(const InferOptions& options, const FrameSource& source, const AgeGenderConfig& config)
      : options_(options), config_(config), images_(source.is_video() ? "" : options.output) {
    if (!options.json.empty()) json_ = std::make_unique<JsonLines>(options.json);
    if (source.is_video() && !options.output.empty()) {
      video_ = std::make_unique<VideoWriter>(options.output, options.input, source.fps(), source.frame_size());
    }
  }

  void write(Processed& p) {
    if (json_) json_->write(json_record(p.frame, p.faces, config_));
    if (p.frame.image.empty()) {
      ++totals.skipped;
      std::cerr << "warning: " << p.frame.source << ": " << p.frame.error << " (skipped)\n";
      return;
    }
    const auto start = Clock::now();
    std::vector<std::string> labels;
    for (const auto& face : p.faces) labels.push_back(face_label(face, config_, options_.verbose_labels));
    draw_faces(&p.frame.image, p.faces, labels);
    if (video_) {
      video_->write(p.frame.image);
    } else if (!options_.output.empty()) {
      images_.write(p.frame, p.frame.image);
    }
    if (options_.show) show(p.frame.image);
    totals.draw_ms += ms_since(start);
    totals.frames += 1;
    totals.faces += static_cast<int>(p.faces.size());
    totals.decode_ms += p.frame.decode_ms;
    totals.detect_ms += p.detect_ms;
    totals.classify_ms += p.classify_ms;
  }

  // Renames the video and JSON into place; returns where the results are.
  std::string finish() {
    std::string where;
    if (video_) {
      video_->finish();
      where += "annotated video: " + video_->path() + "\n";
    } else if (!options_.output.empty() && totals.frames > 0) {
      where += "annotated images: " + options_.output + "\n";
    }
    if (json_) {
      json_->finish();
      where += "JSON lines: " + json_->path() + "\n";
    }
    return where;
  }

  Totals totals;

 private:
  void show(const cv::Mat& image) {
    cv::imshow("facekit-infer", image);
    const int key = cv::waitKey(1);
    if (key == 'q' || key == kEscape) g_stop = true;
  }

  const InferOptions& options_;
  const AgeGenderConfig& config_;
  ImageWriter images_;
  std::unique_ptr<JsonLines> json_;
  std::unique_ptr<VideoWriter> video_;
};

void print_summary(const Totals& t, bool video, double wall_ms) {
  const double n = std::max(1, t.frames);
  std::cerr << std::fixed << std::setprecision(1) << t.frames << (video ? " frames" : " images");
  if (t.skipped > 0) std::cerr << " (" << t.skipped << " skipped, unreadable)";
  std::cerr << ", " << t.faces << " faces; ms per " << (video ? "frame" : "image") << ": decode " << t.decode_ms / n
            << ", detect " << t.detect_ms / n << ", classify " << t.classify_ms / n << ", draw " << t.draw_ms / n << "; "
            << std::setprecision(2) << t.frames / (wall_ms / 1000) << (video ? " frames" : " images")
            << "/s overall (stages overlap)\n";
}

// Three threads: decode -> detect + classify -> draw + write, with a few frames queued between
// them, so reading and drawing overlap with the network.
Totals run_pipeline(FrameSource* source, FaceStage* faces, OutputStage* output) {
  BoundedQueue<Frame> decoded(kQueuedFrames);
  BoundedQueue<Processed> computed(kQueuedFrames);
  std::exception_ptr failure;
  std::thread reader([&] {
    try {
      Frame frame;
      while (!g_stop && source->next(&frame)) {
        if (!decoded.push(std::move(frame))) break;
      }
    } catch (...) {
      failure = std::current_exception();
    }
    decoded.close();
  });
  std::exception_ptr write_failure;
  std::thread writer([&] {
    try {
      while (auto p = computed.pop()) output->write(*p);
    } catch (...) {
      write_failure = std::current_exception();
      g_stop = true;
      decoded.close();
      computed.close();
    }
  });
  std::exception_ptr compute_failure;
  try {
    while (auto frame = decoded.pop()) {
      if (!computed.push(faces->run(std::move(*frame)))) break;
    }
  } catch (...) {
    compute_failure = std::current_exception();
    g_stop = true;
    decoded.close();
  }
  computed.close();
  reader.join();
  writer.join();
  for (const auto& e : {compute_failure, write_failure, failure}) {
    if (e) std::rethrow_exception(e);
  }
  return output->totals;
}

InferOptions read_options(const cli::po::variables_map& vm) {
  InferOptions o;
  o.input = vm["input"].as<std::string>();
  o.output = vm["output"].as<std::string>();
  o.json = vm["json"].as<std::string>();
  o.verbose_labels = vm.count("verbose-labels") > 0;
  o.show = vm.count("show") > 0;
  o.every = vm["every"].as<int>();
  o.filter = {vm["min-face"].as<float>(), vm["max-faces"].as<int>()};
  o.smoothing = vm["smoothing"].as<float>();
  if (o.every < 1) throw cli::UsageError("--every must be >= 1");
  if (o.smoothing <= 0 || o.smoothing > 1) throw cli::UsageError("--smoothing must be in (0, 1]");
  return o;
}

}  // namespace

int run_infer(const std::vector<std::string>& args) {
  cli::po::options_description options("facekit-infer");
  options.add_options()
      ("input,i", value<std::string>()->required(), "an image, a folder (recursive), a video file, cam:N or a stream URL")
      ("detector", value<std::string>()->default_value(""), "X.weights (cfg beside it), X.pt or X.onnx (default: the shipped detector)")
      ("cfg", value<std::string>()->default_value(""), "the cfg of a .weights detector when not beside it")
      ("backend", value<std::string>()->default_value("auto"), "torch (LibTorch), onnx (OpenCV dnn; exports .weights/.pt first) or auto (by extension)")
      ("output,o", value<std::string>()->default_value(kDefaultOutput), "annotated images go to this folder (or this file for one image); a video to DIR/NAME.avi or this .avi/.mp4; '' writes none")
      ("json", value<std::string>()->default_value(""), "JSON lines: one record per image or frame")
      ("conf-thresh", value<float>()->default_value(kDefaultConfThresh, "0.25"), "detections below this score are dropped")
      ("nms-thresh", value<float>()->default_value(kDefaultNmsThresh, "0.45"), "non-maximum suppression IoU")
      ("min-face", value<float>()->default_value(0), "drop faces whose longer side is below this many pixels")
      ("max-faces", value<int>()->default_value(0), "keep the most confident faces per frame (0: all)")
      ("every", value<int>()->default_value(1), "video: detect every N frames, track in between")
      ("smoothing", value<float>()->default_value(0.3f, "0.3"), "video: weight of the newest frame in each face's running label (1: no smoothing)")
      ("verbose-labels", "labels with confidences and estimated years")
      ("show", "show the annotated frames in a window (q or Esc stops)");
  cli::add_input_size_option(&options);
  cli::add_detector_tta_option(&options);
  cli::add_classifier_option(&options, "classifier");
  cli::add_tta_option(&options);
  cli::add_crop_margin_option(&options);
  cli::add_runtime_options(&options);
  const std::string usage =
      "usage: facekit-infer --input PATH [--detector M [--input-size S[,S...]] [--detector-tta]] [--classifier M]...\n"
      "                     [--backend torch|onnx] [--output PATH] [--json PATH]";
  cli::po::variables_map vm;
  if (!cli::parse_options(args, options, usage, &vm)) return cli::kExitOk;
  const InferOptions o = read_options(vm);
  const torch::Device device = cli::apply_runtime_options(vm);
  auto source = open_source(o.input);
  ModelFiles files{vm["detector"].as<std::string>(), vm["cfg"].as<std::string>(), {}, cli::input_sizes(vm),
                   vm["detector-tta"].as<bool>()};
  files.classifiers = cli::classifier_files(vm, "classifier");
  Models models = load_models(files, parse_backend(vm["backend"].as<std::string>()),
                              {vm["conf-thresh"].as<float>(), vm["nms-thresh"].as<float>()}, device);
  cli::apply_tta_option(vm, &models.classifier);
  cli::apply_crop_margin_option(vm, &models.classifier);
  std::cerr << models.description << "input: " << source->describe() << "\n";
  FaceStage faces(models, o, source->is_video());
  OutputStage output(o, *source, models.classifier.config);
  g_stop = false;
  const auto previous_handler = std::signal(SIGINT, request_stop);
  const auto start = Clock::now();
  Totals totals;
  try {
    totals = run_pipeline(source.get(), &faces, &output);
  } catch (...) {
    std::signal(SIGINT, previous_handler);
    throw;
  }
  std::signal(SIGINT, previous_handler);
  print_summary(totals, source->is_video(), ms_since(start));
  std::cerr << output.finish();
  if (totals.frames == 0) {
    std::cerr << "facekit-infer: nothing could be processed: every input was unreadable\n";
    return cli::kExitFailure;
  }
  return cli::kExitOk;
}

}  // namespace facekit::infer

namespace facekit::cli {
Command infer_command() {
  return {"infer", "detect faces, predict gender and age, draw and write JSON (same as facekit-infer)", infer::run_infer};
}
}  // namespace facekit::cli
