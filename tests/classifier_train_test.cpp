// `train classifier` end to end on real UTKFace faces: the trainer's evaluation crop is the one
// inference computes, a small set is learnt (overfit) quickly, and --resume continues the same run.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/face_loader.h"
#include "datasets/preprocess.h"
#include "eval/classify_faces.h"
#include "test_util.h"
#include "train/age_years_loss.h"
#include "train/classifier_trainer.h"

namespace facekit::train {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

constexpr int kFaces = 64;
constexpr int kEvery = 297;  // every 297th name of the training split: all ages, both genders

fs::path utkface_dir() { return test::shared_dir() / "data/utkface"; }

// 64 faces spread over the split (the split is sorted by age, so its head is all centenarians).
FaceDataset utkface_faces(const TempDir& dir) {
  std::ifstream names(utkface_dir() / "splits/train.txt");
  std::ofstream subset(dir / "subset.txt");
  std::string name;
  for (int i = 0, taken = 0; taken < kFaces && std::getline(names, name); ++i) {
    if (i % kEvery == 0) subset << name << "\n", ++taken;
  }
  subset.close();
  return read_utkface((utkface_dir() / "images").string(), dir / "subset.txt", adience_intervals());
}

// Small and quick: Inception-v3 at a quarter width on 75 px crops (no aux head below 299 px), AdamW.
ClassifierTrainOptions small_run(const std::string& run_dir) {
  ClassifierTrainOptions o;
  o.run_dir = run_dir;
  o.model.width_mult = 0.25;
  o.model.crop.size = 75;
  o.model.aux_head = false;
  o.batch_size = 16;
  o.optimizer = "adamw";
  o.lr = 0.003;
  o.loader_threads = 2;
  o.seed = 7;
  return o;
}

// What the trainer validates on (FaceLoader, no augmentation) and what inference feeds the
// network (read_image, face_crop, append_normalised_chw) are the same bytes.
TEST(ClassifierTraining, TrainerCropEqualsInferenceCrop) {
  FACEKIT_REQUIRE_PATH(utkface_dir());
  TempDir dir;
  FaceDataset faces = utkface_faces(dir);
  ASSERT_EQ(faces.samples.size(), static_cast<size_t>(kFaces));
  faces.samples.resize(8);
  faces.samples[1].face = Box{-30, 20, 150, 230};  // partly outside the image: padded, not squeezed
  FaceLoaderOptions options;
  options.batch_size = 8;
  options.threads = 2;
  options.shuffle = false;
  options.augment = false;
  options.crop = {1.4f, 96};
  FaceLoader loader(faces.samples, options);
  loader.start_epoch(0);
  FaceBatch batch;
  ASSERT_TRUE(loader.next(&batch));
  ASSERT_EQ(batch.size(), 8);
  std::vector<float> inference;
  for (const auto& sample : faces.samples) {
    const cv::Mat bgr = read_image(sample.image);
    const Box box = sample.face.value_or(Box{0, 0, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows)});
    append_normalised_chw(face_crop(bgr, box, options.crop), options.normalisation, &inference);
  }
  ASSERT_EQ(batch.pixels.size(), inference.size());
  EXPECT_EQ(std::memcmp(batch.pixels.data(), inference.data(), inference.size() * sizeof(float)), 0);
}

