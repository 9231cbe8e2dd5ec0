// A classifier run over a face dataset: the evaluation crop (datasets/face_loader, no augmentation),
// batched forward passes, softmax, and the metrics of eval/classifier_metrics. Shared by
// `facekit eval classifier` and the trainer's validation.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "datasets/formats/face_labels.h"
#include "eval/classifier_metrics.h"
#include "models/classifier/age_gender_net.h"

namespace facekit::eval {

// Probabilities for a batch of normalised crops (eval mode, no autograd); the age in years is the
// years head's expectation through `age_calibration` (the checkpoint's).
std::vector<FacePrediction> predict_faces(AgeGenderNet& net, const AgeCalibration& age_calibration, const torch::Tensor& input);

// A classifier as a function: normalised crops (N x 3 x S x S, on the CPU) -> one prediction each.
// LibTorch here; the CLI adds an ONNX one (tools/facekit/classifiers.h).
using FacePredictor = std::function<std::vector<FacePrediction>(const torch::Tensor& input)>;
FacePredictor torch_face_predictor(AgeGenderNet net, const AgeCalibration& age_calibration, torch::Device device);

// The mean of several predictors' probabilities and years, face by face: an ensemble (every predictor
// must take the same crops and predict the same classes; years only where all of them have them).
FacePredictor averaged(std::vector<FacePredictor> predictors);

// A batch of crops (N x 3 x S x S) seen `zoom` times closer: the centre cut to about S / zoom and
// resized back to S (bilinear, half-pixel centres, as cv::resize's INTER_LINEAR). The border cut is
// the same on both sides, so zooming and mirroring commute.
torch::Tensor zoomed_in(const torch::Tensor& crops, double zoom);
// `zoom` times farther: resized to about S / zoom (bilinear) and centred on zeros, which is the face
// crop's fill colour once normalised (ImageNet's mean; datasets/preprocess.h).
torch::Tensor zoomed_out(const torch::Tensor& crops, double zoom);

// Test-time augmentation (`--tta`): `predict` averaged over six views of each crop: as it is, zoomed
// in and zoomed out by kTtaZoom, and the mirror image of each. Gender and age do not change under a
// flip or a 5 % zoom, and the trainer flips its crops and scales their box by up to 10 %, so every
// view is in-distribution. Six times the forward passes. Stage 19 of experiments/age-gender-utkface
// chose the zoom (and measured what it gives; mirroring alone was --tta before it).
constexpr double kTtaZoom = 1.05;
FacePredictor test_time_augmented(FacePredictor predict);

struct ScoredFaces {
  std::vector<std::string> images;  // the face's image, one per label and prediction
  std::vector<FaceLabel> labels;
  std::vector<FacePrediction> predictions;
  std::vector<std::string> unreadable;
};
ScoredFaces classify_dataset(const FacePredictor& predict, const AgeGenderConfig& config, const FaceDataset& dataset,
                             int batch_size, int threads);

// One CSV row per face (a header first): image, its labels (gender, age, age_interval; empty where
// unknown), the predicted gender and P(Female), the predicted interval and each interval's probability,
// the predicted age in years. For looking at the errors one by one, or analysing them elsewhere.
std::string predictions_csv(const ScoredFaces& scored, const std::vector<AgeInterval>& intervals);

// evaluate_classifier on `scored`, the faces of `dataset`; skipped = the dataset's skipped entries +
// unreadable images.
ClassifierReport score_faces(const ScoredFaces& scored, const FaceDataset& dataset, const std::vector<AgeInterval>& intervals);

// classify_dataset then score_faces.
ClassifierReport classify_and_score(const FacePredictor& predict, const AgeGenderConfig& config, const FaceDataset& dataset,
                                    int batch_size, int threads);
ClassifierReport classify_and_score(AgeGenderNet& net, const AgeGenderConfig& config, const FaceDataset& dataset,
                                    int batch_size, int threads, torch::Device device);

}  // namespace facekit::eval
