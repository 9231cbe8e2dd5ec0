// libFuzzer target: any bytes as a .weights file read, checked against a small net and written
// back, or a runtime_error.
#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"
#include "models/darknet/weights.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace facekit::darknet;
  static const NetDef net = build_netdef(
      parse_cfg_text("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=2\nsize=1\nbatch_normalize=1\n", "n.cfg"),
      Dialect::kPjreddie);
  return fuzz_file_reader(data, size, ".weights", [](const std::string& path) {
    const DarknetWeights weights = read_weights(path);
    check_weights_fit(weights, net, path);
    write_weights(weights, path + ".out");
    std::remove((path + ".out").c_str());
  });
}
