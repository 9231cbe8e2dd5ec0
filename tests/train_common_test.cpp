// Learning-rate schedules on hand-computed values, the cfg's training keys, and the run log's CSV.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/darknet/cfg.h"
#include "train/lr_schedule.h"
#include "train/net_training_config.h"
#include "train/run_log.h"

namespace facekit::train {
namespace {

namespace fs = std::filesystem;

TEST(LrSchedule, WarmupThenCosine) {
  LrSchedule s;
  s.base = 0.1;
  s.warmup = 10;
  s.total = 110;
  s.min = 0.001;
  EXPECT_DOUBLE_EQ(s.at(0), 0);
  EXPECT_DOUBLE_EQ(s.at(5), 0.05);
  EXPECT_DOUBLE_EQ(s.at(10), 0.1);
  EXPECT_NEAR(s.at(60), 0.001 + 0.099 / 2, 1e-12);  // half way: cos(pi / 2) = 0
  EXPECT_NEAR(s.at(110), 0.001, 1e-12);
  EXPECT_NEAR(s.at(500), 0.001, 1e-12);
}

TEST(LrSchedule, DarknetBurnInAndSteps) {
  LrSchedule s;  // yolov3.cfg: learning_rate=0.001 burn_in=1000 power=4 steps=400000,450000 scales=.1,.1
  s.policy = LrSchedule::Policy::kSteps;
  s.base = 0.001;
  s.warmup = 1000;
  s.warmup_power = 4;
  s.steps = {400000, 450000};
  s.scales = {0.1, 0.1};
  EXPECT_DOUBLE_EQ(s.at(500), 0.001 * std::pow(0.5, 4));
  EXPECT_DOUBLE_EQ(s.at(399999), 0.001);
  EXPECT_NEAR(s.at(400000), 0.0001, 1e-15);
  EXPECT_NEAR(s.at(460000), 0.00001, 1e-16);
}

TEST(LrSchedule, PolyExpAndNames) {
  LrSchedule s;
  s.policy = parse_lr_policy("poly");
  s.base = 0.1;
  s.total = 100;
  s.power = 2;
  EXPECT_NEAR(s.at(50), 0.025, 1e-12);
  s.policy = parse_lr_policy("exp");
  s.gamma = 0.5;
  EXPECT_NEAR(s.at(3), 0.0125, 1e-12);
  EXPECT_THROW(parse_lr_policy("sgd"), std::invalid_argument);
}

// AlexeyAB's SGDR policy (src/network.c get_current_rate): cycles of 100, 200, 400 steps, each a
// cosine from the base rate to learning_rate_min; a step on a cycle's end still belongs to it.
TEST(LrSchedule, SgdrRestartsInLongerCycles) {
  LrSchedule s;
  s.policy = parse_lr_policy("sgdr");
  s.base = 0.01;
  s.min = 0.0001;
  s.cycle = 100;
  s.cycle_mult = 2;
  const double middle = 0.0001 + 0.0099 / 2;
  EXPECT_DOUBLE_EQ(s.at(0), 0.01);
  EXPECT_NEAR(s.at(50), middle, 1e-12);
  EXPECT_NEAR(s.at(100), 0.0001, 1e-12);
  EXPECT_NEAR(s.at(101), 0.0001 + 0.0099 * (1 + std::cos(M_PI / 200)) / 2, 1e-12);
  EXPECT_NEAR(s.at(200), middle, 1e-12);
  EXPECT_NEAR(s.at(300), 0.0001, 1e-12);
  EXPECT_NEAR(s.at(500), middle, 1e-12);
  s.warmup = 10;  // burn-in first, on the same step count
  EXPECT_DOUBLE_EQ(s.at(5), 0.01 * 0.5);
  EXPECT_NEAR(s.at(50), middle, 1e-12);
}

// The [net] keys of an AlexeyAB cfg with policy=sgdr make the schedule above; sgdr_cycle defaults
// to max_batches (AlexeyAB's parse_net_options).
TEST(NetTrainingConfig, SgdrKeysMakeTheSchedule) {
  const fs::path cfg = fs::temp_directory_path() / ("facekit_sgdr_" + std::to_string(::getpid()) + ".cfg");
  std::ofstream(cfg) << "[net]\nbatch=8\nsubdivisions=2\nlearning_rate=0.01\nburn_in=10\nmax_batches=700\npolicy=sgdr\n"
                        "sgdr_cycle=100\nsgdr_mult=2\nlearning_rate_min=0.0001\n";
  const NetTrainingConfig config = read_net_training_config(darknet::parse_cfg_file(cfg.string()));
  LrSchedule s = config.schedule();
  EXPECT_EQ(s.policy, LrSchedule::Policy::kSgdr);
  EXPECT_NEAR(s.at(300), 0.0001, 1e-9);
  EXPECT_NEAR(s.at(200), 0.0001 + 0.0099 / 2, 1e-9);
  std::ofstream(cfg) << "[net]\nlearning_rate=0.01\nmax_batches=700\npolicy=sgdr\n";
  s = read_net_training_config(darknet::parse_cfg_file(cfg.string())).schedule();
  EXPECT_EQ(s.cycle, 700);
  EXPECT_NEAR(s.min, 0.00001, 1e-12);
  std::ofstream(cfg) << "[net]\npolicy=sig\n";
  try {
    read_net_training_config(darknet::parse_cfg_file(cfg.string()));
    ADD_FAILURE() << "policy=sig was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(cfg.string()), std::string::npos) << e.what();
  }
  fs::remove(cfg);
}

// Augmentation keys of AlexeyAB's [net]: flip and blur are read (flip=0 turns the mirror off);
// keys facekit does not implement are listed with file and line so the trainer can say so; a
// negative blur is refused at its line.
TEST(NetTrainingConfig, FlipBlurAndKeysNotImplemented) {
  const fs::path cfg = fs::temp_directory_path() / ("facekit_netkeys_" + std::to_string(::getpid()) + ".cfg");
  std::ofstream(cfg) << "[net]\nbatch=8\nflip=0\nblur=5\nmixup=3\ncutmix=0\nadam=1\n";
  NetTrainingConfig config = read_net_training_config(darknet::parse_cfg_file(cfg.string()));
  EXPECT_FALSE(config.flip);
  EXPECT_EQ(config.blur, 5);
  ASSERT_EQ(config.not_implemented.size(), 2u);
  EXPECT_EQ(config.not_implemented[0], cfg.string() + ":5: [net] mixup=3");
  EXPECT_EQ(config.not_implemented[1], cfg.string() + ":7: [net] adam=1");
  std::ofstream(cfg) << "[net]\nbatch=8\n";
  config = read_net_training_config(darknet::parse_cfg_file(cfg.string()));
  EXPECT_TRUE(config.flip);
  EXPECT_EQ(config.blur, 0);
  EXPECT_TRUE(config.not_implemented.empty());
  std::ofstream(cfg) << "[net]\nbatch=8\n\nblur=-2\n";
  try {
    read_net_training_config(darknet::parse_cfg_file(cfg.string()));
    ADD_FAILURE() << "blur=-2 was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(cfg.string() + ":4: [net] blur"), std::string::npos) << e.what();
  }
  fs::remove(cfg);
}

TEST(RunLog, CsvHasAHeaderAndResumeDropsLaterRows) {
  const fs::path dir = fs::temp_directory_path() / ("facekit_runlog_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    RunLog log(dir.string(), {"train_loss", "val_loss", "val_acc"});
    log.add(1, {{"train_loss", 2.5}, {"val_loss", 2.0}, {"val_acc", 0.5}});
    log.add(2, {{"train_loss", 1.5}, {"val_acc", 0.75}});  // val_loss missing: empty cell
    log.add(3, {{"train_loss", 1.0}});
  }
  std::ifstream csv(dir / "results.csv");
  std::stringstream text;
  text << csv.rdbuf();
  EXPECT_EQ(text.str(), "epoch,train_loss,val_loss,val_acc\n1,2.5,2,0.5\n2,1.5,,0.75\n3,1,,\n");
  EXPECT_GT(fs::file_size(dir / "curves.png"), 1000u);
  RunLog resumed(dir.string(), {"train_loss", "val_loss", "val_acc"});
  resumed.restore(2);
  ASSERT_EQ(resumed.rows().size(), 2u);
  EXPECT_TRUE(std::isnan(resumed.rows()[1][2]));
  RunLog all(dir.string(), {"train_loss", "val_loss", "val_acc"});
  all.restore(3);  // row 3 ends in empty cells: still a row
  ASSERT_EQ(all.rows().size(), 3u);
  EXPECT_EQ(all.rows()[2][1], 1.0);
  EXPECT_TRUE(std::isnan(all.rows()[2][3]));
  EXPECT_EQ(format_duration(3725), "1:02:05");
  EXPECT_EQ(format_duration(65), "1:05");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace facekit::train
