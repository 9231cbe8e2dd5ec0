// facekit-infer: the deployment binary; the same as `facekit infer`.
#include "tools/infer/infer.h"

int main(int argc, char** argv) {
  return facekit::cli::run_guarded("facekit-infer", [&] {
    return facekit::infer::run_infer(std::vector<std::string>(argv + 1, argv + argc));
  });
}