// Issue: 64 UTKFace images learnt to 95 % (gender and age interval) within 3 minutes.
TEST(ClassifierTraining, OverfitsSixtyFourFaces) {
  FACEKIT_REQUIRE_PATH(utkface_dir());
  TempDir dir;
  const FaceDataset faces = utkface_faces(dir);
  ClassifierTrainOptions o = small_run(dir / "run");
  o.epochs = 32;
  o.augment = false;
  o.label_smoothing = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto result = train_classifier(faces, faces, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto best = load_age_gender_checkpoint(dir / "run/weights/best.pt");
  const auto report = eval::classify_and_score(best.net, best.config, faces, 32, 2, torch::kCPU);
  std::printf("overfit: %.0f s, %d steps, gender %.3f, age exact %.3f, MAE %.2f\n", seconds, result.steps_done,
              report.gender_acc, report.age_exact, report.age_mae);
  EXPECT_GE(report.gender_acc, 0.95);
  EXPECT_GE(report.age_exact, 0.95);
  EXPECT_LT(seconds, 180);
  const auto loss = test::csv_column(dir / "run/results.csv", "train_loss");
  ASSERT_EQ(loss.size(), 32u);
  EXPECT_LT(loss.back(), loss.front() / 4);
}

// Stopped inside the second epoch and resumed, a run logs the same losses and accuracies as one
// that was never interrupted: augmentation, shuffling, dropout and the optimiser all continue.
TEST(ClassifierTraining, ResumeContinuesTheSameRun) {
  FACEKIT_REQUIRE_PATH(utkface_dir());
  TempDir dir;
  const FaceDataset faces = utkface_faces(dir);
  ClassifierTrainOptions whole = small_run(dir / "whole");
  whole.epochs = 3;
  train_classifier(faces, faces, whole);

  ClassifierTrainOptions interrupted = whole;
  interrupted.run_dir = dir / "interrupted";
  interrupted.max_steps = 6;  // 4 steps an epoch: stops in the middle of epoch 2
  const auto first = train_classifier(faces, faces, interrupted);
  EXPECT_EQ(first.steps_done, 6);
  interrupted.max_steps = 0;
  interrupted.resume = true;
  const auto second = train_classifier(faces, faces, interrupted);
  EXPECT_EQ(second.steps_done, 12);

  for (const std::string name : {"train_loss", "val_gender_acc", "val_age_acc", "val_age_mae"}) {
    const auto expected = test::csv_column(dir / "whole/results.csv", name);
    const auto resumed = test::csv_column(dir / "interrupted/results.csv", name);
    ASSERT_EQ(expected.size(), 3u) << name;
    ASSERT_EQ(resumed.size(), 3u) << name;
    for (size_t e = 0; e < expected.size(); ++e) {
      EXPECT_NEAR(resumed[e], expected[e], 1e-4 * std::max(1.0, std::abs(expected[e]))) << name << ", epoch " << e + 1;
    }
  }
}

// Largest absolute difference between two checkpoints' parameters and buffers.
double max_difference(const fs::path& a, const fs::path& b) {
  const auto first = load_age_gender_checkpoint(a), second = load_age_gender_checkpoint(b);
  double largest = 0;
  const auto p = first.net->parameters(), q = second.net->parameters();
  for (size_t i = 0; i < p.size(); ++i) largest = std::max(largest, (p[i] - q[i]).abs().max().item<double>());
  const auto r = first.net->buffers(), t = second.net->buffers();
  for (size_t i = 0; i < r.size(); ++i) largest = std::max(largest, (r[i] - t[i]).abs().max().item<double>());
  return largest;
}

// --ema: the checkpoints hold the moving average of the run's weights. With a decay of 1e-9 the
// average is the weights themselves, so the same seeded run saves what it saves without --ema; with
// 0.9 it saves something else, and stopped and resumed it validates as the uninterrupted run.
TEST(ClassifierTraining, EmaSavesTheAverageAndResumesIt) {
  FACEKIT_REQUIRE_PATH(utkface_dir());
  TempDir dir;
  const FaceDataset faces = utkface_faces(dir);
  const auto run = [&](const char* name, double decay, int max_steps, bool resume) {
    ClassifierTrainOptions o = small_run(dir / name);
    o.epochs = 3;
    o.ema_decay = decay;
    o.max_steps = max_steps;
    o.resume = resume;
    train_classifier(faces, faces, o);
    return fs::path(dir / name) / "weights/last.pt";
  };
  const fs::path plain = run("plain", 0, 0, false);
  EXPECT_LT(max_difference(run("tiny_decay", 1e-9, 0, false), plain), 1e-6);
  const fs::path averaged = run("averaged", 0.9, 0, false);
  EXPECT_GT(max_difference(averaged, plain), 1e-3);

  run("interrupted", 0.9, 6, false);  // 4 steps an epoch: stops in the middle of epoch 2
  const fs::path resumed = run("interrupted", 0.9, 0, true);
  EXPECT_LT(max_difference(resumed, averaged), 1e-5);
  for (const std::string name : {"val_gender_acc", "val_age_acc", "val_age_mae"}) {
    const auto expected = test::csv_column(dir / "averaged/results.csv", name);
    const auto continued = test::csv_column(dir / "interrupted/results.csv", name);
    ASSERT_EQ(continued.size(), expected.size()) << name;
    for (size_t e = 0; e < expected.size(); ++e) {
      EXPECT_NEAR(continued[e], expected[e], 1e-4 * std::max(1.0, std::abs(expected[e])))
          << name << ", epoch " << e + 1;
    }
  }
}

// --gender-weight scales the gender terms of the loss and nothing else: one step over all 64 faces
// (the loss is measured before the update) with weights 1 and 3 differ by twice the gender loss.
TEST(ClassifierTraining, GenderWeightScalesTheGenderLoss) {
  FACEKIT_REQUIRE_PATH(utkface_dir());
  TempDir dir;
  const FaceDataset faces = utkface_faces(dir);
  const auto first_row = [&](const char* run, double gender_weight) {
    ClassifierTrainOptions o = small_run(dir / run);
    o.batch_size = kFaces;
    o.epochs = 1;
    o.gender_weight = gender_weight;
    train_classifier(faces, faces, o);
    return std::make_pair(test::csv_column(fs::path(dir / run) / "results.csv", "train_loss").at(0),
                          test::csv_column(fs::path(dir / run) / "results.csv", "train_gender_loss").at(0));
  };
  const auto [loss1, gender1] = first_row("w1", 1.0);
  const auto [loss3, gender3] = first_row("w3", 3.0);
  EXPECT_NEAR(gender3, gender1, 1e-5);
  EXPECT_GT(gender1, 0.3);  // an untrained head: about log 2
  EXPECT_NEAR(loss3 - loss1, 2 * gender1, 1e-4);
}

// A network trained on small crops, fine-tuned from its checkpoint at a larger side or width: the
// run trains at the new side or width and its checkpoints say so. An auxiliary head cannot go below 299 px.
TEST(ClassifierTraining, InitCheckpointRetrainsAtAnotherInputSizeOrWidth) {
  FACEKIT_REQUIRE_PATH(utkface_dir());
  TempDir dir;
  const FaceDataset faces = utkface_faces(dir);
  ClassifierTrainOptions first = small_run(dir / "first");
  first.max_steps = 1;
  train_classifier(faces, faces, first);

  ClassifierTrainOptions larger = small_run(dir / "larger");
  larger.init = dir / "first/weights/last.pt";
  larger.init_input_size = 99;
  larger.max_steps = 1;
  train_classifier(faces, faces, larger);
  const auto trained = load_age_gender_checkpoint(dir / "larger/weights/last.pt");
  EXPECT_EQ(trained.config.crop.size, 99);
  EXPECT_EQ(trained.config.width_mult, 0.25);  // the rest is the checkpoint's own

  // A wider --width-mult grows the checkpoint's network first (widen.h); a narrower one is refused.
  ClassifierTrainOptions wider = small_run(dir / "wider");
  wider.init = dir / "first/weights/last.pt";
  wider.init_width_mult = 0.375;
  wider.max_steps = 1;
  train_classifier(faces, faces, wider);
  const auto widened = load_age_gender_checkpoint(dir / "wider/weights/last.pt");
  EXPECT_EQ(widened.config.width_mult, 0.375);
  EXPECT_EQ(widened.config.crop.size, first.model.crop.size);  // the checkpoint's own
  ClassifierTrainOptions narrower = small_run(dir / "narrower");
  narrower.init = dir / "first/weights/last.pt";
  narrower.init_width_mult = 0.125;
  EXPECT_THROW(train_classifier(faces, faces, narrower), std::invalid_argument);

  AgeGenderConfig with_aux;
  with_aux.width_mult = 0.25;  // 299 px, auxiliary head
  auto aux_net = make_age_gender_net(with_aux).net;
  save_age_gender_checkpoint(dir / "aux.pt", aux_net, with_aux);
  ClassifierTrainOptions too_small = small_run(dir / "too_small");
  too_small.init = dir / "aux.pt";
  too_small.init_input_size = 160;
  EXPECT_THROW(train_classifier(faces, faces, too_small), std::invalid_argument);
}

// --tta's six views of a face in a photo: its crop at each of kTtaZooms cut from the photo's own
// pixels (plain OpenCV here: the square of side margin / zoom x the box's longer side, rounded,
// around the box's centre, resized by area averaging), each as it is and mirrored (cv::flip), and the
// prediction the mean of the six. Before stage 22 the farther view shrank the crop and put it on the
// fill colour, where this photo has pixels.
TEST(ClassifyFaces, TestTimeViewsAreCropsFromThePhotoAtThreeZoomsAndTheirMirrorImages) {
  TempDir dir;
  cv::Mat photo(240, 320, CV_8UC3);
  cv::RNG(22).fill(photo, cv::RNG::UNIFORM, 0, 255);
  const std::string path = dir / "photo.png";
  ASSERT_TRUE(cv::imwrite(path, photo));
  FaceDataset dataset;
  dataset.samples.push_back({path, 30, 4, kFemale, Box{130, 70, 200, 160}});  // 70 x 90 px, centre (165, 115)
  AgeGenderConfig config;
  config.crop.size = 64;  // margin 1.4: a 126 px square, 120 closer, 132 farther; all shrunk by area
  std::vector<torch::Tensor> seen;
  const eval::FacePredictor recording = [&seen](const torch::Tensor& crops) {
    seen.push_back(crops.clone());
    const float p = 0.1f * static_cast<float>(seen.size());  // each view its own answer
    return std::vector<eval::FacePrediction>(crops.size(0), {{1 - p, p}, std::vector<float>(8, 0.125f), p});
  };
  const auto scored = eval::classify_dataset(eval::test_time_augmented(recording), eval::kTtaZooms, config, dataset,
                                             /*batch_size=*/1, /*threads=*/1);
  ASSERT_EQ(seen.size(), 6u);
  ASSERT_EQ(scored.predictions.size(), 1u);
  EXPECT_NEAR(scored.predictions[0].gender_prob[kFemale], 0.35, 1e-6);  // the mean of 0.1 ... 0.6
  EXPECT_NEAR(*scored.predictions[0].age_years, 0.35, 1e-6);
  for (size_t v = 0; v < eval::kTtaZooms.size(); ++v) {
    SCOPED_TRACE(eval::kTtaZooms[v]);
    const int side = static_cast<int>(std::lround(90 * 1.4 / eval::kTtaZooms[v]));
    const cv::Rect square(static_cast<int>(std::lround(165 - side / 2.0)), static_cast<int>(std::lround(115 - side / 2.0)),
                          side, side);
    cv::Mat view, mirror;
    cv::resize(photo(square), view, {64, 64}, 0, 0, cv::INTER_AREA);
    cv::flip(view, mirror, /*flipCode=*/1);
    for (const auto& [expected, got] : {std::pair{view, seen[2 * v]}, std::pair{mirror, seen[2 * v + 1]}}) {
      std::vector<float> pixels;
      append_normalised_chw(expected, config.normalisation, &pixels);
      ASSERT_EQ(got.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
      EXPECT_TRUE(torch::equal(got.flatten(), torch::tensor(pixels)));
    }
  }
  FaceLoaderOptions augmented;
  augmented.augment = true;
  augmented.zooms = eval::kTtaZooms;
  EXPECT_THROW(FaceLoader(dataset.samples, augmented), std::invalid_argument);
}

// Test-time augmentation gives a face's crops and their mirror images the same prediction (so it
// flips along x, the crop's width, and mirrors every zoom's crop), and one that differs from the
// plain crop's. The shipped classifier on real faces, cropped by the loader at the three zooms.
TEST(ClassifyFaces, TestTimeAugmentedIsTheSameForAFaceAndItsMirrorImage) {
  FACEKIT_REQUIRE_PATH(utkface_dir());
  TempDir dir;
  FaceDataset faces = utkface_faces(dir);
  faces.samples.resize(8);
  auto shipped = load_age_gender_checkpoint(std::string(FACEKIT_SOURCE_DIR) + "/models/pretrained/age_gender.pt");
  FaceLoaderOptions options;
  options.batch_size = 8;
  options.shuffle = false;
  options.augment = false;
  options.crop = shipped.config.crop;
  options.zooms = eval::kTtaZooms;
  options.normalisation = shipped.config.normalisation;
  FaceLoader loader(faces.samples, options);
  loader.start_epoch(0);
  FaceBatch batch;
  ASSERT_TRUE(loader.next(&batch));
  const int side = shipped.config.crop.size;
  const auto x = torch::from_blob(batch.pixels.data(), {batch.size() * 3, 3, side, side});  // 3 zooms a face

  const auto plain = eval::torch_face_predictor(shipped.net, shipped.config.age_calibration, torch::kCPU);
  const auto augmented = eval::test_time_augmented(plain);
  const auto as_it_is = x.view({batch.size(), 3, 3, side, side}).select(1, 0).contiguous();
  const auto a = augmented(x), b = augmented(x.flip({3}).contiguous()), alone = plain(as_it_is);
  ASSERT_EQ(a.size(), 8u);
  double largest_change = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t k = 0; k < a[i].age_prob.size(); ++k) EXPECT_NEAR(a[i].age_prob[k], b[i].age_prob[k], 1e-5);
    EXPECT_NEAR(a[i].gender_prob[0], b[i].gender_prob[0], 1e-5);
    EXPECT_NEAR(a[i].gender_prob[0] + a[i].gender_prob[1], 1.0, 1e-5);
    EXPECT_NEAR(*a[i].age_years, *b[i].age_years, 1e-3);
    largest_change = std::max(largest_change, static_cast<double>(std::abs(a[i].gender_prob[0] - alone[i].gender_prob[0])));
  }
  EXPECT_GT(largest_change, 1e-3);
}

