// The age in years as the network's expectation passed through a straight line, offset + scale *
// expectation. An expectation over a distribution can be off as a whole: pulled towards the middle
// of the training ages, or high throughout (the shipped pair's ran high by about 1 year at 30, 2 at
// 80: experiments/age-gender-utkface, stage 18); a line fitted on held-out faces (`facekit
// calibrate`, eval/age_calibration.h) corrects that. Identity until fitted. Linear, so it commutes
// with averaging an ensemble's estimates. Part of AgeGenderConfig (stored in checkpoints); no torch.
#pragma once

namespace facekit {

struct AgeCalibration {
  float offset = 0;
  float scale = 1;

  float operator()(float expectation) const { return offset + scale * expectation; }
  // This line applied to the output of `first`: one line.
  AgeCalibration after(const AgeCalibration& first) const { return {offset + scale * first.offset, scale * first.scale}; }
  bool is_identity() const { return offset == 0 && scale == 1; }
};

}  // namespace facekit
