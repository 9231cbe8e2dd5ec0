// The options both trainers take besides their own: how data is read, the seed, the runtime
// (cli.h) and data parallelism (train/distributed.h: torchrun's and Slurm's environment, or flags).
#pragma once

#include "tools/facekit/cli.h"
#include "train/distributed.h"

namespace facekit::cli {

// Each command reads them into its own options (train/*_trainer.h); the distributed ones through
// read_distributed_options.
inline void add_training_run_options(po::options_description* options) {
  options->add_options()
      ("loader-threads", po::value<int>()->default_value(2), "image decoding and augmentation threads")
      ("max-bad-fraction", po::value<double>()->default_value(0.01),
       "stop when more than this fraction of the images read cannot be decoded")
      ("seed", po::value<uint64_t>()->default_value(1), "seed of everything random")
      ("dist-url", po::value<std::string>()->default_value(""), "tcp://HOST:PORT of rank 0 (default: $MASTER_ADDR:$MASTER_PORT)")
      ("rank", po::value<int>()->default_value(-1), "this process's rank (default: $RANK or $SLURM_PROCID, else 0)")
      ("world-size", po::value<int>()->default_value(-1), "number of processes (default: $WORLD_SIZE or $SLURM_NTASKS, else 1)")
      ("dist-backend", po::value<std::string>()->default_value("gloo"), "gloo (CPU); nccl needs a CUDA build of LibTorch")
      ("dist-timeout", po::value<int>()->default_value(60), "seconds before a silent rank is declared lost");
  add_runtime_options(options);
}

inline train::DistributedOptions read_distributed_options(const po::variables_map& vm) {
  train::DistributedOptions o;
  try {
    o = train::distributed_options(vm["dist-url"].as<std::string>(), vm["rank"].as<int>(), vm["world-size"].as<int>());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  o.backend = vm["dist-backend"].as<std::string>();
  if (vm["dist-timeout"].as<int>() <= 0) throw UsageError("--dist-timeout must be positive");
  o.timeout = std::chrono::seconds(vm["dist-timeout"].as<int>());
  return o;
}

}  // namespace facekit::cli