// An ensemble's prediction is the mean of its members': two different predictors (the shipped model
// on the crops and on darker crops), probabilities and years; years only where every member has them.
TEST(ClassifyFaces, AveragedIsTheMeanOfItsMembers) {
  auto shipped = load_age_gender_checkpoint(std::string(FACEKIT_SOURCE_DIR) + "/models/pretrained/age_gender.pt");
  torch::manual_seed(0);
  const int side = shipped.config.crop.size;
  const auto x = torch::randn({4, 3, side, side});
  const auto plain = eval::torch_face_predictor(shipped.net, shipped.config.age_calibration, torch::kCPU);
  const eval::FacePredictor darker = [plain](const torch::Tensor& input) { return plain(input * 0.5 - 0.5); };
  const auto a = plain(x), b = darker(x), mean = eval::averaged({plain, darker})(x);
  ASSERT_EQ(mean.size(), 4u);
  double largest_difference = 0;
  for (size_t i = 0; i < mean.size(); ++i) {
    for (size_t k = 0; k < 2; ++k) EXPECT_NEAR(mean[i].gender_prob[k], 0.5 * (a[i].gender_prob[k] + b[i].gender_prob[k]), 1e-6);
    for (size_t k = 0; k < mean[i].age_prob.size(); ++k) {
      EXPECT_NEAR(mean[i].age_prob[k], 0.5 * (a[i].age_prob[k] + b[i].age_prob[k]), 1e-6);
    }
    EXPECT_NEAR(*mean[i].age_years, 0.5 * (*a[i].age_years + *b[i].age_years), 1e-4);
    largest_difference = std::max(largest_difference, static_cast<double>(std::abs(*a[i].age_years - *b[i].age_years)));
  }
  EXPECT_GT(largest_difference, 0.1);  // the members differ, so the mean is not either of them
  const eval::FacePredictor without_years = [plain](const torch::Tensor& input) {
    auto p = plain(input);
    for (auto& face : p) face.age_years.reset();
    return p;
  };
  EXPECT_FALSE(eval::averaged({plain, without_years})(x)[0].age_years.has_value());
  EXPECT_THROW(eval::averaged({}), std::invalid_argument);
}

