// Inception-v3 against torchvision (the reference nobody here wrote; tests/torchvision_ref.py run
// by Debian's /usr/bin/python3), the torch.save reader on both file formats, AgeGenderNet and its
// checkpoints, `facekit convert torchvision2facekit`.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convert/torchvision_import.h"
#include "convert/zip_directory.h"
#include "models/classifier/widen.h"
#include "datasets/npy.h"
#include "tests/tensor_util.h"

namespace facekit {
namespace {

using test::relative_max_diff;
using test::TempDir;
namespace fs = std::filesystem;

constexpr double kParityTolerance = 1e-4;  // max |diff| / max |reference|, as for libdarknet
constexpr int64_t kBatch = 2;
// A pickle that would call os.system: the reader must refuse the global, not run anything.
constexpr char kUnsafePickle[] = "\x80\x02" "cos\nsystem\nq\x00.";

// Runs tests/torchvision_ref.py MODE DIR; false (with the reason printed) when it fails.
void run_reference(const std::string& mode, const TempDir& dir) {
  const std::string command = "/usr/bin/python3 " + std::string(FACEKIT_TORCHVISION_SCRIPT) + " " + mode + " " +
                              dir.path().string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command << " failed: python3-torch / python3-torchvision missing?";
}

torch::Tensor npy_tensor(const std::string& path) {
  NpyArray a = read_npy(path);
  return torch::from_blob(a.data.data(), a.shape, torch::kFloat).clone();
}

std::map<std::string, torch::Tensor> by_name(const StateDict& state) {
  return {state.begin(), state.end()};
}

std::string run_cli(const std::string& args, int* status) {
  const std::string command = std::string(FACEKIT_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof buffer, pipe)) out += buffer;
  *status = pipe ? pclose(pipe) : -1;
  return out;
}

// ---- torchvision parity (one python run: it builds a 27 M parameter network) ----

TEST(TorchvisionParity, InceptionV3EvalLogitsFeaturesTrainAuxAndTheCli) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(run_reference("inception", dir));
  const std::string weights = dir / "inception_v3.pth";
  const StateDict state = read_torch_state_dict(weights);

  InceptionV3 net;  // torchvision's defaults: 1000 classes, aux_logits, width 1.0
  const LoadReport report = load_matching(*net, state);
  EXPECT_EQ(report.loaded.size(), state.size());
  EXPECT_TRUE(report.skipped.empty()) << format_load_report(report);
  EXPECT_TRUE(report.initialised.empty()) << format_load_report(report);

  const auto input = npy_tensor(dir / "input.npy");
  ASSERT_EQ(input.sizes(), torch::IntArrayRef({kBatch, 3, kInceptionInputSize, kInceptionInputSize}));
  torch::NoGradGuard no_grad;
  net->eval();
  const auto logits = net->forward(input).logits;
  const auto reference_logits = npy_tensor(dir / "logits.npy");
  ASSERT_GT(reference_logits.std().item<double>(), 0.1);  // realistic activations, not a dead network
  const double logits_diff = relative_max_diff(logits, reference_logits);
  const double features_diff = relative_max_diff(net->features(input), npy_tensor(dir / "features.npy"));
  net->train();  // BatchNorm on batch statistics; the aux branch has no dropout
  const double aux_diff = relative_max_diff(net->forward(input).aux_logits, npy_tensor(dir / "aux_train.npy"));
  std::cout << "  parity inception_v3 299 px: logits " << logits_diff << ", features " << features_diff
            << ", train-mode aux " << aux_diff << "\n";
  EXPECT_LE(logits_diff, kParityTolerance);
  EXPECT_LE(features_diff, kParityTolerance);
  EXPECT_LE(aux_diff, kParityTolerance);

  // The same file through the CLI into an AgeGenderNet: ImageNet's two classifiers are skipped.
  int status = 0;
  const std::string output = run_cli("convert torchvision2facekit --input " + weights + " --output " +
                                         (dir / "face.pt") + " --age-regression", &status);
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("loaded " + std::to_string(state.size() - 4) + " tensors; skipped 4"), std::string::npos) << output;
  const auto loaded = load_age_gender_checkpoint(dir / "face.pt");
  EXPECT_TRUE(loaded.config.age_regression);
  const auto file = by_name(state);
  const auto params = loaded.net->named_parameters();
  EXPECT_TRUE(torch::equal(params["backbone.Mixed_6e.branch7x7dbl_3.conv.weight"], file.at("Mixed_6e.branch7x7dbl_3.conv.weight")));
  EXPECT_TRUE(torch::equal(params["aux.conv1.conv.weight"], file.at("AuxLogits.conv1.conv.weight")));
  EXPECT_TRUE(torch::equal(loaded.net->named_buffers()["backbone.Mixed_7c.branch_pool.bn.running_var"],
                           file.at("Mixed_7c.branch_pool.bn.running_var")));
}

