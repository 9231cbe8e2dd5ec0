// What every facekit checkpoint shares: a torch::serialize archive that names its kind under
// `facekit.format`, so that loading the wrong file fails with a sentence instead of a missing key.
#pragma once

#include <stdexcept>
#include <string>

#include <torch/torch.h>

namespace facekit {

constexpr const char* kCheckpointFormatKey = "facekit.format";

inline void write_checkpoint_format(torch::serialize::OutputArchive& archive, const std::string& format) {
  archive.write(kCheckpointFormatKey, c10::IValue(format));
}

// Opens `path` into `archive`; throws naming the file when it is not a LibTorch archive or not a
// checkpoint of `format` (`kind` is what the message calls it: "AgeGenderNet", "Darknet").
inline void open_checkpoint(torch::serialize::InputArchive& archive, const std::string& path, const std::string& format,
                            const std::string& kind) {
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a LibTorch archive (" + std::string(e.what_without_backtrace()) + ")");
  }
  c10::IValue value;
  if (!archive.try_read(kCheckpointFormatKey, value) || !value.isString() || value.toStringRef() != format) {
    throw std::runtime_error(path + ": not a facekit " + kind + " checkpoint (no '" + kCheckpointFormatKey + "' = " +
                             format + ")");
  }
}

}  // namespace facekit
