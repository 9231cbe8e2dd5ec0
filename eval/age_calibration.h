// Fitting the age calibration line (models/classifier/age_calibration.h) on held-out faces: the line
// offset + scale * estimate with the least absolute error, so the least MAE (least absolute
// deviations; Koenker and Bassett 1978, regression quantiles, at the median). Stage 18 of
// experiments/age-gender-utkface: fitted on UTKFace val it took the shipped ensemble's MAE from
// 5.17 to 5.07 years, judged by the 2-fold cross-validation below.
#pragma once

#include <vector>

#include "models/classifier/age_calibration.h"

namespace facekit::eval {

// estimates[i] is a face's estimated age, ages[i] its label. Throws std::invalid_argument when the
// sizes differ, there are fewer than 2 faces, a value is not finite, or all estimates are equal (no
// line is determined). The scale is searched in [kMinCalibrationScale, kMaxCalibrationScale].
constexpr double kMinCalibrationScale = 0.1, kMaxCalibrationScale = 10;
AgeCalibration fit_age_calibration(const std::vector<float>& estimates, const std::vector<float>& ages);

// Mean |age - line(estimate)|.
double calibrated_mae(const std::vector<float>& estimates, const std::vector<float>& ages, const AgeCalibration& line);

// What a fitted line is worth on faces it was not fitted on: the faces in two halves by alternate
// position, a line fitted on each half scored on the other; the MAE over all faces.
double cross_validated_mae(const std::vector<float>& estimates, const std::vector<float>& ages);

}  // namespace facekit::eval
