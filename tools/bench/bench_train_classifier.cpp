// Training throughput of Inception-v3 in facekit (LibTorch C++), the step the classifier trainer
// takes: forward in training mode, cross-entropy, backward, SGD with momentum. Random inputs and
// labels, so only the network's compute is measured; tools/bench/train_classifier_torch.py is the
// same loop in PyTorch with torchvision's model, and tools/bench_train_classifier.sh runs both.
//   build/tools/bench/facekit_bench_train_classifier --threads 2 --batch 16 --size 128 --steps 10
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "models/classifier/inception.h"

namespace {

struct Options {
  int threads = 2, batch = 16, size = 128, steps = 10, warmup = 2;
  double width = 1.0;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--threads") o.threads = std::stoi(value);
    else if (key == "--batch") o.batch = std::stoi(value);
    else if (key == "--size") o.size = std::stoi(value);
    else if (key == "--steps") o.steps = std::stoi(value);
    else if (key == "--width") o.width = std::stod(value);
    else throw std::invalid_argument("unknown option " + key);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  at::set_num_threads(o.threads);
  torch::manual_seed(0);
  facekit::InceptionV3Options model_options;
  model_options.num_classes = 2;
  model_options.aux_logits = false;
  model_options.width_mult = o.width;
  facekit::InceptionV3 net(model_options);
  net->train();
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  const auto input = torch::randn({o.batch, 3, o.size, o.size});
  const auto labels = torch::randint(0, 2, {o.batch}, torch::kLong);
  const auto step = [&] {
    optimizer.zero_grad();
    const auto loss = torch::nn::functional::cross_entropy(net->forward(input).logits, labels);
    loss.backward();
    optimizer.step();
  };
  for (int i = 0; i < o.warmup; ++i) step();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.steps; ++i) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("facekit (LibTorch C++): %.2f img/s (%d steps of %d at %d px, width %.2f, %d threads)\n",
              o.steps * o.batch / seconds, o.steps, o.batch, o.size, o.width, o.threads);
  return 0;
}
