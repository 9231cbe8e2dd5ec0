#include "eval/plots.h"

#include <cstdio>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/atomic_file.h"

namespace facekit::eval {
namespace {

constexpr int kWidth = 640, kHeight = 520, kMargin = 60;
const cv::Scalar kColours[] = {{200, 80, 20}, {40, 160, 40}, {30, 30, 220}, {160, 40, 160}};

cv::Point to_pixel(double recall, double precision) {
  const int plot_w = kWidth - 2 * kMargin, plot_h = kHeight - 2 * kMargin;
  return {kMargin + static_cast<int>(recall * plot_w), kHeight - kMargin - static_cast<int>(precision * plot_h)};
}

}  // namespace

void plot_pr_curves(const std::vector<SizeBucket>& buckets, const std::string& title, const std::string& path) {
  cv::Mat canvas(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int k = 0; k <= 10; ++k) {
    const double v = k / 10.0;
    cv::line(canvas, to_pixel(v, 0), to_pixel(v, 1), cv::Scalar(230, 230, 230));
    cv::line(canvas, to_pixel(0, v), to_pixel(1, v), cv::Scalar(230, 230, 230));
    char label[8];
    std::snprintf(label, sizeof(label), "%.1f", v);
    cv::putText(canvas, label, to_pixel(v, 0) + cv::Point(-10, 20), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0));
    cv::putText(canvas, label, to_pixel(0, v) + cv::Point(-35, 5), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0));
  }
  cv::rectangle(canvas, to_pixel(0, 1), to_pixel(1, 0), cv::Scalar(0, 0, 0));
  cv::putText(canvas, title, {kMargin, 30}, cv::FONT_HERSHEY_SIMPLEX, 0.6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::putText(canvas, "recall", {kWidth / 2 - 20, kHeight - 15}, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0));
  cv::putText(canvas, "precision", {5, kMargin - 10}, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0));
  for (size_t b = 0; b < buckets.size(); ++b) {
    const auto& curve = buckets[b].curve;
    const cv::Scalar colour = kColours[b % 4];
    std::vector<cv::Point> points;
    for (size_t i = 0; i < curve.recall.size(); ++i) points.push_back(to_pixel(curve.recall[i], curve.precision[i]));
    if (points.size() > 1) cv::polylines(canvas, points, false, colour, 2, cv::LINE_AA);
    char legend[64];
    std::snprintf(legend, sizeof(legend), "%s: AP50 %.3f (%d faces)", buckets[b].name.c_str(), buckets[b].ap50,
                  buckets[b].num_truth);
    const cv::Point at(kWidth - kMargin - 230, kMargin + 20 + 20 * static_cast<int>(b));
    cv::line(canvas, at + cv::Point(-25, -4), at + cv::Point(-5, -4), colour, 2);
    cv::putText(canvas, legend, at, cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  std::vector<uchar> png;
  if (!cv::imencode(".png", canvas, png)) throw std::runtime_error(path + ": cannot encode PNG");
  write_file_atomically(path, [&](std::ostream& out) { out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size())); });
}

}  // namespace facekit::eval