// ---- the torch.save reader ----

TEST(TorchSaveReader, ZipLegacyPlainAndWrappedGiveTheSameTensors) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(run_reference("formats", dir));
  const StateDict zip = read_torch_state_dict(dir / "small_zip.pth");
  const std::vector<std::string> names = {"conv.weight", "bn.running_mean", "bn.num_batches_tracked", "fc.weight",
                                          "fc.bias", "scalar", "base", "view"};
  ASSERT_EQ(zip.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(zip[i].first, names[i]);  // the file's order
  for (const char* other :
       {"small_legacy.pth", "small_plain.pth", "small_wrapped.pth", "small_deflated.pth", "small_zip64.pth"}) {
    const StateDict state = read_torch_state_dict(dir / other);
    ASSERT_EQ(state.size(), zip.size()) << other;
    for (size_t i = 0; i < zip.size(); ++i) {
      EXPECT_EQ(state[i].first, zip[i].first) << other;
      EXPECT_EQ(state[i].second.scalar_type(), zip[i].second.scalar_type()) << other << " " << zip[i].first;
      EXPECT_TRUE(torch::equal(state[i].second, zip[i].second)) << other << " " << zip[i].first;
    }
  }
  const auto t = by_name(zip);
  EXPECT_EQ(t.at("fc.weight").scalar_type(), torch::kDouble);
  EXPECT_EQ(t.at("fc.bias").scalar_type(), torch::kHalf);
  EXPECT_EQ(t.at("bn.num_batches_tracked").item<int64_t>(), 7);
  EXPECT_EQ(t.at("scalar").dim(), 0);
  EXPECT_TRUE(torch::equal(t.at("view"), t.at("base").slice(0, 4, 10).view({2, 3})));
  std::vector<torch::Tensor> floats;
  for (const auto& [name, tensor] : zip) {
    if (tensor.scalar_type() == torch::kFloat) floats.push_back(tensor.reshape(-1));
  }
  EXPECT_TRUE(torch::equal(torch::cat(floats), npy_tensor(dir / "small_ref.npy")));
  const StateDict single = read_torch_state_dict(dir / "small_single.pth");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_TRUE(torch::equal(single[0].second, torch::arange(3.0)));

  // Damaged files: the error names the file (and, inside a pickle, the byte).
  const std::string legacy = test::read_file(dir / "small_legacy.pth"), zipped = test::read_file(dir / "small_zip.pth");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"cut_legacy.pth", legacy.substr(0, legacy.size() / 2)},
      {"cut_zip.pth", zipped.substr(0, zipped.size() / 2)},
      {"text.pth", "conv.weight = 1\n"},
      {"global.pth", std::string(kUnsafePickle, sizeof kUnsafePickle - 1)},
      {"empty.pth", ""}};
  for (const auto& [name, bytes] : bad) {
    test::write_file(dir.path() / name, bytes);
    try {
      read_torch_state_dict(dir / name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(dir / name), std::string::npos) << e.what();
      std::cout << "  " << e.what() << "\n";
    }
  }
}

// The sizes the torch.save reader checks before LibTorch extracts anything (convert/zip_directory.h)
// are the ones python's zipfile lists: torch.save's own archive, one re-zipped with deflate and one
// deflated with zip64 sizes in every record and a zip64 end record.
TEST(TorchSaveReader, ZipDirectoryListsWhatPythonsZipfileLists) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(run_reference("formats", dir));
  std::map<std::string, std::vector<std::string>> expected;
  std::istringstream lines(test::read_file(dir / "zip_records.tsv"));
  for (std::string line; std::getline(lines, line);) {
    const auto tab = line.find('\t');
    expected[line.substr(0, tab)].push_back(line.substr(tab + 1));
  }
  ASSERT_EQ(expected.size(), 3u);
  for (const auto& [archive, records] : expected) {
    std::vector<std::string> listed;
    for (const ZipRecord& r : read_zip_directory(dir / archive)) {
      listed.push_back(r.name + "\t" + std::to_string(r.method) + "\t" + std::to_string(r.compressed_size) + "\t" +
                       std::to_string(r.size));
    }
    EXPECT_EQ(listed, records) << archive;
  }
}