// The per-face CSV: a header naming every interval, labels (empty where unknown), the predicted
// gender and interval (the one nearest the years), fields with commas or quotes quoted.
TEST(ClassifyFaces, PredictionsCsv) {
  eval::ScoredFaces scored;
  scored.images = {"a.jpg", "b, \"2\".jpg"};
  scored.labels = {{kFemale, 4, 30}, {kUnknown, kUnknown, kUnknown}};
  std::vector<float> young(8, 0.f), old(8, 0.f);
  young[0] = 1.f;
  old[7] = 1.f;
  scored.predictions = {{{0.25f, 0.75f}, young, 41.5f}, {{0.9f, 0.1f}, old, std::nullopt}};
  EXPECT_EQ(eval::predictions_csv(scored, adience_intervals()),
            "image,gender,age,age_interval,predicted_gender,p_female,predicted_interval,"
            "\"p_(0, 2)\",\"p_(4, 6)\",\"p_(8, 12)\",\"p_(15, 20)\",\"p_(25, 32)\",\"p_(38, 43)\",\"p_(48, 53)\","
            "\"p_(60, 100)\",predicted_age\n"
            "a.jpg,Female,30,\"(25, 32)\",Female,0.75,\"(38, 43)\",1,0,0,0,0,0,0,0,41.5\n"
            "\"b, \"\"2\"\".jpg\",,,,Male,0.1,\"(60, 100)\",0,0,0,0,0,0,0,1,80\n");
}

