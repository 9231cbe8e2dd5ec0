// What every `facekit` subcommand shares: its signature, usage errors (exit 2), the
// --threads/--device options and the option-parsing helper.
#pragma once

#include <boost/program_options.hpp>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace facekit::cli {

namespace po = boost::program_options;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Bad command-line usage: printed with the usage text, exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

// A folder under the system's temporary folder for a command's intermediate files (on-the-fly
// ONNX exports), named `prefix` + the process id and removed with everything in it when the
// command is done, also when it fails.
struct TemporaryFolder {
  explicit TemporaryFolder(const std::string& prefix);
  ~TemporaryFolder();
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  std::filesystem::path path;
};

// Options every command that computes takes: --threads N (default: all cores) and
// --device cpu|cuda.
void add_runtime_options(po::options_description* options);
// Applies --threads to LibTorch and OpenCV and returns the --device as a torch::Device.
torch::Device apply_runtime_options(const po::variables_map& vm);

// Parses `args` against `options`; throws UsageError for unknown or malformed options and
// returns false (after printing the usage) when --help was given.
bool parse_options(const std::vector<std::string>& args, const po::options_description& options,
                   const std::string& usage, po::variables_map* vm);

// Runs a command's body and turns its exceptions into messages on stderr and exit codes: usage
// errors 2, every other failure 1. `program` prefixes the message.
int run_guarded(const std::string& program, const std::function<int()>& body);

// Runs `args[0]` among `commands` (a command group such as `facekit darknet`).
int dispatch(const std::string& prefix, const std::vector<Command>& commands,
             const std::vector<std::string>& args);

std::vector<Command> darknet_commands();
std::vector<Command> convert_commands();
Command eval_detector_command();
Command eval_classifier_command();
Command eval_pipeline_command();
Command train_detector_command();
Command train_classifier_command();
Command anchors_command();  // a top-level command, not a group
Command bench_command();  // a top-level command
Command calibrate_command();  // a top-level command
Command infer_command();    // tools/infer: the same as facekit-infer

}  // namespace facekit::cli
