#include "eval/confusion_plot.h"

#include <cstdio>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/atomic_file.h"

namespace facekit::eval {
namespace {

constexpr int kCell = 72, kLabelSpace = 110, kTitleSpace = 50;
constexpr double kFontScale = 0.42;
const cv::Scalar kBlack(0, 0, 0), kWhite(255, 255, 255);

void put_centred(cv::Mat* canvas, const std::string& text, cv::Point centre, const cv::Scalar& colour) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, kFontScale, 1, &baseline);
  cv::putText(*canvas, text, centre + cv::Point(-size.width / 2, size.height / 2), cv::FONT_HERSHEY_SIMPLEX, kFontScale,
              colour, 1, cv::LINE_AA);
}

}  // namespace

void plot_confusion_matrix(const std::vector<std::vector<int>>& confusion, const std::vector<std::string>& labels,
                           const std::string& title, const std::string& path) {
  const int n = static_cast<int>(confusion.size());
  if (n == 0 || labels.size() != confusion.size()) throw std::invalid_argument(path + ": one label per confusion row");
  const int side = kLabelSpace + n * kCell + 20;
  cv::Mat canvas(side + kTitleSpace, side, CV_8UC3, kWhite);
  cv::putText(canvas, title, {10, 25}, cv::FONT_HERSHEY_SIMPLEX, 0.55, kBlack, 1, cv::LINE_AA);
  const cv::Point origin(kLabelSpace, kTitleSpace + kLabelSpace);
  put_centred(&canvas, "predicted", {origin.x + n * kCell / 2, kTitleSpace + 15}, kBlack);
  cv::putText(canvas, "label", {5, origin.y - 10}, cv::FONT_HERSHEY_SIMPLEX, kFontScale, kBlack, 1, cv::LINE_AA);
  for (int r = 0; r < n; ++r) {
    int total = 0;
    for (int c : confusion[r]) total += c;
    put_centred(&canvas, labels[r], {origin.x + r * kCell + kCell / 2, origin.y - 20}, kBlack);
    put_centred(&canvas, labels[r], {kLabelSpace / 2, origin.y + r * kCell + kCell / 2}, kBlack);
    for (int c = 0; c < n; ++c) {
      const double share = total ? static_cast<double>(confusion[r][c]) / total : 0;
      const cv::Rect cell(origin.x + c * kCell, origin.y + r * kCell, kCell, kCell);
      const double fade = 1 - share;  // white (0 %) to dark blue (100 %)
      cv::rectangle(canvas, cell, cv::Scalar(140 + 115 * fade, 40 + 215 * fade, 20 + 235 * fade), cv::FILLED);
      cv::rectangle(canvas, cell, cv::Scalar(200, 200, 200));
      const cv::Scalar ink = share > 0.5 ? kWhite : kBlack;
      char percent[16];
      std::snprintf(percent, sizeof(percent), "%.0f%%", 100 * share);
      put_centred(&canvas, std::to_string(confusion[r][c]), {cell.x + kCell / 2, cell.y + kCell / 2 - 9}, ink);
      put_centred(&canvas, percent, {cell.x + kCell / 2, cell.y + kCell / 2 + 11}, ink);
    }
  }
  std::vector<uchar> png;
  if (!cv::imencode(".png", canvas, png)) throw std::runtime_error(path + ": cannot encode PNG");
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  });
}

}  // namespace facekit::eval
