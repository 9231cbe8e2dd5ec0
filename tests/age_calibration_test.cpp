// The age calibration line: least absolute deviations against SciPy's linear programming
// (tests/age_calibration_ref.py), its composition, its cross-validation and its refusals.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>

#include "datasets/npy.h"
#include "eval/age_calibration.h"

namespace facekit::eval {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::vector<float>& estimates, const std::vector<float>& ages) {
  try {
    fit_age_calibration(estimates, ages);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

double absolute_error(const NpyArray& faces, int64_t c, const AgeCalibration& line) {
  const int64_t count = faces.shape[1];
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) {
    const float* face = &faces.data[(c * count + i) * 2];
    sum += std::abs(static_cast<double>(face[1]) - line(face[0]));
  }
  return sum;
}

// Three sets of 400 faces (an estimate pulled to the middle, one running high with skewed errors,
// whole-year labels): the line and its least sum of absolute residuals equal SciPy's LP optimum.
TEST(AgeCalibration, LeastAbsoluteDeviationsMatchScipy) {
  const fs::path dir = fs::temp_directory_path() / ("facekit_age_calibration_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string command = "/usr/bin/python3 " + std::string(FACEKIT_AGE_CALIBRATION_SCRIPT) + " " + dir.string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command << " failed: python3-scipy missing?";
  const NpyArray faces = read_npy((dir / "faces.npy").string()), reference = read_npy((dir / "reference.npy").string());
  fs::remove_all(dir);
  ASSERT_EQ(faces.shape.size(), 3u);
  ASSERT_EQ(reference.shape, (std::vector<int64_t>{faces.shape[0], 3}));
  for (int64_t c = 0; c < faces.shape[0]; ++c) {
    std::vector<float> estimates, ages;
    for (int64_t i = 0; i < faces.shape[1]; ++i) {
      estimates.push_back(faces.data[(c * faces.shape[1] + i) * 2]);
      ages.push_back(faces.data[(c * faces.shape[1] + i) * 2 + 1]);
    }
    const AgeCalibration line = fit_age_calibration(estimates, ages);
    const float* expected = &reference.data[c * 3];
    EXPECT_NEAR(absolute_error(faces, c, line), expected[2], 1e-5 * expected[2]) << "case " << c;
    EXPECT_NEAR(line.offset, expected[0], 2e-3) << "case " << c;
    EXPECT_NEAR(line.scale, expected[1], 5e-5) << "case " << c;
    EXPECT_NEAR(calibrated_mae(estimates, ages, line), absolute_error(faces, c, line) / faces.shape[1], 1e-4);
  }
}

// Ages exactly on a line: the fit finds it, and a line fitted on either half predicts the other.
TEST(AgeCalibration, ExactLineIsFoundAndCrossValidatesToZero) {
  std::vector<float> estimates, ages;
  for (int i = 0; i < 50; ++i) {
    estimates.push_back(static_cast<float>(2 * i + 1));
    ages.push_back(3.f + 0.8f * estimates.back());
  }
  const AgeCalibration line = fit_age_calibration(estimates, ages);
  EXPECT_NEAR(line.offset, 3.f, 1e-4);
  EXPECT_NEAR(line.scale, 0.8f, 1e-6);
  EXPECT_LT(cross_validated_mae(estimates, ages), 1e-4);
  ages[7] += 40;  // one wild label moves a least-squares line, not this one
  EXPECT_NEAR(fit_age_calibration(estimates, ages).scale, 0.8f, 1e-6);
}

TEST(AgeCalibration, LineAfterLineIsOneLine) {
  const AgeCalibration first{2.f, 0.9f}, second{-1.f, 1.1f};
  const AgeCalibration both = second.after(first);
  for (float x : {0.f, 17.f, 80.f}) EXPECT_NEAR(both(x), second(first(x)), 1e-5);
  EXPECT_TRUE(AgeCalibration{}.is_identity());
  EXPECT_FALSE(both.is_identity());
  EXPECT_FLOAT_EQ(AgeCalibration{}(42.f), 42.f);
}

TEST(AgeCalibration, RefusesWhatDeterminesNoLine) {
  EXPECT_EQ(error_of({1, 2}, {1}), "age calibration: one age per estimate");
  EXPECT_EQ(error_of({1}, {1}), "age calibration: at least 2 faces with an age are needed");
  EXPECT_EQ(error_of({5, 5, 5}, {1, 2, 3}), "age calibration: every estimate is the same, so no line fits");
  EXPECT_EQ(error_of({1, std::numeric_limits<float>::quiet_NaN()}, {1, 2}),
            "age calibration: face 1 has an age or estimate that is not a number");
}

}  // namespace
}  // namespace facekit::eval
