#include "tools/infer/sources.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

namespace facekit::infer {
namespace {

namespace fs = std::filesystem;

const char* const kImageExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"};
const char* const kVideoExtensions[] = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"};
constexpr const char* kCameraPrefix = "cam:";

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

template <size_t N>
bool has_extension(const fs::path& path, const char* const (&extensions)[N]) {
  const std::string ext = lower_extension(path);
  return std::find(std::begin(extensions), std::end(extensions), ext) != std::end(extensions);
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

class ImageSource : public FrameSource {
 public:
  ImageSource(std::vector<fs::path> paths, fs::path root, std::string what)
      : paths_(std::move(paths)), root_(std::move(root)), what_(std::move(what)) {}

  bool next(Frame* frame) override {
    if (position_ >= paths_.size()) return false;
    const fs::path& path = paths_[position_];
    const auto start = std::chrono::steady_clock::now();
    *frame = Frame{path.string(), static_cast<int>(position_), cv::imread(path.string(), cv::IMREAD_COLOR), "",
                   root_.empty() ? path.filename().string() : fs::relative(path, root_).string(), 0};
    frame->decode_ms = ms_since(start);
    if (frame->image.empty()) frame->error = "cannot decode the image (corrupt, truncated or not an image)";
    ++position_;
    return true;
  }
  bool is_video() const override { return false; }
  std::string describe() const override { return what_; }

 private:
  std::vector<fs::path> paths_;
  fs::path root_;
  std::string what_;
  size_t position_ = 0;
};

class VideoSource : public FrameSource {
 public:
  VideoSource(std::unique_ptr<cv::VideoCapture> capture, std::string name)
      : capture_(std::move(capture)), name_(std::move(name)) {}

  bool next(Frame* frame) override {
    const auto start = std::chrono::steady_clock::now();
    cv::Mat image;
    if (!capture_->read(image) || image.empty()) return false;
    *frame = Frame{name_, index_++, image, "", "", ms_since(start)};
    return true;
  }
  bool is_video() const override { return true; }
  double fps() const override { return capture_->get(cv::CAP_PROP_FPS); }
  cv::Size frame_size() const override {
    return {static_cast<int>(capture_->get(cv::CAP_PROP_FRAME_WIDTH)), static_cast<int>(capture_->get(cv::CAP_PROP_FRAME_HEIGHT))};
  }
  std::string describe() const override {
    const cv::Size size = frame_size();
    return "video " + name_ + ", " + std::to_string(size.width) + "x" + std::to_string(size.height) + " at " +
           std::to_string(fps()).substr(0, 5) + " fps";
  }

 private:
  std::unique_ptr<cv::VideoCapture> capture_;
  std::string name_;
  int index_ = 0;
};

std::unique_ptr<FrameSource> open_video(const std::string& input) {
  auto capture = std::make_unique<cv::VideoCapture>();
  if (input.rfind(kCameraPrefix, 0) == 0) {
    const std::string index = input.substr(std::string(kCameraPrefix).size());
    if (index.empty() || !std::all_of(index.begin(), index.end(), ::isdigit)) {
      throw std::runtime_error(input + ": a webcam is cam:N with N its index, e.g. cam:0");
    }
    capture->open(std::stoi(index));
  } else {
    capture->open(input);
  }
  if (!capture->isOpened()) throw std::runtime_error(input + ": cannot open this video, stream or webcam");
  return std::make_unique<VideoSource>(std::move(capture), input);
}

std::unique_ptr<FrameSource> open_folder(const fs::path& folder) {
  std::vector<fs::path> images;
  for (const auto& entry : fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied)) {
    if (entry.is_regular_file() && has_extension(entry.path(), kImageExtensions)) images.push_back(entry.path());
  }
  if (images.empty()) {
    throw std::runtime_error(folder.string() + ": no images in this folder (looked for .jpg .jpeg .png .bmp .tif .webp)");
  }
  std::sort(images.begin(), images.end());
  const std::string what = std::to_string(images.size()) + " images in " + folder.string();
  return std::make_unique<ImageSource>(std::move(images), folder, what);
}

}  // namespace

bool is_video_path(const std::string& path) { return has_extension(path, kVideoExtensions); }

std::unique_ptr<FrameSource> open_source(const std::string& input) {
  if (input.rfind(kCameraPrefix, 0) == 0 || input.find("://") != std::string::npos) return open_video(input);
  std::error_code error;
  const auto status = fs::status(input, error);
  if (!fs::exists(status)) throw std::runtime_error(input + ": no such file or folder");
  if (fs::is_directory(status)) return open_folder(input);
  if (is_video_path(input)) return open_video(input);
  return std::make_unique<ImageSource>(std::vector<fs::path>{input}, fs::path(), "image " + input);
}

}  // namespace facekit::infer
