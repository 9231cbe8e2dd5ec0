#include "eval/classify_faces.h"

#include "datasets/face_loader.h"

namespace facekit::eval {
namespace {

std::vector<float> row(const torch::Tensor& probabilities, int64_t i) {
  const auto r = probabilities[i].contiguous();
  return std::vector<float>(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
}

}  // namespace

std::vector<FacePrediction> predict_faces(AgeGenderNet& net, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  net->eval();
  const AgeGenderOutput out = net->forward(input);
  const auto gender = torch::softmax(out.gender_logits, 1).to(torch::kCPU).to(torch::kFloat);
  const auto age = torch::softmax(out.age_logits, 1).to(torch::kCPU).to(torch::kFloat);
  torch::Tensor years;
  if (out.age_years_logits.defined()) {
    const auto p = torch::softmax(out.age_years_logits, 1).to(torch::kCPU).to(torch::kFloat);
    years = (p * torch::arange(p.size(1), p.options())).sum(1);  // the expectation over 0..100 years
  }
  std::vector<FacePrediction> predictions;
  for (int64_t i = 0; i < input.size(0); ++i) {
    FacePrediction p{row(gender, i), row(age, i), {}};
    if (years.defined()) p.age_years = years[i].item<float>();
    predictions.push_back(std::move(p));
  }
  return predictions;
}

FacePredictor torch_face_predictor(AgeGenderNet net, torch::Device device) {
  return [net, device](const torch::Tensor& input) mutable { return predict_faces(net, input.to(device)); };
}

FacePredictor mirror_averaged(FacePredictor predict) {
  const auto average = [](std::vector<float>* a, const std::vector<float>& b) {
    for (size_t k = 0; k < a->size(); ++k) (*a)[k] = 0.5f * ((*a)[k] + b[k]);
  };
  return [predict, average](const torch::Tensor& input) {
    std::vector<FacePrediction> predictions = predict(input);
    const std::vector<FacePrediction> mirrored = predict(input.flip({3}).contiguous());  // N x 3 x S x S: 3 is x
    for (size_t i = 0; i < predictions.size(); ++i) {
      average(&predictions[i].gender_prob, mirrored[i].gender_prob);
      average(&predictions[i].age_prob, mirrored[i].age_prob);
      if (predictions[i].age_years) predictions[i].age_years = 0.5f * (*predictions[i].age_years + *mirrored[i].age_years);
    }
    return predictions;
  };
}

ScoredFaces classify_dataset(const FacePredictor& predict, const AgeGenderConfig& config, const FaceDataset& dataset,
                             int batch_size, int threads) {
  FaceLoaderOptions options;
  options.batch_size = batch_size;
  options.threads = threads;
  options.shuffle = false;
  options.crop = config.crop;
  options.normalisation = config.normalisation;
  FaceLoader loader(dataset.samples, options);
  loader.start_epoch(0);
  ScoredFaces scored;
  FaceBatch batch;
  while (loader.next(&batch)) {
    scored.unreadable.insert(scored.unreadable.end(), batch.unreadable.begin(), batch.unreadable.end());
    if (batch.size() == 0) continue;
    const auto input = torch::from_blob(batch.pixels.data(), {batch.size(), 3, config.crop.size, config.crop.size});
    for (auto& p : predict(input)) scored.predictions.push_back(std::move(p));
    for (const FaceSample* s : batch.samples) scored.labels.push_back({s->gender, s->age_interval, s->age});
  }
  return scored;
}

ClassifierReport classify_and_score(AgeGenderNet& net, const AgeGenderConfig& config, const FaceDataset& dataset,
                                    int batch_size, int threads, torch::Device device) {
  return classify_and_score(torch_face_predictor(net, device), config, dataset, batch_size, threads);
}

ClassifierReport classify_and_score(const FacePredictor& predict, const AgeGenderConfig& config, const FaceDataset& dataset,
                                    int batch_size, int threads) {
  const ScoredFaces scored = classify_dataset(predict, config, dataset, batch_size, threads);
  const int skipped = static_cast<int>(dataset.skipped.size() + scored.unreadable.size());
  return evaluate_classifier(scored.labels, scored.predictions, config.intervals, skipped);
}

}  // namespace facekit::eval
