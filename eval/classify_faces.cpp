#include "eval/classify_faces.h"

#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <string>

#include "datasets/face_loader.h"

namespace facekit::eval {
namespace {

std::vector<float> row(const torch::Tensor& probabilities, int64_t i) {
  const auto r = probabilities[i].contiguous();
  return std::vector<float>(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
}

// sum += x, probabilities and years (years only while both have them).
void add_to(FacePrediction* sum, const FacePrediction& x) {
  for (size_t k = 0; k < sum->gender_prob.size(); ++k) sum->gender_prob[k] += x.gender_prob[k];
  for (size_t k = 0; k < sum->age_prob.size(); ++k) sum->age_prob[k] += x.age_prob[k];
  if (sum->age_years && x.age_years) {
    *sum->age_years += *x.age_years;
  } else {
    sum->age_years.reset();
  }
}

// RFC 4180: quoted, with quotes doubled, when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string number(float x) {
  std::ostringstream text;
  text << x;
  return text.str();
}

void scale(FacePrediction* p, float factor) {
  for (float& v : p->gender_prob) v *= factor;
  for (float& v : p->age_prob) v *= factor;
  if (p->age_years) *p->age_years *= factor;
}

// `predict` on a view of its input (one zoom's crops, mirrored or not).
FacePredictor on_view(FacePredictor predict, std::function<torch::Tensor(const torch::Tensor&)> view) {
  return [predict, view](const torch::Tensor& input) { return predict(view(input).contiguous()); };
}

torch::Tensor mirrored(const torch::Tensor& crops) { return crops.flip({3}); }  // N x 3 x S x S: 3 is x

}  // namespace

std::vector<FacePrediction> predict_faces(AgeGenderNet& net, const AgeCalibration& age_calibration, const torch::Tensor& input) {
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
    if (years.defined()) p.age_years = age_calibration(years[i].item<float>());
    predictions.push_back(std::move(p));
  }
  return predictions;
}

FacePredictor torch_face_predictor(AgeGenderNet net, const AgeCalibration& age_calibration, torch::Device device) {
  return [net, age_calibration, device](const torch::Tensor& input) mutable {
    return predict_faces(net, age_calibration, input.to(device));
  };
}

FacePredictor averaged(std::vector<FacePredictor> predictors) {
  if (predictors.empty()) throw std::invalid_argument("averaged: no predictors");
  return [predictors](const torch::Tensor& input) {
    std::vector<FacePrediction> mean = predictors[0](input);
    for (size_t m = 1; m < predictors.size(); ++m) {
      const std::vector<FacePrediction> other = predictors[m](input);
      for (size_t i = 0; i < mean.size(); ++i) add_to(&mean[i], other[i]);
    }
    for (auto& p : mean) scale(&p, 1.0f / static_cast<float>(predictors.size()));
    return mean;
  };
}

FacePredictor test_time_augmented(FacePredictor predict) {
  const auto views = static_cast<int64_t>(kTtaZooms.size());
  std::vector<FacePredictor> predictors;
  for (int64_t v = 0; v < views; ++v) {
    const auto crops_at_zoom = [v, views](const torch::Tensor& x) {  // x: N*views x 3 x S x S
      if (x.size(0) % views != 0) throw std::invalid_argument("test_time_augmented: not " + std::to_string(views) + " crops a face");
      return x.view({-1, views, x.size(1), x.size(2), x.size(3)}).select(1, v);  // N x 3 x S x S
    };
    predictors.push_back(on_view(predict, crops_at_zoom));
    predictors.push_back(on_view(predict, [crops_at_zoom](const torch::Tensor& x) { return mirrored(crops_at_zoom(x)); }));
  }
  return averaged(predictors);
}

ScoredFaces classify_dataset(const FacePredictor& predict, const CropZooms& zooms, const AgeGenderConfig& config,
                             const FaceDataset& dataset, int batch_size, int threads) {
  FaceLoaderOptions options;
  options.batch_size = batch_size;
  options.threads = threads;
  options.shuffle = false;
  options.crop = config.crop;
  options.zooms = zooms;
  options.normalisation = config.normalisation;
  FaceLoader loader(dataset.samples, options);
  loader.start_epoch(0);
  ScoredFaces scored;
  FaceBatch batch;
  while (loader.next(&batch)) {
    scored.unreadable.insert(scored.unreadable.end(), batch.unreadable.begin(), batch.unreadable.end());
    if (batch.size() == 0) continue;
    const auto crops = static_cast<int64_t>(batch.size()) * static_cast<int64_t>(zooms.size());
    const auto input = torch::from_blob(batch.pixels.data(), {crops, 3, config.crop.size, config.crop.size});
    for (auto& p : predict(input)) scored.predictions.push_back(std::move(p));
    for (const FaceSample* s : batch.samples) {
      scored.images.push_back(s->image);
      scored.labels.push_back({s->gender, s->age_interval, s->age});
    }
  }
  return scored;
}

std::string predictions_csv(const ScoredFaces& scored, const std::vector<AgeInterval>& intervals) {
  const std::vector<std::string> genders = {"Male", "Female"};
  std::ostringstream csv;
  csv << std::setprecision(6) << "image,gender,age,age_interval,predicted_gender,p_female,predicted_interval";
  for (const auto& interval : intervals) csv << ',' << csv_field("p_" + interval.label());
  csv << ",predicted_age\n";
  for (size_t i = 0; i < scored.predictions.size(); ++i) {
    const FaceLabel& label = scored.labels[i];
    const FacePrediction& p = scored.predictions[i];
    const int interval = predicted_interval(p, intervals);
    csv << csv_field(scored.images[i]) << ',' << (label.gender >= 0 ? genders[label.gender] : "") << ','
        << (label.age >= 0 ? number(label.age) : "") << ','
        << (label.age_interval >= 0 ? csv_field(intervals[label.age_interval].label()) : "") << ','
        << genders[most_likely(p.gender_prob)] << ',' << p.gender_prob[kFemale] << ','
        << csv_field(intervals[interval].label());
    for (float q : p.age_prob) csv << ',' << q;
    csv << ',' << predicted_age(p, intervals) << '\n';
  }
  return csv.str();
}

ClassifierReport classify_and_score(AgeGenderNet& net, const AgeGenderConfig& config, const FaceDataset& dataset,
                                    int batch_size, int threads, torch::Device device) {
  const FacePredictor predict = torch_face_predictor(net, config.age_calibration, device);
  return score_faces(classify_dataset(predict, {1.0f}, config, dataset, batch_size, threads), dataset, config.intervals);
}

ClassifierReport score_faces(const ScoredFaces& scored, const FaceDataset& dataset, const std::vector<AgeInterval>& intervals) {
  const int skipped = static_cast<int>(dataset.skipped.size() + scored.unreadable.size());
  return evaluate_classifier(scored.labels, scored.predictions, intervals, skipped);
}

}  // namespace facekit::eval
