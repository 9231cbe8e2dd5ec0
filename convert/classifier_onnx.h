// AgeGenderNet -> ONNX, node by node (convert/onnx_graph.h), for ONNX Runtime, OpenCV dnn and the
// inference pipeline.
//
// Input `input` (N, 3, S, S) float32: face crops as datasets/preprocess makes them (face_crop, then
// append_normalised_chw with the checkpoint's normalisation). Outputs, softmax probabilities:
// `gender` (N, 2) in the order of the gender labels, `age` (N, K) over the age intervals, and with
// the age-regression head `age_years` (N): the expected age over 0..100 through the checkpoint's
// age calibration, and `age_interval` (N): the index of the interval nearest it, as a float
// (eval::predicted_interval: the interval facekit reports for a classifier with that head; without
// it, the most likely of `age`). Eval mode: dropout is the identity, BatchNorm is folded into the
// convolutions, the auxiliary head is left out.
//
// Metadata: `age_gender_config` (the checkpoint's config as JSON: everything a runtime needs to
// crop and normalise), and for people reading the file, `gender_labels` and `age_intervals`.
#pragma once

#include <string>

#include "models/classifier/age_gender_net.h"

namespace facekit {

struct ClassifierOnnxOptions {
  int opset = 13;             // 11 to 17
  int batch = 1;              // fixed batch size, unless dynamic_batch
  bool dynamic_batch = true;  // batch dimension named "batch"
};

// Throws for an unsupported architecture or opset; writes atomically after the ONNX checker.
void export_age_gender_onnx(AgeGenderNet& net, const AgeGenderConfig& config, const ClassifierOnnxOptions& options,
                            const std::string& path);

}  // namespace facekit
