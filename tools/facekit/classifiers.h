// Gender and age classifiers behind one signature, for `facekit eval` and `facekit-infer`:
// an AgeGenderNet checkpoint in LibTorch or its ONNX export in OpenCV dnn, each with the config
// that says how to crop and normalise its input.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "eval/classify_faces.h"
#include "tools/facekit/cli.h"

namespace facekit::cli {

struct Classifier {
  eval::FacePredictor predict;
  AgeGenderConfig config;
  eval::CropZooms zooms = {1.0f};  // the crops `predict` takes of each face (eval::test_time_augmented's with --tta)
};

// X.pt (an AgeGenderNet checkpoint) or X.onnx (`facekit convert classifier2onnx`; the config comes
// from its metadata). Throws naming the file when it is neither.
Classifier load_classifier(const std::string& path, torch::Device device);

// An ensemble: the members' predictions averaged face by face (eval::averaged); one member is
// itself. They must take the same crop and predict the same classes; throws naming (by `names`,
// one per member) the first that does not.
Classifier ensemble_of(const std::vector<Classifier>& members, const std::vector<std::string>& names);

// ensemble_of the classifiers in `paths`, each loaded by load_classifier.
Classifier load_classifier_ensemble(const std::vector<std::string>& paths, torch::Device device);

// --NAME M for the commands that classify faces, given once or more (an ensemble); the files given, or
// the shipped ensemble (default_classifiers) when none.
void add_classifier_option(po::options_description* options, const char* name);
std::vector<std::string> classifier_files(const po::variables_map& vm, const char* name);

// --dataset FORMAT:PATH, --split, --images and --batch: the labelled faces `eval classifier` and
// `calibrate` classify; the dataset read with the classifier's intervals, and classified --batch
// faces at a time.
void add_face_dataset_options(po::options_description* options);
FaceDataset face_dataset_from_options(const po::variables_map& vm, const std::vector<AgeInterval>& intervals);
eval::ScoredFaces classify_face_dataset(const po::variables_map& vm, const Classifier& classifier, const FaceDataset& dataset);

// --tta, for every command that classifies faces: the classifier then averages each face's
// predictions over six views of it (eval::test_time_augmented), cropped at three zooms.
void add_tta_option(po::options_description* options);
void apply_tta_option(const po::variables_map& vm, Classifier* classifier);

// --crop-margin, for every command that crops faces from photos for a classifier: the crop's side
// over the face box's longer side, instead of the classifier's own (the original project used 1.4
// for a lone face, 1.05 in crowds). At least 1.
void add_crop_margin_option(po::options_description* options);
void apply_crop_margin_option(const po::variables_map& vm, Classifier* classifier);

}  // namespace facekit::cli
