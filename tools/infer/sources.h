// Where frames come from: one image, a folder of images (recursively, in sorted order), a video
// file, a webcam (`cam:0`) or a stream URL (anything with "://", read by OpenCV's VideoCapture).
#pragma once

#include <memory>
#include <string>

#include <opencv2/core.hpp>

namespace facekit::infer {

struct Frame {
  std::string source;  // the image's path, or the video's name
  int index = 0;       // frame number in a video, image number in a folder
  cv::Mat image;       // BGR 8-bit; empty when it could not be read...
  std::string error;   // ...and this says why
  std::string relative_path;  // images: the path below the input folder (names the output file)
  double decode_ms = 0;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame; false at the end.
  virtual bool next(Frame* frame) = 0;
  virtual bool is_video() const = 0;
  virtual double fps() const { return 0; }
  virtual cv::Size frame_size() const { return {}; }
  virtual std::string describe() const = 0;  // "12 images in DIR", "video x.mp4, 640x480 at 25 fps"
};

// Throws std::runtime_error naming `input` when it does not exist, is an empty folder or a video
// that cannot be opened.
std::unique_ptr<FrameSource> open_source(const std::string& input);

bool is_video_path(const std::string& path);  // by extension: .mp4 .avi .mov .mkv .webm ...

}  // namespace facekit::infer
