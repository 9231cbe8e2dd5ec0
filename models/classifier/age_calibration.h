// The age in years as the network's expectation passed through a straight line, offset + scale *
// expectation. An expectation over a distribution is pulled towards the middle of the training
// ages; a line fitted on held-out faces (`facekit calibrate`, eval/age_calibration.h) undoes a pull
// of that kind. Identity until fitted. Linear, so it commutes with averaging an ensemble's
// estimates. Part of AgeGenderConfig (stored in checkpoints); no torch here.
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
