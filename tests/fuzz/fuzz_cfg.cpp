// libFuzzer target: any bytes as a cfg must parse and build a NetDef or throw runtime_error,
// never crash, hang or allocate absurdly (NetDef refuses absurd sizes before allocating).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto dialect : {facekit::darknet::Dialect::kPjreddie, facekit::darknet::Dialect::kAlexeyAB}) {
    try {
      const auto net = facekit::darknet::build_netdef(facekit::darknet::parse_cfg_text(text, "fuzz.cfg"), dialect);
      (void)net.num_weight_floats();
      (void)net.summary();
    } catch (const std::runtime_error&) {
    }
  }
  return 0;
}