// Inputs found for the fuzz target tests/fuzz/fuzz_torch_state_dict.cpp, kept in its corpus: a
// storage of 2^62 elements, in the legacy stream and in a zip archive (LibTorch's allocator threw a
// c10::Error past the reader), and a tensor of size 2^62 whose (size - 1) x stride overflowed int64
// (undefined behaviour, then a view outside its storage); a zip whose 24-byte record claims
// 4,278,190,104 bytes deflated (LibTorch allocated that much before inflating); and a legacy file
// whose sys-info dict holds itself (its values owned each other and leaked: tools/fuzz.sh replays
// the corpus under LeakSanitizer). Each is a runtime_error naming the file.
TEST(TorchSaveReader, HugeCountsAreErrorsNotAllocationsOrOverflows) {
  const std::string corpus = std::string(FACEKIT_FUZZ_CORPUS) + "/torch_state_dict/";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"regression-huge-storage.pth", "of 4611686018427387904 elements is larger than the file"},
      {"regression-huge-storage-zip.pth", "not the 4611686018427387904 elements of its storage"},
      {"regression-size-overflow.pth", "tensor size and stride overflow 64 bits"},
      {"regression-huge-record-zip.pth", "'ordered_dict_zip/data/0' claims 4278190104 bytes from 24 in the archive"},
      {"regression-dict-inside-itself.pth", "byte 305: APPENDS to a non-list"}};
  for (const auto& [name, message] : cases) {
    try {
      read_torch_state_dict(corpus + name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(corpus + name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      std::cout << "  " << e.what() << "\n";
    }
  }
}

// ---- Inception-v3 beyond torchvision: other widths and sizes ----

TEST(InceptionV3, WidthHalfAt160AndTheSmallestInput) {
  InceptionV3Options options;
  options.width_mult = 0.5;
  options.num_classes = 10;
  InceptionV3 net(options);
  EXPECT_EQ(net->feature_channels(), 1024);  // (320 + 768 + 768 + 192) / 2
  torch::NoGradGuard no_grad;
  net->eval();
  for (const int64_t size : {int64_t{160}, kInceptionMinInputSize}) {
    const auto out = net->forward(torch::randn({kBatch, 3, size, size}));
    EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({kBatch, 10})) << size;
    EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>()) << size;
    EXPECT_FALSE(out.aux_logits.defined());
  }
  EXPECT_EQ(net->features(torch::randn({1, 3, 160, 160})).sizes(), torch::IntArrayRef({1, 1024}));
  EXPECT_THROW(net->forward(torch::randn({1, 3, 74, 74})), c10::Error);
  net->train();
  try {
    net->forward(torch::randn({kBatch, 3, 160, 160}));
    ADD_FAILURE() << "the aux head ran on 160 px";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("299"), std::string::npos) << e.what();
  }
  EXPECT_EQ(scaled_channels(32, 0.1), 8);
  EXPECT_EQ(inception_mixed_6e_size(299), 17);
  EXPECT_FALSE(aux_head_fits(298));
}

// ---- AgeGenderNet ----

AgeGenderConfig small_config() {
  AgeGenderConfig c;
  c.width_mult = 0.25;
  c.crop.size = 160;
  c.crop.margin = 1.2f;
  c.aux_head = false;  // 160 px is too small for it
  c.age_regression = true;
  c.intervals = parse_age_intervals("0-12,13-30,31-60,61-100");
  c.normalisation.mean[1] = 0.5f;
  c.gender_labels = {"M", "F"};
  return c;
}

