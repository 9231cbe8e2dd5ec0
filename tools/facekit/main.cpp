// facekit: face detection with gender and age. One binary, git-style subcommands.
#include "tools/facekit/cli.h"

int main(int argc, char** argv) {
  using namespace facekit::cli;
  const std::vector<Command> groups = {
      {"darknet", "Darknet networks in LibTorch: info, forward", [](const auto& args) {
         return dispatch("facekit darknet", darknet_commands(), args);
       }},
      {"convert", "convert models: darknet2torch, torch2darknet, darknet2onnx", [](const auto& args) {
         return dispatch("facekit convert", convert_commands(), args);
       }},
      {"eval", "evaluate models: detector, classifier, pipeline", [](const auto& args) {
         return dispatch("facekit eval", {eval_detector_command(), eval_classifier_command(), eval_pipeline_command()}, args);
       }},
      {"train", "train models: detector, classifier", [](const auto& args) {
         return dispatch("facekit train", {train_detector_command(), train_classifier_command()}, args);
       }},
      anchors_command(),
      bench_command(),
      calibrate_command(),
      infer_command(),
  };
  return run_guarded("facekit", [&] { return dispatch("facekit", groups, std::vector<std::string>(argv + 1, argv + argc)); });
}
