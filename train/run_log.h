// What a training run leaves behind besides its weights: `results.csv` (a header, one row per
// epoch, rewritten atomically so a kill never leaves half a row), `curves.png` (every column
// against the epoch, one panel per metric family), and the progress line on the terminal.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace facekit::train {

class RunLog {
 public:
  // `columns`: the metrics in the order they appear in the CSV, after the first column `x_name`
  // (the epoch for the classifier, the iteration for the detector).
  RunLog(std::string folder, std::vector<std::string> columns, std::string x_name = "epoch");
  // Reads an existing results.csv (for --resume); rows after `last_x` are dropped.
  void restore(int last_x);
  void add(int x, const std::map<std::string, double>& values);  // writes CSV and PNG
  const std::vector<std::vector<double>>& rows() const { return rows_; }

 private:
  void write_csv() const;
  void write_plot() const;

  std::string folder_;
  std::vector<std::string> columns_;
  std::string x_name_;
  std::vector<std::vector<double>> rows_;  // x first, then columns_
};

// One line, rewritten in place: `epoch 3/30 [####....] 120/600 loss 1.234 ... lr 0.01 45 img/s ETA 1:23:45`.
class Progress {
 public:
  Progress(int total_steps, int first_step);
  // `images`: images processed in this step; `terms`: what to show, in order.
  void step(int step, int images, const std::vector<std::pair<std::string, double>>& terms, const std::string& prefix);
  void finish_line();

 private:
  using Clock = std::chrono::steady_clock;
  int total_, first_;
  Clock::time_point start_, last_print_;
  long images_ = 0;
};

std::string format_duration(double seconds);  // "1:02:03" or "2:03"

}  // namespace facekit::train
