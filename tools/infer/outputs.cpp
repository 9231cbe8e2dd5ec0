#include "tools/infer/outputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "datasets/atomic_file.h"

namespace facekit::infer {
namespace {

namespace fs = std::filesystem;

constexpr double kDefaultFps = 25;  // when a stream or webcam does not report its rate

bool has_image_extension(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// "video.mp4" -> "video", "cam:0" -> "cam0", "rtsp://host/x" -> "x".
std::string video_stem(const std::string& source) {
  std::string stem = fs::path(source).stem().string();
  stem.erase(std::remove_if(stem.begin(), stem.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-'; }),
             stem.end());
  return stem.empty() ? "video" : stem;
}

// The folder a file goes to, created and checked writable before anything runs.
void require_parent_folder(const fs::path& path) {
  require_writable_folder(path.has_parent_path() ? path.parent_path().string() : ".", 0);
}

}  // namespace

PartialFile::PartialFile(std::string path) : path_(std::move(path)) {
  const fs::path p(path_);
  require_parent_folder(p);
  // The extension stays last: OpenCV's VideoWriter picks the container from it.
  partial_ = (p.parent_path() / (p.stem().string() + ".partial" + p.extension().string())).string();
}

void PartialFile::finish() {
  std::error_code error;
  fs::rename(partial_, path_, error);
  if (error) throw std::runtime_error(path_ + ": cannot move " + partial_ + " into place: " + error.message());
}

std::string json_record(const Frame& frame, const std::vector<Face>& faces, const AgeGenderConfig& config) {
  nlohmann::json record = {{"source", frame.source}, {"frame", frame.index}, {"faces", nlohmann::json::array()}};
  if (!frame.error.empty()) record["error"] = frame.error;
  for (const auto& face : faces) {
    nlohmann::json f = {{"box", {face.box.x1, face.box.y1, face.box.x2, face.box.y2}}, {"score", face.score}};
    if (face.gender() >= 0) {
      f["gender"] = config.gender_labels[face.gender()];
      f["gender_prob"] = face.gender_dist[face.gender()];
      const int age = face.age(config.intervals);
      f["age"] = config.intervals[age].label();
      f["age_prob"] = face.age_dist[age];
      f["age_dist"] = face.age_dist;
    }
    if (face.age_years) f["age_years"] = *face.age_years;
    if (face.track >= 0) f["track"] = face.track;
    record["faces"].push_back(std::move(f));
  }
  return record.dump();
}

JsonLines::JsonLines(const std::string& path) : file_(path), out_(file_.partial_path()) {
  if (!out_) throw std::runtime_error(path + ": cannot write the JSON lines here");
}

void JsonLines::write(const std::string& record) {
  out_ << record << '\n';
  out_.flush();  // a record per line as it happens: readable while a video runs
  if (!out_) throw std::runtime_error(file_.partial_path() + ": write failed (disk full?)");
}

void JsonLines::finish() {
  out_.close();
  file_.finish();
}

ImageWriter::ImageWriter(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  if (has_image_extension(path_)) {
    require_parent_folder(path_);
  } else {
    require_writable_folder(path_, 0);
  }
}

std::string ImageWriter::write(const Frame& frame, const cv::Mat& annotated) const {
  fs::path target = has_image_extension(path_) ? fs::path(path_) : fs::path(path_) / frame.relative_path;
  if (!has_image_extension(target)) target += ".jpg";  // .tif, .webp... inputs become JPEGs
  fs::create_directories(target.parent_path());  // subfolders of the input folder
  std::vector<unsigned char> bytes;
  if (!cv::imencode(target.extension().string(), annotated, bytes)) {
    throw std::runtime_error(target.string() + ": cannot encode the annotated image");
  }
  write_file_atomically(target.string(), [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
  return target.string();
}

VideoWriter::VideoWriter(const std::string& path, const std::string& source, double fps, cv::Size size)
    : file_(is_video_path(path) ? path : (fs::path(path) / (video_stem(source) + ".avi")).string()) {
  const std::string ext = fs::path(file_.path()).extension().string();
  const int fourcc = ext == ".mp4" || ext == ".m4v" || ext == ".mov" ? cv::VideoWriter::fourcc('m', 'p', '4', 'v')
                                                                     : cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
  writer_.open(file_.partial_path(), fourcc, fps > 0 ? fps : kDefaultFps, size);
  if (!writer_.isOpened()) throw std::runtime_error(file_.path() + ": cannot write a video here (codec or folder)");
}

void VideoWriter::write(const cv::Mat& annotated) { writer_.write(annotated); }

void VideoWriter::finish() {
  writer_.release();
  file_.finish();
}

}  // namespace facekit::infer