TEST(AgeGenderNet, HeadsAndTheAuxiliaryHead) {
  auto net = make_age_gender_net(small_config()).net;
  torch::NoGradGuard no_grad;
  auto out = net->forward(torch::randn({kBatch, 3, 160, 160}));
  EXPECT_EQ(out.gender_logits.sizes(), torch::IntArrayRef({kBatch, 2}));
  EXPECT_EQ(out.age_logits.sizes(), torch::IntArrayRef({kBatch, 4}));
  EXPECT_EQ(out.age_years_logits.sizes(), torch::IntArrayRef({kBatch, kAgeYearsClasses}));
  EXPECT_FALSE(out.aux_gender_logits.defined());

  AgeGenderConfig with_aux;  // Adience's 8 intervals, 299 px
  with_aux.width_mult = 0.25;
  auto aux_net = make_age_gender_net(with_aux).net;
  aux_net->train();
  out = aux_net->forward(torch::randn({kBatch, 3, 299, 299}));
  EXPECT_EQ(out.aux_gender_logits.sizes(), torch::IntArrayRef({kBatch, 2}));
  EXPECT_EQ(out.aux_age_logits.sizes(), torch::IntArrayRef({kBatch, 8}));
  EXPECT_FALSE(out.age_years_logits.defined());

  with_aux.crop.size = 160;
  EXPECT_THROW(AgeGenderNet{with_aux}, std::invalid_argument);
}

// Realistic BatchNorm parameters and statistics, so that copying them to the wrong channel shows.
void randomize_batchnorm(AgeGenderNet& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    if (p.key().find(".bn.weight") != std::string::npos) p.value().uniform_(0.5, 1.5);
    if (p.key().find(".bn.bias") != std::string::npos) p.value().uniform_(-0.2, 0.2);
  }
  for (auto& b : net->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.1, 1);
  }
}

// Net2WiderNet: the wider network computes what the narrow one did, in eval mode (running
// statistics) and in train mode (batch statistics, the auxiliary head at 299 px).
TEST(AgeGenderNet, WidenedNetworkGivesTheSameOutputs) {
  constexpr double kWidenTolerance = 1e-4;  // float rounding of sums split over copies
  torch::manual_seed(7);
  AgeGenderConfig with_aux;
  with_aux.width_mult = 0.125;
  with_aux.dropout = 0;  // train mode without randomness
  for (const auto& [config, wider, train_mode] : {std::tuple{small_config(), 0.4, false}, std::tuple{with_aux, 0.2, true}}) {
    SCOPED_TRACE(config.width_mult);
    auto narrow = make_age_gender_net(config);
    randomize_batchnorm(narrow.net);
    auto wide = widen_age_gender_net(narrow, wider, /*seed=*/3);
    EXPECT_EQ(wide.config.width_mult, wider);
    EXPECT_EQ(wide.net->feature_channels(), make_age_gender_net(wide.config).net->feature_channels());
    EXPECT_GT(wide.net->feature_channels(), narrow.net->feature_channels());
    narrow.net->train(train_mode);
    wide.net->train(train_mode);
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({4, 3, config.crop.size, config.crop.size});
    const auto a = narrow.net->forward(x), b = wide.net->forward(x);
    EXPECT_LT(relative_max_diff(b.gender_logits, a.gender_logits), kWidenTolerance);
    EXPECT_LT(relative_max_diff(b.age_logits, a.age_logits), kWidenTolerance);
    ASSERT_GT(a.age_logits.std().item<double>(), 0.01);  // not a dead network
    if (config.age_regression) {
      EXPECT_LT(relative_max_diff(b.age_years_logits, a.age_years_logits), kWidenTolerance);
    }
    if (train_mode) {
      EXPECT_LT(relative_max_diff(b.aux_gender_logits, a.aux_gender_logits), kWidenTolerance);
      EXPECT_LT(relative_max_diff(b.aux_age_logits, a.aux_age_logits), kWidenTolerance);
    }
  }
  // The copies of a channel differ (else they would get the same gradients and stay copies): no
  // two input columns of the widened gender head are equal.
  auto narrow = make_age_gender_net(small_config());
  auto wide = widen_age_gender_net(narrow, 0.5, 3);
  const auto columns = wide.net->named_parameters()["gender.weight"].t();
  ASSERT_EQ(columns.size(0), 2 * narrow.net->feature_channels());
  EXPECT_EQ(std::get<0>(torch::unique_dim(columns, 0)).size(0), columns.size(0));
  EXPECT_THROW(widen_age_gender_net(wide, 0.25, 3), std::invalid_argument);  // narrowing
}

