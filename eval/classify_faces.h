// A classifier run over a face dataset: the evaluation crop (datasets/face_loader, no augmentation),
// batched forward passes, softmax, and the metrics of eval/classifier_metrics. Shared by
// `facekit eval classifier` and the trainer's validation.
#pragma once

#include <torch/torch.h>

#include "datasets/formats/face_labels.h"
#include "eval/classifier_metrics.h"
#include "models/classifier/age_gender_net.h"

namespace facekit::eval {

// Probabilities for a batch of normalised crops (eval mode, no autograd).
std::vector<FacePrediction> predict_faces(AgeGenderNet& net, const torch::Tensor& input);

struct ScoredFaces {
  std::vector<FaceLabel> labels;
  std::vector<FacePrediction> predictions;
  std::vector<std::string> unreadable;
};
ScoredFaces classify_dataset(AgeGenderNet& net, const AgeGenderConfig& config, const FaceDataset& dataset,
                             int batch_size, int threads, torch::Device device);

// classify_dataset then evaluate_classifier; skipped = the dataset's skipped entries + unreadable images.
ClassifierReport classify_and_score(AgeGenderNet& net, const AgeGenderConfig& config, const FaceDataset& dataset,
                                    int batch_size, int threads, torch::Device device);

}  // namespace facekit::eval
