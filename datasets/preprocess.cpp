#include "datasets/preprocess.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace facekit {
namespace {

constexpr float kLetterboxFill = 0.5f;  // letterbox_image: fill_image(boxed, .5)

}  // namespace

cv::Mat read_image(const std::string& path) {
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) throw std::runtime_error(path + ": cannot read or decode the image");
  return image;
}

PlanarImage to_planar_rgb(const cv::Mat& bgr) {
  if (bgr.type() != CV_8UC3) throw std::invalid_argument("to_planar_rgb expects an 8-bit BGR image");
  PlanarImage out{bgr.cols, bgr.rows, 3, std::vector<float>(static_cast<size_t>(3) * bgr.cols * bgr.rows)};
  for (int y = 0; y < bgr.rows; ++y) {
    const auto* row = bgr.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgr.cols; ++x) {
      for (int k = 0; k < 3; ++k) {
        // Darknet divides in double (`data/255.`) and stores a float.
        out.at(x, y, k) = static_cast<float>(row[x][2 - k] / 255.);
      }
    }
  }
  return out;
}

PlanarImage darknet_resize(const PlanarImage& image, int w, int h) {
  if (w <= 0 || h <= 0) throw std::invalid_argument("darknet_resize: size must be positive");
  PlanarImage part{w, image.h, image.c, std::vector<float>(static_cast<size_t>(w) * image.h * image.c)};
  PlanarImage resized{w, h, image.c, std::vector<float>(static_cast<size_t>(w) * h * image.c)};
  const float w_scale = static_cast<float>(image.w - 1) / static_cast<float>(w - 1);
  const float h_scale = static_cast<float>(image.h - 1) / static_cast<float>(h - 1);
  for (int k = 0; k < image.c; ++k) {
    for (int r = 0; r < image.h; ++r) {
      for (int c = 0; c < w; ++c) {
        if (c == w - 1 || image.w == 1) {
          part.at(c, r, k) = image.at(image.w - 1, r, k);
        } else {
          const float sx = static_cast<float>(c) * w_scale;
          const int ix = static_cast<int>(sx);
          const float dx = sx - static_cast<float>(ix);
          part.at(c, r, k) = (1 - dx) * image.at(ix, r, k) + dx * image.at(ix + 1, r, k);
        }
      }
    }
  }
  for (int k = 0; k < image.c; ++k) {
    for (int r = 0; r < h; ++r) {
      const float sy = static_cast<float>(r) * h_scale;
      const int iy = static_cast<int>(sy);
      const float dy = sy - static_cast<float>(iy);
      for (int c = 0; c < w; ++c) resized.at(c, r, k) = (1 - dy) * part.at(c, iy, k);
      if (r == h - 1 || image.h == 1) continue;
      // Stored, then added: two roundings, as Darknet's set_pixel then add_pixel.
      for (int c = 0; c < w; ++c) resized.at(c, r, k) += dy * part.at(c, iy + 1, k);
    }
  }
  return resized;
}

PlanarImage letterbox(const PlanarImage& image, int w, int h, LetterboxGeometry* geometry) {
  int new_w = image.w, new_h = image.h;
  if (static_cast<float>(w) / image.w < static_cast<float>(h) / image.h) {
    new_w = w;
    new_h = (image.h * w) / image.w;
  } else {
    new_h = h;
    new_w = (image.w * h) / image.h;
  }
  const PlanarImage resized = darknet_resize(image, new_w, new_h);
  PlanarImage boxed{w, h, image.c, std::vector<float>(static_cast<size_t>(w) * h * image.c, kLetterboxFill)};
  const int dx = (w - new_w) / 2, dy = (h - new_h) / 2;
  for (int k = 0; k < image.c; ++k) {
    for (int y = 0; y < new_h; ++y) {
      for (int x = 0; x < new_w; ++x) boxed.at(x + dx, y + dy, k) = resized.at(x, y, k);
    }
  }
  if (geometry) *geometry = {w, h, image.w, image.h, new_w, new_h, dx, dy};
  return boxed;
}

PlanarImage fit_to_input(const PlanarImage& image, int w, int h, bool use_letterbox,
                         LetterboxGeometry* geometry) {
  if (use_letterbox) return letterbox(image, w, h, geometry);
  if (geometry) *geometry = {w, h, image.w, image.h, w, h, 0, 0};
  return darknet_resize(image, w, h);
}

cv::Mat face_crop(const cv::Mat& bgr, const Box& face, const FaceCropOptions& options) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw std::invalid_argument("face_crop expects an 8-bit BGR image");
  if (!(face.width() > 0 && face.height() > 0)) throw std::invalid_argument("face_crop: the face box is empty");
  if (options.size <= 0 || !(options.margin > 0)) throw std::invalid_argument("face_crop: size and margin must be positive");
  const float cx = (face.x1 + face.x2) / 2, cy = (face.y1 + face.y2) / 2;
  const int side = std::max(1, static_cast<int>(std::lround(std::max(face.width(), face.height()) * options.margin)));
  const int x0 = static_cast<int>(std::lround(cx - side / 2.f)), y0 = static_cast<int>(std::lround(cy - side / 2.f));
  const cv::Rect square(x0, y0, side, side);
  const cv::Rect inside = square & cv::Rect(0, 0, bgr.cols, bgr.rows);
  cv::Mat padded(side, side, CV_8UC3, options.fill);
  if (!inside.empty()) bgr(inside).copyTo(padded(inside - square.tl()));
  cv::Mat out;
  const int interpolation = side > options.size ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::resize(padded, out, cv::Size(options.size, options.size), 0, 0, interpolation);
  return out;
}

FaceCropOptions zoomed(FaceCropOptions crop, float zoom) {
  if (!(zoom > 0)) throw std::invalid_argument("zoomed: the zoom must be positive");
  crop.margin /= zoom;
  return crop;
}

void append_normalised_chw(const cv::Mat& bgr, const Normalisation& norm, std::vector<float>* out) {
  if (bgr.type() != CV_8UC3) throw std::invalid_argument("append_normalised_chw expects an 8-bit BGR image");
  const size_t plane = static_cast<size_t>(bgr.rows) * bgr.cols, start = out->size();
  out->resize(start + 3 * plane);
  float* rgb = out->data() + start;
  for (int y = 0; y < bgr.rows; ++y) {
    const auto* row = bgr.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgr.cols; ++x) {
      const size_t i = static_cast<size_t>(y) * bgr.cols + x;
      for (int k = 0; k < 3; ++k) rgb[k * plane + i] = (row[x][2 - k] / 255.f - norm.mean[k]) / norm.std[k];
    }
  }
}

}  // namespace facekit