TEST(AgeGenderNet, CheckpointRoundTrip) {
  TempDir dir;
  AgeGenderConfig config = small_config();
  config.age_calibration = {-0.25f, 0.975f};
  auto net = make_age_gender_net(config).net;
  save_age_gender_checkpoint(dir / "face.pt", net, config);
  auto loaded = load_age_gender_checkpoint(dir / "face.pt");
  const auto& c = loaded.config;
  EXPECT_EQ(c.architecture, config.architecture);
  EXPECT_EQ(c.width_mult, config.width_mult);
  EXPECT_EQ(c.crop.size, config.crop.size);
  EXPECT_EQ(c.crop.margin, config.crop.margin);
  EXPECT_EQ(c.normalisation.mean[1], config.normalisation.mean[1]);
  EXPECT_EQ(format_age_intervals(c.intervals), format_age_intervals(config.intervals));
  EXPECT_EQ(c.gender_labels, config.gender_labels);
  EXPECT_EQ(c.age_regression, config.age_regression);
  EXPECT_EQ(c.aux_head, config.aux_head);
  EXPECT_EQ(c.age_calibration.offset, -0.25f);
  EXPECT_EQ(c.age_calibration.scale, 0.975f);
  EXPECT_EQ(loaded.storage, CheckpointStorage::kFloat32);
  // A config written before the calibration existed reads as the identity line; a line that is no
  // line is refused.
  auto old_json = nlohmann::json::parse(age_gender_config_json(config));
  old_json.erase("age_calibration");
  EXPECT_TRUE(age_gender_config_from_json(old_json.dump()).age_calibration.is_identity());
  AgeGenderConfig flat = config;
  flat.age_calibration.scale = 0;
  EXPECT_THROW(check_age_gender_config(flat), std::invalid_argument);
  const auto x = torch::randn({kBatch, 3, 160, 160});
  torch::NoGradGuard no_grad;
  net->eval();
  const auto a = net->forward(x), b = loaded.net->forward(x);
  EXPECT_TRUE(torch::equal(a.gender_logits, b.gender_logits));
  EXPECT_TRUE(torch::equal(a.age_logits, b.age_logits));
  EXPECT_TRUE(torch::equal(a.age_years_logits, b.age_years_logits));

  // Where training starts: a checkpoint brings its own config, nothing gives random weights.
  std::ostringstream log;
  EXPECT_EQ(initial_age_gender_net(dir / "face.pt", AgeGenderConfig{}, log).config.crop.size, 160);
  EXPECT_EQ(initial_age_gender_net("", config, log).config.width_mult, 0.25);

  // A destination that cannot be replaced (a folder) leaves nothing behind.
  fs::create_directories(dir.path() / "folder.pt");
  EXPECT_ANY_THROW(save_age_gender_checkpoint(dir / "folder.pt", net, config));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);  // face.pt, folder.pt

  // A truncated checkpoint and a torch.save file are clear errors naming the file.
  const std::string bytes = test::read_file(dir / "face.pt");
  test::write_file(dir.path() / "cut.pt", bytes.substr(0, bytes.size() / 2));
  test::write_file(dir.path() / "text.pt", "not a checkpoint");
  for (const char* name : {"cut.pt", "text.pt", "missing.pt"}) {
    try {
      load_age_gender_checkpoint(dir / name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(dir / name), std::string::npos) << e.what();
    }
  }

  // float16 storage: about half the file, read back in float32 as the weights rounded to half.
  save_age_gender_checkpoint(dir / "half.pt", net, config, CheckpointStorage::kFloat16);
  EXPECT_LT(fs::file_size(dir.path() / "half.pt"), 0.6 * fs::file_size(dir.path() / "face.pt"));
  auto half = load_age_gender_checkpoint(dir / "half.pt");
  EXPECT_EQ(half.config.width_mult, config.width_mult);
  EXPECT_EQ(half.storage, CheckpointStorage::kFloat16);
  auto half_tensors = half.net->named_parameters();
  for (const auto& b : half.net->named_buffers()) half_tensors.insert(b.key(), b.value());
  auto tensors = net->named_parameters();
  for (const auto& b : net->named_buffers()) tensors.insert(b.key(), b.value());
  ASSERT_EQ(half_tensors.size(), tensors.size());
  for (const auto& t : tensors) {
    const auto& read = half_tensors[t.key()];
    EXPECT_EQ(read.scalar_type(), t.value().scalar_type()) << t.key();  // float32, and BN's int64 counters
    const auto expected = t.value().is_floating_point() ? t.value().to(torch::kHalf).to(t.value().scalar_type()) : t.value();
    EXPECT_TRUE(torch::equal(read, expected)) << t.key();
  }
  half.net->eval();
  EXPECT_LT(relative_max_diff(half.net->forward(x).age_years_logits, a.age_years_logits), 1e-2);
}

}  // namespace
}  // namespace facekit
