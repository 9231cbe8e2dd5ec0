// Helpers shared by the tests: where the shared data lives, temporary folders, files, commands.
// No torch: the format tests use it too (tensor comparisons: tests/tensor_util.h).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace facekit::test {

namespace fs = std::filesystem;

// ../shared next to the project root (FACEKIT_SHARED_DIR is set by tests/CMakeLists.txt).
inline fs::path shared_dir() { return fs::path(FACEKIT_SHARED_DIR); }

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// Skips the test when shared data is missing on a developer machine; fails it under CI=true,
// where a silent skip would hide a broken set-up.
#define FACEKIT_REQUIRE_PATH(path)                                                         \
  do {                                                                                     \
    if (!std::filesystem::exists(path)) {                                                  \
      if (::facekit::test::in_ci()) FAIL() << "missing test data: " << (path);             \
      GTEST_SKIP() << "missing test data: " << (path);                                     \
    }                                                                                      \
  } while (0)

// A fresh folder under the build's temporary dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "_" + info->name() : "facekit";
    for (auto& c : name) {
      if (c == '/') c = '_';
    }
    path_ = fs::temp_directory_path() / ("facekit_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

inline void write_file(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
}

// The column `name` of a CSV with a header line (a trainer's results.csv), row by row; "nan"
// cells come back as NaN.
inline std::vector<double> csv_column(const std::string& csv_path, const std::string& name) {
  std::ifstream csv(csv_path);
  std::string header, line, cell;
  std::getline(csv, header);
  std::stringstream names(header);
  int index = -1;
  for (int i = 0; std::getline(names, cell, ','); ++i) {
    if (cell == name) index = i;
  }
  std::vector<double> values;
  while (std::getline(csv, line)) {
    std::stringstream row(line);
    for (int i = 0; std::getline(row, cell, ','); ++i) {
      if (i == index) values.push_back(cell == "nan" ? std::nan("") : std::stod(cell));
    }
  }
  return values;
}

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line and collects what it printed.
inline CommandResult run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  CommandResult result{-1, ""};
  if (!pipe) return result;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe)) result.output += buffer;
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A split file listing `count` names of UTKFace's validation split, every `stride`-th one: a
// small, varied set of real faces for training tests.
inline std::string utkface_split(const fs::path& dir, int count, int stride) {
  std::ifstream names(shared_dir() / "data" / "utkface" / "splits" / "val.txt");
  const fs::path split = dir / "split.txt";
  std::ofstream subset(split);
  std::string name;
  for (int i = 0, taken = 0; taken < count && std::getline(names, name); ++i) {
    if (i % stride == 0) subset << name << "\n", ++taken;
  }
  return split.string();
}

// Starts `command` (stdout and stderr to `log`); returns its pid.
inline pid_t spawn(const std::string& command, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string line = "exec " + command + " > '" + log + "' 2>&1";
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits for `pid`; its exit code, or -1 when it was still running after `limit` (then it is killed).
inline int wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

}  // namespace facekit::test
