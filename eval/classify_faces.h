// A classifier run over a face dataset: the evaluation crop (datasets/face_loader, no augmentation),
// batched forward passes, softmax, and the metrics of eval/classifier_metrics. Shared by
// `facekit eval classifier` and the trainer's validation.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

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

// The crops a predictor takes of each face: one per zoom (datasets/preprocess.h `zoomed`), a face's
// crops consecutive in its input. A plain predictor takes {1}: the face crop alone.
using CropZooms = std::vector<float>;

// Test-time augmentation (`--tta`): each face seen six ways, its crop at each of kTtaZooms (as it is,
// 5 % closer, 5 % farther, each cut from the photo) and the mirror image of each, and `predict`'s six
// predictions averaged. The predictor returned takes kTtaZooms' crops of every face (3N crops in,
// face by face; N predictions out). Gender and age do not change under a flip or a 5 % zoom, and the
// trainer flips its crops and scales their box by up to 10 %, so every view is one the trainer could
// have made. Six times the forward passes. Stage 19 of experiments/age-gender-utkface chose the
// zoom (and measured what it gives; mirroring alone was --tta before it), stage 22 cut the zoomed
// views from the photo.
inline const CropZooms kTtaZooms = {1.0f, 1.05f, 1 / 1.05f};
FacePredictor test_time_augmented(FacePredictor predict);

struct ScoredFaces {
  std::vector<std::string> images;  // the face's image, one per label and prediction
  std::vector<FaceLabel> labels;
  std::vector<FacePrediction> predictions;
  std::vector<std::string> unreadable;
};
// Every face of `dataset` cropped as `config` says, at each of `zooms`, and classified by `predict`.
ScoredFaces classify_dataset(const FacePredictor& predict, const CropZooms& zooms, const AgeGenderConfig& config,
                             const FaceDataset& dataset, int batch_size, int threads);

// One CSV row per face (a header first): image, its labels (gender, age, age_interval; empty where
// unknown), the predicted gender and P(Female), the predicted interval and each interval's probability,
// the predicted age in years. For looking at the errors one by one, or analysing them elsewhere.
std::string predictions_csv(const ScoredFaces& scored, const std::vector<AgeInterval>& intervals);

// evaluate_classifier on `scored`, the faces of `dataset`; skipped = the dataset's skipped entries +
// unreadable images.
ClassifierReport score_faces(const ScoredFaces& scored, const FaceDataset& dataset, const std::vector<AgeInterval>& intervals);

// classify_dataset (the plain crop) then score_faces.
ClassifierReport classify_and_score(AgeGenderNet& net, const AgeGenderConfig& config, const FaceDataset& dataset,
                                    int batch_size, int threads, torch::Device device);

}  // namespace facekit::eval
