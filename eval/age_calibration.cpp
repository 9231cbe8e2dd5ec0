#include "eval/age_calibration.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace facekit::eval {
namespace {

constexpr int kGoldenSectionSteps = 100;  // the scale's bracket shrinks by 0.618 each step

void check_pairs(const std::vector<float>& estimates, const std::vector<float>& ages) {
  if (estimates.size() != ages.size()) throw std::invalid_argument("age calibration: one age per estimate");
  if (estimates.size() < 2) throw std::invalid_argument("age calibration: at least 2 faces with an age are needed");
  for (size_t i = 0; i < ages.size(); ++i) {
    if (!std::isfinite(estimates[i]) || !std::isfinite(ages[i])) {
      throw std::invalid_argument("age calibration: face " + std::to_string(i) + " has an age or estimate that is not a number");
    }
  }
  if (std::all_of(estimates.begin(), estimates.end(), [&](float e) { return e == estimates[0]; })) {
    throw std::invalid_argument("age calibration: every estimate is the same, so no line fits");
  }
}

double median(std::vector<double> values) {
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  return (upper + *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
}

struct Line {
  double offset, scale, error;  // error: the sum of absolute residuals
};

// For a fixed scale, the offset with the least absolute error is the median residual.
Line best_line_with_scale(const std::vector<float>& x, const std::vector<float>& y, double scale) {
  std::vector<double> residuals(x.size());
  for (size_t i = 0; i < x.size(); ++i) residuals[i] = y[i] - scale * x[i];
  const double offset = median(residuals);
  double error = 0;
  for (double r : residuals) error += std::abs(r - offset);
  return {offset, scale, error};
}

}  // namespace

AgeCalibration fit_age_calibration(const std::vector<float>& estimates, const std::vector<float>& ages) {
  check_pairs(estimates, ages);
  // The least error over offsets is a convex function of the scale (a partial minimum of the convex
  // sum of |residual|), so a golden-section search finds its minimum.
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  double low = kMinCalibrationScale, high = kMaxCalibrationScale;
  Line a = best_line_with_scale(estimates, ages, high - ratio * (high - low));
  Line b = best_line_with_scale(estimates, ages, low + ratio * (high - low));
  for (int step = 0; step < kGoldenSectionSteps; ++step) {
    if (a.error <= b.error) {
      high = b.scale;
      b = a;
      a = best_line_with_scale(estimates, ages, high - ratio * (high - low));
    } else {
      low = a.scale;
      a = b;
      b = best_line_with_scale(estimates, ages, low + ratio * (high - low));
    }
  }
  const Line& best = a.error <= b.error ? a : b;
  return {static_cast<float>(best.offset), static_cast<float>(best.scale)};
}

double calibrated_mae(const std::vector<float>& estimates, const std::vector<float>& ages, const AgeCalibration& line) {
  if (estimates.size() != ages.size() || estimates.empty()) throw std::invalid_argument("calibrated_mae: one age per estimate, at least one");
  double error = 0;
  for (size_t i = 0; i < ages.size(); ++i) error += std::abs(ages[i] - line(estimates[i]));
  return error / static_cast<double>(ages.size());
}

double cross_validated_mae(const std::vector<float>& estimates, const std::vector<float>& ages) {
  check_pairs(estimates, ages);
  std::vector<float> x[2], y[2];
  for (size_t i = 0; i < ages.size(); ++i) {
    x[i % 2].push_back(estimates[i]);
    y[i % 2].push_back(ages[i]);
  }
  double error = 0;
  for (int half = 0; half < 2; ++half) {
    const AgeCalibration line = fit_age_calibration(x[half], y[half]);
    error += calibrated_mae(x[1 - half], y[1 - half], line) * static_cast<double>(y[1 - half].size());
  }
  return error / static_cast<double>(ages.size());
}

}  // namespace facekit::eval
