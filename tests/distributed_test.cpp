// Data-parallel training on c10d/Gloo (train/distributed.h): 2 processes on 127.0.0.1 reach the
// weights 1 process reaches with the same global batch and seed (also when a 2-rank run is resumed
// by 1 process), and a rank killed mid-run makes the other exit with a message instead of hanging.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <regex>
#include <thread>

#include "models/classifier/age_gender_net.h"
#include "convert/darknet_torch.h"
#include "tests/tensor_util.h"

namespace facekit::test {
namespace {

using Clock = std::chrono::steady_clock;

const fs::path kUtkface = shared_dir() / "data" / "utkface";
const fs::path kFaceMask = shared_dir() / "data" / "facemask";
const fs::path kFastest = shared_dir() / "models" / "yolo-fastest-1.1";

// A port per test process, so parallel test runs do not meet each other.
int free_port(int offset) { return 20000 + (getpid() * 7 + offset) % 20000; }

// Rank 1 in the background, rank 0 here, both to the end.
struct TwoRanks {
  CommandResult rank0;
  int rank1_exit = -1;
  std::string rank1_log;
};

TwoRanks run_two_ranks(const std::function<std::string(int rank)>& command, const std::string& rank1_log) {
  const pid_t rank1 = spawn(command(1), rank1_log);
  TwoRanks result{run_command(command(0)), -1, ""};
  result.rank1_exit = wait_exit(rank1, std::chrono::seconds(120));
  result.rank1_log = read_file(rank1_log);
  return result;
}

// The same training as 1 process in dir/single and as 2 ranks on 127.0.0.1 in dir/dist:
// command(run folder, extra options), with `single_extra` for the process and `dist_extra` plus the
// rank options for the ranks. All three must succeed (the caller checks HasFailure()); returns
// rank 0's output.
using TrainCommand = std::function<std::string(const std::string& run, const std::string& extra)>;
std::string train_one_and_two_ranks(const TempDir& dir, const TrainCommand& command, const std::string& single_extra,
                                    const std::string& dist_extra, int port_offset) {
  const auto single = run_command(command(dir / "single", single_extra));
  EXPECT_EQ(single.exit_code, 0) << single.output;
  const std::string ranks =
      dist_extra + " --dist-url tcp://127.0.0.1:" + std::to_string(free_port(port_offset)) + " --world-size 2 --rank ";
  const auto dist = run_two_ranks([&](int rank) { return command(dir / "dist", ranks + std::to_string(rank)); }, dir / "rank1.log");
  EXPECT_EQ(dist.rank0.exit_code, 0) << dist.rank0.output;
  EXPECT_EQ(dist.rank1_exit, 0) << dist.rank1_log;
  EXPECT_NE(dist.rank0.output.find("data-parallel: 2 ranks"), std::string::npos) << dist.rank0.output;
  return dist.rank0.output;
}

std::string classifier_command(const std::string& split, const std::string& run, const std::string& extra, int batch = 8) {
  const std::string faces = "utkface:" + kUtkface.string();
  // Dropout off: its masks come from each process's own generator (documented in the README).
  return std::string(FACEKIT_BINARY) + " train classifier --train " + faces + " --train-split " + split + " --val " + faces +
         " --val-split " + split + " --run " + run + " --width-mult 0.25 --input-size 75 --batch " + std::to_string(batch) + " --dropout 0" +
         " --optimizer sgd --lr 0.05 --warmup-epochs 0 --loader-threads 1 --threads 1 --seed 7 " + extra;
}

TEST(Distributed, TwoClassifierRanksReachTheWeightsOfOneProcess) {
  FACEKIT_REQUIRE_PATH(kUtkface);
  TempDir dir;
  const std::string split = utkface_split(dir.path(), 32, 50);
  // One process, the global batch of 8 as 2 micro-batches of 4: what 2 ranks of 4 compute.
  const TrainCommand command = [&](const std::string& run, const std::string& extra) { return classifier_command(split, run, extra); };
  train_one_and_two_ranks(dir, command, "--epochs 1 --subdivisions 2", "--epochs 1", 1);
  ASSERT_FALSE(HasFailure());

  const auto a = load_age_gender_checkpoint(dir / "single/weights/last.pt");
  const auto b = load_age_gender_checkpoint(dir / "dist/weights/last.pt");
  const auto initial = make_age_gender_net(a.config);
  double largest_change = 0;
  for (const auto& p : a.net->named_parameters()) {
    const torch::Tensor& q = b.net->named_parameters()[p.key()];
    EXPECT_LE(relative_max_diff(q, p.value()), 1e-5) << p.key();
    largest_change = std::max(largest_change, (p.value() - initial.net->named_parameters()[p.key()]).abs().max().item<double>());
  }
  EXPECT_GT(largest_change, 1e-3);  // the 4 steps moved the weights: the comparison means something

  // --resume with another world size: 2 ranks stop after 2 of the 4 steps, 1 process finishes.
  const std::string half = " --dist-url tcp://127.0.0.1:" + std::to_string(free_port(4)) + " --max-steps 2 --world-size 2 --rank ";
  const auto first_half = run_two_ranks(
      [&](int rank) { return classifier_command(split, dir / "resumed", "--epochs 1" + half + std::to_string(rank)); },
      dir / "half1.log");
  ASSERT_EQ(first_half.rank0.exit_code, 0) << first_half.rank0.output;
  ASSERT_EQ(first_half.rank1_exit, 0) << first_half.rank1_log;
  const auto resumed = run_command(classifier_command(split, dir / "resumed", "--epochs 1 --subdivisions 2 --resume"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto c = load_age_gender_checkpoint(dir / "resumed/weights/last.pt");
  for (const auto& p : a.net->named_parameters()) {
    EXPECT_LE(relative_max_diff(c.net->named_parameters()[p.key()], p.value()), 1e-5) << p.key();
  }
}

// Two micro-batches of 4 per rank: the first backward accumulates locally, the second averages the
// sum over the ranks while it runs (c10d's Reducer). Against 1 process with the same 4 micro-batches
// the only difference is the order of the gradient sums, (g1 + g2) + (g3 + g4) instead of
// ((g1 + g2) + g3) + g4: rounding, after one step. (Micro-batches of 2 faces make BatchNorm on the
// 1x1 maps of a 75 px input blow the weights up in one step: the trainer refuses to save those.)
TEST(Distributed, TwoRanksOfTwoMicroBatchesSyncOnlyTheLast) {
  FACEKIT_REQUIRE_PATH(kUtkface);
  TempDir dir;
  const std::string split = utkface_split(dir.path(), 32, 50);
  const TrainCommand command = [&](const std::string& run, const std::string& extra) {
    return classifier_command(split, run, "--epochs 1 --max-steps 1 --subdivisions 4 " + extra, 16);
  };
  const std::string rank0 = train_one_and_two_ranks(dir, command, "", "", 7);
  ASSERT_FALSE(HasFailure());
  EXPECT_NE(rank0.find("4 micro-batches of 4, 2 per rank"), std::string::npos) << rank0;
  const auto a = load_age_gender_checkpoint(dir / "single/weights/last.pt");
  const auto b = load_age_gender_checkpoint(dir / "dist/weights/last.pt");
  const auto initial = make_age_gender_net(a.config);
  double largest_diff = 0, largest_change = 0;
  for (const auto& p : a.net->named_parameters()) {
    largest_diff = std::max(largest_diff, relative_max_diff(b.net->named_parameters()[p.key()], p.value()));
    largest_change = std::max(largest_change, (p.value() - initial.net->named_parameters()[p.key()]).abs().max().item<double>());
  }
  std::printf("2 ranks x 2 micro-batches vs 1 process: largest relative difference %.2g, largest change %.2g\n", largest_diff,
              largest_change);
  EXPECT_LE(largest_diff, 1e-5);
  EXPECT_GT(largest_change, 1e-3);
}

// Yolo-Fastest 1.1 for faces from the COCO weights on 8 face-mask images, 3 iterations of a batch
// of 8 in 2 micro-batches of 4 (the shipped cfg without burn-in, so that they move the weights):
// 1 process, and 2 ranks of one micro-batch each. Measured: identical to the last bit (the same
// sums in the same order). With 4 micro-batches, 2 per rank, the order of the gradient sums differs
// ((g1 + g2) + g3 + g4 against (g1 + g2) + (g3 + g4)): 9e-8 apart after one iteration, but this
// training amplifies float rounding (fresh heads, Darknet's thresholded loss): 5.7e-4 after three,
// where one process with 2 threads instead of 1 already lands 1.5e-3 from itself.
std::string detector_command(const TempDir& dir, const std::string& backup, const std::string& extra) {
  std::vector<std::string> annotations;
  for (const auto& entry : fs::directory_iterator(kFaceMask / "annotations")) annotations.push_back(entry.path().string());
  std::sort(annotations.begin(), annotations.end());
  std::ofstream list(dir / "list.txt");
  for (size_t i = 0; i < 8; ++i) list << annotations[i * 7] << "\n";
  const std::string models = std::string(FACEKIT_SOURCE_DIR) + "/models/cfg/";
  std::string cfg = read_file(models + "yolo-fastest-1.1-face.cfg");
  cfg = std::regex_replace(cfg, std::regex("\nburn_in=4000"), "\nburn_in=0");
  // Dropout masks come from each process's own generator (README): off, to compare exactly.
  cfg = std::regex_replace(cfg, std::regex("\nprobability=[0-9.]+"), "\nprobability=0");
  write_file(dir / "face.cfg", cfg);
  write_file(dir / "face.data", "classes = 1\ntrain = " + dir / "list.txt" + "\nnames = " + models + "face.names\nclass_map = " +
                                    models + "facemask.map\nbackup = " + backup + "\n");
  return std::string(FACEKIT_BINARY) + " train detector --cfg " + dir / "face.cfg" + " --weights " +
         (kFastest / "yolo-fastest-1.1.weights").string() + " --weights-cfg " + (kFastest / "yolo-fastest-1.1.cfg").string() +
         " --data " + dir / "face.data" + " --backup " + backup +
         " --batch 8 --subdivisions 2 --max-batches 3 --lr 0.001 --loader-threads 1 --threads 1 --seed 3 " + extra;
}

TEST(Distributed, TwoDetectorRanksReachTheWeightsOfOneProcess) {
  FACEKIT_REQUIRE_PATH(kFaceMask);
  FACEKIT_REQUIRE_PATH(kFastest);
  TempDir dir;
  const TrainCommand command = [&](const std::string& run, const std::string& extra) { return detector_command(dir, run, extra); };
  train_one_and_two_ranks(dir, command, "", "", 3);
  ASSERT_FALSE(HasFailure());

  // Parameters only: BN running statistics differ by design (kept per rank, then averaged).
  const auto a = darknet::load_darknet(dir / "face.cfg", dir / "single/face_final.weights");
  const auto b = darknet::load_darknet(dir / "face.cfg", dir / "dist/face_final.weights");
  const auto coco = darknet::load_darknet((kFastest / "yolo-fastest-1.1.cfg").string(), (kFastest / "yolo-fastest-1.1.weights").string());
  const auto trained = a.net->named_parameters(), start = coco.net->named_parameters();
  for (const auto& p : b.net->named_parameters()) EXPECT_LE(relative_max_diff(p.value(), trained[p.key()]), 1e-5) << p.key();
  const auto& first = "convolutional_0.weight";
  EXPECT_GT((trained[first] - start[first]).abs().max().item<float>(), 1e-6);  // training moved even the first layer
}

TEST(Distributed, AKilledRankMakesTheOtherExitWithAMessage) {
  FACEKIT_REQUIRE_PATH(kUtkface);
  TempDir dir;
  const std::string split = utkface_split(dir.path(), 32, 50);
  const std::string url = " --dist-url tcp://127.0.0.1:" + std::to_string(free_port(2)) + " --world-size 2 --rank ";
  const std::string longer = " --epochs 1000 --save-every 2";
  const pid_t rank0 = spawn(classifier_command(split, dir / "run", longer + url + "0"), dir / "rank0.log");
  const pid_t rank1 = spawn(classifier_command(split, dir / "run", longer + url + "1"), dir / "rank1.log");
  // Let them train a few steps together (rank 0 writes state.pt every 2 steps).
  const auto started = Clock::now();
  while (!fs::exists(dir / "run/state.pt") && Clock::now() - started < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(fs::exists(dir / "run/state.pt")) << read_file(dir / "rank0.log");
  kill(rank1, SIGKILL);
  waitpid(rank1, nullptr, 0);
  const auto killed = Clock::now();
  const int code = wait_exit(rank0, std::chrono::seconds(60));
  const std::string log = read_file(dir / "rank0.log");
  EXPECT_GT(code, 0) << log;  // -1: still running after 60 s
  EXPECT_LT(Clock::now() - killed, std::chrono::seconds(60));
  EXPECT_NE(log.find("lost contact with the other ranks"), std::string::npos) << log;
  EXPECT_NO_THROW(load_age_gender_checkpoint(dir / "run/weights/last.pt"));  // the last checkpoint is whole
}

}  // namespace
}  // namespace facekit::test