// The years head's loss (train/age_years_loss.h) against torch's cross-entropy, a Gaussian target
// written out here in doubles, and the uniform prediction's known values; unknown ages left out.
TEST(AgeYearsLoss, DexDldlAndTheExpectationsError) {
  torch::manual_seed(5);
  const auto logits = torch::randn({4, 101}) * 2;
  const auto years = torch::tensor({34, -1, 0, 100}, torch::kLong);
  const auto known = torch::tensor({0, 2, 3}, torch::kLong);
  const double dex = torch::nn::functional::cross_entropy(logits.index({known}), years.index({known})).item<double>();
  EXPECT_NEAR(age_years_loss(logits, years, 0, 0).item<double>(), dex, 1e-5);
  EXPECT_NEAR(age_years_loss(logits, years, 0.01, 0).item<double>(), dex, 1e-4);  // a Gaussian that narrow is the year alone

  constexpr double kSigma = 2.5;
  const auto log_p = torch::log_softmax(logits.to(torch::kDouble), 1);
  double dldl = 0;
  for (const int64_t face : {0, 2, 3}) {
    const double year = years[face].item<double>();
    double norm = 0, cross = 0;
    for (int y = 0; y <= 100; ++y) norm += std::exp(-(y - year) * (y - year) / (2 * kSigma * kSigma));
    for (int y = 0; y <= 100; ++y) {
      cross -= std::exp(-(y - year) * (y - year) / (2 * kSigma * kSigma)) / norm * log_p[face][y].item<double>();
    }
    dldl += cross / 3;
  }
  EXPECT_NEAR(age_years_loss(logits, years, kSigma, 0).item<double>(), dldl, 1e-4);

  // Uniform over 0..100: every target's cross-entropy is log 101, the expected age 50.
  const auto uniform = torch::zeros({4, 101});
  EXPECT_NEAR(age_years_loss(uniform, years, kSigma, 0).item<double>(), std::log(101.0), 1e-5);
  EXPECT_NEAR(age_years_loss(uniform, years, 0, 0.5).item<double>(), std::log(101.0) + 0.5 * (16 + 50 + 50) / 3.0, 1e-4);
  EXPECT_EQ(age_years_loss(logits, torch::full({4}, -1, torch::kLong), kSigma, 0.5).item<double>(), 0.0);
}

}  // namespace
}  // namespace facekit::train
