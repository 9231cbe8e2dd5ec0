#include "eval/draw_errors.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <filesystem>
#include <numeric>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/atomic_file.h"
#include "datasets/preprocess.h"

namespace facekit::eval {
namespace {

namespace fs = std::filesystem;

// BGR. Red and blue stay apart for the common red-green colour blindness; green is the "fine" case.
const cv::Scalar kMissedColour(0, 0, 230), kFalsePositiveColour(230, 120, 0), kTruePositiveColour(0, 190, 0);
const cv::Scalar kLegendBackground(255, 255, 255), kTextColour(0, 0, 0);
constexpr int kLegendHeight = 22;  // a band above the image, so the legend never hides a face
constexpr int kLineWidth = 2;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kFontScale = 0.45;
constexpr int kSwatch = 12, kLegendPadding = 4;
constexpr size_t kRankDigits = 3;

void draw_boxes(cv::Mat* canvas, const std::vector<Box>& boxes, const cv::Scalar& colour) {
  for (const auto& b : boxes) {
    cv::rectangle(*canvas, cv::Point(cvRound(b.x1), cvRound(b.y1) + kLegendHeight),
                  cv::Point(cvRound(b.x2), cvRound(b.y2) + kLegendHeight), colour, kLineWidth);
  }
}

// Legend entries ("missed 3", ...) and where each starts; the last entry is the threshold.
struct Legend {
  std::vector<std::string> texts;
  std::vector<int> x;
  int width = 0;
};

Legend make_legend(const ImageErrors& errors, float score_threshold) {
  char threshold[32];
  std::snprintf(threshold, sizeof(threshold), "at score %.2f", score_threshold);
  Legend legend{{"missed " + std::to_string(errors.missed.size()), "false pos. " + std::to_string(errors.false_positives.size()),
                 "true pos. " + std::to_string(errors.true_positives.size()), threshold},
                {},
                kLegendPadding};
  for (const auto& text : legend.texts) {
    legend.x.push_back(legend.width);
    int baseline = 0;
    legend.width += kSwatch + kLegendPadding + cv::getTextSize(text, kFont, kFontScale, 1, &baseline).width + 2 * kLegendPadding;
  }
  return legend;
}

cv::Mat draw_image(const cv::Mat& bgr, const ImageErrors& errors, float score_threshold) {
  const Legend legend = make_legend(errors, score_threshold);
  cv::Mat canvas;  // the image with a band above for the legend, widened if the legend needs it
  cv::copyMakeBorder(bgr, canvas, kLegendHeight, 0, 0, std::max(0, legend.width - bgr.cols), cv::BORDER_CONSTANT,
                     kLegendBackground);
  draw_boxes(&canvas, errors.true_positives, kTruePositiveColour);
  draw_boxes(&canvas, errors.false_positives, kFalsePositiveColour);
  draw_boxes(&canvas, errors.missed, kMissedColour);
  const cv::Scalar colours[] = {kMissedColour, kFalsePositiveColour, kTruePositiveColour};
  for (size_t i = 0; i < legend.texts.size(); ++i) {
    int x = legend.x[i] + kLegendPadding;
    if (i < std::size(colours)) {
      cv::rectangle(canvas, cv::Rect(x, (kLegendHeight - kSwatch) / 2, kSwatch, kSwatch), colours[i], cv::FILLED);
      x += kSwatch + kLegendPadding;
    }
    cv::putText(canvas, legend.texts[i], {x, kLegendHeight - 6}, kFont, kFontScale, kTextColour, 1, cv::LINE_AA);
  }
  return canvas;
}

void write_png(const cv::Mat& image, const std::string& path) {
  std::vector<uchar> png;
  if (!cv::imencode(".png", image, png)) throw std::runtime_error(path + ": cannot encode PNG");
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  });
}

}  // namespace

std::vector<std::string> draw_worst_images(const std::vector<ImageDetections>& images, float iou_threshold,
                                           float score_threshold, size_t count, const std::string& folder) {
  std::vector<ImageErrors> errors;
  for (const auto& image : images) errors.push_back(image_errors(image, iou_threshold, score_threshold));
  std::vector<size_t> order(images.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return errors[a].count() > errors[b].count(); });
  fs::create_directories(folder);
  std::vector<std::string> written;
  for (size_t rank = 0; rank < std::min(count, order.size()) && errors[order[rank]].count() > 0; ++rank) {
    const auto& image = images[order[rank]];
    std::string number = std::to_string(rank + 1);
    number.insert(0, number.size() < kRankDigits ? kRankDigits - number.size() : 0, '0');  // 001_ sorts first
    const std::string path = (fs::path(folder) / (number + "_" + fs::path(image.image).stem().string() + ".png")).string();
    write_png(draw_image(read_image(image.image), errors[order[rank]], score_threshold), path);
    written.push_back(path);
  }
  return written;
}

}  // namespace facekit::eval
