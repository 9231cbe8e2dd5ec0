#include "train/run_log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/atomic_file.h"

namespace facekit::train {
namespace {

namespace fs = std::filesystem;

constexpr int kPanelW = 420, kPanelH = 300, kPad = 45;
constexpr double kPrintEverySeconds = 0.5;
// A panel whose positive values span more than this ratio is drawn on a log scale: a detector's loss
// falls from thousands to a few, and on a linear axis everything after the first iterations is flat.
constexpr double kLogScaleRatio = 100;
const cv::Scalar kPalette[] = {{200, 80, 20}, {40, 160, 40}, {30, 30, 220}, {160, 40, 160}, {20, 150, 200}, {90, 90, 90}};

// Columns are grouped into panels by their last word: `train_loss` and `val_loss` share "loss".
std::string family(const std::string& column) {
  const auto underscore = column.rfind('_');
  return underscore == std::string::npos ? column : column.substr(underscore + 1);
}

void draw_panel(cv::Mat* canvas, cv::Rect area, const std::string& title, const std::vector<int>& columns,
                const std::vector<std::string>& names, const std::vector<std::vector<double>>& rows, const std::string& x_name) {
  double low = INFINITY, high = -INFINITY;
  for (const auto& row : rows) {
    for (int c : columns) {
      if (std::isfinite(row[c + 1])) low = std::min(low, row[c + 1]), high = std::max(high, row[c + 1]);
    }
  }
  if (!(high >= low)) return;
  if (high == low) high = low + 1;
  const bool log_scale = low > 0 && high / low > kLogScaleRatio;
  const auto y_of = [log_scale](double v) { return log_scale ? std::log10(v) : v; };
  const double bottom = y_of(low), top = y_of(high);
  const double first = rows.front()[0], last = std::max(rows.back()[0], first + 1);
  const cv::Rect plot(area.x + kPad, area.y + kPad / 2 + 10, area.width - kPad - 10, area.height - kPad - 10);
  cv::rectangle(*canvas, plot, cv::Scalar(0, 0, 0));
  cv::putText(*canvas, title + (log_scale ? " (log scale)" : ""), {plot.x, area.y + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
              cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  char label[32];
  std::snprintf(label, sizeof(label), "%.4g", high);
  cv::putText(*canvas, label, {area.x + 2, plot.y + 10}, cv::FONT_HERSHEY_SIMPLEX, 0.35, cv::Scalar(0, 0, 0));
  std::snprintf(label, sizeof(label), "%.4g", low);
  cv::putText(*canvas, label, {area.x + 2, plot.br().y}, cv::FONT_HERSHEY_SIMPLEX, 0.35, cv::Scalar(0, 0, 0));
  cv::putText(*canvas, x_name + " " + std::to_string(static_cast<long>(last)), {plot.br().x - 60, plot.br().y + 15}, cv::FONT_HERSHEY_SIMPLEX, 0.35, cv::Scalar(0, 0, 0));
  for (size_t k = 0; k < columns.size(); ++k) {
    const cv::Scalar colour = kPalette[k % 6];
    std::vector<cv::Point> points;
    for (const auto& row : rows) {
      const double v = row[columns[k] + 1];
      if (!std::isfinite(v)) continue;
      points.emplace_back(plot.x + static_cast<int>((row[0] - first) / (last - first) * plot.width),
                          plot.br().y - static_cast<int>((y_of(v) - bottom) / (top - bottom) * plot.height));
    }
    cv::polylines(*canvas, points, false, colour, 2, cv::LINE_AA);
    for (const auto& p : points) cv::circle(*canvas, p, 2, colour, cv::FILLED);
    cv::putText(*canvas, names[columns[k]], {plot.x + 8, plot.y + 16 + 16 * static_cast<int>(k)}, cv::FONT_HERSHEY_SIMPLEX,
                0.4, colour, 1, cv::LINE_AA);
  }
}

}  // namespace

RunLog::RunLog(std::string folder, std::vector<std::string> columns, std::string x_name)
    : folder_(std::move(folder)), columns_(std::move(columns)), x_name_(std::move(x_name)) {}

void RunLog::restore(int last_x) {
  std::ifstream file(fs::path(folder_) / "results.csv");
  std::string line;
  if (!file || !std::getline(file, line)) return;
  while (std::getline(file, line)) {
    std::vector<double> row;
    // Split at every comma: a trailing empty field (a NaN in the last column) is a field too.
    for (size_t begin = 0, comma;; begin = comma + 1) {
      comma = line.find(',', begin);
      const std::string field = line.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
      row.push_back(field.empty() ? NAN : std::stod(field));
      if (comma == std::string::npos) break;
    }
    if (row.size() == columns_.size() + 1 && row[0] <= last_x) rows_.push_back(row);
  }
}

void RunLog::add(int x, const std::map<std::string, double>& values) {
  std::vector<double> row{static_cast<double>(x)};
  for (const auto& c : columns_) {
    const auto it = values.find(c);
    row.push_back(it == values.end() ? NAN : it->second);
  }
  rows_.push_back(row);
  write_csv();
  write_plot();
}

void RunLog::write_csv() const {
  write_file_atomically((fs::path(folder_) / "results.csv").string(), [&](std::ostream& out) {
    out << x_name_;
    for (const auto& c : columns_) out << "," << c;
    out << "\n";
    out.precision(8);
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) {
        out << (i ? "," : "");
        if (std::isfinite(row[i])) out << row[i];
      }
      out << "\n";
    }
  });
}

void RunLog::write_plot() const {
  std::vector<std::string> families;
  for (const auto& c : columns_) {
    if (std::find(families.begin(), families.end(), family(c)) == families.end()) families.push_back(family(c));
  }
  const int across = std::min<int>(3, families.size());
  const int down = (static_cast<int>(families.size()) + across - 1) / across;
  cv::Mat canvas(down * kPanelH, across * kPanelW, CV_8UC3, cv::Scalar(255, 255, 255));
  for (size_t f = 0; f < families.size(); ++f) {
    std::vector<int> members;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (family(columns_[c]) == families[f]) members.push_back(static_cast<int>(c));
    }
    const cv::Rect area(static_cast<int>(f % across) * kPanelW, static_cast<int>(f / across) * kPanelH, kPanelW, kPanelH);
    draw_panel(&canvas, area, families[f], members, columns_, rows_, x_name_);
  }
  std::vector<uchar> png;
  cv::imencode(".png", canvas, png);
  write_file_atomically((fs::path(folder_) / "curves.png").string(), [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  });
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof(text), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof(text), "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

Progress::Progress(int total_steps, int first_step)
    : total_(total_steps), first_(first_step), start_(Clock::now()), last_print_(start_) {}

void Progress::step(int step, int images, const std::vector<std::pair<std::string, double>>& terms, const std::string& prefix) {
  images_ += images;
  const auto now = Clock::now();
  const bool last = step + 1 >= total_;
  if (!last && std::chrono::duration<double>(now - last_print_).count() < kPrintEverySeconds) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int done = step + 1 - first_;
  const double eta = done > 0 ? elapsed / done * (total_ - step - 1) : 0;
  constexpr int kBar = 20;
  const int filled = total_ > 0 ? kBar * (step + 1) / total_ : kBar;
  std::ostringstream line;
  line << "\r" << prefix << " [" << std::string(filled, '#') << std::string(kBar - filled, '.') << "] " << step + 1 << "/"
       << total_;
  line.precision(4);
  for (const auto& [name, value] : terms) line << " " << name << " " << value;
  line.precision(1);
  line << std::fixed << " " << (elapsed > 0 ? images_ / elapsed : 0.0) << " img/s ETA " << format_duration(eta) << "   ";
  std::cerr << line.str() << std::flush;
}

void Progress::finish_line() { std::cerr << "\n"; }

}  // namespace facekit::train
