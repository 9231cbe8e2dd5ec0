// facekit: face detection with gender and age. One binary, git-style subcommands.
#include "tools/facekit/cli.h"

namespace {

using facekit::cli::Command;

// A group of subcommands (`facekit convert darknet2onnx ...`), summarised by what it does and the
// names of its commands, so that `facekit --help` lists exactly what the group accepts.
Command command_group(const std::string& name, const std::string& what, const std::vector<Command>& commands) {
  std::string summary = what + ":";
  for (size_t i = 0; i < commands.size(); ++i) summary += (i ? ", " : " ") + commands[i].name;
  return {name, summary, [name, commands](const std::vector<std::string>& args) {
            return facekit::cli::dispatch("facekit " + name, commands, args);
          }};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace facekit::cli;
  const std::vector<Command> groups = {
      command_group("darknet", "Darknet networks in LibTorch", darknet_commands()),
      command_group("convert", "convert models", convert_commands()),
      command_group("eval", "evaluate models", {eval_detector_command(), eval_classifier_command(), eval_pipeline_command()}),
      command_group("train", "train models", {train_detector_command(), train_classifier_command()}),
      anchors_command(),
      bench_command(),
      calibrate_command(),
      infer_command(),
  };
  return run_guarded("facekit", [&] { return dispatch("facekit", groups, std::vector<std::string>(argv + 1, argv + argc)); });
}
