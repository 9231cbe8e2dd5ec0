// `facekit convert darknet2torch|torch2darknet`: a Darknet model to a facekit LibTorch
// checkpoint and back; the round trip gives the original .weights byte for byte.
#include <iostream>

#include "convert/darknet_torch.h"
#include "datasets/atomic_file.h"
#include "models/darknet/weights.h"
#include "tools/facekit/cli.h"

namespace facekit::cli {
namespace {

int run_darknet2torch(const std::vector<std::string>& args) {
  po::options_description options("facekit convert darknet2torch");
  options.add_options()
      ("cfg", po::value<std::string>()->required(), "Darknet .cfg")
      ("weights", po::value<std::string>()->required(), "Darknet .weights")
      ("dialect", po::value<std::string>()->default_value("auto"), "auto, pjreddie or alexeyab")
      ("output,o", po::value<std::string>()->required(), "facekit checkpoint (.pt) to write");
  po::variables_map vm;
  if (!parse_options(args, options, "usage: facekit convert darknet2torch --cfg C --weights W -o M.pt", &vm)) {
    return kExitOk;
  }
  const auto model = darknet::load_darknet(vm["cfg"].as<std::string>(), vm["weights"].as<std::string>(),
                                           vm["dialect"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  darknet::save_darknet_checkpoint(model, output);
  std::cout << "wrote " << output << ": " << model.net->def().layers.size() << " layers, "
            << model.net->def().num_weight_floats() << " weights, dialect "
            << darknet::dialect_name(model.net->def().dialect) << "\n"
            << "back to Darknet: facekit convert torch2darknet --checkpoint " << output << " -o OUT.weights\n";
  return kExitOk;
}

int run_torch2darknet(const std::vector<std::string>& args) {
  po::options_description options("facekit convert torch2darknet");
  options.add_options()
      ("checkpoint", po::value<std::string>()->required(), "facekit Darknet checkpoint (.pt)")
      ("output,o", po::value<std::string>()->required(), ".weights to write")
      ("cfg-output", po::value<std::string>()->default_value(""), "also write the cfg it was built from");
  po::variables_map vm;
  if (!parse_options(args, options, "usage: facekit convert torch2darknet --checkpoint M.pt -o OUT.weights", &vm)) {
    return kExitOk;
  }
  const auto model = darknet::load_darknet_checkpoint(vm["checkpoint"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  darknet::write_weights(model.net->save_weights(model.header), output);
  if (!vm["cfg-output"].as<std::string>().empty()) {
    write_file_atomically(vm["cfg-output"].as<std::string>(), [&](std::ostream& out) { out << model.cfg_text; });
  }
  std::cout << "wrote " << output << " (Darknet weights " << model.header.major << "." << model.header.minor << "."
            << model.header.revision << ")\n";
  return kExitOk;
}

}  // namespace

std::vector<Command> convert_commands() {
  return {
      {"darknet2torch", "Darknet cfg + weights -> facekit LibTorch checkpoint", run_darknet2torch},
      {"torch2darknet", "facekit checkpoint -> Darknet .weights", run_torch2darknet},
  };
}

}  // namespace facekit::cli
