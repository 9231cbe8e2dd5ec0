// Training that is killed, or cannot write: a SIGKILL at random moments never leaves a
// checkpoint that does not load, --resume always continues, and an output folder that cannot be
// written is an error before training starts, not after the first epoch.
#include <gtest/gtest.h>

#include <random>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "models/classifier/age_gender_net.h"
#include "train/sound_weights.h"
#include "tests/test_util.h"

namespace facekit::test {
namespace {

const fs::path kUtkface = shared_dir() / "data" / "utkface";

std::string train_command(const std::string& split, const std::string& run, int epochs = 4, int save_every = 1) {
  const std::string faces = "utkface:" + kUtkface.string();
  return std::string(FACEKIT_BINARY) + " train classifier --train " + faces + " --train-split " + split + " --val " + faces +
         " --val-split " + split + " --run " + run +
         " --width-mult 0.25 --input-size 75 --epochs " + std::to_string(epochs) +
         " --batch 4 --save-every " + std::to_string(save_every) + " --loader-threads 1 --threads 1";
}

TEST(Reliability, TrainingKilledTenTimesAtRandomAlwaysResumes) {
  FACEKIT_REQUIRE_PATH(kUtkface);
  TempDir dir;
  const std::string split = utkface_split(dir.path(), 32, 40), run = dir / "run";
  std::mt19937 random(2026);
  std::uniform_int_distribution<int> moment_ms(300, 3000);  // start-up takes about 1 s: some kills land in it
  int resumed = 0;
  for (int kill_number = 0; kill_number < 10; ++kill_number) {
    const bool resume = fs::exists(run + "/state.pt");
    resumed += resume;
    const std::string log = dir / ("attempt" + std::to_string(kill_number) + ".log");
    const pid_t pid = spawn(train_command(split, run) + (resume ? " --resume" : ""), log);
    // The first run is killed only once it has written a state (however slow the machine), the
    // others at random moments from start-up on.
    const auto started = std::chrono::steady_clock::now();
    while (!resume && !fs::exists(run + "/state.pt") && std::chrono::steady_clock::now() - started < std::chrono::seconds(120)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(moment_ms(random)));
    kill(pid, SIGKILL);
    const int code = wait_exit(pid, std::chrono::seconds(30));
    // Killed (137), or finished a short stretch; never an error of its own (e.g. a bad state.pt).
    EXPECT_TRUE(code == 128 + SIGKILL || code == 0) << read_file(log);
    if (fs::exists(run + "/weights/last.pt")) {
      EXPECT_NO_THROW(load_age_gender_checkpoint(run + "/weights/last.pt")) << "after kill " << kill_number;
    }
  }
  EXPECT_EQ(resumed, 9);  // every attempt after the first continued the run
  const auto finish = run_command(train_command(split, run) + " --resume");
  ASSERT_EQ(finish.exit_code, 0) << finish.output;
  EXPECT_EQ(csv_column(run + "/results.csv", "val_gender_acc").size(), 4u)  // every epoch logged once
      << read_file(run + "/results.csv") << finish.output;
  EXPECT_NO_THROW(load_age_gender_checkpoint(run + "/weights/best.pt"));
}

// A learning rate that blows the weights up on resuming, after one good epoch. The first update has
// a finite loss, the next ones are NaN. Saving every step, the save right after that update refuses
// the broken weights; saving per epoch, 5 NaN steps in a row stop the run. Either way the run stops
// naming the last good checkpoint, which is left untouched, holds finite weights and resumes at a
// sane learning rate.
TEST(Reliability, DivergingTrainingStopsAndKeepsTheLastGoodCheckpoint) {
  FACEKIT_REQUIRE_PATH(kUtkface);
  for (const int save_every : {1, 0}) {
    SCOPED_TRACE("--save-every " + std::to_string(save_every));
    TempDir dir;
    const std::string split = utkface_split(dir.path(), 32, 40), run = dir / "run", last = run + "/weights/last.pt";
    const auto first = run_command(train_command(split, run, 1, save_every));
    ASSERT_EQ(first.exit_code, 0) << first.output;
    const std::string good = read_file(last);
    const auto diverged = run_command(train_command(split, run, 3, save_every) + " --resume --lr 1e30");
    EXPECT_EQ(diverged.exit_code, 1) << diverged.output;
    if (save_every == 0) {
      EXPECT_NE(diverged.output.find("loss is nan, step skipped"), std::string::npos) << diverged.output;
    }
    EXPECT_NE(diverged.output.find(save_every ? "the weights give non-finite values" : "5 non-finite losses in a row"),
              std::string::npos) << diverged.output;
    EXPECT_NE(diverged.output.find("the last good checkpoint is " + last), std::string::npos) << diverged.output;
    EXPECT_EQ(read_file(last), good);
    EXPECT_TRUE(train::all_finite(*load_age_gender_checkpoint(last).net));
    const auto resumed = run_command(train_command(split, run, 2, save_every) + " --resume");
    EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(csv_column(run + "/results.csv", "val_gender_acc").size(), 2u);
  }
}

// A run folder that cannot be made (under a file), and one that cannot be written (read-only;
// checked only when not root, whom permissions do not stop): errors before any training.
TEST(Reliability, AnUnwritableRunFolderIsAnErrorAtStartUp) {
  FACEKIT_REQUIRE_PATH(kUtkface);
  TempDir dir;
  const std::string split = utkface_split(dir.path(), 32, 40);
  write_file(dir / "a-file", "not a folder");
  std::vector<std::pair<std::string, std::string>> cases = {{dir / "a-file/run", "cannot create this output folder"}};
  fs::create_directories(dir / "locked/run/weights");
  fs::permissions(dir / "locked/run/weights", fs::perms::owner_read | fs::perms::owner_exec);
  if (geteuid() != 0) cases.emplace_back(dir / "locked/run", "the output folder is not writable");
  for (const auto& [run, message] : cases) {
    const auto r = run_command(train_command(split, run));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("epoch 1"), std::string::npos) << r.output;  // before any training
  }
  fs::permissions(dir / "locked/run/weights", fs::perms::owner_all);
}

// Half the images of a face CSV are corrupt files: reported per epoch and tolerated when allowed,
// a clear stop under the default 1 % once enough images were read.
TEST(Reliability, UnreadableTrainingImagesAreCountedAndStopTheRunAboveTheLimit) {
  FACEKIT_REQUIRE_PATH(kUtkface);
  TempDir dir;
  std::ifstream names(kUtkface / "splits" / "val.txt");
  std::ofstream csv(dir / "faces.csv");
  csv << "image,age,gender\n";
  std::string name;
  for (int i = 0; i < 8 && std::getline(names, name); ++i) {
    fs::copy_file(kUtkface / "images" / name, dir / ("good" + std::to_string(i) + ".jpg"));
    // Distinct bytes: identical files would be dropped as repeats before anything is decoded.
    write_file(dir / ("bad" + std::to_string(i) + ".jpg"), "\xff\xd8 truncated " + std::to_string(i));
    csv << "good" << i << ".jpg,30,M\nbad" << i << ".jpg,30,F\n";
  }
  csv.close();
  const std::string faces = "csv:" + dir / "faces.csv";
  const std::string command = std::string(FACEKIT_BINARY) + " train classifier --train " + faces + " --val " + faces +
                              " --width-mult 0.25 --input-size 75 --batch 4 --loader-threads 1 --threads 1 --no-augment";
  const auto tolerated = run_command(command + " --epochs 1 --max-bad-fraction 0.6 --run " + dir / "tolerated");
  EXPECT_EQ(tolerated.exit_code, 0) << tolerated.output;
  EXPECT_NE(tolerated.output.find("epoch 1: 8 of 16 images unreadable, skipped"), std::string::npos) << tolerated.output;
  const auto stopped = run_command(command + " --epochs 20 --run " + dir / "stopped");
  EXPECT_EQ(stopped.exit_code, 1) << stopped.output;
  EXPECT_NE(stopped.output.find("cannot be decoded (more than 1 %): the data is broken"), std::string::npos) << stopped.output;
  EXPECT_NE(stopped.output.find("of the 200 images read so far"), std::string::npos) << stopped.output;  // the first check
}

// Detection labels with a NaN, a zero-size box and a repeated image (3 bad of 8): the counts are
// printed at start and with each report; under the default 1 % the run refuses to start.
TEST(Reliability, BrokenDetectionLabelsAreCountedAndStopTheRunAboveTheLimit) {
  TempDir dir;
  fs::create_directories(dir.path() / "images");
  fs::create_directories(dir.path() / "labels");
  std::ofstream list(dir / "train.txt");
  cv::RNG rng(1);
  for (int i = 0; i < 7; ++i) {
    cv::Mat image(96, 96, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 255);
    const std::string name = "i" + std::to_string(i);
    cv::imwrite((dir.path() / "images" / (name + ".jpg")).string(), image);
    write_file(dir.path() / "labels" / (name + ".txt"), i == 0 ? "0 nan 0.5 0.2 0.2\n" : i == 1 ? "0 0.5 0.5 0.2 0\n" : "0 0.5 0.5 0.3 0.4\n");
    list << (dir.path() / "images" / (name + ".jpg")).string() << "\n";
  }
  list << (dir.path() / "images" / "i6.jpg").string() << "\n";
  list.close();
  write_file(dir.path() / "face.data", "classes = 1\ntrain = " + dir / "train.txt" + "\nbackup = " + dir / "backup" + "\n");
  const std::string command = std::string(FACEKIT_BINARY) + " train detector --cfg " + FACEKIT_SOURCE_DIR +
                              "/models/cfg/yolo-fastest-1.1-face.cfg --data " + dir / "face.data" +
                              " --max-batches 1 --batch 2 --subdivisions 1 --threads 1";
  const std::string counts = "labels of 8 images: 1 boxes dropped (zero size or outside the image), 1 boxes dropped (NaN or Inf), "
                             "1 repeated images dropped";
  const auto stopped = run_command(command);
  EXPECT_EQ(stopped.exit_code, 1) << stopped.output;
  EXPECT_NE(stopped.output.find("3 of 8 images have bad labels (more than 1 %)"), std::string::npos) << stopped.output;
  EXPECT_FALSE(fs::exists(dir.path() / "backup" / "yolo-fastest-1.1-face_last.weights"));
  const auto tolerated = run_command(command + " --max-bad-fraction 0.5");
  EXPECT_EQ(tolerated.exit_code, 0) << tolerated.output;
  EXPECT_NE(tolerated.output.find("training on 7 images"), std::string::npos) << tolerated.output;
  const size_t at_start = tolerated.output.find(counts + "\n"), at_report = tolerated.output.find("iteration 1: " + counts + "\n");
  EXPECT_NE(at_report, std::string::npos) << tolerated.output;
  EXPECT_LT(at_start, at_report) << tolerated.output;  // printed when the list is read, then with the last report
}

}  // namespace
}  // namespace facekit::test
