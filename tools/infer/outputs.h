// What facekit-infer writes: annotated images (one per input image, same relative path), an
// annotated video (the input's fps and size), and JSON lines (one record per image or frame).
// Every file appears only when complete: images are written atomically, the video and the JSON
// go to a ".partial" name and are renamed when the run ends.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include "models/classifier/age_gender_net.h"
#include "tools/infer/faces.h"
#include "tools/infer/sources.h"

namespace facekit::infer {

// A file written under a temporary name and renamed into place by finish().
class PartialFile {
 public:
  explicit PartialFile(std::string path);
  const std::string& partial_path() const { return partial_; }
  const std::string& path() const { return path_; }
  void finish();  // renames; throws naming the file when that fails

 private:
  std::string path_, partial_;
};

// One JSON object per line: {"source", "frame", "faces": [{"box", "score", "gender", "gender_prob",
// "age", "age_prob", "age_dist", "age_years"?, "track"?}], "error"?}.
// "age" is Face::age (from age_years where there is one), "age_prob" the interval head's
// probability of it.
std::string json_record(const Frame& frame, const std::vector<Face>& faces, const AgeGenderConfig& config);

class JsonLines {
 public:
  explicit JsonLines(const std::string& path);
  void write(const std::string& record);
  void finish();
  const std::string& path() const { return file_.path(); }

 private:
  PartialFile file_;
  std::ofstream out_;
};

// Annotated images under a folder, or one image file when `path` has an image extension.
class ImageWriter {
 public:
  explicit ImageWriter(std::string path);  // checks the folder is writable; "" writes nothing
  std::string write(const Frame& frame, const cv::Mat& annotated) const;  // returns the path written

 private:
  std::string path_;
};

// The annotated video: `path` itself when it has a video extension, else PATH/<input name>.avi.
class VideoWriter {
 public:
  // `source`: the input's name; `fps` <= 0 (some streams and webcams): 25.
  VideoWriter(const std::string& path, const std::string& source, double fps, cv::Size size);
  void write(const cv::Mat& annotated);
  void finish();
  const std::string& path() const { return file_.path(); }

 private:
  PartialFile file_;
  cv::VideoWriter writer_;
};

}  // namespace facekit::infer
